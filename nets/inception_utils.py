"""The arg_scope shared by slim's Inception networks, as research/slim has it.

`inception_arg_scope` has research/slim's `nets/inception_utils.py` signature
and behaviour: L2 weight decay on conv and fully connected weights,
variance-scaling initialized convolutions, each followed by BatchNorm (no
gamma unless `batch_norm_scale`) and ReLU. research/slim's
`inception_v3.inception_v3_arg_scope` was this function; here
`nets.inception_v3.inception_v3_arg_scope` builds on `conv_arg_scope` below
and also takes the keywords of tf.contrib.slim's and tf_slim.nets' versions.

Usage, as in research/slim:

  with slim.arg_scope(inception_utils.inception_arg_scope()):
    logits, end_points = inception.inception_v3(images, num_classes)
"""

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import slim_compat

slim_compat.apply()  # conv_arg_scope names slim.batch_norm: the patched one.

# slim's L2 weight decay of the Inception networks' weights.
WEIGHT_DECAY = 0.00004


def check_use_batch_norm(use_batch_norm, hint=''):
  """Raises ValueError unless use_batch_norm is True or False (or 1 or 0)."""
  if use_batch_norm not in (True, False):
    raise ValueError('use_batch_norm must be True or False, got %r%s' %
                     (use_batch_norm, hint))


def batch_norm_params(decay, epsilon, updates_collections, scale, fused=None,
                      var_collection=None):
  """The `normalizer_params` of slim.batch_norm in an Inception arg_scope.

  Args:
    decay: decay of the moving averages.
    epsilon: small float added to the variance.
    updates_collections: collections for the moving-average updates; None
      updates them in place.
    scale: whether to add a `gamma`.
    fused: slim.batch_norm's `fused` (None or True: fused; False: not).
    var_collection: optional extra collection for the moving mean and
      variance.

  Returns:
    A dict for slim.batch_norm's keyword arguments.
  """
  params = {
      'decay': decay,
      'epsilon': epsilon,
      'updates_collections': updates_collections,
      'fused': fused,
      'scale': scale,
  }
  if var_collection is not None:
    params['variables_collections'] = {
        'beta': None,
        'gamma': None,
        'moving_mean': [var_collection],
        'moving_variance': [var_collection],
    }
  return params


def conv_arg_scope(weight_decay, weights_initializer, activation_fn,
                   normalizer_params):
  """L2 decay on conv and fc weights; conv initializer, activation, BatchNorm.

  Args:
    weight_decay: L2 regularization of conv and fully connected weights.
    weights_initializer: initializer of the conv weights.
    activation_fn: activation after every conv, or None.
    normalizer_params: slim.batch_norm's parameters, or None for no
      BatchNorm (the convolutions then get biases).

  Returns:
    An arg_scope for slim.arg_scope().

  Raises:
    ValueError: if activation_fn is neither callable nor None.
  """
  if activation_fn is not None and not callable(activation_fn):
    raise ValueError('activation_fn must be callable or None, got %r' %
                     (activation_fn,))
  if normalizer_params is None:
    normalizer_fn, normalizer_params = None, {}
  else:
    normalizer_fn = slim.batch_norm
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope([slim.conv2d],
                        weights_initializer=weights_initializer,
                        activation_fn=activation_fn,
                        normalizer_fn=normalizer_fn,
                        normalizer_params=normalizer_params) as sc:
      return sc


def inception_arg_scope(weight_decay=WEIGHT_DECAY,
                        use_batch_norm=True,
                        batch_norm_decay=0.9997,
                        batch_norm_epsilon=0.001,
                        activation_fn=tf.nn.relu,
                        batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
                        batch_norm_scale=False):
  """research/slim's default arg_scope of the Inception models.

  Args:
    weight_decay: L2 regularization of conv and fully connected weights.
    use_batch_norm: BatchNorm after every conv (no biases); when False,
      convolutions get biases instead.
    batch_norm_decay: decay of the BatchNorm moving averages.
    batch_norm_epsilon: small float added to the variance.
    activation_fn: activation after every conv.
    batch_norm_updates_collections: collection for the moving-average
      updates; None updates them in place.
    batch_norm_scale: add a BatchNorm `gamma`.

  Returns:
    An arg_scope for slim.arg_scope().

  Raises:
    ValueError: if use_batch_norm is not a bool or activation_fn is not
      callable.
  """
  check_use_batch_norm(use_batch_norm)
  params = None
  if use_batch_norm:
    params = batch_norm_params(batch_norm_decay, batch_norm_epsilon,
                               batch_norm_updates_collections,
                               batch_norm_scale)
  return conv_arg_scope(weight_decay, slim.variance_scaling_initializer(),
                        activation_fn, params)
