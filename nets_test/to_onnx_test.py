"""Tests of nets.to_onnx: slim checkpoint -> ONNX, run by onnxruntime.

The reference is the slim graph of nets.inception_v3 restored from the same
checkpoint. Tests that convert need the onnx extra (`pip install -e
'.[onnx]'`: tf2onnx, onnxruntime) and are skipped without it; the
missing-extra errors are tested either way. The one full-size conversion
(299x299, 1001 classes, verified) runs as a user runs it, in a subprocess.
Its peak memory is measured in the README, not here; a test checks what
keeps it low (tf2onnx never sees the weights as constants).
"""

import collections
import importlib.util
import os
import re
import sys
import tempfile
import types
import unittest
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf

from nets import cli
from nets import inference
from nets import to_onnx
from nets_test import testing

HAVE_EXTRA = all(importlib.util.find_spec(m) for m in ('tf2onnx',
                                                         'onnxruntime'))
NEEDS_EXTRA = ("needs the onnx extra: pip install -e '.[onnx]' "
               '(tf2onnx, onnxruntime)')
EPSILON = 0.001  # inception_v3_arg_scope()'s BatchNorm epsilon.


def _images(batch_size=2, size=299, seed=11):
  return np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, size, size, 3]).astype(np.float32)


def _slim_outputs(checkpoint_path, images, num_classes=1001):
  """(logits, probabilities) of the slim graph restored from a checkpoint."""
  return testing.restored_outputs(checkpoint_path, images, num_classes)


def _run_cli(args, prelude=''):
  """(exit status, stdout, stderr lines) of `python -m nets.to_onnx args`."""
  return testing.run_tool('nets.to_onnx', *args, prelude=prelude)


def _copy_checkpoint(source, target, changes):
  """Writes checkpoint `source` again at prefix `target`, tensors changed."""
  reader = tf.train.load_checkpoint(source)
  names = sorted(reader.get_variable_to_shape_map())
  values = [changes.get(n, reader.get_tensor(n)) for n in names]
  with tf.Graph().as_default():  # Fed, not constants: one copy of each.
    tensors = [tf.placeholder(tf.as_dtype(v.dtype)) for v in values]
    save = tf.raw_ops.SaveV2(prefix=target, tensor_names=names,
                             shape_and_slices=[''] * len(names),
                             tensors=tensors)
    with tf.Session() as sess:
      sess.run(save, dict(zip(tensors, values)))


def _session(path):
  import onnxruntime  # pylint: disable=g-import-not-at-top
  return onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])


