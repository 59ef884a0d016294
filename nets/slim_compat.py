"""Makes tf-slim 1.1.0 (its last release, 2020) work on current TensorFlow.

tf-slim reaches into TensorFlow internals that have since moved. Each patch
fixes one breakage, says why it exists and which versions need it, and comes
with a probe (`*_patch_needed`) that tests the *unpatched* tf-slim code, so
`nets_test/slim_compat_test.py` tells us when a patch can be deleted.

The patches touch tf-slim's own modules only; TensorFlow itself and its global
behaviour (eager/graph mode, v2 behaviour) are left alone. Importing this
module applies them (`apply()`, idempotent), so `import nets.slim_compat` at
the top of a script makes all of tf-slim work; every `nets` module a slim
user may import (the network, nets_factory, the preprocessing and dataset
modules, dataset_utils, model_deploy, ...) imports it and calls `apply()`.


The patches, each with its probe and its reasons in the module that holds it:
  nets.slim_compat_layers   1. constant_value, 2. batch_norm
  nets.slim_compat_modules  3. moved_symbols, 4. supervisor_threads,
                            5. assign_from_checkpoint (what tf-slim's
                            modules see of TensorFlow)
  nets.slim_compat_metrics  6. next_array_size, 7. streaming_covariance
                            (decided at their first call: slow probes)
and nets.slim_compat_patching, how they reach tf-slim's modules. Their
public names are this module's too (`slim_compat.batch_norm`,
`slim_compat.MOVED_SYMBOLS`, `slim_compat.Supervisor`, ...).
"""

from nets import slim_compat_layers
from nets import slim_compat_metrics
from nets import slim_compat_modules
from nets.slim_compat_layers import batch_norm
from nets.slim_compat_layers import batch_norm_patch_needed
from nets.slim_compat_layers import constant_value
from nets.slim_compat_layers import constant_value_patch_needed
from nets.slim_compat_layers import keras_normalization
from nets.slim_compat_layers import KERAS_NORMALIZATION_MODULE
from nets.slim_compat_layers import NEEDS_TF_KERAS
from nets.slim_compat_layers import ORIGINAL_BATCH_NORM
from nets.slim_compat_layers import ORIGINAL_CONSTANT_VALUE
from nets.slim_compat_layers import ORIGINAL_NORMALIZATION_LAYERS
from nets.slim_compat_metrics import next_array_size
from nets.slim_compat_metrics import next_array_size_patch_needed
from nets.slim_compat_metrics import ORIGINAL_NEXT_ARRAY_SIZE
from nets.slim_compat_metrics import ORIGINAL_STREAMING_CONCAT
from nets.slim_compat_metrics import ORIGINAL_STREAMING_COVARIANCE
from nets.slim_compat_metrics import SHORT_BUFFER_SIZE
from nets.slim_compat_metrics import streaming_covariance
from nets.slim_compat_metrics import streaming_covariance_patch_needed
from nets.slim_compat_modules import assign_from_checkpoint_patch_needed
from nets.slim_compat_modules import missing_symbols
from nets.slim_compat_modules import MOVED_SYMBOLS
from nets.slim_compat_modules import moved_symbols_patch_needed
from nets.slim_compat_modules import ORIGINAL_ASSIGN_FROM_CHECKPOINT
from nets.slim_compat_modules import ORIGINAL_LEARNING_SUPERVISOR
from nets.slim_compat_modules import ORIGINAL_TF_MODULES
from nets.slim_compat_modules import ORIGINAL_VARIABLES_TF
from nets.slim_compat_modules import Supervisor
from nets.slim_compat_modules import supervisor_threads_patch_needed

__all__ = [
    'applied_patches', 'apply', 'assign_from_checkpoint_patch_needed',
    'batch_norm', 'batch_norm_patch_needed', 'constant_value',
    'constant_value_patch_needed', 'keras_normalization',
    'KERAS_NORMALIZATION_MODULE', 'missing_symbols', 'MOVED_SYMBOLS',
    'moved_symbols_patch_needed', 'NEEDS_TF_KERAS', 'next_array_size',
    'next_array_size_patch_needed', 'ORIGINAL_ASSIGN_FROM_CHECKPOINT',
    'ORIGINAL_BATCH_NORM', 'ORIGINAL_CONSTANT_VALUE',
    'ORIGINAL_LEARNING_SUPERVISOR', 'ORIGINAL_NEXT_ARRAY_SIZE',
    'ORIGINAL_NORMALIZATION_LAYERS', 'ORIGINAL_STREAMING_CONCAT',
    'ORIGINAL_STREAMING_COVARIANCE', 'ORIGINAL_TF_MODULES',
    'ORIGINAL_VARIABLES_TF', 'SHORT_BUFFER_SIZE', 'streaming_covariance',
    'streaming_covariance_patch_needed', 'Supervisor',
    'supervisor_threads_patch_needed',
]

# The groups of patches, in the order they are applied.
_GROUPS = (slim_compat_layers, slim_compat_modules, slim_compat_metrics)
_applied = False


def apply():
  """Applies the patches this TensorFlow needs; safe to call repeatedly."""
  global _applied
  if _applied:
    return
  for group in _GROUPS:
    group.apply()
  _applied = True


def applied_patches():
  """Names of the patches in effect (for tests and diagnostics).

  Decides first the patches still waiting for their first call.
  """
  return [name for group in _GROUPS for name in group.applied()]


# `import nets.slim_compat` is all a script using tf-slim needs.
apply()
