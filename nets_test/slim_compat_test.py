"""Tests of nets.slim_compat: each patch works, and is still needed.

The `*StillNeeded` tests call tf-slim's *original* code: when one of them
fails, TensorFlow or tf-slim fixed that breakage and the patch (and its test)
should be deleted.
"""

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils

from nets import inception_v3  # pylint: disable=unused-import  (applies the patches)
from nets import slim_compat
from nets_test import testing


class PatchesStillNeededTest(tf.test.TestCase):

  def testConstantValuePatchStillNeeded(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(AttributeError, 'Tensor'):
        slim_compat.ORIGINAL_CONSTANT_VALUE(tf.constant(True))
    self.assertTrue(slim_compat.constant_value_patch_needed(),
                    'tf-slim constant_value works here: delete patch 1')

  def testBatchNormPatchStillNeeded(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, [2, 4, 4, 3])
      with self.assertRaisesRegex(ImportError, 'tf_keras'):
        slim_compat.ORIGINAL_BATCH_NORM(inputs, is_training=False)
    self.assertTrue(slim_compat.batch_norm_patch_needed(),
                    "slim.batch_norm's Keras path works here: delete patch 2")

  def testBothPatchesApplied(self):
    self.assertEqual(slim_compat.applied_patches(), ['constant_value', 'batch_norm'])
    self.assertIs(slim.batch_norm, slim_compat.batch_norm)
    self.assertIs(slim_utils.constant_value, slim_compat.constant_value)


class ConstantValueTest(tf.test.TestCase):

  def testValues(self):
    with tf.Graph().as_default():
      self.assertEqual(slim_compat.constant_value(tf.constant(True)), True)
      self.assertIsNone(slim_compat.constant_value(tf.placeholder(tf.bool)))
      self.assertIsNone(slim_compat.constant_value(tf.Variable(1.0)))
      self.assertEqual(slim_compat.constant_value(False), False)
      with self.assertRaisesRegex(ValueError, 'wrong type'):
        slim_compat.constant_value(tf.constant(1.0), dtype=tf.bool)
      with self.assertRaisesRegex(ValueError, 'cannot be None'):
        slim_compat.constant_value(None)

  def testSmartCondUsesIt(self):
    with tf.Graph().as_default():
      out = slim_utils.smart_cond(tf.constant(False), lambda: 1, lambda: 2)
      self.assertEqual(out, 2)


class BatchNormTest(tf.test.TestCase):

  def _inputs(self):
    rng = np.random.RandomState(0)
    return rng.normal(3.0, 2.0, (4, 5, 5, 3)).astype(np.float32)

  def testInferenceUsesMovingStatistics(self):
    x = self._inputs()
    with tf.Graph().as_default():
      out = slim.batch_norm(tf.constant(x), is_training=False, epsilon=0.001)
      names = sorted(v.op.name for v in tf.global_variables())
      self.assertEqual(names, ['BatchNorm/beta', 'BatchNorm/moving_mean',
                               'BatchNorm/moving_variance'])
      self.assertLen(tf.model_variables(), 3)
      mean = np.array([1.0, -2.0, 0.5], np.float32)
      variance = np.array([4.0, 0.25, 1.0], np.float32)
      beta = np.array([0.1, 0.2, 0.3], np.float32)
      with self.session() as sess:
        for name, value in (('beta', beta), ('moving_mean', mean),
                            ('moving_variance', variance)):
          tf.global_variables('BatchNorm/' + name)[0].load(value, sess)
        actual = sess.run(out)
    np.testing.assert_allclose(actual, (x - mean) / np.sqrt(variance + 0.001) + beta,
                               rtol=1e-5, atol=1e-5)

  def testTrainingUsesBatchStatisticsAndQueuesUpdates(self):
    x = self._inputs()
    with tf.Graph().as_default():
      out = slim.batch_norm(tf.constant(x), decay=0.9, scale=True,
                            is_training=True)
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      self.assertLen(updates, 2)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        actual = sess.run(out)
        sess.run(updates)
        moving_mean = sess.run(tf.global_variables('BatchNorm/moving_mean')[0])
    batch_mean = x.mean(axis=(0, 1, 2))
    expected = (x - batch_mean) / np.sqrt(x.var(axis=(0, 1, 2)) + 0.001)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(moving_mean, 0.1 * batch_mean, rtol=1e-5)

  def testArgScopeOnOriginalFunctionApplies(self):
    with tf.Graph().as_default():
      with slim.arg_scope([slim_compat.ORIGINAL_BATCH_NORM], scale=True):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), is_training=False)
      self.assertLen(tf.global_variables('BatchNorm/gamma'), 1)

  def testVariablesCollections(self):
    with tf.Graph().as_default():
      slim.batch_norm(tf.zeros([1, 2, 2, 3]), is_training=False,
                      variables_collections={'moving_mean': ['stats']})
      self.assertEqual([v.op.name for v in tf.get_collection('stats')],
                       ['BatchNorm/moving_mean'])

  def testOtherCollectionsTakeTfSlimsOwnPath(self):
    with tf.Graph().as_default():
      slim.batch_norm(tf.zeros([1, 2, 2, 3]), is_training=True,
                      updates_collections='my_updates')
      self.assertLen(tf.get_collection('my_updates'), 2)
      self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])

  def testUnsupportedOptionsSayWhatIsNeeded(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(NotImplementedError, 'fused=False.*tf-keras'):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), fused=False)


class NoGlobalSideEffectsTest(tf.test.TestCase):

  def testImportKeepsEagerModeAndTensorFlowModules(self):
    script = ('import tensorflow as tf\n'
              'from tensorflow.python.framework import ops\n'
              'import nets.inception_v3\n'
              'assert tf.executing_eagerly()\n'
              'assert tf.__internal__.tf2.enabled()\n'
              'assert not hasattr(ops, "Tensor")\n'
              'print("OK")\n')
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('OK', result.stdout)


if __name__ == '__main__':
  tf.test.main()
