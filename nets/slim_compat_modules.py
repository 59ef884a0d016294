"""nets.slim_compat's patches 3 to 5: what tf-slim's modules see of TensorFlow.

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

Each is an overlay (nets.slim_compat_patching.ModuleOverlay) of a
TensorFlow module as one tf-slim module sees it.
"""

import contextlib
import threading

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.python.training import coordinator
from tensorflow.python.training import supervisor as tf_supervisor

from tf_slim import learning as slim_learning
from tf_slim.data import tfexample_decoder as slim_tfexample_decoder
from tf_slim.layers import layers as slim_layers
from tf_slim.layers import optimizers as slim_optimizers
from tf_slim.layers import rev_block_lib as slim_rev_block_lib
from tf_slim.layers import utils as slim_utils
from tf_slim.losses import metric_learning as slim_metric_learning
from tf_slim.metrics import histogram_ops as slim_histogram_ops
from tf_slim.metrics import metric_ops as slim_metric_ops
from tf_slim.ops import variables as slim_variables
from tf_slim.training import training as slim_training

from nets.slim_compat_patching import ModuleOverlay


# --- Patch 3: TensorFlow symbols that moved out of the modules tf-slim uses --

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
            ModuleOverlay(ORIGINAL_TF_MODULES[module, alias], **gone))


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
  return ModuleOverlay(ORIGINAL_VARIABLES_TF, train=ModuleOverlay(
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



def apply():
  """Applies patches 3 to 5 where this TensorFlow and NumPy need them."""
  if moved_symbols_patch_needed():
    _patch_moved_symbols()
  if supervisor_threads_patch_needed():
    slim_learning.supervisor = ModuleOverlay(ORIGINAL_LEARNING_SUPERVISOR,
                                             Supervisor=Supervisor)
  if assign_from_checkpoint_patch_needed():
    slim_variables.tf = _reading_with(
        lambda path: _CheckpointReader(tf.train.NewCheckpointReader(path)))


def applied():
  """The names of patches 3 to 5 in effect."""
  patches = []
  if any(isinstance(getattr(module, alias), ModuleOverlay)
         for module, alias in ORIGINAL_TF_MODULES):
    patches.append('moved_symbols')
  if slim_learning.supervisor.Supervisor is Supervisor:
    patches.append('supervisor_threads')
  if slim_variables.tf is not ORIGINAL_VARIABLES_TF:
    patches.append('assign_from_checkpoint')
  return patches
