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

Input sizes (height and width each): at least MIN_IMAGE_SIZE (75); with the
aux head at least MIN_IMAGE_SIZE_WITH_AUX_LOGITS (107); with spatial_squeeze
and the fixed final pool at most MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL (362),
beyond which global_pool=True is needed (`needs_global_pool`).
`feature_map_size` gives any endpoint's size. The networks check their
arguments and raise ValueError before building anything; unknown sizes are
not checked.
"""

import numbers

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils
from nets import slim_compat

slim_compat.apply()

ENDPOINTS = (
    'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
    'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b',
    'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
    'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c')

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


# The image size the released checkpoints were trained at.
default_image_size = 299

# --- Size facts ---------------------------------------------------------------
# Height and width are independent; every fact below holds for each.
#
# The layers that shrink the feature map, by endpoint: (kernel, stride) of a
# VALID conv or pool. Every other layer keeps the size (SAME padding).
_REDUCTIONS = {
    'Conv2d_1a_3x3': (3, 2),
    'Conv2d_2a_3x3': (3, 1),
    'MaxPool_3a_3x3': (3, 2),
    'Conv2d_4a_3x3': (3, 1),
    'MaxPool_5a_3x3': (3, 2),
    'Mixed_6a': (3, 2),
    'Mixed_7a': (3, 2),
}
_AUX_POOL_SIZE = 5    # AuxLogits/AvgPool_1a_5x5 on Mixed_6e, VALID,
_AUX_POOL_STRIDE = 3  # stride 3.
_AUX_CONV = 5         # AuxLogits/Conv2d_2a_5x5, shrunk to smaller maps.
_FINAL_POOL = 8       # Logits/AvgPool_1a_8x8, shrunk to smaller maps, VALID,
_FINAL_POOL_STRIDE = 2  # stride 2 (slim.avg_pool2d's default).


def _min_input_size(endpoint, map_size=1):
  """The smallest input whose `endpoint` feature map is map_size or more."""
  size = map_size
  for name in reversed(ENDPOINTS[:ENDPOINTS.index(endpoint) + 1]):
    if name in _REDUCTIONS:
      kernel, stride = _REDUCTIONS[name]
      size = (size - 1) * stride + kernel
  return size


# The smallest input the network takes (Mixed_7c is then 1x1): 75.
MIN_IMAGE_SIZE = _min_input_size('Mixed_7c')
# The smallest input for create_aux_logits=True (Mixed_6e is then 5x5, the
# aux head's pool): 107.
MIN_IMAGE_SIZE_WITH_AUX_LOGITS = _min_input_size('Mixed_6e', _AUX_POOL_SIZE)
# The largest input whose Mixed_7c map (9x9 or less) the fixed 8x8/2 final
# pool reduces to 1x1 (global_pool=False, spatial_squeeze=True): 362.
MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL = (
    _min_input_size('Mixed_7c', _FINAL_POOL + _FINAL_POOL_STRIDE) - 1)
# The largest input whose aux logits are 1x1 (the aux conv's kernel covers
# the pooled map): 346.
MAX_IMAGE_SIZE_WITH_AUX_LOGITS = (
    _min_input_size('Mixed_6e', _AUX_CONV * _AUX_POOL_STRIDE + _AUX_POOL_SIZE)
    - 1)


def feature_map_size(image_size, endpoint='Mixed_7c'):
  """Height (or width) of an endpoint's feature map for an input size.

  Args:
    image_size: input height (or width) in pixels.
    endpoint: one of ENDPOINTS; the default is the final map, which the
      final pool averages (8 at 299).

  Returns:
    The endpoint's height (or width), at least 1.

  Raises:
    ValueError: for an unknown endpoint, or an image_size that is not an
      integer or too small to reach the endpoint.
  """
  if endpoint not in ENDPOINTS:
    raise ValueError('Unknown endpoint %r; expected one of %s.' %
                     (endpoint, ', '.join(ENDPOINTS)))
  minimum = _min_input_size(endpoint)
  if (isinstance(image_size, bool) or
      not isinstance(image_size, numbers.Integral) or image_size < minimum):
    raise ValueError('image_size must be an integer >= %d to reach %s, got %r'
                     % (minimum, endpoint, image_size))
  size = image_size
  for name in ENDPOINTS[:ENDPOINTS.index(endpoint) + 1]:
    if name in _REDUCTIONS:
      kernel, stride = _REDUCTIONS[name]
      size = (size - kernel) // stride + 1
  return size


def aux_logits_fit(image_size):
  """Whether create_aux_logits=True works (squeezed) at this input size.

  Args:
    image_size: input height (or width).

  Returns:
    True if MIN_IMAGE_SIZE_WITH_AUX_LOGITS <= image_size <=
    MAX_IMAGE_SIZE_WITH_AUX_LOGITS (107 to 346).
  """
  return (MIN_IMAGE_SIZE_WITH_AUX_LOGITS <= image_size <=
          MAX_IMAGE_SIZE_WITH_AUX_LOGITS)


def needs_global_pool(image_size):
  """Whether image_size inputs need global_pool=True for [batch, C] logits.

  With global_pool=False the final pool is a fixed 8x8 window with stride 2
  (smaller maps shrink it), which reduces the final feature map to 1x1 only
  up to 9x9, i.e. inputs up to MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL (362);
  beyond, spatial_squeeze=True cannot squeeze the logits.

  Args:
    image_size: input height (or width), at least MIN_IMAGE_SIZE.

  Returns:
    True if image_size > MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL.

  Raises:
    ValueError: if image_size is not an integer >= MIN_IMAGE_SIZE.
  """
  return _final_pool_output(feature_map_size(image_size)) > 1


def inputs_need_global_pool(inputs):
  """needs_global_pool for a tensor: any known height or width above 362."""
  shape = tf.TensorShape(getattr(inputs, 'shape', None))
  sizes = shape.as_list()[1:3] if shape.rank == 4 else []
  return any(size is not None and size > MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL
             for size in sizes)


def _final_pool_output(map_size):
  """Size of the fixed final pool's output on a map_size final map."""
  kernel = min(map_size, _FINAL_POOL)
  return (map_size - kernel) // _FINAL_POOL_STRIDE + 1


