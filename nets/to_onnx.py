"""Writes a slim Inception V3 checkpoint as an ONNX model, verified.

  pip install .[onnx]      # tf2onnx and onnxruntime
  python -m nets.to_onnx --checkpoint_path=CKPT --output=model.onnx

Converts the frozen inference graph of `nets.export.frozen_graph_def` with
tf2onnx. The model has one input, `input` (float32 [batch, H, W, 3], values in
[-1, 1] as for the TensorFlow graph) and two outputs, `logits` and
`probabilities` (float32 [batch, num_classes]); batch is dynamic. Before the
file replaces --output, onnxruntime (CPU) runs it on random images and its
outputs must equal the TensorFlow graph's within 1e-4 (logits: relative to
their largest magnitude).
"""

import importlib
import os
import tempfile

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

from nets import export
from nets import outputs

INPUT = 'input'
OUTPUTS = (('logits', 'InceptionV3/Logits/SpatialSqueeze'),
           ('probabilities', 'InceptionV3/Predictions/Reshape_1'))
TOLERANCE = 1e-4
EXTRA = ('pip install "slim-inception-v3[onnx]" (or pip install tf2onnx '
         'onnxruntime)')


class OnnxExportError(ValueError):
  """An ONNX export that cannot be done; the message is one line."""


def _require(module):
  """Imports an optional dependency, or says how to install it."""
  try:
    return importlib.import_module(module)
  except ImportError:
    raise OnnxExportError('%s is not installed; ONNX export needs the onnx '
                          'extra: %s' % (module, EXTRA))


def to_onnx(graph_def, opset=None):
  """ONNX ModelProto of a frozen Inception V3 GraphDef.

  Args:
    graph_def: frozen GraphDef with placeholder `input` and the logits and
      predictions ops (as `nets.export.frozen_graph_def` makes it).
    opset: ONNX opset; None: tf2onnx's default.

  Returns:
    onnx.ModelProto with input `input` and outputs `logits`, `probabilities`.
  """
  tf2onnx = _require('tf2onnx')
  tf2onnx.logging.set_level(tf2onnx.logging.ERROR)
  names = {INPUT + ':0': INPUT}
  names.update((op + ':0', name) for name, op in OUTPUTS)
  model, _ = tf2onnx.convert.from_graph_def(
      graph_def, name='inception_v3', input_names=[INPUT + ':0'],
      output_names=[op + ':0' for _, op in OUTPUTS], opset=opset,
      tensors_to_rename=names)
  for value in list(model.graph.input) + list(model.graph.output):
    dim = value.type.tensor_type.shape.dim[0]
    if not dim.HasField('dim_value'):
      dim.dim_param = 'batch'
  return model


def tensorflow_outputs(graph_def, images):
  """[logits, probabilities] of the frozen TensorFlow graph on `images`."""
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    with tf.Session(graph=graph) as sess:
      return sess.run([op + ':0' for _, op in OUTPUTS], {INPUT + ':0': images})


def onnxruntime_outputs(model_bytes, images):
  """[logits, probabilities] of the ONNX model under onnxruntime (CPU)."""
  onnxruntime = _require('onnxruntime')
  session = onnxruntime.InferenceSession(
      model_bytes, providers=['CPUExecutionProvider'])
  return session.run([name for name, _ in OUTPUTS], {INPUT: images})


def verify(graph_def, model_bytes, image_size, batch_size=2, seed=0):
  """Largest |ONNX - TensorFlow| of each output on random images in [-1, 1].

  Returns:
    [(name, max difference, tolerance)] for logits and probabilities.

  Raises:
    OnnxExportError: if an output differs by more than its tolerance.
  """
  images = np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, image_size, image_size, 3]).astype(np.float32)
  expected = tensorflow_outputs(graph_def, images)
  actual = onnxruntime_outputs(model_bytes, images)
  report = []
  for (name, _), want, got in zip(OUTPUTS, expected, actual):
    if got.shape != want.shape:
      raise OnnxExportError('ONNX %s has shape %s, TensorFlow %s' %
                            (name, got.shape, want.shape))
    scale = max(1.0, float(np.abs(want).max())) if name == 'logits' else 1.0
    diff = float(np.abs(got - want).max())
    if not diff <= TOLERANCE * scale:
      raise OnnxExportError(
          'verification failed: ONNX %s differ from TensorFlow by %.3g '
          '(tolerance %.3g); nothing was written' % (name, diff,
                                                     TOLERANCE * scale))
    report.append((name, diff, TOLERANCE * scale))
  return report


