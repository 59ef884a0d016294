"""Makes tf-slim 1.1.0 (its last release, 2020) work on current TensorFlow.

tf-slim reaches into TensorFlow internals that have since moved. Each patch
below fixes one breakage, says why it exists and which versions need it, and
comes with a probe (`*_patch_needed`) that tests the *unpatched* tf-slim code,
so `nets_test/slim_compat_test.py` tells us when a patch can be deleted.

The patches touch tf-slim's own modules only; TensorFlow itself and its global
behaviour (eager/graph mode, v2 behaviour) are left alone. `apply()` is
idempotent and is called when `nets.inception_v3` or a dataset module
(`nets.imagenet`, `nets.flowers`) is imported.

Patches:
  1. `constant_value`: tf_slim.layers.utils.constant_value checks
     `isinstance(x, tensorflow.python.framework.ops.Tensor)`. The `Tensor`
     class moved to `tensorflow.python.framework.tensor` and the alias in
     `ops` was removed (TF >= 2.16 or so; confirmed on TF 2.21), so every
     `slim.batch_norm` and `slim.dropout` call raised AttributeError through
     `utils.smart_cond`. The patched copy checks against `tf.Tensor`.
  2. `batch_norm`: with `updates_collections=tf.GraphKeys.UPDATE_OPS` (the
     default, and what every slim network's arg_scope uses) slim.batch_norm
     builds `tensorflow.python.layers.normalization.BatchNormalization`, which
     TF >= 2.16 only lazy-loads from the separate `tf_keras` package
     (`No module named 'tf_keras.legacy_tf_layers'`), fused or not. The
     patched batch_norm routes those calls to tf-slim's own implementations,
     which slim already uses for every other collection: the fused one
     (`_fused_batch_norm`) by default, and with `fused=False` (or inputs of
     rank other than 2 and 4) its non-fused one, reached by naming the
     collection in a list (`[UPDATE_OPS]`). Same variables (names, shapes,
     collections), same math, moving-average updates in UPDATE_OPS. Only
     `renorm` and `adjustment` still need the Keras layer. Applied only while
     the Keras layer cannot be imported.
  3. `tfexample_decoder_ops`: tf_slim.data.tfexample_decoder calls
     `control_flow_ops.case` and `.cond` and `array_ops.stack`, which moved
     out of those TensorFlow modules (to `control_flow_case`, `cond`,
     `array_ops_stack`; confirmed missing on TF 2.21), so every
     `slim.tfexample_decoder.Image` handler (every slim image dataset), the
     `BackupHandler`, and `Tensor(shape_keys=...)`/`SparseTensor` handlers
     raised AttributeError. The decoder module's `control_flow_ops` and
     `array_ops` are pointed at stand-ins that add `tf.compat.v1.case`,
     `tf.compat.v1.cond` and `tf.stack` to the original modules.
  4. `supervisor_threads`: `slim.learning.train` runs a
     `tf.train.Supervisor` whose service threads (summaries, steps/sec,
     checkpoints) do not enter the graph. In a TF2 process new threads
     execute eagerly, so with `tf.Graph().as_default()` the step counter
     failed (`global_step ... is out of scope`), stopped training after
     step 0 and raised at the end (without `disable_v2_behavior()`). The
     Supervisor that tf_slim.learning builds is a subclass whose threads
     enter its graph (through its Coordinator's `stop_on_exception`, which
     every service thread runs in). Applied only while new threads execute
     eagerly (TF2 behaviour at the time `apply()` runs).
"""

import contextlib
import inspect
import sys
import threading
import types

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import ops as framework_ops
from tensorflow.python.framework import tensor_util
from tensorflow.python.ops import variables as tf_variables
from tensorflow.python.training import coordinator
from tensorflow.python.training import supervisor as tf_supervisor

import tf_slim
from tf_slim import learning as slim_learning
from tf_slim.data import tfexample_decoder as slim_tfexample_decoder
from tf_slim.layers import layers as slim_layers
from tf_slim.layers import utils as slim_utils
from tf_slim.ops import arg_scope as slim_arg_scope

# The originals, kept so the probes can test them after patching.
ORIGINAL_CONSTANT_VALUE = slim_utils.constant_value
ORIGINAL_BATCH_NORM = slim_layers.batch_norm
_UNDECORATED_BATCH_NORM = getattr(ORIGINAL_BATCH_NORM, '__wrapped__',
                                  ORIGINAL_BATCH_NORM)