# --- Argument checks ----------------------------------------------------------

def _spatial_size(inputs):
  """(height, width) of 4-D inputs, None where unknown; checks rank, dtype."""
  shape = tf.TensorShape(getattr(inputs, 'shape', None))
  if shape.rank is not None and shape.rank != 4:
    raise ValueError('inputs must be 4-D [batch, height, width, channels], '
                     'got shape %s' % shape)
  dtype = getattr(inputs, 'dtype', None)
  if dtype is not None and not tf.as_dtype(dtype).base_dtype.is_floating:
    raise ValueError(
        'inputs must be floating point, got %s: convert images to float and '
        'preprocess them to [-1, 1] (e.g. nets.preprocessing, or '
        'tf.image.convert_image_dtype then 2 * x - 1)'
        % tf.as_dtype(dtype).base_dtype.name)
  if shape.rank is None:
    return None, None
  return shape.as_list()[1:3]


def _size_text(height, width):
  return '%sx%s' % tuple('?' if d is None else d for d in (height, width))


def _check_inputs(inputs, final_endpoint):
  """Rank, dtype and minimum size of inputs up to final_endpoint."""
  height, width = _spatial_size(inputs)
  minimum = _min_input_size(final_endpoint)
  if any(d is not None and d < minimum for d in (height, width)):
    raise ValueError(
        'inputs must be at least %dx%d for Inception V3 up to %s, got %s'
        % (minimum, minimum, final_endpoint, _size_text(height, width)))
  return height, width