def _write_new(path, data):
  """Writes `data` to `path` via a temporary file and a rename."""
  directory, name = os.path.split(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, temp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp',
                              dir=directory)
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(data)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)
    os.replace(temp, path)
  finally:
    if os.path.exists(temp):
      os.remove(temp)


def export_onnx(checkpoint_path, output, num_classes=None, image_size=299,
                opset=None, overwrite=False, verify_output=True,
                moving_average_decay=None):
  """Writes the checkpoint's inference graph as an ONNX model.

  Args:
    checkpoint_path: slim checkpoint (V1 file, V2 prefix or directory).
    output: path of the .onnx file.
    num_classes: classes of the logits layer; None: from the checkpoint.
    image_size: height and width of the input.
    opset: ONNX opset; None: tf2onnx's default.
    overwrite: replace `output` if it exists.
    verify_output: compare onnxruntime with TensorFlow before writing.
    moving_average_decay: export the EMA shadows instead (see
      `checkpoints.restore_fn`).

  Returns:
    The verification report of `verify` (empty when not verified).

  Raises:
    OnnxExportError: a missing optional dependency or a failed
      verification.
    export.ExportError: an existing output without overwrite.
    checkpoints.CheckpointError: no readable Inception V3 checkpoint.
  """
  _require('tf2onnx')
  if verify_output:
    _require('onnxruntime')
  outputs.check(output, overwrite)
  graph_def = export.frozen_graph_def(
      checkpoint_path, num_classes=num_classes, image_size=image_size,
      moving_average_decay=moving_average_decay)
  model_bytes = to_onnx(graph_def, opset).SerializeToString()
  report = []
  if verify_output:
    report = verify(graph_def, model_bytes, image_size)
  outputs.check(output, overwrite)
  _write_new(output, model_bytes)
  return report


FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string('checkpoint_path', None,
                      'Slim Inception V3 checkpoint: V1 file, V2 prefix or '
                      'directory.')
  flags.DEFINE_string('output', None, 'ONNX file to write, e.g. model.onnx.')
  flags.DEFINE_integer('num_classes', None,
                       'Classes of the logits layer; default: from the '
                       'checkpoint.', lower_bound=1)
  flags.DEFINE_integer('image_size', 299, 'Height and width of the input.',
                       lower_bound=75)
  flags.DEFINE_integer('opset', None, "ONNX opset; default: tf2onnx's.",
                       lower_bound=9)
  flags.DEFINE_boolean('overwrite', False, 'Replace --output if it exists.')
  flags.DEFINE_float('moving_average_decay', None,
                     'Export the ExponentialMovingAverage shadows.')
  flags.DEFINE_boolean('verify', True,
                       'Check onnxruntime against TensorFlow on 2 random '
                       'images before writing.')
  flags.mark_flags_as_required(['checkpoint_path', 'output'])


def main(argv):
  if len(argv) > 1:
    cli.fail('unexpected arguments: %s' % ' '.join(argv[1:]))
  report = export_onnx(FLAGS.checkpoint_path, FLAGS.output,
                       num_classes=FLAGS.num_classes,
                       image_size=FLAGS.image_size, opset=FLAGS.opset,
                       overwrite=FLAGS.overwrite, verify_output=FLAGS.verify,
                       moving_average_decay=FLAGS.moving_average_decay)
  print('wrote %s: ONNX Inception V3, input %s [batch, %d, %d, 3], outputs %s'
        % (FLAGS.output, INPUT, FLAGS.image_size, FLAGS.image_size,
           ', '.join(name for name, _ in OUTPUTS)))
  for name, diff, tolerance in report:
    print('verified: onnxruntime %s equal TensorFlow\'s within %.2g '
          '(tolerance %.2g) on 2 random images' % (name, diff, tolerance))


if __name__ == '__main__':
  cli.run(main, define_flags)
