"""Makes tf-slim 1.1.0 (its last release, 2020) work on current TensorFlow.

tf-slim reaches into TensorFlow internals that have since moved. Each patch
below fixes one breakage, says why it exists and which versions need it, and
comes with a probe (`*_patch_needed`) that tests the *unpatched* tf-slim code,
so `nets_test/slim_compat_test.py` tells us when a patch can be deleted.

The patches touch tf-slim's own modules only; TensorFlow itself and its global
behaviour (eager/graph mode, v2 behaviour) are left alone. Importing this
module applies them (`apply()`, idempotent), so `import nets.slim_compat` at
the top of a script makes all of tf-slim work; every `nets` module a slim
user may import (the network, nets_factory, the preprocessing and dataset
modules, dataset_utils, model_deploy, ...) imports it and calls `apply()`.

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
     collections), same math, moving-average updates in UPDATE_OPS. The
     non-fused code ignores `param_regularizers` (the fused code and the
     Keras layer apply them), so the patch adds their losses there (a custom
     getter); `renorm_clipping` and `renorm_decay` only matter with
     `renorm`. `renorm` and `adjustment` need the Keras layer itself: the
     patch points tf-slim's `normalization_layers` at tf-keras' copy
     (`tf_keras.src.legacy_tf_layers`; the optional `tf-keras` extra), and
     without tf-keras raises an ImportError saying what to install. Applied
     only while the Keras layer cannot be imported through TensorFlow.
  3. `moved_symbols`: tf-slim calls functions and classes through the
     TensorFlow modules it imported (`control_flow_ops.cond`,
     `array_ops.stack`, `ops.Tensor`, ...) that have since moved out of them
     (to `cond`, `array_ops_stack`, `tensor`, ...; all confirmed missing on
     TF 2.21), so these public functions raised AttributeError:
     - tf_slim.data.tfexample_decoder (case, cond, stack): every `Image`
       handler (every slim image dataset), `BackupHandler`,
       `Tensor(shape_keys=...)`, `SparseTensor`;
     - tf_slim.layers.utils (cond): `smart_cond` with a tensor predicate,
       so `slim.batch_norm` and every slim network with a tensor
       `is_training` (`tf.placeholder(tf.bool)` in fine-tuning scripts);
     - tf_slim.layers.layers (stack, unstack): `legacy_fully_connected`,
       `legacy_relu`, `legacy_linear` of inputs of rank > 2;
     - tf_slim.layers.optimizers (Tensor, IndexedSlices): `optimize_loss`,
       `adaptive_clipping_fn`;
     - tf_slim.layers.rev_block_lib (Tensor): `recompute_grad`;
     - tf_slim.ops.variables (variable_scope.variable): `local_variable`,
       `global_variable`;
     - tf_slim.learning (Tensor, IndexedSlices): `clip_gradient_norms`,
       `multiply_gradients`, `add_gradients_summaries`, so
       `create_train_op` with `clip_gradient_norm`, `gradient_multipliers`
       or `summarize_gradients`;
     - tf_slim.training.training (IndexedSlices): the same three helpers,
       `clip_gradient_norms_fn`, `create_train_op(summarize_gradients=True)`;
     - tf_slim.metrics.metric_ops (stack, cond): every
       `streaming_*_at_thresholds` but precision and recall,
       `streaming_curve_points`, `precision_at_recall`,
       `recall_at_precision`, `streaming_concat`, `streaming_dynamic_auc`,
       `auc_with_confidence_intervals`;
     - tf_slim.metrics.histogram_ops (Assert): `auc_using_histogram`;
     - tf_slim.losses.metric_learning (while_loop): `cluster_loss` (which
       also needs scikit-learn).
     Each such module's name for the TensorFlow module is pointed at a
     stand-in that forwards everything and adds the moved symbols under
     their public names (`tf.compat.v1.cond`, `tf.stack`, `tf.Tensor`, ...);
     `MOVED_SYMBOLS` lists them. Only symbols still missing are added.
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
  5. `assign_from_checkpoint`: for each part of a partitioned variable,
     slim.assign_from_checkpoint indexes the checkpoint's array with a list
     of slices, which NumPy >= 1.23 refuses (IndexError). tf-slim's
     ops.variables reads checkpoints through a reader whose arrays take
     that index as the tuple it means. Applied while NumPy refuses it.
  6. `next_array_size`: streaming_concat (and so streaming_dynamic_auc,
     auc_with_confidence_intervals) grows its buffer to a size computed in
     float32, one short for some large sizes (7,371,556 values gives
     7,371,555 and the update fails). A bug of tf-slim 1.1.0 on any
     TensorFlow; computed in float64 here, never below the size needed.
  7. `streaming_covariance`: after a first batch (or batches) whose weights
     sum to zero, tf-slim 1.1.0 divides 0 by a zero count, and the
     covariance (and streaming_pearson_correlation, built on it) stays NaN
     for good. The patched copy counts such a batch as nothing.
  Patches 6 and 7 run tf-slim's code eagerly in their probes, and are
  applied while it gives the wrong answer; as that takes a tenth of a
  second or more, they are decided at the first call of streaming_concat
  and streaming_covariance (or by `applied_patches()`).
"""

