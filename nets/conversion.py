"""What the converters to other runtimes (nets.to_onnx, nets.to_tflite) share.

Both convert `inference.frozen_graph_def(optimize=True)` (BatchNorm folded,
weights read once and checked to be finite), name its input `input` and its
outputs `logits` and `probabilities`, compare the written file with the
slim graph restored from the same checkpoint before it is put in place, and
print one line per output checked. The model is written whole and fsync'd
inside `outputs.staged`, so a failed run (a full disk, Ctrl-C) leaves
nothing behind.
"""

import collections
import os

import numpy as np

from nets import checkpoints
from nets import inception_v3
from nets import inference

INPUT = inception_v3.INPUT_NAME
# (output name in the converted model, the TensorFlow op it comes from).
OUTPUTS = (('logits', inception_v3.LOGITS_OP),
           ('probabilities', inception_v3.PREDICTIONS_OP))
VERIFY_BATCH_SIZE = 2


class ExportError(ValueError):
  """An export that cannot be done; the message is one line."""


def _not_finite(error):
  """The ExportError of a checkpoints.NonFiniteWeightsError."""
  return ExportError(
      "the checkpoint's weights are not finite: %s has %d NaN and %d "
      'infinite values (of %d)' % (error.name, error.nan, error.inf,
                                   error.size))


def check_finite(weights):
  """Raises ExportError for the first weight that is NaN or infinite.

  Args:
    weights: {variable name: np.ndarray} (read one at a time).
  """
  try:
    for name in weights:
      checkpoints.check_finite(np.asarray(weights[name]), name)
  except checkpoints.NonFiniteWeightsError as e:
    raise _not_finite(e) from e


def frozen_graph(checkpoint_path, num_classes=None, image_size=299,
                 moving_average_decay=None):
  """(Checkpoint, num_classes, GraphDef): the graph to convert, checked.

  The checkpoint is opened once with finite-checked reads; building the
  GraphDef reads every weight, so weights that are not finite fail here,
  before any slow work.

  Raises:
    checkpoints.CheckpointError: no readable Inception V3 checkpoint.
    ExportError: weights that are not finite.
  """
  checkpoint = checkpoints.load_checkpoint(checkpoint_path,
                                          require_finite=True)
  num_classes = checkpoint.classes(num_classes)
  try:
    graph_def = inference.frozen_graph_def(
        checkpoint, num_classes, image_size, moving_average_decay,
        optimize=True)
  except checkpoints.NonFiniteWeightsError as e:
    raise _not_finite(e) from e
  return checkpoint, num_classes, graph_def


def random_images(image_size, batch_size=VERIFY_BATCH_SIZE, seed=0):
  """float32 [batch_size, image_size, image_size, 3], uniform in [-1, 1]."""
  return np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, image_size, image_size, 3]).astype(np.float32)


def tensorflow_outputs(checkpoint_path, images, num_classes,
                       moving_average_decay=None):
  """[logits, probabilities] of the slim graph restored from a checkpoint."""
  return inference.predict(checkpoint_path, images, num_classes,
                           moving_average_decay)


Check = collections.namedtuple('Check', 'name error tolerance relative')
Check.__doc__ = """One output compared: error is max |converted - TF|, for
logits divided by max |TF| when that is at least 1 (then relative)."""


def compare(runtime, actual, expected, tolerances):
  """Checks a converted model's outputs against TensorFlow's.

  Args:
    runtime: what ran the model, for messages ('ONNX', 'TFLite').
    actual, expected: [logits, probabilities] of the model and of
      TensorFlow on the same images.
    tolerances: (logits tolerance, relative as `inference.logits_error`;
      probabilities tolerance, absolute).

  Returns:
    [Check] for logits and probabilities.

  Raises:
    ExportError: an output that is not finite, has another shape or differs
      by more than its tolerance.
  """
  report = []
  for (name, _), want, got, tolerance in zip(OUTPUTS, expected, actual,
                                             tolerances):
    if not np.isfinite(want).all():
      raise ExportError("the slim graph's %s on random images are not "
                        'finite with these weights; nothing was written'
                        % name)
    if got.shape != want.shape:
      raise ExportError('%s %s have shape %s, TensorFlow %s; nothing was '
                        'written' % (runtime, name, got.shape, want.shape))
    if name == 'logits':
      error = inference.logits_error(got, want)
      relative = float(np.abs(want).max()) >= 1.0
    else:
      error = float(np.abs(np.float64(got) - want).max())
      relative = False
    check = Check(name, error, tolerance, relative)
    if not error <= tolerance:  # NaN fails too.
      raise ExportError('verification failed: %s %s differ from TensorFlow: '
                        '%s; nothing was written' % (
                            runtime, name, describe(check, runtime)))
    report.append(check)
  return report


def describe(check, runtime):
  """'max |ONNX - TF| / max |TF| = 2.1e-07 (tolerance 1e-04)' for a Check."""
  return 'max |%s - TF|%s = %.1e (tolerance %.0e)' % (
      runtime, ' / max |TF|' if check.relative else '', check.error,
      check.tolerance)


def write_bytes(data, path):
  """Writes `data` to the file `path` and flushes it to the disk."""
  with open(path, 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
