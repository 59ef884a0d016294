"""Writes a slim Inception V3 checkpoint as an ONNX model, verified.

  pip install -e '.[onnx]'      # tf2onnx and onnxruntime
  python -m nets.to_onnx --checkpoint_path=CKPT --output=model.onnx

The model is nets.inference's optimized graph (`inference.frozen_graph_def`:
BatchNorm folded into the convolutions, the same logits as the slim graph
within 1e-4) converted by tf2onnx. It has one input, `input` (float32
[batch, H, W, 3], values in [-1, 1] as for the TensorFlow graph) and two
outputs, `logits` and `probabilities` (float32 [batch, num_classes]); batch
is dynamic. Before the file replaces --output, onnxruntime (CPU) runs it on
random images and its outputs must equal the slim graph's, restored from the
same checkpoint, within TOLERANCE (logits: relative to their largest
magnitude).

Memory. tf2onnx keeps each constant in the ONNX NodeProto of its node and
re-serializes every node after each of its ~24 optimizer passes; protobuf's
arenas (upb) free nothing of a message until the message goes, so each pass
left one more copy of the weights, and tf2onnx's convert API also
deep-copied the graph before each pass (README: the measured peaks). Here
tf2onnx converts the graph with each weight as a placeholder (a graph of
~80 KB), and the weights are put into the ONNX model afterwards, as
initializers, once (`to_onnx`). The TensorFlow reference runs before the
conversion (after the GraphDef is built, which reads and checks every
weight) and its session is gone before onnxruntime loads the model from the
written file.
"""

import collections

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

from nets import conversion
from nets import inference
from nets import outputs

INPUT = conversion.INPUT
OUTPUTS = conversion.OUTPUTS
# Largest |ONNX - TensorFlow| allowed: logits relative to their largest
# magnitude (at least 1, see `inference.logits_error`), probabilities
# absolute. It covers the folded graph's rounding (`inference.TOLERANCES`).
TOLERANCE = inference.TOLERANCES['fp32']
INSTALL = "pip install -e '.[onnx]'"
# The lowest opset converted (`supported_opsets`). Opsets 7 and 8 convert and
# run too, but as IR version 4 models whose initializers tf2onnx also lists
# as graph inputs, which onnxruntime warns about on stderr.
MIN_OPSET = 9
VERIFY_BATCH_SIZE = conversion.VERIFY_BATCH_SIZE
RUNTIME = 'ONNX'  # In the verification lines: max |ONNX - TF|.

# An ONNX export that cannot be done; the message is one line.
OnnxExportError = conversion.ExportError


def _tf2onnx():
  return cli.require('tf2onnx', INSTALL)


def supported_opsets():
  """The ONNX opsets `to_onnx` converts to: a range.

  The highest is the highest tf2onnx has an ONNX IR version for, and that the
  installed onnx package defines; onnxruntime (>= 1.19, as setup.py asks)
  runs all of them.
  """
  tf2onnx = _tf2onnx()
  import onnx  # pylint: disable=g-import-not-at-top
  highest = min(max(tf2onnx.constants.OPSET_TO_IR_VERSION),
                onnx.defs.onnx_opset_version())
  return range(MIN_OPSET, highest + 1)


def check_opset(opset):
  """The opset to convert to: `opset`, or tf2onnx's default for None.

  Raises:
    ValueError: for an opset outside `supported_opsets()`.
    cli.MissingDependencyError: without tf2onnx.
  """
  supported = supported_opsets()
  if opset is None:
    return _tf2onnx().utils.find_opset(None)
  if opset not in supported:
    raise ValueError('opset must be %d to %d (what tf2onnx %s converts to), '
                     'got %d' % (supported[0], supported[-1],
                                 _tf2onnx().__version__, opset))
  return opset


def split_weights(graph_def):
  """The graph with each float32 constant as a placeholder, and their values.

  Returns:
    (tf.GraphDef with placeholders of the same names, dtypes and shapes,
    {node name: np.ndarray}).
  """
  skeleton = tf.GraphDef()
  skeleton.versions.CopyFrom(graph_def.versions)
  skeleton.library.CopyFrom(graph_def.library)
  values = collections.OrderedDict()
  float32 = tf.float32.as_datatype_enum
  for node in graph_def.node:
    if node.op == 'Const' and node.attr['dtype'].type == float32:
      tensor = node.attr['value'].tensor
      values[node.name] = tf.make_ndarray(tensor)
      placeholder = skeleton.node.add(name=node.name, op='Placeholder',
                                      device=node.device)
      placeholder.attr['dtype'].type = tensor.dtype
      placeholder.attr['shape'].shape.CopyFrom(tensor.tensor_shape)
    else:
      skeleton.node.add().CopyFrom(node)
  return skeleton, values


def _attribute(node, name):
  import onnx  # pylint: disable=g-import-not-at-top
  for attr in node.attribute:
    if attr.name == name:
      return onnx.helper.get_attribute_value(attr)
  return None