import contextlib
import functools
import importlib
import inspect
import sys
import threading
import types

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import ops as framework_ops
from tensorflow.python.framework import tensor_util
from tensorflow.python.ops import metrics_impl
from tensorflow.python.ops import variables as tf_variables
from tensorflow.python.ops import weights_broadcast_ops
from tensorflow.python.training import coordinator
from tensorflow.python.training import supervisor as tf_supervisor

import tf_slim
from tf_slim import learning as slim_learning
from tf_slim.data import tfexample_decoder as slim_tfexample_decoder
from tf_slim.layers import layers as slim_layers
from tf_slim.layers import optimizers as slim_optimizers
from tf_slim.layers import rev_block_lib as slim_rev_block_lib
from tf_slim.layers import utils as slim_utils
from tf_slim.losses import metric_learning as slim_metric_learning
from tf_slim.metrics import histogram_ops as slim_histogram_ops
from tf_slim.metrics import metric_ops as slim_metric_ops
from tf_slim.ops import arg_scope as slim_arg_scope
from tf_slim.ops import variables as slim_variables
from tf_slim.training import training as slim_training

# The originals, kept so the probes can test them after patching.
ORIGINAL_CONSTANT_VALUE = slim_utils.constant_value
ORIGINAL_BATCH_NORM = slim_layers.batch_norm
ORIGINAL_NORMALIZATION_LAYERS = slim_layers.normalization_layers
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


# The Keras legacy layer that tf-slim's batch_norm builds for `renorm` and
# `adjustment`, from the optional tf-keras package (setup.py's `tf-keras`
# extra). TensorFlow's lazy loader looks for it at
# `tf_keras.legacy_tf_layers`; tf-keras 2.21 has it at `tf_keras.src`.
KERAS_NORMALIZATION_MODULE = 'tf_keras.src.legacy_tf_layers.normalization'
NEEDS_TF_KERAS = (
    "slim.batch_norm(renorm=True) and adjustment=... need the tf-keras "
    "package: pip install 'slim-inception-v3[tf-keras]' (or tf-keras for "
    "your TensorFlow version)")


def keras_normalization():
  """tf-keras' legacy normalization module, or ImportError: how to install it."""
  try:
    return importlib.import_module(KERAS_NORMALIZATION_MODULE)
  except ImportError as error:
    raise ImportError('%s (%s)' % (NEEDS_TF_KERAS, error)) from None


def _keras_batch_normalization(*args, **kwargs):
  """The layer tf-slim's batch_norm builds, from tf-keras (see above)."""
  return keras_normalization().BatchNormalization(*args, **kwargs)


