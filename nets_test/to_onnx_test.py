"""Tests of nets.to_onnx: slim checkpoint -> ONNX, run by onnxruntime.

The reference is the slim graph of nets.inception_v3 restored from the same
checkpoint. Tests that convert need the onnx extra (`pip install .[onnx]`:
tf2onnx, onnxruntime) and are skipped without it; the missing-extra errors
are tested either way.
"""

import importlib.util
import os
import sys
import types
import unittest
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf

from nets import export
from nets import to_onnx
from nets_test import testing

HAVE_EXTRA = all(importlib.util.find_spec(m) for m in ('tf2onnx',
                                                         'onnxruntime'))
NEEDS_EXTRA = ('needs the onnx extra: pip install .[onnx] '
               '(tf2onnx, onnxruntime)')


def _images(batch_size=2, size=299, seed=11):
  return np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, size, size, 3]).astype(np.float32)


def _slim_outputs(checkpoint_path, images, num_classes=1001):
  """(logits, probabilities) of the slim graph restored from a checkpoint."""
  with tf.Graph().as_default():
    inputs = tf.placeholder(tf.float32, images.shape)
    logits, end_points = testing.build_classifier(
        inputs, num_classes, create_aux_logits=False)
    saver = tf.train.Saver(tf.global_variables())
    with tf.Session() as sess:
      saver.restore(sess, checkpoint_path)
      return sess.run([logits, end_points['Predictions']], {inputs: images})


def _run_cli(args, prelude=''):
  """(exit status, stdout, stderr lines) of `python -m nets.to_onnx args`."""
  return testing.run_tool('nets.to_onnx', *args, prelude=prelude)


def _session(path):
  import onnxruntime  # pylint: disable=g-import-not-at-top
  return onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])


@unittest.skipUnless(HAVE_EXTRA, NEEDS_EXTRA)
class ToOnnxTest(tf.test.TestCase):
  """A 1001-class checkpoint exported once."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tf.test.get_temp_dir()
    cls.ckpt = os.path.join(cls.dir, 'onnx', 'model.ckpt')
    testing.write_checkpoint(cls.ckpt, seed=8)
    cls.output = os.path.join(cls.dir, 'onnx', 'model.onnx')
    cls.report = to_onnx.export_onnx(cls.ckpt, cls.output,
                                     verify_output=False)
    cls.images = _images()
    cls.logits, cls.probabilities = _slim_outputs(cls.ckpt, cls.images)

  def testNamesAndShapes(self):
    session = _session(self.output)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    self.assertEqual([(i.name, i.shape) for i in inputs],
                     [('input', ['batch', 299, 299, 3])])
    self.assertEqual([(o.name, o.shape) for o in outputs],
                     [('logits', ['batch', 1001]),
                      ('probabilities', ['batch', 1001])])
    self.assertEqual(self.report, [])  # verify_output=False

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

  def testCommandLineVerifiesAndKeepsExistingFiles(self):
    output = os.path.join(self.get_temp_dir(), 'cli.onnx')
    args = ['--checkpoint_path=' + os.path.dirname(self.ckpt),
            '--output=' + output]
    status, stdout, stderr = _run_cli(args)
    self.assertEqual(status, 0, stderr)
    self.assertEqual(stderr, [])
    self.assertIn('wrote %s: ONNX Inception V3, input input [batch, 299, 299, '
                  '3], outputs logits, probabilities' % output, stdout)
    self.assertRegex(stdout, r'verified: onnxruntime logits equal '
                             r'TensorFlow\'s within \S+ \(tolerance')
    self.assertEqual(os.listdir(os.path.dirname(output)), ['cli.onnx'])

    before = os.stat(output).st_mtime_ns
    status, _, stderr = _run_cli(args)
    self.assertEqual(status, 1)
    self.assertEqual(stderr, ['nets.to_onnx: error: %s exists (a file); pass --overwrite to '
                              'replace it.' % output])
    self.assertEqual(os.stat(output).st_mtime_ns, before)

  def testVerificationFailsForAnotherGraph(self):
    # The model of one checkpoint against the graph of another.
    other = os.path.join(self.get_temp_dir(), 'other.ckpt')
    testing.write_checkpoint(other, seed=9)
    graph_def = export.frozen_graph_def(other)
    with open(self.output, 'rb') as f:
      model_bytes = f.read()
    with self.assertRaisesRegex(
        to_onnx.OnnxExportError,
        r'^verification failed: ONNX logits differ from TensorFlow by'):
      to_onnx.verify(graph_def, model_bytes, 299)

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
          to_onnx.OnnxExportError,
          r'^tf2onnx is not installed; ONNX export needs the onnx extra: '
          r'pip install "slim-inception-v3\[onnx\]"'):
        to_onnx.export_onnx('unused', output)
    self.assertFalse(os.path.exists(output))

  def testMissingOnnxruntimeForVerification(self):
    output = os.path.join(self.get_temp_dir(), 'model.onnx')
    present = types.ModuleType('tf2onnx')
    with mock.patch.dict(sys.modules, {'onnxruntime': None,
                                       'tf2onnx': present}):
      with self.assertRaisesRegex(to_onnx.OnnxExportError,
                                  r'^onnxruntime is not installed'):
        to_onnx.export_onnx('unused', output)
    self.assertFalse(os.path.exists(output))

  def testCommandLineMissingExtra(self):
    output = os.path.join(self.get_temp_dir(), 'model.onnx')
    status, stdout, stderr = _run_cli(
        ['--checkpoint_path=unused', '--output=' + output],
        prelude='sys.modules["tf2onnx"] = None')
    self.assertEqual(status, 1)
    self.assertEqual(stdout, '')
    self.assertLen(stderr, 1)
    self.assertRegex(stderr[0], r'^nets.to_onnx: error: tf2onnx is not installed; .*\[onnx\]')
    self.assertFalse(os.path.exists(output))


if __name__ == '__main__':
  tf.test.main()
