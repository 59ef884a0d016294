"""Tests of nets.to_keras: slim checkpoint -> Keras InceptionV3 weights.

The reference is always the slim graph of nets.inception_v3 restored from the
same checkpoint (or the checkpoint's values themselves), never numbers from
nets.to_keras. Images are random in [-1, 1], the input range of both networks.
"""

import os
import re
import sys
from unittest import mock

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

from nets import cli
from nets import to_keras
from nets_test import testing

FIRST_CONV = 'InceptionV3/Conv2d_1a_3x3'
LOGITS = 'InceptionV3/Logits/Conv2d_1c_1x1'
_KERAS_MODEL = to_keras.keras_model  # Unpatched (ToKerasBadInputTest).


def _images(batch_size=2, size=299, seed=7):
  return np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, size, size, 3]).astype(np.float32)


def _slim_outputs(checkpoint_path, images, num_classes):
  """(logits, pooled features [B, 2048]) of the slim graph from a checkpoint."""
  logits, pooled = testing.restored_outputs(checkpoint_path, images,
                                            num_classes, ['AvgPool_1a'])
  return logits, pooled.reshape([len(images), -1])


def _save_variables(path, values):
  """A checkpoint holding exactly {name: np.ndarray}."""
  with tf.Graph().as_default():
    variables = [tf.Variable(v, name=n) for n, v in values.items()]
    saver = tf.train.Saver({v.op.name: v for v in variables})
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, path, write_meta_graph=False)


def _keras(weights, include_top=True, **kwargs):
  kwargs.setdefault('classifier_activation', None)
  if not include_top:
    kwargs.pop('classifier_activation')
  return tf2.keras.applications.InceptionV3(
      weights=weights, include_top=include_top, **kwargs)


def _run_cli(*args):
  """(exit status, stdout, stderr lines) of `python -m nets.to_keras args`."""
  return testing.run_tool('nets.to_keras', *args)


