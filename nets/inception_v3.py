"""Inception V3 (Szegedy et al., "Rethinking the Inception Architecture for
Computer Vision", arXiv:1512.00567), as TF-slim defines it.

Variable names, shapes and scopes equal those of the released slim
checkpoints (e.g. `inception_v3_2016_08_28`, 1001 classes with 0 =
background), including names that look like typos upstream
(`Mixed_5c/Branch_1/Conv2d_0b_1x1`, `Conv_1_0c_5x5`, `Mixed_6a/*/Conv2d_1a_1x1`
on 3x3 kernels, `Mixed_7b/Branch_1/Conv2d_0b_3x1`): they are the real names.

The layer table (input size of each row at 299x299):

  conv 3x3/2 VALID     299x299x3   Conv2d_1a_3x3
  conv 3x3/1 VALID     149x149x32  Conv2d_2a_3x3
  conv 3x3/1 SAME      147x147x32  Conv2d_2b_3x3
  max pool 3x3/2       147x147x64  MaxPool_3a_3x3
  conv 1x1/1 VALID     73x73x64    Conv2d_3b_1x1
  conv 3x3/1 VALID     73x73x80    Conv2d_4a_3x3
  max pool 3x3/2       71x71x192   MaxPool_5a_3x3
  3 x Inception (35)   35x35x192   Mixed_5b, Mixed_5c, Mixed_5d
  reduction + 4 x (17) 35x35x288   Mixed_6a, Mixed_6b .. Mixed_6e
  reduction + 2 x (8)  17x17x768   Mixed_7a, Mixed_7b, Mixed_7c
  avg pool 8x8         8x8x2048    Logits/AvgPool_1a_8x8
  conv 1x1 (logits)    1x1x2048    Logits/Conv2d_1c_1x1
  softmax              1x1xC       Predictions
"""

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import slim_compat

slim_compat.apply()

ENDPOINTS = (
    'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
    'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b',
    'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
    'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c')
# The smallest input the stem's VALID convolutions and pools leave a map for.
MIN_IMAGE_SIZE = 75

# Names the graph and the released checkpoints use, for every tool that
# restores, exports or converts the network.
SCOPE = 'InceptionV3'
RELEASED_NUM_CLASSES = 1001  # inception_v3_2016_08_28: 0 is "background".
LOGITS_LAYER = SCOPE + '/Logits/Conv2d_1c_1x1'
AUX_LOGITS_SCOPE = SCOPE + '/AuxLogits'
HEAD_SCOPES = (SCOPE + '/Logits', AUX_LOGITS_SCOPE)
LOGITS_OP = SCOPE + '/Logits/SpatialSqueeze'
PREDICTIONS_OP = SCOPE + '/Predictions/Reshape_1'
# The placeholder of exported inference graphs (slim's export_inference_graph).
INPUT_NAME = 'input'


def trunc_normal(stddev):
  return tf.truncated_normal_initializer(0.0, stddev)


def _depth_fn(depth_multiplier, min_depth):
  """Returns depth(d): channels scaled by depth_multiplier, at least min_depth."""
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero '
                     '(got depth_multiplier=%r).' % (depth_multiplier,))
  return lambda d: max(int(d * depth_multiplier), min_depth)


@slim.add_arg_scope
def pool_branch(net, depth, pool_last=False):
  """Branch_3 of Mixed_5b to Mixed_7c: a 3x3 average pool, then a 1x1 conv.

  With pool_last=True (set by nets.inference through slim.arg_scope) it
  computes the same outputs in the other order: the 1x1 conv with its
  normalizer, the pool over the conv's fewer channels, then the activation.
  An average pool and a 1x1 conv plus an inference-mode normalizer are both
  linear per position and channel, so they commute; the variables and their
  names do not change. Not for training: BatchNorm's batch statistics do
  not commute with the pool.
  """
  if not pool_last:
    net = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
    return slim.conv2d(net, depth, [1, 1], scope='Conv2d_0b_1x1')
  conv_defaults = slim.current_arg_scope().get(
      slim.arg_scope_func_key(slim.conv2d), {})
  activation_fn = conv_defaults.get('activation_fn', tf.nn.relu)
  net = slim.conv2d(net, depth, [1, 1], activation_fn=None,
                    scope='Conv2d_0b_1x1')
  net = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
  return activation_fn(net) if activation_fn else net