def _check_classifier_args(inputs, num_classes, dropout_keep_prob,
                           spatial_squeeze, create_aux_logits, global_pool):
  """The checks of inception_v3's arguments beyond the trunk's."""
  if num_classes is not None:
    if (isinstance(num_classes, bool) or
        not isinstance(num_classes, numbers.Integral)):
      raise ValueError('num_classes must be an integer or None, got %r' %
                       (num_classes,))
    if num_classes < 0:
      raise ValueError('num_classes must be >= 0, got %d' % num_classes)
  if (isinstance(dropout_keep_prob, numbers.Real) and
      not 0 < dropout_keep_prob <= 1):
    raise ValueError('dropout_keep_prob must be in (0, 1], got %r' %
                     (dropout_keep_prob,))
  height, width = _check_inputs(inputs, 'Mixed_7c')
  known = [d for d in (height, width) if d is not None]
  size = _size_text(height, width)
  aux = create_aux_logits and num_classes
  if aux and any(d < MIN_IMAGE_SIZE_WITH_AUX_LOGITS for d in known):
    raise ValueError(
        'create_aux_logits=True needs inputs of at least %dx%d (the aux '
        'head\'s 5x5 pool on Mixed_6e), got %s: pass create_aux_logits=False'
        % (MIN_IMAGE_SIZE_WITH_AUX_LOGITS, MIN_IMAGE_SIZE_WITH_AUX_LOGITS,
           size))
  if not (spatial_squeeze and num_classes):
    return
  aux_too_large = aux and any(d > MAX_IMAGE_SIZE_WITH_AUX_LOGITS
                              for d in known)
  if not global_pool and any(needs_global_pool(d) for d in known):
    pooled = [None if d is None else _final_pool_output(feature_map_size(d))
              for d in (height, width)]
    raise ValueError(
        'inputs of %s are too large for the fixed 8x8/2 final pool '
        '(global_pool=False): it leaves a %s map, not 1x1, which '
        'spatial_squeeze=True cannot squeeze (up to %dx%d it can): pass '
        'global_pool=True%s, or spatial_squeeze=False'
        % (size, _size_text(*pooled), MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL,
           MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL,
           ' and create_aux_logits=False' if aux_too_large else ''))
  if aux_too_large:
    raise ValueError(
        'inputs of %s are too large for create_aux_logits=True with '
        'spatial_squeeze=True: the aux logits are 1x1 only up to %dx%d: pass '
        'create_aux_logits=False, or spatial_squeeze=False'
        % (size, MAX_IMAGE_SIZE_WITH_AUX_LOGITS,
           MAX_IMAGE_SIZE_WITH_AUX_LOGITS))


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
    inputs: a float tensor of size [batch_size, height, width, channels];
      height and width may be unknown.
    final_endpoint: the endpoint to build the network up to, one of ENDPOINTS.
    min_depth: minimum depth (channels) of every convolution.
    depth_multiplier: multiplies the channels of every convolution; > 0.
    scope: optional variable_scope (default 'InceptionV3').

  Returns:
    net: the tensor at `final_endpoint`.
    end_points: dict of endpoint name to tensor, up to `final_endpoint`.

  Raises:
    ValueError: before anything is built, if final_endpoint is not one of
      ENDPOINTS, depth_multiplier <= 0, inputs are not 4-D floating point,
      or their height or width is below the smallest size that reaches
      final_endpoint (MIN_IMAGE_SIZE, 75, for Mixed_7c).
  """
  if final_endpoint not in ENDPOINTS:
    raise ValueError('Unknown final_endpoint %r; expected one of %s.' %
                     (final_endpoint, ', '.join(ENDPOINTS)))
  depth = _depth_fn(depth_multiplier, min_depth)
  _check_inputs(inputs, final_endpoint)
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
    inputs: a float tensor of size [batch_size, height, width, 3] in [-1, 1];
      height and width may be unknown, and are at least MIN_IMAGE_SIZE (75).
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
      fixed 8x8 window (needed for [batch, classes] logits above
      MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL, 362; see needs_global_pool).

  Returns:
    net: logits [batch_size, num_classes] (or the pooled features when
      num_classes is 0 or None).
    end_points: dict of the trunk's endpoints plus 'AuxLogits', 'AvgPool_1a'
      or 'global_pool', 'PreLogits', 'Logits' and 'Predictions'.

  Raises:
    ValueError: before anything is built, if depth_multiplier <= 0,
      num_classes < 0, dropout_keep_prob is outside (0, 1], inputs are not
      4-D floating point or smaller than MIN_IMAGE_SIZE (75), or for known
      input sizes the heads cannot be built as asked: create_aux_logits=True
      below MIN_IMAGE_SIZE_WITH_AUX_LOGITS (107); spatial_squeeze=True with
      global_pool=False above MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL (362), or
      with create_aux_logits=True above 346 (the pooled maps are no longer
      1x1).
  """
  depth = _depth_fn(depth_multiplier, min_depth)
  _check_classifier_args(inputs, num_classes, dropout_keep_prob,
                         spatial_squeeze, create_aux_logits, global_pool)

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
            aux_logits = slim.avg_pool2d(aux_logits, [_AUX_POOL_SIZE] * 2,
                                         stride=_AUX_POOL_STRIDE,
                                         padding='VALID',
                                         scope='AvgPool_1a_5x5')
            aux_logits = slim.conv2d(aux_logits, depth(128), [1, 1],
                                     scope='Conv2d_1b_1x1')
            # Shape of the feature map before the final layer.
            kernel_size = reduced_kernel_size_for_small_input(
                aux_logits, [_AUX_CONV] * 2)
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
          kernel_size = reduced_kernel_size_for_small_input(
              net, [_FINAL_POOL] * 2)
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