class ToKerasReleasedHeadTest(tf.test.TestCase):
  """A 1001-class V1 checkpoint, like the released one, converted once."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tf.test.get_temp_dir()
    cls.ckpt = os.path.join(cls.dir, 'inception_v3.ckpt')
    cls.values = testing.write_checkpoint(cls.ckpt, version='V1', seed=3)
    cls.weights = os.path.join(cls.dir, 'inception_v3.weights.h5')
    cls.result = to_keras.convert(cls.ckpt, cls.weights)
    cls.images = _images()
    cls.logits, cls.pooled = _slim_outputs(cls.ckpt, cls.images, 1001)
    cls._logits_model = None

  @classmethod
  def logits_model(cls):
    """Keras' 1000-class InceptionV3 returning logits, loading the file;
    built once for the tests that only read it."""
    if cls._logits_model is None:
      cls._logits_model = _keras(cls.weights, classes=1000)
    return cls._logits_model

  def testLogitsScaleLetsTheComparisonFail(self):
    # Logits of order 1e-4 would pass any mapping; these are far larger.
    self.assertGreater(np.abs(self.logits).max(), 10.0)
    self.assertGreater(np.abs(self.logits[:, 1:] - self.logits[:, :-1]).max(),
                       1.0)

  def testKerasLogitsEqualSlimWithoutBackground(self):
    model = self.logits_model()
    logits = np.asarray(model(self.images, training=False))
    self.assertEqual(logits.shape, (2, 1000))
    expected = self.logits[:, 1:]
    self.assertAllClose(logits, expected, rtol=0,
                        atol=1e-4 * np.abs(expected).max())

  def testDefaultSoftmaxModelLoadsTheFile(self):
    model = tf2.keras.applications.InceptionV3(weights=self.weights)
    probabilities = np.asarray(model(self.images, training=False))
    expected = self.logits[:, 1:]
    expected = np.exp(expected - expected.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    self.assertAllClose(probabilities, expected, rtol=0, atol=1e-5)

  def testIncludeTopFalseLoadsTheTrunkOfTheSameFile(self):
    model = _keras(self.weights, include_top=False, pooling='avg')
    features = np.asarray(model(self.images, training=False))
    self.assertAllClose(features, self.pooled, rtol=0,
                        atol=1e-4 * np.abs(self.pooled).max())

  def testDenseIsTheLogitsConvWithoutTheBackgroundRow(self):
    dense = self.logits_model().get_layer('predictions')
    weights = self.values[LOGITS + '/weights']
    self.assertAllEqual(dense.kernel.numpy(), weights[0, 0, :, 1:])
    self.assertAllEqual(dense.bias.numpy(), self.values[LOGITS + '/biases'][1:])

  def testReportsWhatWasDropped(self):
    self.assertEqual(self.result.num_classes, 1001)
    self.assertTrue(self.result.include_top)
    dropped = '\n'.join(self.result.dropped)
    self.assertIn('AuxLogits (10 variables): no Keras counterpart', dropped)
    self.assertIn('class 0 (background)', dropped)
    self.assertLessEqual(self.result.error, self.result.tolerance)

  def testFailedVerificationWritesNothing(self):
    # Two 1x1x192x64 convolutions swapped: every shape still matches, only
    # the verification against the slim graph can tell.
    directory = self.get_temp_dir()
    output = os.path.join(directory, 'out.weights.h5')
    with open(output, 'w') as f:
      f.write('mine')
    scopes = to_keras.slim_conv_scopes()
    i = scopes.index('InceptionV3/Mixed_5b/Branch_0/Conv2d_0a_1x1')
    j = scopes.index('InceptionV3/Mixed_5b/Branch_2/Conv2d_0a_1x1')
    scopes[i], scopes[j] = scopes[j], scopes[i]
    with mock.patch.object(to_keras, 'slim_conv_scopes', return_value=scopes):
      with self.assertRaisesRegex(to_keras.ConversionError,
                                  r'verification failed.*nothing was written'):
        to_keras.convert(self.ckpt, output, overwrite=True)
    with open(output) as f:
      self.assertEqual(f.read(), 'mine')
    self.assertEqual(os.listdir(directory), ['out.weights.h5'])

  def testBranchesFeedKerasConcatenationsInSlimOrder(self):
    # Every slim concat's inputs, traced back to the convolution that ends
    # each branch, must pair with the inputs of Keras' concat at the same
    # place, in the same order: otherwise channels would be permuted.
    # The model and the slim graph the other tests built (the structure
    # does not depend on the weights; the concats not on the aux head).
    model = self.logits_model()
    pairs = dict(zip(to_keras.slim_conv_scopes(),
                     [conv for conv, _ in to_keras.keras_conv_layers(model)]))
    end_points = testing.reference_graph(1001, 299, 299)['end_points']
    blocks = ['Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b',
              'Mixed_6c', 'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b',
              'Mixed_7c']
    for i, block in enumerate(blocks):
      self.assertEqual(end_points[block].op.type, 'ConcatV2')
      slim_ends = _slim_branch_ends(end_points[block].op)
      keras_ends = _keras_branch_ends(model.get_layer('mixed%d' % i))
      self.assertEqual(len(slim_ends), len(keras_ends), block)
      self.assertGreaterEqual(len(slim_ends), 3, block)
      for slim_end, keras_end in zip(slim_ends, keras_ends):
        if slim_end is None or keras_end is None:  # a pooling branch
          self.assertEqual(slim_end, keras_end, block)
        else:
          self.assertIs(pairs[slim_end], keras_end, '%s %s' % (block, slim_end))


def _slim_branch_ends(concat):
  """Scope of the conv ending each channel segment of a slim concat.

  None stands for a pooling branch. Recurses into nested concats.
  """
  ends = []
  for tensor in concat.inputs[:-1]:  # the last input is the axis
    op = tensor.op
    while op.type in ('Relu', 'FusedBatchNormV3'):
      op = op.inputs[0].op
    if op.type == 'ConcatV2':
      ends.extend(_slim_branch_ends(op))
    else:
      ends.append(_conv_scope(op) if op.type == 'Conv2D' else None)
  return ends


def _conv_scope(conv):
  """Name of a Conv2D op's weights variable without '/weights'."""
  weights = conv.inputs[1].op.inputs[0].op  # ReadVariableOp or Identity
  return weights.name[:-len('/weights')]


