"""Tests of nets.slim_compat: each patch works, and is still needed.

The `*StillNeeded` tests call tf-slim's *original* code: when one of them
fails, TensorFlow or tf-slim fixed that breakage and the patch (and its test)
should be deleted.
"""

import contextlib
import threading

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim import learning as slim_learning
from tf_slim.data import tfexample_decoder as slim_tfexample_decoder
from tf_slim.layers import utils as slim_utils

from nets import dataset_utils
from nets import inception_v3  # pylint: disable=unused-import  (applies the patches)
from nets import slim_compat
from nets_test import testing


@contextlib.contextmanager
def _unpatched(module, **originals):
  """Binds `originals` in `module` (tf-slim as it ships) for the block."""
  patched = {name: getattr(module, name) for name in originals}
  for name, value in originals.items():
    setattr(module, name, value)
  try:
    yield
  finally:
    for name, value in patched.items():
      setattr(module, name, value)


def _example(encoded, image_format, **features):
  feature = {'image/encoded': dataset_utils.bytes_feature(encoded),
             'image/format': dataset_utils.bytes_feature(image_format)}
  feature.update(features)
  return tf.train.Example(features=tf.train.Features(feature=feature))


_KEYS_TO_FEATURES = {
    'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
    'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
    'image/shape': tf.FixedLenFeature([3], tf.int64),
    'values': tf.VarLenFeature(tf.float32),
    'ids': tf.VarLenFeature(tf.int64),
    'weights': tf.VarLenFeature(tf.float32),
    'backup': tf.VarLenFeature(tf.float32),
}


def _decode(examples, items_to_handlers):
  """The decoded items of each serialized example, run in a session."""
  keys = {k: v for k, v in _KEYS_TO_FEATURES.items()
          if any(k in h.keys for h in items_to_handlers.values())}
  decoder = slim_tfexample_decoder.TFExampleDecoder(keys, items_to_handlers)
  serialized = tf.placeholder(tf.string, [])
  items = sorted(items_to_handlers)
  tensors = decoder.decode(serialized, items)
  with tf.Session() as sess:
    return [dict(zip(items, sess.run(tensors,
                                     {serialized: e.SerializeToString()})))
            for e in examples]


def _train_tiny_model(logdir, steps=2):
  """slim.learning.train of testing.tiny_classifier on constant images."""
  with tf.Graph().as_default():
    rng = np.random.RandomState(0)
    images = tf.constant(rng.uniform(size=(4, 16, 16, 3)), tf.float32)
    labels = tf.constant([0, 1, 0, 1])
    logits = testing.tiny_classifier(images, 2)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = slim.learning.create_train_op(
        loss, tf.train.GradientDescentOptimizer(0.1))
    return slim.learning.train(train_op, logdir, number_of_steps=steps)


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
      with self.assertRaisesRegex(ImportError, 'tf_keras'):
        slim_compat.ORIGINAL_BATCH_NORM(inputs, fused=False, scope='NonFused')
    self.assertTrue(slim_compat.batch_norm_patch_needed(),
                    "slim.batch_norm's Keras path works here: delete patch 2")

  def testTfexampleDecoderOpsPatchStillNeeded(self):
    with _unpatched(slim_tfexample_decoder,
                    **slim_compat.ORIGINAL_TFEXAMPLE_DECODER_MODULES):
      with tf.Graph().as_default():
        with self.assertRaisesRegex(AttributeError, "'case'"):
          _decode([_example(b'', b'png')],
                  {'image': slim_tfexample_decoder.Image()})
    self.assertTrue(slim_compat.tfexample_decoder_ops_patch_needed(),
                    'tfexample_decoder finds its ops: delete patch 3')

  def testSupervisorThreadsPatchStillNeeded(self):
    logdir = self.get_temp_dir() + '/unpatched'
    with _unpatched(slim_learning,
                    supervisor=slim_compat.ORIGINAL_LEARNING_SUPERVISOR):
      with self.assertRaisesRegex(TypeError, 'global_step.*out of scope'):
        _train_tiny_model(logdir)
    self.assertTrue(slim_compat.supervisor_threads_patch_needed(),
                    "Supervisor threads run in graph mode: delete patch 4")

  def testAllPatchesApplied(self):
    self.assertEqual(slim_compat.applied_patches(),
                     ['constant_value', 'batch_norm', 'tfexample_decoder_ops',
                      'supervisor_threads'])
    self.assertIs(slim.batch_norm, slim_compat.batch_norm)
    self.assertIs(slim_utils.constant_value, slim_compat.constant_value)
    self.assertIs(slim_learning.supervisor.Supervisor, slim_compat.Supervisor)


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
      with self.assertRaisesRegex(NotImplementedError, 'renorm.*tf-keras'):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), renorm=True)
      with self.assertRaisesRegex(NotImplementedError, 'adjustment.*tf-keras'):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), adjustment=lambda s: (1., 0.))
      self.assertEqual(tf.global_variables(), [])

  def testUpdatesCollectionsNoneUpdatesInPlace(self):
    x = self._inputs()
    for fused in (None, False):
      with tf.Graph().as_default():
        out = slim.batch_norm(tf.constant(x), decay=0.9, is_training=True,
                              updates_collections=None, fused=fused)
        self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
        moving_mean = tf.global_variables('BatchNorm/moving_mean')[0]
        with self.session() as sess:
          sess.run(tf.global_variables_initializer())
          sess.run(out)  # one training step, no update ops run
          self.assertAllClose(sess.run(moving_mean),
                              0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)


