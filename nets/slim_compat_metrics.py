"""nets.slim_compat's patches 6 and 7: two bugs of tf-slim's streaming metrics.

6. `next_array_size`: streaming_concat (and so streaming_dynamic_auc,
   auc_with_confidence_intervals) grows its buffer to a size computed in
   float32, one short for some large sizes (7,371,556 values gives
   7,371,555 and the update fails). A bug of tf-slim 1.1.0 on any
   TensorFlow; computed in float64 here, never below the size needed.
7. `streaming_covariance`: after a first batch (or batches) whose weights
   sum to zero, tf-slim 1.1.0 divides 0 by a zero count, and the
   covariance (and streaming_pearson_correlation, built on it) stays NaN
   for good. The patched copy counts such a batch as nothing.

Both run tf-slim's code eagerly in their probes, and are
applied while it gives the wrong answer; as that takes a tenth of a
second or more, they are decided at the first call of streaming_concat
and streaming_covariance (or by `applied_patches()`).
"""

import contextlib
import functools

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.python.eager import context
from tensorflow.python.ops import metrics_impl
from tensorflow.python.ops import weights_broadcast_ops

from tf_slim.metrics import metric_ops as slim_metric_ops

from nets.slim_compat_patching import replace_everywhere


# --- Patches decided at the first call --------------------------------------

PENDING = []  # The decisions of the stand-ins not called yet.


def decided_at_first_call(original, decide):
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
      replace_everywhere(stand_in, chosen[0])
      PENDING.remove(resolve)
    return chosen[0]

  @functools.wraps(original)
  def stand_in(*args, **kwargs):
    return resolve()(*args, **kwargs)

  PENDING.append(resolve)
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


def apply():
  """Puts stand-ins for streaming_concat and streaming_covariance in place.

  Patches 6 and 7 are decided at the stand-ins' first call (their probes
  are slow).
  """
  for original, decide in (
      (ORIGINAL_STREAMING_CONCAT, _patch_next_array_size_if_needed),
      (ORIGINAL_STREAMING_COVARIANCE, _patch_streaming_covariance_if_needed)):
    replace_everywhere(original, decided_at_first_call(original, decide))


def applied():
  """The names of patches 6 and 7 in effect, deciding those still waiting."""
  for decide in list(PENDING):
    decide()
  patches = []
  if slim_metric_ops._next_array_size is next_array_size:  # pylint: disable=protected-access
    patches.append('next_array_size')
  if slim_metric_ops.streaming_covariance is streaming_covariance:
    patches.append('streaming_covariance')
  return patches