def _keras_branch_ends(concat):
  """The Conv2D ending each channel segment of a Keras concat (None: pool)."""
  ends = []
  for tensor in concat.input:
    layer = tensor._keras_history[0]  # pylint: disable=protected-access
    while isinstance(layer, (tf2.keras.layers.Activation,
                             tf2.keras.layers.BatchNormalization)):
      layer = layer.input._keras_history[0]  # pylint: disable=protected-access
    if isinstance(layer, tf2.keras.layers.Concatenate):
      ends.extend(_keras_branch_ends(layer))
    else:
      ends.append(layer if isinstance(layer, tf2.keras.layers.Conv2D) else None)
  return ends


class ToKerasOtherHeadsTest(tf.test.TestCase):
  """Checkpoints with 1000 and 10 classes."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tf.test.get_temp_dir()
    cls.ckpt10 = os.path.join(cls.dir, 'ten', 'model.ckpt')
    testing.write_checkpoint(cls.ckpt10, num_classes=10, seed=5,
                             extra_variables={'global_step': np.int64(7)})

  def testThousandClassesMapOneToOne(self):
    ckpt = os.path.join(self.get_temp_dir(), 'k.ckpt')
    values = testing.write_checkpoint(ckpt, num_classes=1000, seed=4)
    output = os.path.join(self.get_temp_dir(), 'k.weights.h5')
    result = to_keras.convert(ckpt, output, verify_output=False)
    self.assertEqual(result.num_classes, 1000)
    self.assertNotIn('background', '\n'.join(result.dropped))
    dense = _keras(output).get_layer('predictions')
    self.assertAllEqual(dense.kernel.numpy(), values[LOGITS + '/weights'][0, 0])
    self.assertAllEqual(dense.bias.numpy(), values[LOGITS + '/biases'])

  def testOtherClassCountNeedsIncludeTopFalse(self):
    output = os.path.join(self.get_temp_dir(), 'top.weights.h5')
    with self.assertRaisesRegex(to_keras.ConversionError,
                                r'has 10 classes.*--include_top=false'):
      to_keras.convert(self.ckpt10, output)
    self.assertFalse(os.path.exists(output))

  def testOtherClassCountConvertsTheTrunkAndSaysSo(self):
    output = os.path.join(self.get_temp_dir(), 'trunk.weights.h5')
    # Unverified: testCommandLine's run converts this checkpoint the same
    # way with the verification (its "verified: ... pooled features" line).
    result = to_keras.convert(self.ckpt10, output, include_top=False,
                              verify_output=False)
    dropped = '\n'.join(result.dropped)
    self.assertIn('Logits/Conv2d_1c_1x1 (10 classes): --include_top=false',
                  dropped)
    self.assertIn('1 other variable(s), e.g. global_step', dropped)
    self.assertIsNone(result.error)
    # Independently: Keras' pooled features against slim's, at 160x160 (any
    # size >= 75 works without the top).
    images = _images(size=160)
    _, pooled = _slim_outputs(self.ckpt10, images, 10)
    model = _keras(output, include_top=False, pooling='avg',
                   input_shape=(160, 160, 3))
    features = np.asarray(model(images, training=False))
    self.assertGreater(np.abs(pooled).max(), 1.0)
    self.assertAllClose(features, pooled, rtol=0,
                        atol=1e-4 * np.abs(pooled).max())
    self.assertEqual(os.listdir(os.path.dirname(output)),
                     ['trunk.weights.h5'])

  def testCommandLine(self):
    output = os.path.join(self.get_temp_dir(), 'cli.weights.h5')
    status, stdout, stderr = _run_cli(
        '--checkpoint_path=' + os.path.dirname(self.ckpt10),
        '--output=' + output, '--include_top=false')
    self.assertEqual(status, 0, stderr)
    self.assertEqual(stderr, [])
    self.assertIn('wrote %s: Keras InceptionV3 weights (include_top=False)'
                  % output, stdout)
    self.assertRegex(stdout, r"verified: Keras pooled features equal the slim "
                     r"graph's on 2 random images: max \|Keras - slim\| / max "
                     r"\|slim\| = \d\.\de-0[5-9] \(tolerance 1e-04\)")
    self.assertIn('dropped: AuxLogits (10 variables): no Keras counterpart',
                  stdout)
    self.assertTrue(os.path.isfile(output))

    # The same again: the file exists.
    before = os.stat(output).st_mtime_ns
    status, stdout, stderr = _run_cli(
        '--checkpoint_path=' + self.ckpt10, '--output=' + output,
        '--include_top=false', '--noverify')
    self.assertEqual(status, 1)
    self.assertEqual(stderr, ['nets.to_keras: error: %s exists (a file); pass '
                              '--overwrite to replace it' % output])
    self.assertEqual(os.stat(output).st_mtime_ns, before)

    # The head Keras cannot take.
    status, _, stderr = _run_cli('--checkpoint_path=' + self.ckpt10,
                                 '--output=' + output + 'x.weights.h5')
    self.assertEqual(status, 1)
    self.assertLen(stderr, 1)
    self.assertIn('has 10 classes', stderr[0])


  @testing.needs_tmpfs
  def testFullDiskAndReadOnlyFolderAreOneLineAndLeaveNothing(self):
    mount = os.path.join(self.get_temp_dir(), 'small_disk')
    os.makedirs(mount)
    output = os.path.join(mount, 'out.weights.h5')
    for read_only, text in (
        (False, r'cannot write %s: it needs about 9\d\.\d MB and only '
         r'2\.\d MB are free on its disk$' % output),
        (True, r'cannot write the file in %s: read-only file system$' % mount)):
      rc, _, err = testing.run_tool_on_small_disk(
          'nets.to_keras', mount,
          '--checkpoint_path=' + self.ckpt10, '--output=' + output,
          '--include_top=false', '--noverify', read_only=read_only)
      self.assertEqual(rc, 1, msg=err)
      self.assertLen(err, 1, msg=err)
      self.assertRegex(err[0], r'^nets\.to_keras: error: ' + text)
    self.assertEqual(os.listdir(mount), [])


class ToKerasBadInputTest(tf.test.TestCase):
  """Errors: one line naming the problem, nothing written."""

  _models = {}

  def setUp(self):
    super().setUp()
    self.dir = self.get_temp_dir()
    self.output = os.path.join(self.dir, 'out.weights.h5')

  def keras_model(self, include_top=True, weights=None):
    """to_keras.keras_model's model, built once per class and include_top:
    these conversions fail while filling it (what they left in it is
    never read)."""
    self.assertIsNone(weights)
    if include_top not in self._models:
      self._models[include_top] = _KERAS_MODEL(include_top)
    return self._models[include_top]

  def assertFails(self, regex, checkpoint_path, **kwargs):
    with self.assertRaisesRegex(to_keras.ConversionError, regex) as cm:
      with mock.patch.object(to_keras, 'keras_model', self.keras_model):
        to_keras.convert(checkpoint_path, self.output, **kwargs)
    self.assertNotIn('\n', str(cm.exception))
    self.assertFalse(os.path.exists(self.output))
    return cm.exception

  def testNotInceptionV3(self):
    ckpt = os.path.join(self.dir, 'resnet.ckpt')
    _save_variables(ckpt, {'resnet_v1_50/conv1/weights':
                               np.zeros([7, 7, 3, 64], np.float32)})
    self.assertFails(r'resnet\.ckpt is not an Inception V3 checkpoint: it has '
                     r'no InceptionV3/Conv2d_1a_3x3/weights.*resnet_v1_50',
                     ckpt)

  def testShapeMismatchNamesTheVariable(self):
    ckpt = os.path.join(self.dir, 'half.ckpt')
    _save_variables(ckpt, {FIRST_CONV + '/weights':
                               np.zeros([3, 3, 3, 16], np.float32)})
    self.assertFails(re.escape(
        'checkpoint variable InceptionV3/Conv2d_1a_3x3/weights has shape '
        '[3, 3, 3, 16]; Keras InceptionV3 needs [3, 3, 3, 32]'),
                     ckpt, include_top=False)

  def testMissingVariable(self):
    ckpt = os.path.join(self.dir, 'partial.ckpt')
    _save_variables(ckpt, {FIRST_CONV + '/weights':
                               np.zeros([3, 3, 3, 32], np.float32)})
    self.assertFails(
        r'has no variable InceptionV3/Conv2d_1a_3x3/BatchNorm/beta', ckpt,
        include_top=False)

  def testNoLogitsNeedsIncludeTopFalse(self):
    ckpt = os.path.join(self.dir, 'trunk.ckpt')
    _save_variables(ckpt, {FIRST_CONV + '/weights':
                               np.zeros([3, 3, 3, 32], np.float32)})
    self.assertFails(r'no logits layer.*--include_top=false', ckpt)

  def testBatchNormScaleIsRejected(self):
    ckpt = os.path.join(self.dir, 'gamma.ckpt')
    _save_variables(ckpt, {
        FIRST_CONV + '/weights': np.zeros([3, 3, 3, 32], np.float32),
        FIRST_CONV + '/BatchNorm/gamma': np.ones([32], np.float32)})
    self.assertFails(r'batch_norm_scale=True', ckpt)

  def testMissingCheckpoint(self):
    with self.assertRaisesRegex(ValueError, r'No checkpoint at .*nothing'):
      to_keras.convert(os.path.join(self.dir, 'nothing'), self.output)
    self.assertFalse(os.path.exists(self.output))

  def testOutputMustBeAKerasWeightsFile(self):
    self.output = os.path.join(self.dir, 'out.h5')
    self.assertFails(r'must end with \.weights\.h5', 'unused')

  def testExistingOutputIsKept(self):
    with open(self.output, 'w') as f:
      f.write('mine')
    with self.assertRaisesRegex(ValueError,
                                r'exists \(a file\); pass --overwrite'):
      to_keras.convert('unused', self.output)
    with open(self.output) as f:
      self.assertEqual(f.read(), 'mine')

  def testMissingH5py(self):
    with mock.patch.dict(sys.modules, {'h5py': None}):
      with self.assertRaisesRegex(cli.MissingDependencyError,
                                  r'^h5py is not installed .*: pip install '
                                  r'h5py'):
        to_keras.convert('unused', self.output)
    self.assertFalse(os.path.exists(self.output))

  def testNonFiniteWeightsAreNamed(self):
    ckpt = os.path.join(self.dir, 'nan.ckpt')
    weights = np.zeros([3, 3, 3, 32], np.float32)
    weights[1, 1, 1, 1] = np.nan
    _save_variables(ckpt, {FIRST_CONV + '/weights': weights})
    self.assertFails(r'nan\.ckpt: the weights are not finite \(%s/weights has '
                     r'NaN or Inf values\); nothing was written' % FIRST_CONV,
                     ckpt, include_top=False)


if __name__ == '__main__':
  tf.test.main()