@contextlib.contextmanager
def _custom_getter(scope, getter):
  """Adds `getter` to the custom getters of `scope` for the block.

  Scopes opened inside inherit it. (Entering `scope` again instead would
  change the names of default-named subscopes and of name scopes.)
  """
  old = scope.custom_getter
  scope.set_custom_getter(
      getter if old is None else
      lambda next_getter, *args, **kwargs: getter(
          functools.partial(old, next_getter), *args, **kwargs))
  try:
    yield
  finally:
    scope.set_custom_getter(old)


def _with_param_regularizers(call):
  """tf-slim's batch_norm(**call), adding the losses of `param_regularizers`.

  tf-slim's non-fused code ignores `param_regularizers` (its fused code and
  the Keras layer apply them); a custom getter gives `beta` and `gamma` their
  regularizer as the fused code does (same losses, same names).
  """
  regularizers = call['param_regularizers']
  if not regularizers:
    return _UNDECORATED_BATCH_NORM(**call)

  def regularizing_getter(getter, name, *args, **kwargs):
    param = name.rsplit('/', 1)[-1]  # Only batch_norm's variables get here.
    if param in ('beta', 'gamma') and kwargs.get('regularizer') is None:
      kwargs['regularizer'] = regularizers.get(param)
    return getter(name, *args, **kwargs)

  scope = call['scope']
  if not isinstance(scope, tf.VariableScope):  # A name or None: opened in
    scope = tf.get_variable_scope()            # the current scope.
  with _custom_getter(scope, regularizing_getter):
    return _UNDECORATED_BATCH_NORM(**call)


def _batch_norm(*args, **kwargs):
  """slim.batch_norm that never needs `tf_keras.legacy_tf_layers`."""
  bound = _BATCH_NORM_SIGNATURE.bind(*args, **kwargs)
  bound.apply_defaults()
  call = bound.arguments
  if not _takes_keras_layer_path(call):
    return _UNDECORATED_BATCH_NORM(*args, **kwargs)
  if call['renorm'] or call['adjustment'] is not None:
    keras_normalization()  # Before building anything: is tf-keras there?
    return _UNDECORATED_BATCH_NORM(*args, **kwargs)  # The Keras layer.
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
  # naming UPDATE_OPS puts the updates in that same collection. The
  # arguments only the Keras layer reads: renorm and adjustment (handled
  # above), renorm_clipping and renorm_decay (read only with renorm).
  call['inputs'] = inputs
  call['updates_collections'] = [framework_ops.GraphKeys.UPDATE_OPS]
  return _with_param_regularizers(call)


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
    slim_layers.normalization_layers = _ModuleOverlay(
        ORIGINAL_NORMALIZATION_LAYERS,
        BatchNormalization=_keras_batch_normalization)
  if moved_symbols_patch_needed():
    _patch_moved_symbols()
  if supervisor_threads_patch_needed():
    slim_learning.supervisor = _ModuleOverlay(ORIGINAL_LEARNING_SUPERVISOR,
                                              Supervisor=Supervisor)
  if assign_from_checkpoint_patch_needed():
    slim_variables.tf = _reading_with(
        lambda path: _CheckpointReader(tf.train.NewCheckpointReader(path)))
  # Patches 6 and 7: decided at the first call (their probes are slow).
  for original, decide in (
      (ORIGINAL_STREAMING_CONCAT, _patch_next_array_size_if_needed),
      (ORIGINAL_STREAMING_COVARIANCE, _patch_streaming_covariance_if_needed)):
    _replace_everywhere(original, _decided_at_first_call(original, decide))
  _applied = True