_BATCH_NORM_SIGNATURE = inspect.signature(_UNDECORATED_BATCH_NORM)

_applied = False


# --- Patch 1: constant_value -------------------------------------------------

def constant_value_patch_needed():
  """True while tf-slim's constant_value fails on a graph tensor."""
  with tf.Graph().as_default():
    try:
      ORIGINAL_CONSTANT_VALUE(tf.constant(True))
    except AttributeError:
      return True
  return False


def constant_value(value_or_tensor_or_var, dtype=None):
  """tf_slim.layers.utils.constant_value, checking against `tf.Tensor`."""
  if value_or_tensor_or_var is None:
    raise ValueError('value_or_tensor_or_var cannot be None')
  value = value_or_tensor_or_var
  if isinstance(value, (tf.Tensor, tf_variables.Variable)):
    if dtype and value.dtype != dtype:
      raise ValueError('It has the wrong type %s instead of %s' %
                       (value.dtype, dtype))
    if isinstance(value, tf_variables.Variable):
      return None
    return tensor_util.constant_value(value)
  return value


# --- Patch 2: batch_norm without the Keras legacy layer ----------------------

def batch_norm_patch_needed():
  """True while slim.batch_norm's default (UPDATE_OPS) path cannot build."""
  try:
    from tensorflow.python.layers import normalization  # pylint: disable=g-import-not-at-top
    normalization.BatchNormalization  # pylint: disable=pointless-statement
  except ImportError:
    return True
  return False


def _takes_keras_layer_path(args):
  """Mirrors the branch in tf-slim's batch_norm that builds the Keras layer."""
  return (args['updates_collections'] is framework_ops.GraphKeys.UPDATE_OPS
          and args['batch_weights'] is None
          and not args['zero_debias_moving_mean'])


def _batch_norm(*args, **kwargs):
  """slim.batch_norm that never needs `tf_keras.legacy_tf_layers`."""
  bound = _BATCH_NORM_SIGNATURE.bind(*args, **kwargs)
  bound.apply_defaults()
  call = bound.arguments
  if not _takes_keras_layer_path(call):
    return _UNDECORATED_BATCH_NORM(*args, **kwargs)
  if call['renorm'] or call['adjustment'] is not None:
    raise NotImplementedError(
        'slim.batch_norm with renorm or adjustment needs the Keras legacy '
        'layers (pip install tf-keras); nets.slim_compat replaces only the '
        'fused and plain non-fused paths.')
  inputs = tf.convert_to_tensor(call['inputs'])
  if call['fused'] is not False and inputs.get_shape().ndims in (2, 4):
    if call['data_format'] not in ('NHWC', 'NCHW'):
      raise ValueError('data_format has to be either NCHW or NHWC.')
    fused_params = inspect.signature(slim_layers._fused_batch_norm).parameters  # pylint: disable=protected-access
    fused_args = {k: v for k, v in call.items() if k in fused_params}
    fused_args['inputs'] = inputs
    return slim_layers._fused_batch_norm(**fused_args)  # pylint: disable=protected-access
  # tf-slim's own non-fused code: batch_norm takes it for any collections
  # other than the UPDATE_OPS string itself (an identity test); a list
  # naming UPDATE_OPS puts the updates in that same collection.
  call['inputs'] = inputs
  call['updates_collections'] = [framework_ops.GraphKeys.UPDATE_OPS]
  return _UNDECORATED_BATCH_NORM(**call)


# Same arg_scope key as the original, so `slim.arg_scope([slim.batch_norm])`
# set up with either function object applies to both.
_batch_norm._key_op = slim_arg_scope.arg_scope_func_key(_UNDECORATED_BATCH_NORM)  # pylint: disable=protected-access
batch_norm = slim_arg_scope.add_arg_scope(_batch_norm)


def _replace_everywhere(original, replacement):
  """Points every tf_slim module attribute bound to `original` at `replacement`."""
  for name, module in list(sys.modules.items()):
    if module is None or not (name == 'tf_slim' or name.startswith('tf_slim.')):
      continue
    for attr, value in list(vars(module).items()):
      if value is original:
        setattr(module, attr, replacement)


