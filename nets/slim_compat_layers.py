"""nets.slim_compat's patches 1 and 2: tf-slim's layers on current TensorFlow.

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
"""

import contextlib
import functools
import importlib
import inspect

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import ops as framework_ops
from tensorflow.python.framework import tensor_util
from tensorflow.python.ops import variables as tf_variables

from tf_slim.layers import layers as slim_layers
from tf_slim.layers import utils as slim_utils
from tf_slim.ops import arg_scope as slim_arg_scope

from nets.slim_compat_patching import ModuleOverlay
from nets.slim_compat_patching import replace_everywhere

# The originals, kept so the probes can test them after patching.
ORIGINAL_CONSTANT_VALUE = slim_utils.constant_value
ORIGINAL_BATCH_NORM = slim_layers.batch_norm
ORIGINAL_NORMALIZATION_LAYERS = slim_layers.normalization_layers
_UNDECORATED_BATCH_NORM = getattr(ORIGINAL_BATCH_NORM, '__wrapped__',
                                  ORIGINAL_BATCH_NORM)
_BATCH_NORM_SIGNATURE = inspect.signature(_UNDECORATED_BATCH_NORM)


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


def apply():
  """Applies patches 1 and 2 where this TensorFlow needs them."""
  if constant_value_patch_needed():
    replace_everywhere(ORIGINAL_CONSTANT_VALUE, constant_value)
  if batch_norm_patch_needed():
    replace_everywhere(ORIGINAL_BATCH_NORM, batch_norm)
    slim_layers.normalization_layers = ModuleOverlay(
        ORIGINAL_NORMALIZATION_LAYERS,
        BatchNormalization=_keras_batch_normalization)


def applied():
  """The names of patches 1 and 2 in effect."""
  patches = []
  if slim_utils.constant_value is constant_value:
    patches.append('constant_value')
  if slim_layers.batch_norm is batch_norm:
    patches.append('batch_norm')
  return patches