def applied_patches():
  """Names of the patches in effect (for tests and diagnostics).

  Decides first the patches still waiting for their first call.
  """
  for decide in list(_PENDING):
    decide()
  patches = []
  if slim_utils.constant_value is constant_value:
    patches.append('constant_value')
  if tf_slim.batch_norm is batch_norm:
    patches.append('batch_norm')
  if any(isinstance(getattr(module, alias), _ModuleOverlay)
         for module, alias in ORIGINAL_TF_MODULES):
    patches.append('moved_symbols')
  if slim_learning.supervisor.Supervisor is Supervisor:
    patches.append('supervisor_threads')
  if slim_variables.tf is not ORIGINAL_VARIABLES_TF:
    patches.append('assign_from_checkpoint')
  if slim_metric_ops._next_array_size is next_array_size:  # pylint: disable=protected-access
    patches.append('next_array_size')
  if slim_metric_ops.streaming_covariance is streaming_covariance:
    patches.append('streaming_covariance')
  return patches


# --- Patch 3: TensorFlow symbols that moved out of the modules tf-slim uses --

class _ModuleOverlay(types.ModuleType):
  """A module's attributes plus replacements (for one tf-slim module's use)."""

  def __init__(self, module, **replacements):
    super().__init__(module.__name__, module.__doc__)
    self.__dict__.update(replacements)
    self.overlaid_module = module

  def __getattr__(self, name):  # Only called for names not replaced.
    return getattr(self.overlaid_module, name)


# {tf-slim module: {its name for a TensorFlow module it imported: {symbol it
# uses there: where that symbol is now}}}. All missing on TF 2.21.
MOVED_SYMBOLS = {
    slim_tfexample_decoder: {
        'control_flow_ops': {'case': tf.case, 'cond': tf.cond},
        'array_ops': {'stack': tf.stack},
    },
    slim_layers: {'array_ops': {'stack': tf.stack, 'unstack': tf.unstack}},
    slim_utils: {'control_flow_ops': {'cond': tf.cond}},
    slim_optimizers: {'ops': {'IndexedSlices': tf.IndexedSlices,
                              'Tensor': tf.Tensor}},
    slim_rev_block_lib: {'framework_ops': {'Tensor': tf.Tensor}},
    slim_variables: {'variable_scope': {'variable': tf.Variable}},
    slim_learning: {'ops': {'IndexedSlices': tf.IndexedSlices,
                            'Tensor': tf.Tensor}},
    slim_training: {'ops': {'IndexedSlices': tf.IndexedSlices}},
    slim_metric_ops: {'array_ops': {'stack': tf.stack},
                      'control_flow_ops': {'cond': tf.cond}},
    slim_histogram_ops: {'control_flow_ops': {'Assert': tf.Assert}},
    slim_metric_learning: {'control_flow_ops': {'while_loop': tf.while_loop}},
}
# {(tf-slim module, alias): the TensorFlow module it imported there}, kept so
# the probe and the tests can look at them after patching.
ORIGINAL_TF_MODULES = {
    (module, alias): getattr(module, alias)
    for module, aliases in MOVED_SYMBOLS.items() for alias in aliases}


def missing_symbols():
  """{(tf-slim module, alias): {symbol: replacement}} of the symbols gone."""
  missing = {}
  for module, aliases in MOVED_SYMBOLS.items():
    for alias, symbols in aliases.items():
      original = ORIGINAL_TF_MODULES[module, alias]
      gone = {name: new for name, new in symbols.items()
              if not hasattr(original, name)}
      if gone:
        missing[module, alias] = gone
  return missing


def moved_symbols_patch_needed():
  """True while a TF module tf-slim imported lacks a symbol tf-slim calls."""
  return bool(missing_symbols())


def _patch_moved_symbols():
  for (module, alias), gone in missing_symbols().items():
    setattr(module, alias,
            _ModuleOverlay(ORIGINAL_TF_MODULES[module, alias], **gone))


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


# --- Patch 5: assign_from_checkpoint of partitioned variables --------------

ORIGINAL_ASSIGN_FROM_CHECKPOINT = slim_variables.assign_from_checkpoint
ORIGINAL_VARIABLES_TF = slim_variables.tf