def apply():
  """Applies the patches this TensorFlow needs; safe to call repeatedly."""
  global _applied
  if _applied:
    return
  if constant_value_patch_needed():
    _replace_everywhere(ORIGINAL_CONSTANT_VALUE, constant_value)
  if batch_norm_patch_needed():
    _replace_everywhere(ORIGINAL_BATCH_NORM, batch_norm)
  if tfexample_decoder_ops_patch_needed():
    _patch_tfexample_decoder_ops()
  if supervisor_threads_patch_needed():
    slim_learning.supervisor = _ModuleOverlay(ORIGINAL_LEARNING_SUPERVISOR,
                                              Supervisor=Supervisor)
  _applied = True


def applied_patches():
  """Names of the patches currently in effect (for tests and diagnostics)."""
  patches = []
  if slim_utils.constant_value is constant_value:
    patches.append('constant_value')
  if tf_slim.batch_norm is batch_norm:
    patches.append('batch_norm')
  if any(isinstance(getattr(slim_tfexample_decoder, alias), _ModuleOverlay)
         for alias in _TFEXAMPLE_DECODER_MOVED):
    patches.append('tfexample_decoder_ops')
  if slim_learning.supervisor.Supervisor is Supervisor:
    patches.append('supervisor_threads')
  return patches


# --- Patch 3: tfexample_decoder's moved control-flow and stack ops ----------

class _ModuleOverlay(types.ModuleType):
  """A module's attributes plus replacements (for one tf-slim module's use)."""

  def __init__(self, module, **replacements):
    super().__init__(module.__name__, module.__doc__)
    self.__dict__.update(replacements)
    self.overlaid_module = module

  def __getattr__(self, name):  # Only called for names not replaced.
    return getattr(self.overlaid_module, name)


# {tf-slim's name for a TensorFlow module: {symbol it calls: where it is now}}.
_TFEXAMPLE_DECODER_MOVED = {
    'control_flow_ops': {'case': tf.case, 'cond': tf.cond},
    'array_ops': {'stack': tf.stack},
}
# The TensorFlow modules tfexample_decoder imported (for the probe and tests).
ORIGINAL_TFEXAMPLE_DECODER_MODULES = {
    alias: getattr(slim_tfexample_decoder, alias)
    for alias in _TFEXAMPLE_DECODER_MOVED}


def _tfexample_decoder_missing():
  """{alias: {symbol: replacement}} tfexample_decoder calls but cannot find."""
  missing = {}
  for alias, symbols in _TFEXAMPLE_DECODER_MOVED.items():
    module = ORIGINAL_TFEXAMPLE_DECODER_MODULES[alias]
    gone = {name: new for name, new in symbols.items()
            if not hasattr(module, name)}
    if gone:
      missing[alias] = gone
  return missing


def tfexample_decoder_ops_patch_needed():
  """True while a TF module tfexample_decoder uses lacks a symbol it calls."""
  return bool(_tfexample_decoder_missing())


def _patch_tfexample_decoder_ops():
  for alias, gone in _tfexample_decoder_missing().items():
    setattr(slim_tfexample_decoder, alias,
            _ModuleOverlay(ORIGINAL_TFEXAMPLE_DECODER_MODULES[alias], **gone))


# --- Patch 4: slim.learning.train's Supervisor threads in graph mode --------

ORIGINAL_LEARNING_SUPERVISOR = slim_learning.supervisor


def supervisor_threads_patch_needed():
  """True while a new thread executes eagerly (TF2 behaviour).

  TF's Supervisor threads, which unpatched slim.learning.train starts, then
  read the graph's global step outside the graph.
  """
  eager = []
  thread = threading.Thread(target=lambda: eager.append(tf.executing_eagerly()))
  thread.start()
  thread.join()
  return eager[0]


class _GraphCoordinator(coordinator.Coordinator):
  """A Coordinator whose `stop_on_exception()` also enters `graph`."""

  def __init__(self, graph):
    super().__init__()
    self._graph = graph

  @contextlib.contextmanager
  def stop_on_exception(self):
    with self._graph.as_default(), super().stop_on_exception():
      yield


class Supervisor(tf_supervisor.Supervisor):
  """tf.train.Supervisor whose service threads run in its graph.

  Every service thread (coordinator.LooperThread) runs its loop inside
  `coord.stop_on_exception()`, so a Coordinator that enters the graph there
  puts each thread in graph mode; in the calling thread it is a no-op.
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self._coord = _GraphCoordinator(self._graph)