@unittest.skipUnless(HAVE_EXTRA, NEEDS_EXTRA)
class ToOnnxTest(tf.test.TestCase):
  """A 1001-class checkpoint converted once by the command line, verified."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    cls.ckpt = os.path.join(cls.dir, 'ckpt', 'model.ckpt')
    cls.values = testing.write_checkpoint(cls.ckpt, seed=8)
    cls.output = os.path.join(cls.dir, 'out', 'model.onnx')
    cls.args = ['--checkpoint_path=' + os.path.dirname(cls.ckpt),
                '--output=' + cls.output]
    cls.status, cls.stdout, cls.stderr = _run_cli(cls.args)
    cls.images = _images()
    cls.logits, cls.probabilities = _slim_outputs(cls.ckpt, cls.images)

  def testCommandLineVerifies(self):
    self.assertEqual(self.status, 0, self.stderr)
    self.assertEqual(self.stderr, [])
    lines = self.stdout.splitlines()
    self.assertEqual(lines[0], 'wrote %s: ONNX Inception V3, input input '
                     '[batch, 299, 299, 3], outputs logits, probabilities'
                     % self.output)
    errors = []
    for line, pattern in zip(lines[1:], [
        r'^verified on 2 random images: logits max \|ONNX - TF\| / '
        r'max \|TF\| = (\S+) \(tolerance 1e-04\)$',
        r'^verified on 2 random images: probabilities max \|ONNX - TF\| = '
        r'(\S+) \(tolerance 1e-04\)$']):
      match = re.match(pattern, line)
      self.assertIsNotNone(match, line)
      errors.append(float(match.group(1)))
    self.assertLen(lines, 3)
    for error in errors:  # Relative: small, whatever the logits' scale.
      self.assertLess(error, 1e-4)
    self.assertEqual(os.listdir(os.path.dirname(self.output)), ['model.onnx'])

  def testTf2onnxGetsTheGraphWithoutItsWeights(self):
    # The mechanism behind the tool's memory (README: 1.2-1.3 GiB peak, 6.2
    # when tf2onnx had the weights): tf2onnx copies its graph before each of
    # its optimizer passes, so it gets placeholders, not ~95 MB of constants.
    import tf2onnx  # pylint: disable=g-import-not-at-top
    weights, _ = inference.checkpoint_weights(self.ckpt)
    graph_def = inference.graph_def_from_weights(weights, 1001, 75)
    convert = tf2onnx.convert.from_graph_def
    given = []

    def spy(graph, **kwargs):
      given.append(graph)
      return convert(graph, **kwargs)

    with mock.patch.object(tf2onnx.convert, 'from_graph_def', spy):
      model = to_onnx.to_onnx(graph_def)
    skeleton, = given
    self.assertGreater(graph_def.ByteSize(), 90 << 20)
    self.assertLess(skeleton.ByteSize(), 1 << 20)
    constants = {n.name for n in graph_def.node if n.op == 'Const' and
                 n.attr['value'].tensor.dtype == tf.float32.as_datatype_enum}
    placeholders = {n.name for n in skeleton.node if n.op == 'Placeholder'}
    self.assertEqual(placeholders, constants | {'input'})
    self.assertGreater(sum(t.ByteSize() for t in model.graph.initializer),
                       90 << 20)  # ... and the weights go in afterwards.

  def testNamesAndShapes(self):
    session = _session(self.output)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    self.assertEqual([(i.name, i.type, i.shape) for i in inputs],
                     [('input', 'tensor(float)', ['batch', 299, 299, 3])])
    self.assertEqual([(o.name, o.shape) for o in outputs],
                     [('logits', ['batch', 1001]),
                      ('probabilities', ['batch', 1001])])

  def testOutputsEqualTheSlimGraph(self):
    logits, probabilities = _session(self.output).run(
        ['logits', 'probabilities'], {'input': self.images})
    scale = np.abs(self.logits).max()
    self.assertGreater(scale, 10.0)  # large enough for a wrong graph to fail
    self.assertAllClose(logits, self.logits, rtol=0, atol=1e-4 * scale)
    self.assertAllClose(probabilities, self.probabilities, rtol=0, atol=1e-4)
    self.assertAllEqual(logits.argmax(1), self.logits.argmax(1))

  def testBatchIsDynamic(self):
    logits, = _session(self.output).run(['logits'],
                                        {'input': self.images[1:]})
    self.assertAllClose(logits, self.logits[1:], rtol=0,
                        atol=1e-4 * np.abs(self.logits).max())

  def testWeightsAreInitializersInOnnxLayout(self):
    import onnx  # pylint: disable=g-import-not-at-top
    from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
    model = onnx.load(self.output)
    onnx.checker.check_model(model)
    graph = model.graph
    self.assertEqual([i.name for i in graph.input], ['input'])
    initializers = {t.name: t for t in graph.initializer}
    ops = collections.Counter(node.op_type for node in graph.node)
    self.assertEqual(ops['Conv'], 95)
    self.assertEqual(ops['Transpose'], 1)  # The input, NHWC -> NCHW.
    for node in graph.node:
      if node.op_type == 'Conv':
        self.assertLen(node.input, 3)  # BatchNorm folded into a bias.
        self.assertIn(node.input[1], initializers)
        self.assertIn(node.input[2], initializers)
    by_shape = collections.defaultdict(list)
    for tensor in initializers.values():
      by_shape[tuple(tensor.dims)].append(numpy_helper.to_array(tensor))
    # The first convolution, BatchNorm folded (NumPy), as OIHW.
    scope = 'InceptionV3/Conv2d_1a_3x3/'
    v = self.values
    scale = 1 / np.sqrt(np.float64(v[scope + 'BatchNorm/moving_variance']) +
                        EPSILON)
    kernel, = by_shape[(32, 3, 3, 3)]
    self.assertAllClose(kernel, (v[scope + 'weights'] * scale).transpose(
        3, 2, 0, 1), rtol=1e-6, atol=0)
    # The logits layer has no BatchNorm: the restored values, transposed.
    logits = 'InceptionV3/Logits/Conv2d_1c_1x1/'
    kernel, = by_shape[(1001, 2048, 1, 1)]
    self.assertAllEqual(kernel, v[logits + 'weights'].transpose(3, 2, 0, 1))
    self.assertTrue(any(np.array_equal(b, v[logits + 'biases'])
                        for b in by_shape[(1001,)]))

  def testCommandLineKeepsExistingFiles(self):
    self.assertEqual(self.status, 0, self.stderr)
    before = os.stat(self.output).st_mtime_ns
    status, _, stderr = _run_cli(self.args)
    self.assertEqual(status, 1)
    self.assertEqual(stderr, ['nets.to_onnx: error: %s exists (a file); pass '
                              '--overwrite to replace it' % self.output])
    self.assertEqual(os.stat(self.output).st_mtime_ns, before)

  def testVerificationFailsForOtherOutputs(self):
    # The slim graph's logits, off by 1e-3 of their largest magnitude.
    scale = np.abs(self.logits).max()
    expected = [self.logits + 1e-3 * scale, self.probabilities]
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError,
        r'^verification failed: ONNX logits differ from TensorFlow: '
        r'max \|ONNX - TF\| / max \|TF\| = 1.0e-03 \(tolerance 1e-04\); '
        r'nothing was written$'):
      to_onnx.verify(self.output, self.images, expected)

  def testReferenceNotFinite(self):
    logits = self.logits.copy()
    logits[0, 3] = np.inf  # Finite weights can still overflow.
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError, r"^the slim graph's logits on random images "
        r'are not finite with these weights; nothing was written$'):
      to_onnx.verify(self.output, self.images, [logits, self.probabilities])

  def testOnnxruntimeFailureIsOneLine(self):
    path = os.path.join(self.get_temp_dir(), 'corrupt.onnx')
    with open(path, 'wb') as f:
      f.write(b'not a model')
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError, r'^onnxruntime \S+ cannot run the ONNX '
        r'model: .+; nothing was written$') as cm:
      to_onnx.verify(path, self.images, [self.logits, self.probabilities])
    self.assertLen(str(cm.exception).splitlines(), 1)

  def testSerializingWithoutMemoryIsOneLine(self):
    from google.protobuf import message  # pylint: disable=g-import-not-at-top
    model = mock.Mock()
    model.SerializeToString.side_effect = message.EncodeError(
        'Failed to serialize proto')  # What upb says when malloc fails.
    path = os.path.join(self.get_temp_dir(), 'unwritten.onnx')
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError, r'^cannot serialize the ONNX model \(Failed '
        r'to serialize proto\): out of memory$'):
      to_onnx._write(model, path)
    self.assertFalse(os.path.exists(path))

  def testTf2onnxFailureIsOneLine(self):
    with tf.Graph().as_default() as graph:  # No Inception V3 outputs.
      tf.placeholder(tf.float32, [None, 75, 75, 3], name='input')
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError,
        r'^tf2onnx \S+ cannot convert the graph to opset 15: .+') as cm:
      to_onnx.to_onnx(graph.as_graph_def())
    self.assertLen(str(cm.exception).splitlines(), 1)

  def testLowestAndHighestOpset(self):
    weights, _ = inference.checkpoint_weights(self.ckpt)
    graph_def = inference.graph_def_from_weights(weights, 1001, 75)
    images = to_onnx.random_images(75)
    expected = to_onnx.tensorflow_outputs(self.ckpt, images, 1001)
    path = os.path.join(self.get_temp_dir(), 'opset.onnx')
    opsets = to_onnx.supported_opsets()
    self.assertEqual(opsets[0], 9)
    for opset in opsets[0], opsets[-1]:
      model = to_onnx.to_onnx(graph_def, opset)
      self.assertEqual([o.version for o in model.opset_import
                        if o.domain in ('', 'ai.onnx')], [opset])
      with open(path, 'wb') as f:
        f.write(model.SerializeToString())
      for check in to_onnx.verify(path, images, expected):
        self.assertLess(check.error, 1e-4)

  def testUnsupportedOpset(self):
    highest = to_onnx.supported_opsets()[-1]
    for opset in 8, highest + 1, 999:
      with self.assertRaisesRegex(
          ValueError, r'^opset must be 9 to %d \(what tf2onnx \S+ converts '
          r'to\), got %d$' % (highest, opset)):
        to_onnx.check_opset(opset)
    self.assertEqual(to_onnx.check_opset(None), 15)  # tf2onnx 1.17's default

  def testCommandLineUnsupportedOpsetBeforeAnythingElse(self):
    # The checkpoint does not exist: the opset is checked first.
    status, stdout, stderr = _run_cli([
        '--checkpoint_path=' + os.path.join(self.dir, 'missing'),
        '--output=' + os.path.join(self.get_temp_dir(), 'x.onnx'),
        '--opset=999'])
    self.assertEqual((status, stdout), (1, ''))
    self.assertLen(stderr, 1)
    self.assertRegex(stderr[0], r'^nets.to_onnx: error: opset must be 9 to '
                     r'\d+ \(what tf2onnx \S+ converts to\), got 999$')

  def testWeightsNotFinite(self):
    name = 'InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights'
    value = self.values[name].copy()
    value.flat[[5, 7, 11]] = [np.nan, np.inf, -np.inf]
    bad = os.path.join(self.get_temp_dir(), 'nan', 'model.ckpt')
    _copy_checkpoint(self.ckpt, bad, {name: value})
    output = os.path.join(self.get_temp_dir(), 'nan.onnx')
    status, stdout, stderr = _run_cli(['--checkpoint_path=' + bad,
                                       '--output=' + output])
    self.assertEqual((status, stdout), (1, ''))
    self.assertEqual(stderr, [
        "nets.to_onnx: error: the checkpoint's weights are not finite: %s "
        'has 1 NaN and 2 infinite values (of %d)' % (name, value.size)])
    self.assertFalse(os.path.exists(output))

  @testing.needs_tmpfs
  def testReadOnlyFolderBeforeAnythingElse(self):
    # The checkpoint does not exist: the folder is checked first.
    mount = tempfile.mkdtemp(dir=self.get_temp_dir())
    status, stdout, stderr = testing.run_tool_on_small_disk(
        'nets.to_onnx', mount,
        '--checkpoint_path=' + os.path.join(self.dir, 'no'),
        '--output=' + os.path.join(mount, 'model.onnx'), read_only=True)
    self.assertEqual((status, stdout), (1, ''))
    self.assertEqual(stderr, ['nets.to_onnx: error: cannot write the file in '
                              '%s: read-only file system' % mount])

  @testing.needs_tmpfs
  def testFullDisk(self):
    mount = tempfile.mkdtemp(dir=self.get_temp_dir())
    output = os.path.join(mount, 'model.onnx')
    status, stdout, stderr = testing.run_tool_on_small_disk(
        'nets.to_onnx', mount, '--checkpoint_path=' + self.ckpt,
        '--output=' + output, '--image_size=75', '--noverify', size='1m')
    self.assertEqual((status, stdout), (1, ''))
    self.assertEqual(stderr, ['nets.to_onnx: error: cannot write %s: no '
                              'space left on device (nothing was written)'
                              % output])
    with open(mount + '.after') as f:
      self.assertEqual(f.read(), '')  # Nothing left behind.

  def testOutputThatAppearedMeanwhileIsKept(self):
    output = os.path.join(self.get_temp_dir(), 'raced.onnx')

    def another_run_writes_it(graph_def, opset):
      del graph_def, opset  # Unused.
      with open(output, 'w') as f:
        f.write('theirs')
      model = mock.Mock()
      model.SerializeToString.return_value = b'ours'
      return model

    with mock.patch.object(inference, 'graph_def_from_weights'), \
         mock.patch.object(to_onnx, 'to_onnx', another_run_writes_it):
      with self.assertRaisesRegex(
          ValueError, r'^%s appeared while this ran \(another run\?\); it was '
          r'left as it is: pass --overwrite to replace it$' % output):
        to_onnx.export_onnx(self.ckpt, output, verify_output=False)
    with open(output) as f:
      self.assertEqual(f.read(), 'theirs')
    self.assertEqual(os.listdir(os.path.dirname(output)), ['raced.onnx'])

  def testNotInceptionV3(self):
    ckpt = os.path.join(self.get_temp_dir(), 'other.ckpt')
    with tf.Graph().as_default():
      var = tf.Variable(np.zeros([7, 7, 3, 64], np.float32),
                        name='resnet_v1_50/conv1/weights')
      with tf.Session() as sess:
        sess.run(var.initializer)
        tf.train.Saver([var]).save(sess, ckpt, write_meta_graph=False)
    output = os.path.join(self.get_temp_dir(), 'other.onnx')
    with self.assertRaises(ValueError) as cm:
      to_onnx.export_onnx(ckpt, output)
    self.assertIn('other.ckpt', str(cm.exception).splitlines()[0])
    self.assertFalse(os.path.exists(output))


class ToOnnxWithoutExtraTest(tf.test.TestCase):
  """A missing optional dependency: one line that says what to install."""

  def testMissingTf2onnx(self):
    output = os.path.join(self.get_temp_dir(), 'model.onnx')
    with mock.patch.dict(sys.modules, {'tf2onnx': None}):
      with self.assertRaisesRegex(
          cli.MissingDependencyError,
          r"^tf2onnx is not installed \(.*\): pip install -e '\.\[onnx\]'$"):
        to_onnx.export_onnx('unused', output)
    self.assertFalse(os.path.exists(output))

  def testMissingOnnxruntimeForVerification(self):
    output = os.path.join(self.get_temp_dir(), 'model.onnx')
    present = types.ModuleType('tf2onnx')
    with mock.patch.dict(sys.modules, {'onnxruntime': None,
                                       'tf2onnx': present}):
      with self.assertRaisesRegex(
          cli.MissingDependencyError,
          r"^onnxruntime is not installed \(.*\): pip install -e "
          r"'\.\[onnx\]'$"):
        to_onnx.export_onnx('unused', output)
    self.assertFalse(os.path.exists(output))

  def testHelpListsEveryFlag(self):
    status, stdout, stderr = _run_cli(['--help'])
    self.assertEqual((status, stderr), (0, []))
    for flag in ('checkpoint_path', 'output', 'num_classes', 'image_size',
                 'moving_average_decay', 'overwrite', 'opset', 'verify'):
      self.assertRegex(stdout, r'\n  --(\[no\])?%s: ' % flag)

  def testCommandLineMissingExtra(self):
    output = os.path.join(self.get_temp_dir(), 'model.onnx')
    status, stdout, stderr = _run_cli(
        ['--checkpoint_path=unused', '--output=' + output],
        prelude='sys.modules["tf2onnx"] = None')
    self.assertEqual(status, 1)
    self.assertEqual(stdout, '')
    self.assertLen(stderr, 1)
    self.assertRegex(stderr[0], r"^nets.to_onnx: error: tf2onnx is not "
                     r"installed \(.*\): pip install -e '\.\[onnx\]'$")
    self.assertFalse(os.path.exists(output))


if __name__ == '__main__':
  tf.test.main()
