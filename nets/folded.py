"""Inception V3 for inference with BatchNorm folded (the `--optimize` graph).

Built through `nets.inference.build(..., optimize=True)`; this module holds
the network itself. `OptimizedModel` builds the network of
`nets_factory.build_for_inference` (it calls `inception_v3.inception_v3`
under `inception_v3_arg_scope()`: same layers, same output ops
`InceptionV3/Logits/SpatialSqueeze` and
`InceptionV3/Predictions/Reshape_1`) from a dict of NumPy weights, with what
measurably made it faster (each kept because it won an interleaved A/B run;
README "What --optimize does" has the numbers):

  * BatchNorm is folded into the convolution before it (kernel * gamma /
    sqrt(variance + epsilon), plus a bias): each layer is Conv2D + BiasAdd +
    Relu, which oneDNN runs faster than Conv2D + FusedBatchNorm + Relu.
  * At small batches the weights are graph constants: TensorFlow's oneDNN
    convolutions then keep their filters in the layout they compute with
    instead of re-laying them out every step. But the graph, the session and
    oneDNN each hold a copy of constant weights, which at large batches
    would put the peak memory above the plain graph's, so there the folded
    weights are variables, loaded by `initialize(session)`.
  * Each mixed block's pool branch pools after its 1x1 convolution instead
    of before (`inception_v3.pool_branch`, pool_last=True): the same logits,
    and the pool reads 4 to 10 times fewer channels.
  * `session_config`: Grappler's passes other than the remapper (which fuses
    Conv2D + BiasAdd + Relu) are off, on CPU: they win nothing on this graph
    and copy its constants. At batch 1 two ops run at once on half the
    cores each (`single_image_threads`).

Logits equal the plain graph's within float32 rounding
(`inference.TOLERANCES['fp32']` of the largest logit). precision 'fp16'
(GPUs) or 'bf16' (CPUs with AMX) computes in 16 bits, with float32 logits
and softmax, within `inference.TOLERANCES`.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tensorflow.core.protobuf import rewriter_config_pb2

from nets import inception_v3
from nets import nets_factory

PRECISIONS = {'fp32': tf.float32, 'fp16': tf.float16, 'bf16': tf.bfloat16}
# Constant weights up to this batch size, variables above it: constants win
# most at small batches, and above this their extra copies put the optimized
# graph's peak memory above the plain one's (README: "What --optimize does").
MAX_BATCH_FOR_CONSTANTS = 16
FOLDED_SCOPE = 'BatchNorm_folded'
# Grappler passes turned off on CPU (everything but the remapper).
_GRAPPLER_OFF = (
    'arithmetic_optimization', 'common_subgraph_elimination',
    'constant_folding', 'debug_stripper', 'dependency_optimization',
    'function_optimization', 'implementation_selector', 'layout_optimizer',
    'loop_optimization', 'memory_optimization', 'pin_to_host_optimization',
    'scoped_allocator_optimization', 'shape_optimization')


def batch_norm_epsilon():
  """The epsilon `inception_v3_arg_scope()` gives slim.batch_norm."""
  scope = inception_v3.inception_v3_arg_scope()
  conv = scope[slim.arg_scope_func_key(slim.conv2d)]
  return conv['normalizer_params']['epsilon']


def fold_batch_norm(weights, scope, epsilon=None):
  """The kernel and bias of convolution `scope` with its BatchNorm folded in.

  BatchNorm at inference computes (x - mean) / sqrt(variance + epsilon) *
  gamma + beta. After a convolution with kernel K this is a convolution with
  K * s plus the bias beta - mean * s, where s = gamma / sqrt(variance +
  epsilon) per output channel. Computed in float64, returned in float32.

  Args:
    weights: {variable name: np.ndarray} with slim's names: `scope/weights`,
      `scope/BatchNorm/beta`, `scope/BatchNorm/moving_mean`,
      `scope/BatchNorm/moving_variance`, and `scope/BatchNorm/gamma` if the
      model has it (inception_v3_arg_scope() has none).
    scope: the convolution's variable scope, e.g.
      'InceptionV3/Conv2d_1a_3x3'.
    epsilon: BatchNorm's epsilon; default: inception_v3_arg_scope()'s.

  Returns:
    (kernel, bias) as float32 arrays.

  Raises:
    KeyError: for a missing variable.
  """
  if epsilon is None:
    epsilon = batch_norm_epsilon()
  norm = scope + '/BatchNorm/'
  variance = np.float64(weights[norm + 'moving_variance'])
  gamma = np.float64(weights.get(norm + 'gamma', 1.0))
  beta = np.float64(weights[norm + 'beta'])
  scale = gamma / np.sqrt(variance + epsilon)
  bias = beta - np.float64(weights[norm + 'moving_mean']) * scale
  kernel = weights[scope + '/weights'] * scale
  return kernel.astype(np.float32), bias.astype(np.float32)


def use_constants(batch_size):
  """Whether constant weights win for this batch size (see the docstring)."""
  return batch_size is None or batch_size <= MAX_BATCH_FOR_CONSTANTS


def single_image_threads():
  """(intra-op, inter-op) threads for batch 1 on CPU: 2 ops at once.

  At batch 1 each convolution is too small to keep every core busy, and the
  mixed blocks have 4 independent branches: two ops at a time on half the
  cores each beat TensorFlow's default (README: "What --optimize does").
  """
  if hasattr(os, 'sched_getaffinity'):  # The cores this process may use.
    cores = len(os.sched_getaffinity(0))
  else:
    cores = os.cpu_count() or 1
  return (cores // 2, 2) if cores >= 2 else (0, 0)


def session_config(device_type='CPU', num_intra_threads=0,
                   num_inter_threads=0, batch_size=None):
  """The tf.ConfigProto to run the optimized graph under.

  On CPU, Grappler's passes other than the remapper (which fuses Conv2D +
  BiasAdd + Relu) are off: on this graph they win no time, and they copy its
  constants (more peak memory). Thread counts left at 0 are
  TensorFlow's choice, except at batch 1 on CPU (`single_image_threads`);
  no other setting was measurably faster at batch 8 or 32.

  Args:
    device_type: 'CPU' or 'GPU'; on GPUs Grappler keeps all its passes (its
      layout optimizer picks NCHW or NHWC for the convolutions there).
    num_intra_threads: threads inside one op; 0: see above.
    num_inter_threads: ops run at once; 0: see above.
    batch_size: images per run, if known.

  Returns:
    A tf.ConfigProto.
  """
  if (device_type == 'CPU' and batch_size == 1 and
      not (num_intra_threads or num_inter_threads)):
    num_intra_threads, num_inter_threads = single_image_threads()
  config = tf.ConfigProto(intra_op_parallelism_threads=num_intra_threads,
                          inter_op_parallelism_threads=num_inter_threads)
  if device_type == 'CPU':
    rewrite = config.graph_options.rewrite_options
    for name in _GRAPPLER_OFF:
      setattr(rewrite, name, rewriter_config_pb2.RewriterConfig.OFF)
  return config


class OptimizedModel(object):
  """Inception V3 for inference with BatchNorm folded, built in the graph.

  Attributes:
    logits: float32 [batch, num_classes].
    end_points: as `inception_v3.inception_v3` returns them ('Logits',
      'Predictions' in float32, the trunk's endpoints, ...).
    constant_weights: whether the weights are constants; if not, call
      `initialize(session)` once before running the model.
  """

  def __init__(self, images, weights, num_classes, precision='fp32',
               constant_weights=True, **kwargs):
    """Builds the network in the default graph.

    Args:
      images: float32 [batch, height, width, 3] in [-1, 1].
      weights: {variable name: np.ndarray} of every variable of
        `nets_factory.build_for_inference` (`checkpoints.Checkpoint.weights`
        reads them lazily). Not kept: the graph (or, until `initialize`,
        this object) holds what it needs.
      num_classes: classifier width.
      precision: 'fp32', or 'fp16' / 'bf16' (float16 / bfloat16 compute,
        weights rounded after folding; logits and predictions in float32).
      constant_weights: graph constants (see `use_constants`), or variables
        loaded by `initialize`.
      **kwargs: more arguments of `inception_v3.inception_v3` (e.g. reuse).

    Raises:
      ValueError: for an unknown precision, or weights that lack a variable
        of the model or give it another shape.
    """
    if precision not in PRECISIONS:
      raise ValueError('precision must be one of %s, got %r.' %
                       (', '.join(PRECISIONS), precision))
    self.constant_weights = constant_weights
    self._dtype = PRECISIONS[precision]
    self._weights = weights
    self._epsilon = batch_norm_epsilon()
    self._feeds = []  # (initializer, initial value tensor, np.ndarray).
    net = images
    if self._dtype != tf.float32:
      net = tf.cast(images, self._dtype)
    try:
      with tf.variable_scope(tf.get_variable_scope(),
                             custom_getter=self._get):
        with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
          with slim.arg_scope([slim.conv2d], normalizer_fn=self._add_bias,
                              normalizer_params={}, weights_regularizer=None), \
               slim.arg_scope([inception_v3.pool_branch], pool_last=True):
            logits, end_points = inception_v3.inception_v3(
                net, num_classes=num_classes, is_training=False,
                prediction_fn=_float32_softmax,
                **nets_factory.inference_options(images, **kwargs))
    finally:
      self._weights = None
    if logits.dtype != tf.float32:
      logits = tf.cast(logits, tf.float32, name='LogitsFloat32')
      end_points['Logits'] = logits
    self.logits, self.end_points = logits, end_points

  def _value(self, name, shape):
    """The folded kernel or bias, or the stored value of `name`, checked."""
    scope, leaf = name.rsplit('/', 1)
    conv = scope[:-len(FOLDED_SCOPE) - 1]
    try:
      if leaf == 'weights' and scope + '/BatchNorm/moving_mean' in (
          self._weights):
        value = fold_batch_norm(self._weights, scope, self._epsilon)[0]
      elif leaf == 'biases' and scope.endswith('/' + FOLDED_SCOPE):
        value = fold_batch_norm(self._weights, conv, self._epsilon)[1]
      else:
        value = self._weights[name]
    except KeyError as e:
      raise ValueError('The weights have no %s (needed for %s).' %
                       (e.args[0], name)) from e
    if shape is not None and list(value.shape) != list(shape):
      raise ValueError('%s has shape %s in the weights; the model needs %s.'
                       % (name, list(value.shape), list(shape)))
    return value.astype(self._dtype.as_numpy_dtype)

  def _get(self, getter, name, shape=None, *args, **kwargs):
    """Custom getter: a constant, or a variable loaded by `initialize`."""
    del args, kwargs  # No regularizer, nothing trainable.
    value = self._value(name, shape)
    if self.constant_weights:
      return tf.constant(value, name=name.rsplit('/', 1)[1])
    variable = getter(name, shape=value.shape, dtype=self._dtype,
                      initializer=tf.zeros_initializer(), trainable=False)
    self._feeds.append((variable.initializer,
                        variable.initializer.inputs[1], value))
    return variable

  def _add_bias(self, net):
    """normalizer_fn in slim.batch_norm's place: adds the folded bias."""
    with tf.variable_scope(FOLDED_SCOPE):
      bias = tf.get_variable('biases', shape=net.shape[-1:], dtype=net.dtype)
      return tf.nn.bias_add(net, bias)

  def initialize(self, session):
    """Loads the variable weights in one run (nothing to do for constants)."""
    if self._feeds:
      session.run([op for op, _, _ in self._feeds],
                  {tensor: value for _, tensor, value in self._feeds})
      self._feeds = []


def _float32_softmax(logits, scope=None):
  """slim.softmax in float32 (the logits may be 16-bit)."""
  return slim.softmax(tf.cast(logits, tf.float32), scope=scope)