def inception_v3_base(inputs,
                      final_endpoint='Mixed_7c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      scope=None):
  """Inception V3 from the input to `final_endpoint` (the convolutional trunk).

  Args:
    inputs: a tensor of size [batch_size, height, width, channels].
    final_endpoint: the endpoint to build the network up to, one of ENDPOINTS.
    min_depth: minimum depth (channels) of every convolution.
    depth_multiplier: multiplies the channels of every convolution; > 0.
    scope: optional variable_scope (default 'InceptionV3').

  Returns:
    net: the tensor at `final_endpoint`.
    end_points: dict of endpoint name to tensor, up to `final_endpoint`.

  Raises:
    ValueError: if final_endpoint is not one of ENDPOINTS, or
      depth_multiplier <= 0.
  """
  if final_endpoint not in ENDPOINTS:
    raise ValueError('Unknown final_endpoint %r; expected one of %s.' %
                     (final_endpoint, ', '.join(ENDPOINTS)))
  depth = _depth_fn(depth_multiplier, min_depth)
  end_points = {}

  def reached(name, tensor):
    end_points[name] = tensor
    return name == final_endpoint

  with tf.variable_scope(scope, 'InceptionV3', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='VALID'):
      # 299 x 299 x 3
      net = slim.conv2d(inputs, depth(32), [3, 3], stride=2,
                        scope='Conv2d_1a_3x3')
      if reached('Conv2d_1a_3x3', net): return net, end_points
      # 149 x 149 x 32
      net = slim.conv2d(net, depth(32), [3, 3], scope='Conv2d_2a_3x3')
      if reached('Conv2d_2a_3x3', net): return net, end_points
      # 147 x 147 x 32
      net = slim.conv2d(net, depth(64), [3, 3], padding='SAME',
                        scope='Conv2d_2b_3x3')
      if reached('Conv2d_2b_3x3', net): return net, end_points
      # 147 x 147 x 64
      net = slim.max_pool2d(net, [3, 3], stride=2, scope='MaxPool_3a_3x3')
      if reached('MaxPool_3a_3x3', net): return net, end_points
      # 73 x 73 x 64
      net = slim.conv2d(net, depth(80), [1, 1], scope='Conv2d_3b_1x1')
      if reached('Conv2d_3b_1x1', net): return net, end_points
      # 73 x 73 x 80
      net = slim.conv2d(net, depth(192), [3, 3], scope='Conv2d_4a_3x3')
      if reached('Conv2d_4a_3x3', net): return net, end_points
      # 71 x 71 x 192
      net = slim.max_pool2d(net, [3, 3], stride=2, scope='MaxPool_5a_3x3')
      if reached('MaxPool_5a_3x3', net): return net, end_points
      # 35 x 35 x 192

    # Inception blocks
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      # mixed: 35 x 35 x 256
      with tf.variable_scope('Mixed_5b'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(48), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(64), [5, 5],
                                 scope='Conv2d_0b_5x5')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0c_3x3')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(32))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_5b', net): return net, end_points

      # mixed_1: 35 x 35 x 288 (upstream's Branch_1 names are kept as released)
      with tf.variable_scope('Mixed_5c'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(48), [1, 1], scope='Conv2d_0b_1x1')
          branch_1 = slim.conv2d(branch_1, depth(64), [5, 5],
                                 scope='Conv_1_0c_5x5')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0c_3x3')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(64))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_5c', net): return net, end_points

      # mixed_2: 35 x 35 x 288
      with tf.variable_scope('Mixed_5d'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(48), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(64), [5, 5],
                                 scope='Conv2d_0b_5x5')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                                 scope='Conv2d_0c_3x3')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(64))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_5d', net): return net, end_points

      # mixed_3: 17 x 17 x 768 (grid reduction; 3x3 kernels named *_1x1 upstream)
      with tf.variable_scope('Mixed_6a'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(384), [3, 3], stride=2,
                                 padding='VALID', scope='Conv2d_1a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(96), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_1 = slim.conv2d(branch_1, depth(96), [3, 3], stride=2,
                                 padding='VALID', scope='Conv2d_1a_1x1')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                     scope='MaxPool_1a_3x3')
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2])
      if reached('Mixed_6a', net): return net, end_points

      # mixed4: 17 x 17 x 768
      with tf.variable_scope('Mixed_6b'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(128), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(128), [1, 7],
                                 scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                                 scope='Conv2d_0c_7x1')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(128), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(128), [7, 1],
                                 scope='Conv2d_0b_7x1')
          branch_2 = slim.conv2d(branch_2, depth(128), [1, 7],
                                 scope='Conv2d_0c_1x7')
          branch_2 = slim.conv2d(branch_2, depth(128), [7, 1],
                                 scope='Conv2d_0d_7x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                                 scope='Conv2d_0e_1x7')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_6b', net): return net, end_points

      # mixed_5: 17 x 17 x 768
      with tf.variable_scope('Mixed_6c'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(160), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(160), [1, 7],
                                 scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                                 scope='Conv2d_0c_7x1')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(160), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(160), [7, 1],
                                 scope='Conv2d_0b_7x1')
          branch_2 = slim.conv2d(branch_2, depth(160), [1, 7],
                                 scope='Conv2d_0c_1x7')
          branch_2 = slim.conv2d(branch_2, depth(160), [7, 1],
                                 scope='Conv2d_0d_7x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                                 scope='Conv2d_0e_1x7')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_6c', net): return net, end_points

      # mixed_6: 17 x 17 x 768
      with tf.variable_scope('Mixed_6d'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(160), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(160), [1, 7],
                                 scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                                 scope='Conv2d_0c_7x1')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(160), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(160), [7, 1],
                                 scope='Conv2d_0b_7x1')
          branch_2 = slim.conv2d(branch_2, depth(160), [1, 7],
                                 scope='Conv2d_0c_1x7')
          branch_2 = slim.conv2d(branch_2, depth(160), [7, 1],
                                 scope='Conv2d_0d_7x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                                 scope='Conv2d_0e_1x7')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_6d', net): return net, end_points

      # mixed_7: 17 x 17 x 768 (feeds the auxiliary head)
      with tf.variable_scope('Mixed_6e'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(192), [1, 7],
                                 scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                                 scope='Conv2d_0c_7x1')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [7, 1],
                                 scope='Conv2d_0b_7x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                                 scope='Conv2d_0c_1x7')
          branch_2 = slim.conv2d(branch_2, depth(192), [7, 1],
                                 scope='Conv2d_0d_7x1')
          branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                                 scope='Conv2d_0e_1x7')
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_6e', net): return net, end_points

      # mixed_8: 8 x 8 x 1280 (grid reduction)
      with tf.variable_scope('Mixed_7a'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
          branch_0 = slim.conv2d(branch_0, depth(320), [3, 3], stride=2,
                                 padding='VALID', scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, depth(192), [1, 7],
                                 scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                                 scope='Conv2d_0c_7x1')
          branch_1 = slim.conv2d(branch_1, depth(192), [3, 3], stride=2,
                                 padding='VALID', scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                     scope='MaxPool_1a_3x3')
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2])
      if reached('Mixed_7a', net): return net, end_points

      # mixed_9: 8 x 8 x 2048 (upstream names the 3x1 conv Conv2d_0b_3x1 here)
      with tf.variable_scope('Mixed_7b'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(320), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(384), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = tf.concat(axis=3, values=[
              slim.conv2d(branch_1, depth(384), [1, 3], scope='Conv2d_0b_1x3'),
              slim.conv2d(branch_1, depth(384), [3, 1], scope='Conv2d_0b_3x1')])
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(448), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(384), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_2 = tf.concat(axis=3, values=[
              slim.conv2d(branch_2, depth(384), [1, 3], scope='Conv2d_0c_1x3'),
              slim.conv2d(branch_2, depth(384), [3, 1], scope='Conv2d_0d_3x1')])
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_7b', net): return net, end_points

      # mixed_10: 8 x 8 x 2048
      with tf.variable_scope('Mixed_7c'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, depth(320), [1, 1], scope='Conv2d_0a_1x1')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, depth(384), [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = tf.concat(axis=3, values=[
              slim.conv2d(branch_1, depth(384), [1, 3], scope='Conv2d_0b_1x3'),
              slim.conv2d(branch_1, depth(384), [3, 1], scope='Conv2d_0c_3x1')])
        with tf.variable_scope('Branch_2'):
          branch_2 = slim.conv2d(net, depth(448), [1, 1], scope='Conv2d_0a_1x1')
          branch_2 = slim.conv2d(branch_2, depth(384), [3, 3],
                                 scope='Conv2d_0b_3x3')
          branch_2 = tf.concat(axis=3, values=[
              slim.conv2d(branch_2, depth(384), [1, 3], scope='Conv2d_0c_1x3'),
              slim.conv2d(branch_2, depth(384), [3, 1], scope='Conv2d_0d_3x1')])
        with tf.variable_scope('Branch_3'):
          branch_3 = pool_branch(net, depth(192))
        net = tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])
      if reached('Mixed_7c', net): return net, end_points
  raise AssertionError('unreachable: final_endpoint was validated above')