class NonFusedBatchNormTest(tf.test.TestCase):
  """fused=False: tf-slim's own non-fused code, equal to the fused one."""

  def _inputs(self, shape=(4, 5, 5, 3)):
    return np.random.RandomState(1).normal(3.0, 2.0, shape).astype(np.float32)

  def _build_both(self, x, is_training, **kwargs):
    fused = slim.batch_norm(tf.constant(x), is_training=is_training,
                            scope='Fused', **kwargs)
    non_fused = slim.batch_norm(tf.constant(x), is_training=is_training,
                                fused=False, scope='NonFused', **kwargs)
    return fused, non_fused

  def _collections_of(self, scope):
    """{variable name under scope: the collections that hold it}."""
    graph = tf.get_default_graph()
    variables = {id(v): v.op.name for v in tf.global_variables(scope + '/')}
    found = {}
    for key in graph.get_all_collection_keys():
      for item in graph.get_collection(key):
        if id(item) in variables:
          name = variables[id(item)][len(scope) + 1:]
          found.setdefault(name, set()).add(key)
    return found

  def testSameVariablesAsFused(self):
    with tf.Graph().as_default():
      self._build_both(self._inputs(), True, scale=True,
                       variables_collections={'moving_mean': ['stats'],
                                              'moving_variance': ['stats']})
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
      self.assertEqual(
          shapes, {'%s/%s' % (scope, name): [3]
                   for scope in ('Fused', 'NonFused')
                   for name in ('beta', 'gamma', 'moving_mean',
                                'moving_variance')})
      fused = self._collections_of('Fused')
      self.assertEqual(fused, self._collections_of('NonFused'))
      self.assertIn('stats', fused['moving_mean'])
      self.assertIn(tf.GraphKeys.MODEL_VARIABLES, fused['moving_variance'])
      self.assertIn(tf.GraphKeys.TRAINABLE_VARIABLES, fused['gamma'])
      self.assertNotIn(tf.GraphKeys.TRAINABLE_VARIABLES, fused['moving_mean'])
      ops = {op.type for op in tf.get_default_graph().get_operations()
             if op.name.startswith('NonFused/')}
      self.assertNotIn('FusedBatchNormV3', ops)

  def testTrainingMatchesFusedAndNumPy(self):
    x = self._inputs()
    with tf.Graph().as_default():
      fused, non_fused = self._build_both(x, True, decay=0.9)
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      self.assertLen(updates, 4)  # mean and variance of each
      self.assertLen([u for u in updates if u.name.startswith('NonFused/')], 2)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        fused_out, non_fused_out = sess.run([fused, non_fused])
        sess.run(updates)
        mean, variance = sess.run(tf.global_variables('NonFused/moving_'))
    batch_mean, batch_variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = (x - batch_mean) / np.sqrt(batch_variance + 0.001)
    self.assertAllClose(non_fused_out, expected, rtol=0, atol=1e-5)
    self.assertAllClose(non_fused_out, fused_out, rtol=0, atol=1e-5)
    self.assertAllClose(mean, 0.1 * batch_mean, rtol=1e-5)
    # The batch variance as nn.moments gives it (tf-slim's and Keras'
    # non-fused code); the fused kernel's running variance has Bessel's
    # correction instead.
    self.assertAllClose(variance, 0.9 + 0.1 * batch_variance, rtol=1e-5)

  def testInferenceMatchesFused(self):
    x = self._inputs()
    with tf.Graph().as_default():
      fused, non_fused = self._build_both(x, False, scale=True)
      self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
      rng = np.random.RandomState(2)
      values = {'beta': rng.normal(0, 1, 3), 'gamma': rng.uniform(0.5, 2, 3),
                'moving_mean': rng.normal(3, 1, 3),
                'moving_variance': rng.uniform(1, 5, 3)}
      with self.session() as sess:
        for scope in ('Fused', 'NonFused'):
          for name, value in values.items():
            tf.global_variables('%s/%s' % (scope, name))[0].load(
                value.astype(np.float32), sess)
        fused_out, non_fused_out = sess.run([fused, non_fused])
    expected = (values['gamma'] * (x - values['moving_mean']) /
                np.sqrt(values['moving_variance'] + 0.001) + values['beta'])
    self.assertAllClose(non_fused_out, expected, rtol=0, atol=1e-5)
    self.assertAllClose(non_fused_out, fused_out, rtol=0, atol=1e-5)

  def testRank3InputsTakeTheNonFusedCode(self):
    x = self._inputs((4, 6, 3))
    with tf.Graph().as_default():
      out = slim.batch_norm(tf.constant(x), is_training=True)
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        actual = sess.run(out)
    expected = (x - x.mean(axis=(0, 1))) / np.sqrt(x.var(axis=(0, 1)) + 0.001)
    self.assertAllClose(actual, expected, rtol=0, atol=1e-5)


class TfexampleDecoderOpsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    rng = np.random.RandomState(0)
    cls.image = rng.randint(0, 256, (5, 7, 3)).astype(np.uint8)
    cls.png = testing.encode_images([cls.image], 'png')[0]
    # A smooth gray image, so JPEG's error stays small.
    ramp = np.add.outer(np.arange(16), np.arange(16)) * 8
    cls.smooth = np.repeat(ramp[:, :, None], 3, axis=2).astype(np.uint8)
    cls.jpeg = testing.encode_images([cls.smooth], 'jpeg')[0]

  def testImageDecodesPngJpegAndRaw(self):
    handler = slim_tfexample_decoder.Image(shape=None)
    raw_handler = slim_tfexample_decoder.Image(shape=[5, 7, 3])
    with tf.Graph().as_default():
      png, jpeg = _decode([_example(self.png, b'png'),
                           _example(self.jpeg, b'jpeg')], {'image': handler})
      raw, = _decode([_example(self.image.tobytes(), b'raw')],
                     {'image': raw_handler})
    self.assertAllEqual(png['image'], self.image)
    self.assertEqual(jpeg['image'].shape, (16, 16, 3))
    self.assertLess(np.abs(jpeg['image'].astype(float) - self.smooth).max(), 8)
    self.assertAllEqual(raw['image'], self.image)

  def testTensorShapeKeysAndSparseTensorUseStack(self):
    handlers = {
        'values': slim_tfexample_decoder.Tensor(
            'values', shape_keys='image/shape'),
        'sparse': slim_tfexample_decoder.SparseTensor(
            indices_key='ids', values_key='weights', shape=[4], densify=True),
    }
    example = _example(
        b'', b'png',
        **{'image/shape': dataset_utils.int64_feature([1, 2, 3]),
           'values': dataset_utils.float_feature([float(v) for v in range(6)]),
           'ids': dataset_utils.int64_feature([0, 2, 3]),
           'weights': dataset_utils.float_feature([5.0, 6.0, 7.0])})
    with tf.Graph().as_default():
      decoded, = _decode([example], handlers)
    self.assertAllEqual(decoded['values'], np.arange(6).reshape(1, 2, 3))
    self.assertAllEqual(decoded['sparse'], [5.0, 0.0, 6.0, 7.0])

  def testBackupHandlerUsesCond(self):
    handler = slim_tfexample_decoder.BackupHandler(
        slim_tfexample_decoder.Tensor('values'),
        slim_tfexample_decoder.Tensor('backup'))
    with_values = _example(b'', b'png',
                           values=dataset_utils.float_feature([1.0, 2.0]),
                           backup=dataset_utils.float_feature([9.0]))
    without = _example(b'', b'png', backup=dataset_utils.float_feature([9.0]))
    with tf.Graph().as_default():
      first, second = _decode([with_values, without], {'item': handler})
    self.assertAllEqual(first['item'], [1.0, 2.0])
    self.assertAllEqual(second['item'], [9.0])


class SupervisorThreadsTest(tf.test.TestCase):

  def testTrainRunsItsServiceThreadsInTheGraph(self):
    logdir = self.get_temp_dir() + '/patched'
    loss = _train_tiny_model(logdir)
    self.assertGreater(loss, 0.0)
    self.assertEqual(tf.train.latest_checkpoint(logdir),
                     logdir + '/model.ckpt-2')
    # Written by the steps/sec thread, which failed outside the graph.
    self.assertIn('global_step/sec', testing.summary_values(logdir))

  def testCoordinatorThreadsEnterTheGraph(self):
    seen = []
    with tf.Graph().as_default() as graph:
      tf.train.get_or_create_global_step()
      sv = slim_compat.Supervisor(graph=graph, logdir=None)
    def run():
      with sv.coord.stop_on_exception():
        seen.append((tf.executing_eagerly(), tf.get_default_graph()))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    self.assertEqual(seen, [(False, graph)])


class NoGlobalSideEffectsTest(tf.test.TestCase):

  def testImportKeepsEagerModeAndTensorFlowModules(self):
    script = ('import tensorflow as tf\n'
              'from tensorflow.python.framework import ops\n'
              'import nets.inception_v3\n'
              'import nets.dataset_factory\n'
              'assert tf.executing_eagerly()\n'
              'assert tf.__internal__.tf2.enabled()\n'
              'assert not hasattr(ops, "Tensor")\n'
              'print("OK")\n')
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('OK', result.stdout)


if __name__ == '__main__':
  tf.test.main()