class _SliceListIndexable(np.ndarray):
  """An array that also takes a list of slices as an index (old NumPy did)."""

  def __getitem__(self, index):
    if isinstance(index, list) and all(isinstance(i, slice) for i in index):
      index = tuple(index)
    return np.asarray(super().__getitem__(index))


class _CheckpointReader:
  """A checkpoint reader whose tensors take a list of slices as an index."""

  def __init__(self, reader):
    self._reader = reader

  def __getattr__(self, name):
    return getattr(self._reader, name)

  def get_tensor(self, name):
    return self._reader.get_tensor(name).view(_SliceListIndexable)


def _reading_with(reader):
  """tf.compat.v1 as tf-slim's ops.variables sees it, reading with `reader`."""
  return _ModuleOverlay(ORIGINAL_VARIABLES_TF, train=_ModuleOverlay(
      ORIGINAL_VARIABLES_TF.train, NewCheckpointReader=reader))


def assign_from_checkpoint_patch_needed():
  """True while NumPy refuses a list of slices as an index (NumPy >= 1.23).

  tf-slim's assign_from_checkpoint indexes a checkpoint's array so for each
  part of a partitioned variable (IndexError); the test runs it.
  """
  try:
    np.zeros([1])[[slice(0, 1)]]
  except IndexError:
    return True
  return False


# --- Patches decided at the first call --------------------------------------

_PENDING = []  # The decisions of the stand-ins not called yet.


def _decided_at_first_call(original, decide):
  """Stands in for tf-slim's `original` until its first call.

  The probes of patches 6 and 7 run tf-slim's code, a tenth of a second or
  more: too slow for every import. The first call runs `decide()`, which
  applies the patch if its probe shows the bug and returns the function to
  call for `original`; that function then replaces the stand-in.
  """
  chosen = []

  def resolve():
    if not chosen:
      chosen.append(decide())
      _replace_everywhere(stand_in, chosen[0])
      _PENDING.remove(resolve)
    return chosen[0]

  @functools.wraps(original)
  def stand_in(*args, **kwargs):
    return resolve()(*args, **kwargs)

  _PENDING.append(resolve)
  return stand_in


# --- Patch 6: the buffer sizes of streaming_concat --------------------------

ORIGINAL_STREAMING_CONCAT = slim_metric_ops.streaming_concat

ORIGINAL_NEXT_ARRAY_SIZE = slim_metric_ops._next_array_size  # pylint: disable=protected-access
# The smallest size for which tf-slim 1.1.0's float32 computation (growth
# 1.5) comes out one short.
SHORT_BUFFER_SIZE = 7371556


@contextlib.contextmanager
def _eagerly():
  """Runs a probe eagerly (fast), whatever the process' mode.

  In a graph of its own: variables made eagerly in the default graph would
  make it build resource variables after `disable_v2_behavior()`.
  """
  with tf.Graph().as_default(), context.eager_mode():
    yield


def next_array_size_patch_needed():
  """True while tf-slim's next buffer size can be smaller than the one asked."""
  with _eagerly():
    return ORIGINAL_NEXT_ARRAY_SIZE(SHORT_BUFFER_SIZE).numpy() < SHORT_BUFFER_SIZE


def _patch_next_array_size_if_needed():
  if next_array_size_patch_needed():
    slim_metric_ops._next_array_size = next_array_size  # pylint: disable=protected-access
  return ORIGINAL_STREAMING_CONCAT


def next_array_size(required_size, growth_factor=1.5):
  """The smallest power of `growth_factor` >= `required_size`, rounded up.

  As tf-slim's `_next_array_size` (streaming_concat's buffer growth), in
  float64 and never below `required_size`.
  """
  required_size = tf.cast(required_size, tf.int32)
  exponent = tf.ceil(tf.log(tf.cast(required_size, tf.float64)) /
                     tf.log(tf.cast(growth_factor, tf.float64)))
  size = tf.cast(tf.ceil(tf.cast(growth_factor, tf.float64)**exponent),
                 tf.int32)
  return tf.maximum(size, required_size)


