"""The one place the harness picks the Inception V3 it times.

'port' is this project's, built by `nets.nets_factory` (the project's one
builder); 'slim' is tf-slim's own `tf_slim.nets.inception_v3`, the
reference the port is compared with, built the same way.
"""

import importlib

import tf_slim as slim

from nets import inception_utils
from nets import nets_factory

# slim's default (inception_v3_arg_scope): the training loss includes it.
WEIGHT_DECAY = inception_utils.WEIGHT_DECAY
NETWORKS = ('port', 'slim')


def network_fn(network, num_classes, is_training=False,
               weight_decay=WEIGHT_DECAY):
  """fn(images, **kwargs) -> (logits, end_points) of one Inception V3.

  Args:
    network: 'port' (this project's nets.inception_v3) or 'slim' (tf-slim's
      own tf_slim.nets.inception_v3, for comparison).
    num_classes: classifier width.
    is_training: training mode (BatchNorm batch statistics, dropout).
    weight_decay: L2 weight decay of the arg_scope.

  Returns:
    A function of the images and more keyword arguments of inception_v3
    (reuse, create_aux_logits), built under the network's arg_scope.

  Raises:
    ValueError: for an unknown network.
  """
  if network not in NETWORKS:
    raise ValueError('network must be one of %s, got %r' % (
        ', '.join(NETWORKS), network))
  if network == 'port':
    return nets_factory.get_network_fn('inception_v3', num_classes,
                                       weight_decay, is_training)
  module = importlib.import_module('tf_slim.nets.inception_v3')

  def build(images, **kwargs):
    with slim.arg_scope(module.inception_v3_arg_scope(
        weight_decay=weight_decay)):
      return module.inception_v3(images, num_classes=num_classes,
                                 is_training=is_training, **kwargs)

  return build