def inception_v3(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 create_aux_logits=True,
                 scope='InceptionV3',
                 global_pool=False):
  """Inception V3 classifier: trunk, auxiliary head, pooling and logits.

  Build it under `slim.arg_scope(inception_v3_arg_scope())` to get the
  released checkpoints' variables (BatchNorm, no conv biases).

  Args:
    inputs: a tensor of size [batch_size, height, width, 3]; height and width
      may be unknown.
    num_classes: number of predicted classes (1001 for the released slim
      checkpoints, 0 = background). 0 or None skips the logits layer and
      returns the pooled features [batch_size, 1, 1, 2048].
    is_training: whether BatchNorm uses batch statistics and dropout is on.
    dropout_keep_prob: the fraction of activations kept by dropout.
    min_depth: minimum depth of every convolution.
    depth_multiplier: multiplies the channels of every convolution; > 0.
    prediction_fn: turns logits into predictions (default softmax).
    spatial_squeeze: squeeze logits from [B, 1, 1, C] to [B, C].
    reuse: whether to reuse the network's variables (needs `scope`).
    create_aux_logits: whether to build the auxiliary head ('AuxLogits').
    scope: variable_scope of the network.
    global_pool: average over the whole final feature map instead of the
      fixed 8x8 window (for inputs larger than 299).

  Returns:
    net: logits [batch_size, num_classes] (or the pooled features when
      num_classes is 0 or None).
    end_points: dict of the trunk's endpoints plus 'AuxLogits', 'AvgPool_1a'
      or 'global_pool', 'PreLogits', 'Logits' and 'Predictions'.

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  depth = _depth_fn(depth_multiplier, min_depth)

  with tf.variable_scope(scope, 'InceptionV3', [inputs], reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v3_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier)

      # Auxiliary head on Mixed_6e: 17x17x768 -> 5x5 -> 1x1 -> classes.
      if create_aux_logits and num_classes:
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                            stride=1, padding='SAME'):
          aux_logits = end_points['Mixed_6e']
          with tf.variable_scope('AuxLogits'):
            aux_logits = slim.avg_pool2d(aux_logits, [5, 5], stride=3,
                                         padding='VALID',
                                         scope='AvgPool_1a_5x5')
            aux_logits = slim.conv2d(aux_logits, depth(128), [1, 1],
                                     scope='Conv2d_1b_1x1')
            # Shape of the feature map before the final layer.
            kernel_size = reduced_kernel_size_for_small_input(aux_logits, [5, 5])
            aux_logits = slim.conv2d(
                aux_logits, depth(768), kernel_size,
                weights_initializer=trunc_normal(0.01), padding='VALID',
                scope='Conv2d_2a_{}x{}'.format(*kernel_size))
            aux_logits = slim.conv2d(
                aux_logits, num_classes, [1, 1], activation_fn=None,
                normalizer_fn=None, weights_initializer=trunc_normal(0.001),
                scope='Conv2d_2b_1x1')
            if spatial_squeeze:
              aux_logits = tf.squeeze(aux_logits, [1, 2], name='SpatialSqueeze')
            end_points['AuxLogits'] = aux_logits

      # Final pooling and prediction.
      with tf.variable_scope('Logits'):
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='GlobalPool')
          end_points['global_pool'] = net
        else:
          kernel_size = reduced_kernel_size_for_small_input(net, [8, 8])
          net = slim.avg_pool2d(net, kernel_size, padding='VALID',
                                scope='AvgPool_1a_{}x{}'.format(*kernel_size))
          end_points['AvgPool_1a'] = net
        if not num_classes:
          return net, end_points
        # 1 x 1 x 2048
        net = slim.dropout(net, keep_prob=dropout_keep_prob, scope='Dropout_1b')
        end_points['PreLogits'] = net
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             normalizer_fn=None, scope='Conv2d_1c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
      end_points['Logits'] = logits
      end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


inception_v3.default_image_size = 299
default_image_size = inception_v3.default_image_size  # slim users read both


def reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """Shrinks a pooling/conv kernel to the input's spatial size when smaller.

  An unknown spatial size keeps `kernel_size` (the graph is then built for
  inputs of at least the default size).
  """
  shape = input_tensor.get_shape().as_list()
  if shape[1] is None or shape[2] is None:
    return list(kernel_size)
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def inception_v3_arg_scope(weight_decay=0.00004,
                           use_batch_norm=True,
                           batch_norm_decay=0.9997,
                           batch_norm_epsilon=0.001,
                           activation_fn=tf.nn.relu,
                           batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
                           batch_norm_scale=False,
                           stddev=0.1,
                           batch_norm_var_collection='moving_vars'):
  """Default arg_scope of Inception V3: L2 decay, BatchNorm, ReLU.

  Args:
    weight_decay: L2 regularization of conv and fully connected weights.
    use_batch_norm: BatchNorm after every conv (no biases); when False,
      convolutions get biases instead.
    batch_norm_decay: decay of the BatchNorm moving averages.
    batch_norm_epsilon: small float added to the variance.
    activation_fn: activation after every conv.
    batch_norm_updates_collections: collection for the moving-average updates.
    batch_norm_scale: add a BatchNorm `gamma` (the released checkpoints have
      none).
    stddev: stddev of the truncated normal weight initializer (the seed's).
    batch_norm_var_collection: extra collection for the moving mean and
      variance (the seed's; `moving_vars` as in slim's inception_v3).

  Returns:
    An arg_scope for slim.arg_scope().
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,
      'scale': batch_norm_scale,
      'variables_collections': {
          'beta': None,
          'gamma': None,
          'moving_mean': [batch_norm_var_collection],
          'moving_variance': [batch_norm_var_collection],
      },
  }
  if use_batch_norm:
    normalizer_fn, normalizer_params = slim.batch_norm, batch_norm_params
  else:
    normalizer_fn, normalizer_params = None, {}
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope([slim.conv2d],
                        weights_initializer=trunc_normal(stddev),
                        activation_fn=activation_fn,
                        normalizer_fn=normalizer_fn,
                        normalizer_params=normalizer_params) as sc:
      return sc