# --- Patch 7: streaming_covariance after weights that sum to zero ----------

ORIGINAL_STREAMING_COVARIANCE = slim_metric_ops.streaming_covariance


def streaming_covariance_patch_needed():
  """True while a first batch of zero weights makes the co-moment NaN.

  Runs tf-slim's streaming_covariance eagerly (its update runs as it is
  built) and reads the variables it created.
  """
  created = []

  def keep(next_creator, **kwargs):
    created.append(next_creator(**kwargs))
    return created[-1]

  with _eagerly(), tf.variable_creator_scope(keep):
    ORIGINAL_STREAMING_COVARIANCE(tf.constant([1.0, 2.0]),
                                  tf.constant([1.0, 3.0]),
                                  weights=tf.constant([0.0, 0.0]))
    comoment, = [v for v in created if v.name.endswith('comoment:0')]
    return bool(np.isnan(comoment.numpy()))


def _patch_streaming_covariance_if_needed():
  if streaming_covariance_patch_needed():
    return streaming_covariance
  return ORIGINAL_STREAMING_COVARIANCE


def streaming_covariance(predictions, labels, weights=None,
                         metrics_collections=None, updates_collections=None,
                         name=None):
  """slim.metrics.streaming_covariance, counting zero-weight batches as nothing.

  Same variables, update and result as tf-slim's: per batch, Chan et al.'s
  pairwise update of the count, the means and the co-moment, with
  `weights` as frequency weights. tf-slim divides by the count so far, 0
  after a first batch whose weights sum to zero, which made the co-moment
  NaN from then on; here that term is 0 (the batch adds nothing).
  """
  with tf.variable_scope(name, 'covariance', (predictions, labels, weights)):
    predictions, labels, weights = metrics_impl._remove_squeezable_dimensions(  # pylint: disable=protected-access
        predictions, labels, weights)
    predictions.get_shape().assert_is_compatible_with(labels.get_shape())
    count, mean_prediction, mean_label, comoment = (
        metrics_impl.metric_variable([], tf.float32, name=variable)
        for variable in ('count', 'mean_prediction', 'mean_label', 'comoment'))
    if weights is None:
      weights = tf.ones_like(labels)
    else:
      weights = weights_broadcast_ops.broadcast_weights(weights, labels)
    batch_count = tf.reduce_sum(weights)
    new_count = tf.assign_add(count, batch_count)
    old_count = new_count - batch_count

    def update_mean(mean, values):
      """(mean of the batch, mean before it); updates `mean` to the new one."""
      batch_mean = tf.div_no_nan(tf.reduce_sum(values * weights), batch_count)
      delta = tf.div_no_nan((batch_mean - mean) * batch_count, new_count)
      return batch_mean, tf.assign_add(mean, delta) - delta

    batch_prediction, old_prediction = update_mean(mean_prediction, predictions)
    batch_label, old_label = update_mean(mean_label, labels)
    batch_comoment = tf.reduce_sum(
        (predictions - batch_prediction) * (labels - batch_label) * weights)
    update_comoment = tf.assign_add(comoment, batch_comoment + (
        (old_prediction - batch_prediction) * (old_label - batch_label) *
        tf.div_no_nan(old_count * batch_count, new_count)))

    def unbiased(name):
      return tf.where(count <= 1.0, float('nan'),
                      tf.truediv(comoment, count - 1.0), name=name)

    covariance = unbiased('covariance')
    with tf.control_dependencies([update_comoment]):
      update_op = unbiased('update_op')
  if metrics_collections:
    tf.add_to_collections(metrics_collections, covariance)
  if updates_collections:
    tf.add_to_collections(updates_collections, update_op)
  return covariance, update_op


# `import nets.slim_compat` is all a script using tf-slim needs.
apply()