inception_v3.default_image_size = default_image_size


def reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """Shrinks a pooling/conv kernel to the input's spatial size when smaller.

  An unknown spatial size keeps `kernel_size` (the graph is then built for
  inputs of at least the default size).
  """
  shape = input_tensor.get_shape().as_list()
  if shape[1] is None or shape[2] is None:
    return list(kernel_size)
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def inception_v3_arg_scope(weight_decay=inception_utils.WEIGHT_DECAY,
                           use_batch_norm=True,
                           batch_norm_decay=0.9997,
                           batch_norm_epsilon=0.001,
                           activation_fn=tf.nn.relu,
                           batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
                           batch_norm_scale=False,
                           stddev=0.1,
                           batch_norm_var_collection='moving_vars',
                           use_fused_batchnorm=True,
                           updates_collections=tf.GraphKeys.UPDATE_OPS):
  """Default arg_scope of Inception V3: L2 decay, BatchNorm, ReLU.

  Takes the keywords of every slim version of this function: research/slim's
  (`inception_utils.inception_arg_scope`, in its positional order), the
  original script's and early tf.contrib.slim's (`stddev`,
  `batch_norm_var_collection`)
  and later tf.contrib.slim's and tf_slim.nets' (`use_fused_batchnorm`,
  `updates_collections`). The defaults build the released checkpoints'
  variables: BatchNorm without gamma, no conv biases.

  Args:
    weight_decay: L2 regularization of conv and fully connected weights.
    use_batch_norm: BatchNorm after every conv (no biases); when False,
      convolutions get biases instead.
    batch_norm_decay: decay of the BatchNorm moving averages.
    batch_norm_epsilon: small float added to the variance.
    activation_fn: activation after every conv (None: linear).
    batch_norm_updates_collections: collection for the moving-average
      updates (run them with the train op); None updates the moving averages
      in place, in every training-mode run.
    batch_norm_scale: add a BatchNorm `gamma` (the released checkpoints have
      none).
    stddev: stddev of the truncated normal conv weight initializer.
    batch_norm_var_collection: extra collection for the moving mean and
      variance (None: none).
    use_fused_batchnorm: the fused BatchNorm kernel; False builds tf-slim's
      non-fused BatchNorm (same variables and outputs; its moving variance
      averages the batch variance without Bessel's correction).
    updates_collections: tf.contrib.slim's and tf_slim.nets' name for
      `batch_norm_updates_collections`.

  Returns:
    An arg_scope for slim.arg_scope().

  Raises:
    ValueError: if use_batch_norm is not a bool (tf.contrib.slim's second
      positional argument was another one), activation_fn is not callable,
      or updates_collections and batch_norm_updates_collections disagree.
  """
  inception_utils.check_use_batch_norm(
      use_batch_norm, hint=' (tf.contrib.slim\'s inception_v3_arg_scope took '
      'batch_norm_var_collection or stddev second: pass those by keyword)')
  if updates_collections != tf.GraphKeys.UPDATE_OPS:
    if batch_norm_updates_collections not in (tf.GraphKeys.UPDATE_OPS,
                                              updates_collections):
      raise ValueError(
          'updates_collections=%r and batch_norm_updates_collections=%r name '
          'the same setting (tf.contrib.slim\'s and research/slim\'s '
          'keyword): pass one' % (updates_collections,
                                  batch_norm_updates_collections))
    batch_norm_updates_collections = updates_collections
  params = None
  if use_batch_norm:
    params = inception_utils.batch_norm_params(
        batch_norm_decay, batch_norm_epsilon, batch_norm_updates_collections,
        batch_norm_scale, fused=use_fused_batchnorm,
        var_collection=batch_norm_var_collection)
  return inception_utils.conv_arg_scope(weight_decay, trunc_normal(stddev),
                                        activation_fn, params)
