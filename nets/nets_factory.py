"""slim's `nets_factory`: a network by name, built under its arg_scope.

As research/slim's `nets/nets_factory.py`, for the one network of this port:

  network_fn = nets_factory.get_network_fn('inception_v3', num_classes=1001)
  logits, end_points = network_fn(images)   # network_fn.default_image_size

`get_network_fn` is the one place that builds "the network under its
arg_scope"; every keyword of a `network_fn` call goes to the network.

Beyond slim: `batch_norm_training` chooses BatchNorm's mode layer by layer
(by variable scope), so a trainer can fine-tune some layers while the
BatchNorm layers of the rest stay in inference mode (moving statistics used
and left unchanged), as Keras fine-tunes a frozen base.
`build_for_inference` (not slim's) is what every tool here builds to run a
checkpoint.
"""

import functools

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception
from nets import inception_v3
from nets import slim_compat

slim_compat.apply()

networks_map = {'inception_v3': inception.inception_v3}

arg_scopes_map = {'inception_v3': inception.inception_v3_arg_scope}


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False,
                   batch_norm_training=None):
  """Returns network_fn(images, **kwargs) -> (net, end_points).

  Args:
    name: the network's name, a key of `networks_map` ('inception_v3').
    num_classes: number of classes (1001 for the released checkpoints, 0 =
      background). 0 or None omits the logits layer: `net` is then the pooled
      features, before dropout.
    weight_decay: L2 coefficient of the weights, given to the network's
      arg_scope.
    is_training: whether the network is built for training (BatchNorm batch
      statistics, dropout).
    batch_norm_training: None (slim's behaviour: every BatchNorm layer
      follows is_training), or fn(scope) -> bool called for each BatchNorm
      layer with its variable scope (e.g.
      'InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/BatchNorm'): with
      is_training, the layers it returns False for run in inference mode
      (moving statistics used, no update ops). Dropout still follows
      is_training.

  Returns:
    network_fn: builds the network on `images` [batch, height, width, 3]
      (float, in [-1, 1]; height = width = network_fn.default_image_size, or
      as the network allows) under its arg_scope and returns
      `(net, end_points)`. Its keywords go to the network (e.g.
      `create_aux_logits=False`, `global_pool=True`, `reuse=True`; also
      `num_classes` and `is_training`, which override the ones given here).
      It carries `default_image_size`.

  Raises:
    ValueError: if `name` is not a known network, or batch_norm_training
      is neither None nor callable.
  """
  if name not in networks_map:
    raise ValueError('Name of network unknown %r; known networks: %s' %
                     (name, ', '.join(sorted(networks_map))))
  if batch_norm_training is not None and not callable(batch_norm_training):
    raise ValueError('batch_norm_training must be None or a function of the '
                     'scope, got %r' % (batch_norm_training,))
  network = networks_map[name]
  arg_scope = arg_scopes_map[name]

  @functools.wraps(network)
  def network_fn(images, **kwargs):
    kwargs.setdefault('num_classes', num_classes)
    kwargs.setdefault('is_training', is_training)
    with slim.arg_scope(arg_scope(weight_decay=weight_decay)):
      if batch_norm_training is None:
        return network(images, **kwargs)
      with _batch_norm_by_scope(batch_norm_training):
        return network(images, **kwargs)

  network_fn.default_image_size = network.default_image_size
  return network_fn


def _is_batch_norm(fn):
  return fn is not None and (slim.arg_scope_func_key(fn) ==
                             slim.arg_scope_func_key(slim.batch_norm))


def _batch_norm_by_scope(batch_norm_training):
  """An arg_scope whose conv2d normalizer asks batch_norm_training its mode.

  The network sets BatchNorm's is_training through an arg_scope of its own
  (on slim.batch_norm); the replacement normalizer has slim.batch_norm's
  arg_scope key, so it receives that value and narrows it per layer.
  Without BatchNorm in the arg_scope (use_batch_norm=False) it changes
  nothing.
  """
  conv_key = slim.arg_scope_func_key(slim.conv2d)
  current = slim.current_arg_scope().get(conv_key, {})
  if not _is_batch_norm(current.get('normalizer_fn')):
    return slim.arg_scope([])

  def batch_norm(inputs, *args, is_training=True, scope=None, **kwargs):
    layer = '/'.join(filter(None, [tf.get_variable_scope().name,
                                   scope or 'BatchNorm']))
    if not batch_norm_training(layer):
      is_training = False
    return slim.batch_norm(inputs, *args, is_training=is_training,
                           scope=scope, **kwargs)

  batch_norm._key_op = slim.arg_scope_func_key(slim.batch_norm)  # pylint: disable=protected-access
  return slim.arg_scope([slim.conv2d],
                        normalizer_fn=slim.add_arg_scope(batch_norm))


def inference_options(images, **kwargs):
  """The network's keywords for inference on `images`: the size rules.

  No auxiliary head (it only serves training, and its kernel is named after
  the input size, so without it any input size restores from a 299
  checkpoint); global_pool=True for inputs larger than the fixed final pool
  reduces to 1x1 (`inception_v3.needs_global_pool`), so every size from
  inception_v3.MIN_IMAGE_SIZE up gives [batch, classes] logits. `kwargs`
  override them. The one place these rules are applied.
  """
  kwargs.setdefault('create_aux_logits', False)
  if inception_v3.inputs_need_global_pool(images):  # tf-slim's own network
    kwargs.setdefault('global_pool', True)  # has no global_pool argument.
  return kwargs


def build_for_inference(images, num_classes, name='inception_v3',
                        network_fn=None, **kwargs):
  """The network in inference mode on `images`, as the tools run checkpoints.

  is_training=False, the size rules of `inference_options`, no weight decay
  ops. `nets.inference.build` builds it with a checkpoint's weights.

  Args:
    images: float [batch, height, width, 3] in [-1, 1].
    num_classes: classifier width (1001 for the released checkpoints).
    name: a key of `networks_map`.
    network_fn: the network function to build instead of `name`'s (as
      `get_network_fn` returns one; e.g. tf-slim's own to compare with).
    **kwargs: more arguments of the network; they override the above.

  Returns:
    (logits, end_points) of the network.
  """
  if network_fn is None:
    network_fn = get_network_fn(name, num_classes, is_training=False)
  return network_fn(images, **inference_options(images, **kwargs))