def attach_weights(model, values):
  """Turns the weight inputs of `model` into initializers holding `values`.

  tf2onnx feeds each convolution kernel (HWIO in TensorFlow) through a
  Transpose to ONNX's OIHW; such a Transpose of a weight is applied to the
  value here instead, so the model holds OIHW kernels, as tf2onnx makes them
  from constants. `values` is emptied as the weights are added (one copy of
  each at a time).

  Args:
    model: onnx.ModelProto whose graph inputs include `name:0` for each
      `name` in `values`.
    values: {TensorFlow node name: np.ndarray}, as `split_weights` gives.
  """
  from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
  graph = model.graph
  tensor_names = {name + ':0': name for name in values}
  users = collections.defaultdict(list)
  for node in graph.node:
    for tensor in node.input:
      if tensor in tensor_names:
        users[tensor].append(node)
  renamed = {}  # Tensor name in the graph -> initializer name.
  for tensor, name in tensor_names.items():
    value = values.pop(name)
    used_by = users[tensor]
    if len(used_by) == 1 and used_by[0].op_type == 'Transpose':
      transpose = used_by[0]
      value = np.ascontiguousarray(value.transpose(_attribute(transpose,
                                                              'perm')))
      renamed[transpose.output[0]] = name
    else:
      renamed[tensor] = name
    graph.initializer.append(numpy_helper.from_array(value, name))
    del value
  _remove(graph.node, lambda node: node.op_type == 'Transpose' and
          node.output[0] in renamed)
  for node in graph.node:
    for i, tensor in enumerate(node.input):
      if tensor in renamed:
        node.input[i] = renamed[tensor]
  _remove(graph.input, lambda value: value.name in tensor_names)
  _remove(graph.value_info, lambda value: value.name in renamed)


def _remove(repeated, condition):
  """Removes the items of a repeated proto field for which `condition` holds."""
  for i in reversed(range(len(repeated))):
    if condition(repeated[i]):
      del repeated[i]


def to_onnx(graph_def, opset=None):
  """ONNX ModelProto of a frozen Inception V3 GraphDef.

  tf2onnx converts the graph with its weights as placeholders (see the
  module docstring); the weights become initializers afterwards. For
  `inference.graph_def_from_weights`' graph this gives the ops tf2onnx makes
  from the constant graph (Conv with bias, Relu, ...). Other graphs convert
  too, but what tf2onnx folds only in constants stays: the plain graph of
  `nets.export.frozen_graph_def` keeps its 94 BatchNormalization ops.

  Args:
    graph_def: frozen GraphDef with placeholder `input` and the logits and
      predictions ops.
    opset: ONNX opset (see `supported_opsets`); None: tf2onnx's default.

  Returns:
    onnx.ModelProto with input `input`, outputs `logits`, `probabilities`
    and a dynamic batch size.

  Raises:
    ValueError: for an unsupported opset.
    cli.MissingDependencyError: without tf2onnx.
    OnnxExportError: if tf2onnx fails.
  """
  opset = check_opset(opset)
  tf2onnx = _tf2onnx()
  tf2onnx.logging.set_level(tf2onnx.logging.ERROR)
  skeleton, values = split_weights(graph_def)
  names = {INPUT + ':0': INPUT}
  names.update((op + ':0', name) for name, op in OUTPUTS)
  try:
    with cli.quiet_native_stderr():
      model, _ = tf2onnx.convert.from_graph_def(
          skeleton, name='inception_v3',
          input_names=[INPUT + ':0'] + [name + ':0' for name in values],
          output_names=[op + ':0' for _, op in OUTPUTS], opset=opset,
          tensors_to_rename=names)
  except Exception as e:  # pylint: disable=broad-except
    raise OnnxExportError('tf2onnx %s cannot convert the graph to opset %d: '
                          '%s' % (tf2onnx.__version__, opset,
                                  cli.reason(e))) from e
  attach_weights(model, values)
  for value in list(model.graph.input) + list(model.graph.output):
    dim = value.type.tensor_type.shape.dim[0]
    if not dim.HasField('dim_value'):
      dim.dim_param = 'batch'
  return model


check_finite = conversion.check_finite
random_images = conversion.random_images
tensorflow_outputs = conversion.tensorflow_outputs
Check = conversion.Check


def onnxruntime_outputs(model_path, images):
  """[logits, probabilities] of the ONNX model file under onnxruntime (CPU)."""
  onnxruntime = cli.require('onnxruntime', INSTALL)
  try:
    session = onnxruntime.InferenceSession(
        model_path, providers=['CPUExecutionProvider'])
    return session.run([name for name, _ in OUTPUTS], {INPUT: images})
  except Exception as e:  # pylint: disable=broad-except
    raise OnnxExportError('onnxruntime %s cannot run the ONNX model: %s; '
                          'nothing was written' % (onnxruntime.__version__,
                                                   cli.reason(e))) from e


def verify(model_path, images, expected):
  """Compares the ONNX model under onnxruntime with TensorFlow's outputs.

  Args:
    model_path: the .onnx file.
    images: float32 [batch, H, W, 3].
    expected: [logits, probabilities] of TensorFlow on `images`.

  Returns:
    [Check(name, error, tolerance, relative)] for logits and probabilities:
    error is max |ONNX - TF|, for logits divided by max |TF| when that is at
    least 1 (then relative is True).

  Raises:
    OnnxExportError: if an output is not finite, has another shape or
      differs by more than the tolerance.
  """
  return conversion.compare(RUNTIME, onnxruntime_outputs(model_path, images),
                            expected, (TOLERANCE, TOLERANCE))


def describe(check):
  """'max |ONNX - TF| / max |TF| = 2.1e-07 (tolerance 1e-04)' for a Check."""
  return conversion.describe(check, RUNTIME)


def _write(model, path):
  """Writes the ModelProto to `path`."""
  from google.protobuf import message  # pylint: disable=g-import-not-at-top
  try:
    data = model.SerializeToString()
  except message.EncodeError as e:  # upb's failure to allocate the bytes.
    raise OnnxExportError('cannot serialize the ONNX model (%s): out of '
                          'memory' % cli.reason(e)) from e
  conversion.write_bytes(data, path)


def export_onnx(checkpoint_path, output, num_classes=None, image_size=299,
                opset=None, overwrite=False, verify_output=True,
                moving_average_decay=None):
  """Writes the checkpoint's inference graph as an ONNX model.

  Everything that can be checked is checked before the slow work: the
  optional packages, the opset, the output (`outputs.check`), the checkpoint
  and its weights.

  Args:
    checkpoint_path: slim checkpoint (V1 file, V2 prefix or directory).
    output: path of the .onnx file.
    num_classes: classes of the logits layer; None: from the checkpoint.
    image_size: height and width of the input.
    opset: ONNX opset (see `supported_opsets`); None: tf2onnx's default.
    overwrite: replace `output` if it exists.
    verify_output: compare onnxruntime with the slim graph before the file
      replaces `output`.
    moving_average_decay: export the EMA shadows instead (see
      `checkpoints.restore_fn`).

  Returns:
    The `verify` report (empty when not verified).

  Raises:
    cli.MissingDependencyError: a missing optional package.
    ValueError: an unsupported opset.
    outputs.OutputError: an output that exists (without overwrite), is not
      writable, or could not be written (e.g. a full disk).
    checkpoints.CheckpointError: no readable Inception V3 checkpoint.
    OnnxExportError: weights that are not finite, or a failed verification.
  """
  _tf2onnx()
  if verify_output:
    cli.require('onnxruntime', INSTALL)
  opset = check_opset(opset)
  outputs.check(output, overwrite)
  # Reads and checks every weight: before the reference run.
  checkpoint, num_classes, graph_def = conversion.frozen_graph(
      checkpoint_path, num_classes, image_size, moving_average_decay)
  if verify_output:
    images = random_images(image_size)
    expected = tensorflow_outputs(checkpoint, images, num_classes,
                                  moving_average_decay)
  report = []
  with outputs.staged(output, overwrite) as temp:
    _write(to_onnx(graph_def, opset), temp)
    if verify_output:
      report = verify(temp, images, expected)
  return report


FLAGS = flags.FLAGS


def define_flags():
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', 'overwrite',
                          'output', required=['checkpoint_path', 'output'],
                          notes={'output': 'ONNX, e.g. model.onnx.'})
  flags.DEFINE_integer('opset', None,
                       'ONNX opset, %d up to the highest tf2onnx converts to; '
                       "default: tf2onnx's." % MIN_OPSET)
  flags.DEFINE_boolean('verify', True,
                       'Check onnxruntime against the slim graph on %d random '
                       'images before writing.' % VERIFY_BATCH_SIZE)


def main(argv):
  del argv  # Unused.
  report = export_onnx(FLAGS.checkpoint_path, FLAGS.output,
                       num_classes=FLAGS.num_classes,
                       image_size=FLAGS.image_size, opset=FLAGS.opset,
                       overwrite=FLAGS.overwrite, verify_output=FLAGS.verify,
                       moving_average_decay=FLAGS.moving_average_decay)
  print('wrote %s: ONNX Inception V3, input %s [batch, %d, %d, 3], outputs %s'
        % (FLAGS.output, INPUT, FLAGS.image_size, FLAGS.image_size,
           ', '.join(name for name, _ in OUTPUTS)))
  for check in report:
    print('verified on %d random images: %s %s' % (
        VERIFY_BATCH_SIZE, check.name, describe(check)))


if __name__ == '__main__':
  cli.run(main, define_flags)
