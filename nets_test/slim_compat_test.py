"""Tests of nets.slim_compat: each patch works, and is still needed.

The `*StillNeeded` tests call tf-slim's *original* code: when one of them
fails, TensorFlow or tf-slim fixed that breakage and the patch (and its test)
should be deleted.
"""

import ast
import contextlib
import importlib
import json
import os
import threading
import types
import unittest

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim import learning as slim_learning
from tf_slim.data import tfexample_decoder as slim_tfexample_decoder
from tf_slim.layers import layers as slim_layers
from tf_slim.layers import optimizers as slim_optimizers
from tf_slim.layers import rev_block_lib as slim_rev_block_lib
from tf_slim.layers import utils as slim_utils
from tf_slim.losses import metric_learning as slim_metric_learning
from tf_slim.metrics import histogram_ops as slim_histogram_ops
from tf_slim.metrics import metric_ops as slim_metric_ops
from tf_slim.ops import variables as slim_variables
from tf_slim.training import training as slim_training

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


def _unpatched_tf_modules(module):
  """Binds the TensorFlow modules `module` imported (as shipped) for a block."""
  return _unpatched(module, **{
      alias: original
      for (patched_module, alias), original
      in slim_compat.ORIGINAL_TF_MODULES.items() if patched_module is module})


def _tf_slim_modules():
  """Every module of the tf_slim package but its tests, imported."""
  root = os.path.dirname(slim.__file__)
  modules = []
  for directory, _, files in sorted(os.walk(root)):
    for filename in sorted(files):
      if not filename.endswith('.py') or filename.endswith('_test.py'):
        continue
      relative = os.path.relpath(os.path.join(directory, filename), root)
      name = '.'.join(['tf_slim'] + relative[:-len('.py')].split(os.sep))
      if name.endswith('.__init__'):
        name = name[:-len('.__init__')]
      modules.append(importlib.import_module(name))
  return modules


def _has(module, name):
  try:
    getattr(module, name)
  except (AttributeError, ImportError):  # Lazy loaders raise ImportError.
    return False
  return True


def _missing_tensorflow_symbols():
  """{(tf-slim module name, alias, symbol)}: `alias.symbol` it uses, gone.

  Finds every `alias.symbol` in tf-slim's source where `alias` is a
  TensorFlow module tf-slim imported (as it shipped, not as patched).
  """
  missing = set()
  for module in _tf_slim_modules():
    with open(module.__file__) as source:
      tree = ast.parse(source.read())
    for node in ast.walk(tree):
      if not (isinstance(node, ast.Attribute) and
              isinstance(node.value, ast.Name)):
        continue
      alias = node.value.id
      target = slim_compat.ORIGINAL_TF_MODULES.get(
          (module, alias), getattr(module, alias, None))
      # Patches 2 and 5 overlay modules too.
      target = getattr(target, 'overlaid_module', target)
      if (isinstance(target, types.ModuleType) and
          target.__name__.startswith('tensorflow') and
          not _has(target, node.attr)):
        missing.add((module.__name__, alias, node.attr))
  return missing


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


def _has_tf_keras():
  try:
    slim_compat.keras_normalization()
  except ImportError:
    return False
  return True


HAS_TF_KERAS = _has_tf_keras()
NO_TF_KERAS = ("tf-keras is not installed (pip install -e '.[tf-keras]'): "
               'slim.batch_norm(renorm=True) and adjustment=... need it')


def _write_partitioned_checkpoint(path, value, num_parts):
  """Saves `value` as variable `table` in `num_parts` parts; returns path."""
  with tf.Graph().as_default():
    tf.get_variable('table', initializer=tf.constant(value),
                    partitioner=tf.fixed_size_partitioner(num_parts))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return tf.train.Saver().save(sess, path)


def _covariance_batches():
  """(predictions, labels, weights) of 4 batches of 5; the first weighs 0."""
  rng = np.random.RandomState(7)
  predictions = rng.normal(size=(4, 5)).astype(np.float32)
  labels = (0.5 * predictions + rng.normal(size=(4, 5))).astype(np.float32)
  weights = rng.randint(0, 4, size=(4, 5)).astype(np.float32)
  weights[0] = 0.0
  return predictions, labels, weights


def _streaming(metric, batches, **kwargs):
  """The metric's value after each batch of (predictions, labels, weights)."""
  with tf.Graph().as_default():
    shape = batches[0][0].shape
    predictions, labels, weights = (tf.placeholder(tf.float32, shape)
                                    for _ in range(3))
    value, update_op = metric(predictions, labels, weights=weights, **kwargs)
    with tf.Session() as sess:
      sess.run(tf.local_variables_initializer())
      values = []
      for batch in batches:
        sess.run(update_op, dict(zip((predictions, labels, weights), batch)))
        values.append(sess.run(value))
      return np.array(values)


class PatchesStillNeededTest(tf.test.TestCase):

  def testConstantValuePatchStillNeeded(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(AttributeError, 'Tensor'):
        slim_compat.ORIGINAL_CONSTANT_VALUE(tf.constant(True))
    self.assertTrue(slim_compat.constant_value_patch_needed(),
                    'tf-slim constant_value works here: delete patch 1')

  def testBatchNormPatchStillNeeded(self):
    with tf.Graph().as_default(), _unpatched(
        slim_layers,
        normalization_layers=slim_compat.ORIGINAL_NORMALIZATION_LAYERS):
      inputs = tf.placeholder(tf.float32, [2, 4, 4, 3])
      # tf_keras, or with tf-keras installed tf_keras.legacy_tf_layers.
      with self.assertRaisesRegex(ImportError, "No module named 'tf_keras"):
        slim_compat.ORIGINAL_BATCH_NORM(inputs, is_training=False)
      with self.assertRaisesRegex(ImportError, "No module named 'tf_keras"):
        slim_compat.ORIGINAL_BATCH_NORM(inputs, fused=False, scope='NonFused')
    self.assertTrue(slim_compat.batch_norm_patch_needed(),
                    "slim.batch_norm's Keras path works here: delete patch 2")

  def testMovedSymbolsPatchStillNeeded(self):
    for (module, alias), original in slim_compat.ORIGINAL_TF_MODULES.items():
      for symbol in slim_compat.MOVED_SYMBOLS[module][alias]:
        self.assertFalse(
            hasattr(original, symbol),
            '%s has %s again: delete it from %s in patch 3 (MOVED_SYMBOLS)'
            % (original.__name__, symbol, module.__name__))
    self.assertTrue(slim_compat.moved_symbols_patch_needed(),
                    'every moved symbol is back: delete patch 3')

  def testUnpatchedModulesFail(self):
    """One public call per patched module fails as tf-slim ships it."""
    def decode_image():
      _decode([_example(b'', b'png')],
              {'image': slim_tfexample_decoder.Image()})
    def gradients():
      var = tf.Variable([3.0, 4.0])
      return [(tf.constant([3.0, 4.0]), var)]
    calls = {
        slim_tfexample_decoder: ('case', decode_image),
        slim_layers: ('unstack', lambda: slim.legacy_fully_connected(
            tf.zeros([2, 3, 4]), 5)),
        slim_utils: ('cond', lambda: slim_utils.smart_cond(
            tf.placeholder(tf.bool), lambda: 1.0, lambda: 2.0)),
        slim_optimizers: ('Tensor', lambda: slim.optimize_loss(
            tf.reduce_sum(tf.Variable(1.0)),
            tf.train.get_or_create_global_step(), tf.constant(0.1), 'SGD')),
        slim_rev_block_lib: ('Tensor', lambda: slim.recompute_grad(
            tf.square)(tf.ones([2]))),
        slim_variables: ('variable', lambda: slim.local_variable(0.0)),
        slim_learning: ('IndexedSlices', lambda: (
            slim.learning.clip_gradient_norms(gradients(), 1.0))),
        slim_training: ('IndexedSlices', lambda: (
            slim.training.clip_gradient_norms(gradients(), 1.0))),
        slim_metric_ops: ('stack', lambda: (
            slim.metrics.streaming_true_positives_at_thresholds(
                tf.constant([0.3]), tf.constant([1]), [0.5]))),
        slim_histogram_ops: ('Assert', lambda: (
            slim.metrics.auc_using_histogram(
                tf.constant([True]), tf.constant([0.3]), [0.0, 1.0]))),
        slim_metric_learning: ('while_loop', lambda: (
            slim_metric_learning.compute_gt_cluster_score(
                tf.zeros([2, 2]), tf.constant([0, 1])))),
    }
    self.assertCountEqual(calls, slim_compat.MOVED_SYMBOLS)
    for module, (symbol, call) in calls.items():
      with self.subTest(module=module.__name__):
        with _unpatched_tf_modules(module), tf.Graph().as_default():
          with self.assertRaisesRegex(
              AttributeError, "'%s'" % symbol,
              msg='works as tf-slim ships it: see which of its '
              'MOVED_SYMBOLS to delete (patch 3)'):
            call()

  def testNoOtherSymbolTfSlimUsesIsMissing(self):
    expected = {
        ('tf_slim.layers.utils', 'ops', 'Tensor'),  # Patch 1.
        # Patch 2 (the Keras layer's module needs tf_keras).
        ('tf_slim.layers.layers', 'normalization_layers',
         'BatchNormalization'),
    }
    for module, aliases in slim_compat.MOVED_SYMBOLS.items():
      for alias, symbols in aliases.items():
        expected.update((module.__name__, alias, s) for s in symbols)
    self.assertEqual(
        _missing_tensorflow_symbols(), expected,
        'first: missing, not patched (add to MOVED_SYMBOLS, patch 3); second: '
        'patched, no longer missing (delete from MOVED_SYMBOLS or patch 1/2)')

  def testSupervisorThreadsPatchStillNeeded(self):
    logdir = self.get_temp_dir() + '/unpatched'
    with _unpatched(slim_learning,
                    supervisor=slim_compat.ORIGINAL_LEARNING_SUPERVISOR):
      with self.assertRaisesRegex(TypeError, 'global_step.*out of scope'):
        _train_tiny_model(logdir)
    self.assertTrue(slim_compat.supervisor_threads_patch_needed(),
                    "Supervisor threads run in graph mode: delete patch 4")

  def testAssignFromCheckpointPatchStillNeeded(self):
    path = _write_partitioned_checkpoint(
        self.get_temp_dir() + '/partitioned', np.ones((4, 2), np.float32), 2)
    with tf.Graph().as_default():
      parts = list(tf.get_variable('table', [4, 2], partitioner=(
          tf.fixed_size_partitioner(2))))
      with _unpatched(slim_variables,
                      tf=slim_compat.ORIGINAL_VARIABLES_TF):
        with self.assertRaisesRegex(IndexError, 'only integers, slices',
                                    msg='tf-slim fixed it: delete patch 5'):
          slim.assign_from_checkpoint(path, parts)
    self.assertTrue(slim_compat.assign_from_checkpoint_patch_needed(),
                    'NumPy takes a list of slices again: delete patch 5')

  def testNextArraySizePatchStillNeeded(self):
    with tf.Graph().as_default():
      size = slim_compat.ORIGINAL_NEXT_ARRAY_SIZE(7371556)
      with self.session() as sess:
        self.assertEqual(sess.run(size), 7371555,
                         "tf-slim's buffer size is right: delete patch 6")
    self.assertTrue(slim_compat.next_array_size_patch_needed())

  def testStreamingCovariancePatchStillNeeded(self):
    covariances = _streaming(slim_compat.ORIGINAL_STREAMING_COVARIANCE,
                             list(zip(*_covariance_batches())))
    self.assertTrue(np.isnan(covariances).all(),
                    'tf-slim recovers from zero weights: delete patch 7')
    self.assertTrue(slim_compat.streaming_covariance_patch_needed())

  def testAllPatchesApplied(self):
    self.assertEqual(slim_compat.applied_patches(),
                     ['constant_value', 'batch_norm', 'moved_symbols',
                      'supervisor_threads', 'assign_from_checkpoint',
                      'next_array_size', 'streaming_covariance'])
    self.assertIs(slim.batch_norm, slim_compat.batch_norm)
    self.assertIs(slim.metrics.streaming_covariance,
                  slim_compat.streaming_covariance)
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

  def testWithoutTfKerasRenormAndAdjustmentSayWhatToInstall(self):
    if HAS_TF_KERAS:
      self.skipTest('tf-keras is installed (RenormTest runs instead)')
    message = (r"^slim.batch_norm\(renorm=True\) and adjustment=... need the "
               r"tf-keras package: pip install 'slim-inception-v3\[tf-keras\]'")
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ImportError, message):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), renorm=True)
      with self.assertRaisesRegex(ImportError, message):
        slim.batch_norm(tf.zeros([1, 2, 2, 3]), adjustment=lambda s: (1., 0.))
      self.assertEqual(tf.global_variables(), [])
      self.assertEqual({op.type for op in tf.get_default_graph(
          ).get_operations()}, {'Const'})  # Only the zeros above.

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


class BatchNormParamRegularizersTest(tf.test.TestCase):
  """fused=False keeps `param_regularizers`: the fused path's losses."""

  REGULARIZERS = {'beta': slim.l2_regularizer(0.5),
                  'gamma': slim.l1_regularizer(0.25)}

  def _losses(self, scopes, build):
    """{loss name: value} after build(); beta, gamma of each scope loaded."""
    rng = np.random.RandomState(8)
    self.beta, self.gamma = rng.normal(size=3), rng.normal(size=3)
    with tf.Graph().as_default():
      build(tf.constant(np.ones((2, 3, 3, 3), np.float32)))
      losses = {loss.op.name: loss
                for loss in tf.losses.get_regularization_losses()}
      with self.session() as sess:
        for scope in scopes:
          for name, value in (('beta', self.beta), ('gamma', self.gamma)):
            tf.global_variables('%s/%s' % (scope, name))[0].load(
                value.astype(np.float32), sess)
        return sess.run(losses)

  def _expected(self, scope):
    return {scope + '/beta/Regularizer/l2_regularizer':
                0.5 * np.sum(self.beta ** 2) / 2,
            scope + '/gamma/Regularizer/l1_regularizer':
                0.25 * np.sum(np.abs(self.gamma))}

  def testNonFusedLossesAreTheFusedOnes(self):
    def build(x):
      for scope, fused in (('Fused', None), ('NonFused', False)):
        slim.batch_norm(x, scale=True, fused=fused, scope=scope,
                        param_regularizers=self.REGULARIZERS)
      # Reused: no second loss (as the fused path).
      slim.batch_norm(x, scale=True, fused=False, scope='NonFused',
                      reuse=True, param_regularizers=self.REGULARIZERS)
    losses = self._losses(('Fused', 'NonFused'), build)
    expected = dict(self._expected('Fused'), **self._expected('NonFused'))
    self.assertCountEqual(losses, expected)
    for name, value in expected.items():
      self.assertAllClose(losses[name], value, rtol=1e-5, msg=name)

  def testRank3InputsScopeObjectsAndArgScope(self):
    def build(x):
      with tf.variable_scope('outer') as outer:
        pass
      with slim.arg_scope([slim.batch_norm],
                          param_regularizers=self.REGULARIZERS, scale=True):
        slim.batch_norm(x[0], scope='Rank3')  # Always the non-fused code.
        slim.batch_norm(x, fused=False, scope=outer)
        with tf.variable_scope('net'):
          slim.batch_norm(x, fused=False)
    losses = self._losses(('Rank3', 'outer', 'net/BatchNorm'), build)
    expected = dict(self._expected('Rank3'), **self._expected('outer'))
    expected.update(self._expected('net/BatchNorm'))
    self.assertCountEqual(losses, expected)
    for name, value in expected.items():
      self.assertAllClose(losses[name], value, rtol=1e-5, msg=name)


@unittest.skipUnless(HAS_TF_KERAS, NO_TF_KERAS)
class RenormTest(tf.test.TestCase):
  """renorm and adjustment: the Keras layer, from tf-keras (patch 2)."""

  def _inputs(self):
    return np.random.RandomState(9).normal(3.0, 2.0, (4, 3, 3, 2)).astype(
        np.float32)

  def testTfKerasStillLacksTheModuleTensorFlowLoads(self):
    with self.assertRaises(ImportError, msg=(
        'tf-keras has tf_keras.legacy_tf_layers: TensorFlow finds the layer '
        "again; drop patch 2's normalization_layers overlay")):
      importlib.import_module('tf_keras.legacy_tf_layers')
    with tf.Graph().as_default():
      with _unpatched(slim_layers, normalization_layers=(
          slim_compat.ORIGINAL_NORMALIZATION_LAYERS)):
        with self.assertRaisesRegex(ImportError, 'tf_keras.legacy_tf_layers'):
          slim_compat.ORIGINAL_BATCH_NORM(tf.zeros([2, 2, 2, 2]), renorm=True)

  def testRenormCorrectsTowardsTheMovingStatistics(self):
    x = self._inputs()
    clipping = {'rmax': 1.5, 'rmin': 0.5, 'dmax': 0.1}
    with tf.Graph().as_default():
      out = slim.batch_norm(tf.constant(x), renorm=True, is_training=True,
                            renorm_clipping=clipping, renorm_decay=0.9)
      inference = slim.batch_norm(tf.constant(x), renorm=True,
                                  is_training=False, scope='BatchNorm',
                                  reuse=True)
      self.assertCountEqual(
          [v.op.name for v in tf.global_variables()],
          ['BatchNorm/%s' % name for name in (
              'beta', 'moving_mean', 'moving_variance', 'renorm_mean',
              'renorm_stddev', 'moving_stddev')])
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      self.assertNotEmpty(updates)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        training, first = sess.run([out, inference])
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    normalized = (x - mean) / np.sqrt(variance + 0.001)
    # Moving mean 0 and standard deviation 1 at the start: r = batch
    # standard deviation, d = batch mean, each clipped.
    r = np.clip(np.sqrt(variance + 0.001), 0.5, 1.5)
    d = np.clip(mean, -0.1, 0.1)
    self.assertAllClose(training, normalized * r + d, rtol=0, atol=1e-5)
    self.assertAllClose(first, x / np.sqrt(1.001), rtol=0, atol=1e-5)

  def testAdjustmentScalesAndShiftsTheNormalizedValues(self):
    x = self._inputs()
    def adjustment(shape):
      return tf.fill(shape[-1:], 2.0), tf.fill(shape[-1:], 0.5)
    with tf.Graph().as_default():
      out = slim.batch_norm(tf.constant(x), adjustment=adjustment,
                            is_training=True)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        actual = sess.run(out)
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = 2.0 * (x - mean) / np.sqrt(variance + 0.001) + 0.5
    self.assertAllClose(actual, expected, rtol=0, atol=1e-5)


class AssignFromCheckpointTest(tf.test.TestCase):
  """slim.assign_from_checkpoint of partitioned variables (patch 5)."""

  def testEachPartGetsItsSliceOfTheCheckpointedValue(self):
    value = np.arange(30, dtype=np.float32).reshape(6, 5) / 7
    path = _write_partitioned_checkpoint(self.get_temp_dir() + '/table',
                                         value, 3)
    # As saved, partitioned otherwise, and named in a dict.
    for num_parts, as_dict in ((3, False), (2, False), (4, True)):
      with self.subTest(num_parts=num_parts, as_dict=as_dict):
        with tf.Graph().as_default():
          parts = list(tf.get_variable(
              'table', [6, 5], initializer=tf.zeros_initializer(),
              partitioner=tf.fixed_size_partitioner(num_parts)))
          self.assertLen(parts, num_parts)
          absent = tf.get_variable('absent', [2],
                                   initializer=tf.ones_initializer())
          var_list = {'table': parts} if as_dict else parts + [absent]
          assign_op, feed_dict = slim.assign_from_checkpoint(
              path, var_list, ignore_missing_vars=True)
          with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(assign_op, feed_dict)
            restored = sess.run(parts)
            self.assertAllEqual(sess.run(absent), [1.0, 1.0])
        self.assertAllEqual(np.concatenate(restored), value)
        self.assertAllEqual(restored[-1], value[-len(restored[-1]):])


class StreamingConcatBufferTest(tf.test.TestCase):
  """streaming_concat's buffer sizes (patch 6)."""

  def testNextSizeIsTheSmallestPowerOfTheGrowthFactorAbove(self):
    sizes = np.array([1, 2, 3, 100, 7371555, 7371556, 7371557, 12345678,
                      10 ** 9] + list(range(7371500, 7371600)))
    with tf.Graph().as_default():
      actual = slim_compat.next_array_size(tf.constant(sizes, tf.int32))
      with self.session() as sess:
        actual = sess.run(actual)
    powers = 1.5 ** np.arange(60)
    expected = [np.ceil(powers[powers >= size][0]) for size in sizes]
    self.assertAllEqual(actual, expected)
    self.assertTrue(np.all(actual >= sizes))

  def testConcatenatesAHugeBatch(self):
    batches = [np.arange(7371556) % 97, np.arange(5)]
    with tf.Graph().as_default():
      values = tf.placeholder(tf.int32, [None])
      concatenated, update_op = slim.metrics.streaming_concat(values)
      with self.session() as sess:
        sess.run(tf.local_variables_initializer())
        for batch in batches:
          sess.run(update_op, {values: batch})
        self.assertAllEqual(sess.run(concatenated), np.concatenate(batches))


class StreamingCovarianceTest(tf.test.TestCase):
  """streaming_covariance and streaming_pearson_correlation (patch 7)."""

  def testWeightedAgainstNumPyAfterAZeroWeightBatch(self):
    predictions, labels, weights = _covariance_batches()
    batches = list(zip(predictions, labels, weights))
    covariances = _streaming(slim.metrics.streaming_covariance, batches)
    correlations = _streaming(slim.metrics.streaming_pearson_correlation,
                              batches)
    self.assertTrue(np.isnan(covariances[0]))  # Nothing counted yet.
    self.assertTrue(np.isnan(correlations[0]))
    for i in range(1, len(batches)):
      matrix = np.cov(predictions[:i + 1].ravel(), labels[:i + 1].ravel(),
                      fweights=weights[:i + 1].ravel().astype(int))
      self.assertAllClose(covariances[i], matrix[0, 1], rtol=1e-5)
      self.assertAllClose(
          correlations[i], matrix[0, 1] / np.sqrt(matrix[0, 0] * matrix[1, 1]),
          rtol=1e-5)

  def testUnweightedAgainstNumPy(self):
    predictions, labels, _ = _covariance_batches()
    with tf.Graph().as_default():
      covariance, update_op = slim.metrics.streaming_covariance(
          tf.constant(predictions), tf.constant(labels),
          metrics_collections=['values'], updates_collections=['updates'])
      self.assertEqual(tf.get_collection('values'), [covariance])
      self.assertEqual(tf.get_collection('updates'), [update_op])
      with self.session() as sess:
        sess.run(tf.local_variables_initializer())
        self.assertAllClose(sess.run(update_op),
                            np.cov(predictions.ravel(), labels.ravel())[0, 1],
                            rtol=1e-5)

  def testSameVariablesAsTfSlims(self):
    def variables(metric):
      with tf.Graph().as_default():
        metric(tf.zeros([3]), tf.zeros([3]), name='cov')
        return ([(v.op.name, v.shape) for v in tf.local_variables()],
                [v.op.name for v in tf.get_collection(
                    tf.GraphKeys.METRIC_VARIABLES)])
    self.assertEqual(variables(slim.metrics.streaming_covariance),
                     variables(slim_compat.ORIGINAL_STREAMING_COVARIANCE))


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


class SmartCondTest(tf.test.TestCase):
  """A tensor `is_training` (patch 3: tf_slim.layers.utils' cond)."""

  def _inputs(self):
    return np.random.RandomState(3).normal(3.0, 2.0, (4, 5, 5, 3)).astype(
        np.float32)

  def testTensorPredicatePicksAtRunTime(self):
    with tf.Graph().as_default():
      pred = tf.placeholder_with_default(True, [])
      out = slim_utils.smart_cond(pred, lambda: tf.constant(1.0),
                                  lambda: tf.constant(2.0))
      with self.session() as sess:
        self.assertEqual(sess.run(out), 1.0)
        self.assertEqual(sess.run(out, {pred: False}), 2.0)

  def testBatchNormUpdatesOnlyWhenTraining(self):
    x = self._inputs()
    batch_mean = x.mean(axis=(0, 1, 2))
    batch_normalized = (x - batch_mean) / np.sqrt(x.var(axis=(0, 1, 2)) +
                                                  0.001)
    for fused in (None, False):
      with self.subTest(fused=fused):
        with tf.Graph().as_default():
          is_training = tf.placeholder_with_default(False, [])
          out = slim.batch_norm(tf.constant(x), decay=0.9, fused=fused,
                                is_training=is_training)
          updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
          self.assertLen(updates, 2)
          moving_mean = tf.global_variables('BatchNorm/moving_mean')[0]
          with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            inference, _ = sess.run([out, updates])
            self.assertAllEqual(sess.run(moving_mean), np.zeros(3))
            training, _ = sess.run([out, updates], {is_training: True})
            self.assertAllClose(sess.run(moving_mean), 0.1 * batch_mean,
                                rtol=1e-5)
          # Moving statistics still at their initial 0 and 1.
          self.assertAllClose(inference, x / np.sqrt(1.001), rtol=0, atol=1e-5)
          self.assertAllClose(training, batch_normalized, rtol=0, atol=1e-4)

  def testBatchNormInPlaceUpdatesOnlyWhenTraining(self):
    x = self._inputs()
    for fused in (None, False):
      with self.subTest(fused=fused):
        with tf.Graph().as_default():
          is_training = tf.placeholder_with_default(False, [])
          out = slim.batch_norm(tf.constant(x), decay=0.9, fused=fused,
                                is_training=is_training,
                                updates_collections=None)
          moving_mean = tf.global_variables('BatchNorm/moving_mean')[0]
          with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(out)
            self.assertAllEqual(sess.run(moving_mean), np.zeros(3))
            sess.run(out, {is_training: True})
            self.assertAllClose(sess.run(moving_mean),
                                0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)


class LegacyFullyConnectedTest(tf.test.TestCase):
  """Rank > 2 inputs (patch 3: tf_slim.layers.layers' stack and unstack)."""

  def testRank3InputsAreAppliedOnTheLastAxis(self):
    x = np.random.RandomState(4).normal(size=(2, 3, 4)).astype(np.float32)
    for layer, activation in ((slim.legacy_relu, lambda v: np.maximum(v, 0)),
                              (slim.legacy_linear, lambda v: v)):
      with self.subTest(layer=layer.keywords):
        with tf.Graph().as_default():
          out = layer(tf.constant(x), 5,
                      bias_init=tf.random_normal_initializer(seed=1))
          self.assertEqual(out.shape.as_list(), [2, 3, 5])
          with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            actual, (weights, biases) = sess.run(
                [out, tf.trainable_variables()])
          expected = activation(x.reshape(6, 4).dot(weights) + biases)
          self.assertAllClose(actual, expected.reshape(2, 3, 5), rtol=1e-5,
                              atol=1e-5)


def _dense_and_sparse_gradients():
  """Gradients [3, 4] of `dense` and IndexedSlices rows 1, 3 of `table`."""
  dense = tf.Variable([3.0, 4.0], name='dense')
  table = tf.Variable(np.ones((4, 2), np.float32), name='table')
  loss = (tf.reduce_sum(tf.constant([3.0, 4.0]) * dense) +
          tf.reduce_sum(tf.constant(_ROWS) * tf.gather(table, [1, 3])))
  optimizer = tf.train.GradientDescentOptimizer(0.1)
  return loss, optimizer, optimizer.compute_gradients(loss)

_ROWS = np.array([[6.0, 8.0], [0.0, 1.0]], np.float32)  # Norm sqrt(101).


def _clip(values, max_norm):
  return values * min(1.0, max_norm / np.linalg.norm(values))


def _summary_values(summary):
  """{tag: scalar value, or number of values of a histogram} of a Summary."""
  values = {}
  for value in tf.Summary.FromString(summary).value:
    kind = value.WhichOneof('value')
    values[value.tag] = (value.simple_value if kind == 'simple_value'
                         else value.histo.num)
  return values


class GradientHelpersTest(tf.test.TestCase):
  """slim.learning's and slim.training's gradient helpers (patch 3)."""

  HELPERS = ((slim.learning, '/'), (slim.training, '_'))

  def _run(self, grads_and_vars):
    """[(gradient values, IndexedSlices indices or None)] of each pair."""
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      return [(sess.run(g.values), sess.run(g.indices))
              if isinstance(g, tf.IndexedSlices) else (sess.run(g), None)
              for g, _ in grads_and_vars]

  def testClipGradientNorms(self):
    for helpers, _ in self.HELPERS:
      with self.subTest(helpers.__name__):
        with tf.Graph().as_default():
          _, _, grads = _dense_and_sparse_gradients()
          (dense, _), (rows, indices) = self._run(
              helpers.clip_gradient_norms(grads, 2.0))
        self.assertAllClose(dense, [1.2, 1.6], rtol=1e-6)
        self.assertAllClose(rows, _clip(_ROWS, 2.0), rtol=1e-6)
        self.assertAllEqual(indices, [1, 3])

  def testMultiplyGradients(self):
    for helpers, _ in self.HELPERS:
      with self.subTest(helpers.__name__):
        with tf.Graph().as_default():
          _, _, grads = _dense_and_sparse_gradients()
          dense_var = grads[0][1]
          (dense, _), (rows, indices) = self._run(helpers.multiply_gradients(
              grads, {dense_var: 2.0, 'table': tf.constant(0.5)}))
        self.assertAllClose(dense, [6.0, 8.0], rtol=1e-6)
        self.assertAllClose(rows, 0.5 * _ROWS, rtol=1e-6)
        self.assertAllEqual(indices, [1, 3])

  def testAddGradientsSummaries(self):
    for helpers, separator in self.HELPERS:
      with self.subTest(helpers.__name__):
        with tf.Graph().as_default():
          _, _, grads = _dense_and_sparse_gradients()
          summaries = helpers.add_gradients_summaries(grads)
          self.assertLen(summaries, 4)
          with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            values = _summary_values(sess.run(tf.summary.merge(summaries)))
        # {variable: (gradient norm, number of gradient values)}.
        expected = {'dense': (5.0, 2), 'table': (np.sqrt(101.0), 4)}
        self.assertCountEqual(values, [
            name + separator + kind for name in expected
            for kind in ('gradient', 'gradient_norm')])
        for name, (norm, count) in expected.items():
          self.assertAllClose(values[name + separator + 'gradient_norm'], norm,
                              rtol=1e-6)
          self.assertEqual(values[name + separator + 'gradient'], count)

  def _step(self, train_op):
    """Values of `dense` and `table` after one step of `train_op`."""
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(train_op)
      self.assertNotEqual(sess.run(tf.summary.merge_all()), b'')
      return sess.run(tf.trainable_variables())

  def testLearningCreateTrainOpMultipliesThenClips(self):
    with tf.Graph().as_default():
      loss, optimizer, _ = _dense_and_sparse_gradients()
      train_op = slim.learning.create_train_op(
          loss, optimizer, clip_gradient_norm=2.0,
          gradient_multipliers={'dense': 2.0, 'table': 0.5},
          summarize_gradients=True)
      dense, table = self._step(train_op)
    self.assertAllClose(dense, [3.0, 4.0] - 0.1 * _clip(np.array([6., 8.]),
                                                        2.0), rtol=1e-6)
    expected = np.ones((4, 2), np.float32)
    expected[[1, 3]] -= 0.1 * _clip(0.5 * _ROWS, 2.0)
    self.assertAllClose(table, expected, rtol=1e-6)

  def testTrainingCreateTrainOpWithClipGradientNormsFn(self):
    with tf.Graph().as_default():
      loss, optimizer, _ = _dense_and_sparse_gradients()
      train_op = slim.training.create_train_op(
          loss, optimizer, summarize_gradients=True,
          transform_grads_fn=slim.training.clip_gradient_norms_fn(2.0))
      dense, table = self._step(train_op)
    self.assertAllClose(dense, [3.0 - 0.12, 4.0 - 0.16], rtol=1e-6)
    expected = np.ones((4, 2), np.float32)
    expected[[1, 3]] -= 0.1 * _clip(_ROWS, 2.0)
    self.assertAllClose(table, expected, rtol=1e-6)


class OptimizeLossTest(tf.test.TestCase):
  """slim.optimize_loss (patch 3: tf_slim.layers.optimizers' ops)."""

  def testMultipliersThenGlobalNormClipping(self):
    with tf.Graph().as_default():
      loss, _, _ = _dense_and_sparse_gradients()
      dense_var, table_var = tf.trainable_variables()
      global_step = tf.train.get_or_create_global_step()
      train_op = slim.optimize_loss(
          loss, global_step, tf.constant(0.1), 'SGD', clip_gradients=1.0,
          gradient_multipliers={dense_var: 2.0},
          summaries=['loss', 'learning_rate', 'gradients', 'gradient_norm',
                     'global_gradient_norm'])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertAllClose(sess.run(train_op), 40.0)  # The loss before.
        dense, table, step = sess.run([dense_var, table_var, global_step])
        summaries = _summary_values(sess.run(tf.summary.merge_all()))
    norm = np.sqrt(100.0 + 101.0)  # [6, 8] and the rows.
    self.assertAllClose(dense, [3.0 - 0.6 / norm, 4.0 - 0.8 / norm],
                        rtol=1e-6)
    expected = np.ones((4, 2), np.float32)
    expected[[1, 3]] -= 0.1 * _ROWS / norm
    self.assertAllClose(table, expected, rtol=1e-6)
    self.assertEqual(step, 1)
    # Histograms of the gradients, their norms after clipping, global norms.
    self.assertEqual(summaries['OptimizeLoss/gradients/table_0'], 4)
    self.assertAllClose(
        [summaries['OptimizeLoss/gradient_norm/dense_0'],
         summaries['OptimizeLoss/gradient_norm/table_0'],
         summaries['OptimizeLoss/global_norm/gradient_norm'],
         summaries['OptimizeLoss/global_norm/clipped_gradient_norm']],
        [10.0 / norm, np.sqrt(101.0) / norm, norm, 1.0], rtol=1e-5)

  def testAdaptiveClippingBoundsTheStep(self):
    with tf.Graph().as_default():
      loss, _, _ = _dense_and_sparse_gradients()
      before = tf.trainable_variables()
      train_op = slim.optimize_loss(
          loss, tf.train.get_or_create_global_step(), 0.1, 'SGD',
          clip_gradients=slim.adaptive_clipping_fn(static_max_norm=0.5))
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        start = sess.run(before)
        sess.run(train_op)
        end = sess.run(before)
    step = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(start, end)))
    self.assertGreater(step, 0.0)
    self.assertLessEqual(step, 0.1 * 0.5 * (1 + 1e-5))


class RecomputeGradTest(tf.test.TestCase):
  """slim.recompute_grad (patch 3: tf_slim.layers.rev_block_lib's Tensor)."""

  def testGradientsAreThoseOfTheFunction(self):
    x = np.random.RandomState(5).normal(size=(2, 3)).astype(np.float32)
    def layer(inputs):
      return slim.fully_connected(inputs, 4, activation_fn=tf.tanh,
                                  scope='fc')
    with tf.Graph().as_default():
      inputs = tf.constant(x)
      recomputed = slim.recompute_grad(layer)(inputs)
      with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        plain = layer(inputs)
      wrt = [inputs] + tf.trainable_variables()
      self.assertLen(wrt, 3)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        actual, expected = sess.run([
            tf.gradients(tf.reduce_sum(recomputed ** 2), wrt),
            tf.gradients(tf.reduce_sum(plain ** 2), wrt)])
    for a, e in zip(actual, expected):
      self.assertAllClose(a, e, rtol=1e-5, atol=1e-6)


class VariablesTest(tf.test.TestCase):
  """slim.local_variable, slim.global_variable (patch 3: ops.variables)."""

  def testCollectionsAndValues(self):
    with tf.Graph().as_default():
      local = slim.local_variable([1.0, 2.0], name='local')
      global_ = slim.global_variable(3, name='global')
      self.assertEqual(tf.local_variables(), [local])
      self.assertEqual(tf.global_variables(), [global_])
      self.assertEqual(tf.trainable_variables(), [])
      self.assertEqual((local.op.name, global_.op.name), ('local', 'global'))
      with self.session() as sess:
        sess.run([tf.local_variables_initializer(),
                  tf.global_variables_initializer()])
        self.assertAllEqual(sess.run(local), [1.0, 2.0])
        self.assertEqual(sess.run(global_), 3)


_LABELS = np.array([1, 0, 1, 1, 0, 0, 1, 0])
# Each in its own 1/100 bin (for auc_using_histogram), none tied.
_SCORES = np.array([0.905, 0.805, 0.605, 0.405, 0.355, 0.205, 0.105, 0.055],
                   np.float32)
_THRESHOLDS = [0.3, 0.5, 0.7]


def _confusion(thresholds):
  """{'tp', 'fp', 'tn', 'fn'}: counts of `_SCORES > t` for each threshold."""
  above = _SCORES[None, :] > np.array(thresholds)[:, None]
  positive = _LABELS[None, :] == 1
  return {'tp': np.sum(above & positive, 1), 'fp': np.sum(above & ~positive, 1),
          'tn': np.sum(~above & ~positive, 1),
          'fn': np.sum(~above & positive, 1)}


def _even_thresholds(num_thresholds, epsilon=1e-7):
  inner = [(i + 1.0) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
  return [-epsilon] + inner + [1.0 + epsilon]


def _numpy_auc():
  """P(score of a positive > score of a negative), no ties."""
  positive, negative = _SCORES[_LABELS == 1], _SCORES[_LABELS == 0]
  return np.mean(positive[:, None] > negative[None, :])


class MetricsTest(tf.test.TestCase):
  """slim.metrics that patch 3 fixes (metric_ops, histogram_ops)."""

  def _metric(self, metric, *args, **kwargs):
    """The value of a streaming metric after one update on its arguments."""
    value, update_op = metric(*args, **kwargs)
    with self.session() as sess:
      sess.run(tf.local_variables_initializer())
      sess.run(update_op)
      return sess.run(value)

  def testCountsAndRatesAtThresholds(self):
    counts = _confusion(_THRESHOLDS)
    expected = {
        'true_positives': counts['tp'], 'false_positives': counts['fp'],
        'true_negatives': counts['tn'], 'false_negatives': counts['fn'],
        'false_positive_rate': counts['fp'] / (counts['fp'] + counts['tn']),
        'false_negative_rate': counts['fn'] / (counts['fn'] + counts['tp']),
    }
    for name, values in expected.items():
      metric = getattr(slim.metrics, 'streaming_%s_at_thresholds' % name)
      with self.subTest(name):
        with tf.Graph().as_default():
          actual = self._metric(metric, tf.constant(_SCORES),
                                tf.constant(_LABELS), _THRESHOLDS)
          self.assertAllClose(actual, values, rtol=1e-5)

  def testCurvePoints(self):
    counts = _confusion(_even_thresholds(5))
    tp, fp, tn, fn = (counts[k].astype(float) for k in ('tp', 'fp', 'tn', 'fn'))
    recall = (tp + 1e-6) / (tp + fn + 1e-6)
    expected = {'ROC': np.stack([fp / (fp + tn + 1e-6), recall], 1),
                'PR': np.stack([recall, (tp + 1e-6) / (tp + fp + 1e-6)], 1)}
    for curve, points in expected.items():
      with self.subTest(curve):
        with tf.Graph().as_default():
          actual = self._metric(slim.metrics.streaming_curve_points,
                                tf.constant(_LABELS), tf.constant(_SCORES),
                                num_thresholds=5, curve=curve)
        self.assertAllClose(actual, points, rtol=1e-5, atol=1e-6)

  def testPrecisionAtRecallAndRecallAtPrecision(self):
    counts = _confusion(_even_thresholds(11))
    tp, fp, fn = (counts[k].astype(float) for k in ('tp', 'fp', 'fn'))
    recall, precision = tp / (tp + fn), tp / np.maximum(tp + fp, 1e-7)
    # Precision at the largest threshold with recall >= 0.75; recall where
    # precision is nearest 0.7, or (strict) where it is least but >= 0.7.
    at_recall = precision[np.sum(recall >= 0.75) - 1]
    at_precision = recall[np.argmin(np.abs(precision - 0.7))]
    at_precision_strict = recall[np.argmin(
        np.where(precision >= 0.7, precision, np.inf))]
    self.assertNotEqual(at_precision, at_precision_strict)
    with tf.Graph().as_default():
      actual = [
          self._metric(slim.metrics.precision_at_recall, tf.constant(_LABELS),
                       tf.constant(_SCORES), 0.75, num_thresholds=11),
          self._metric(slim.metrics.recall_at_precision, tf.constant(_LABELS),
                       tf.constant(_SCORES), 0.7, num_thresholds=11),
          self._metric(slim.metrics.recall_at_precision, tf.constant(_LABELS),
                       tf.constant(_SCORES), 0.7, num_thresholds=11,
                       strict_mode=True)]
    self.assertAllClose(actual, [at_recall, at_precision, at_precision_strict],
                        rtol=1e-5)

  def testStreamingConcat(self):
    with tf.Graph().as_default():
      values = tf.placeholder(tf.int32, [None])
      concatenated, update_op = slim.metrics.streaming_concat(values)
      with self.session() as sess:
        sess.run(tf.local_variables_initializer())
        for batch in ([1, 2], [3], [4, 5, 6]):
          sess.run(update_op, {values: batch})
        self.assertAllEqual(sess.run(concatenated), [1, 2, 3, 4, 5, 6])

  def testDynamicAucAndConfidenceIntervals(self):
    with tf.Graph().as_default():
      auc = self._metric(slim.metrics.streaming_dynamic_auc,
                         tf.constant(_LABELS), tf.constant(_SCORES))
      intervals = self._metric(slim.metrics.auc_with_confidence_intervals,
                               tf.constant(_LABELS), tf.constant(_SCORES))
    self.assertAllClose(auc, _numpy_auc(), rtol=1e-6)
    self.assertAllClose(intervals.auc, _numpy_auc(), rtol=1e-6)
    self.assertLess(intervals.lower, intervals.auc)
    self.assertLess(intervals.auc, intervals.upper)

  def testAucUsingHistogram(self):
    with tf.Graph().as_default():
      auc = self._metric(slim.metrics.auc_using_histogram,
                         tf.constant(_LABELS == 1), tf.constant(_SCORES),
                         [0.0, 1.0], nbins=100)
    self.assertAllClose(auc, _numpy_auc(), rtol=1e-5)


class MetricLearningTest(tf.test.TestCase):
  """tf_slim.losses.metric_learning (patch 3: its while_loop)."""

  def testGroundTruthClusterScore(self):
    rng = np.random.RandomState(6)
    distances = rng.uniform(0.0, 2.0, (6, 6)).astype(np.float32)
    labels = np.array([2, 0, 2, 1, 0, 2])
    expected = -sum(distances[np.ix_(labels == c, labels == c)].sum(0).min()
                    for c in np.unique(labels))
    with tf.Graph().as_default():
      score = slim_metric_learning.compute_gt_cluster_score(
          tf.constant(distances), tf.constant(labels))
      with self.session() as sess:
        self.assertAllClose(sess.run(score), expected, rtol=1e-5)


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


class DisableV2BehaviorTest(tf.test.TestCase):
  """The patched paths after `tf.disable_v2_behavior()` (ref variables)."""

  def testTensorIsTrainingClippedTrainOpAndThresholdMetric(self):
    script = """if True:
        import json
        import numpy as np
        import tensorflow.compat.v1 as tf
        tf.disable_v2_behavior()
        import tf_slim as slim
        from nets import inception_v3
        x = np.random.RandomState(0).normal(3, 2, (8, 3)).astype(np.float32)
        is_training = tf.placeholder_with_default(False, [])
        normalized = slim.batch_norm(tf.constant(x), is_training=is_training)
        v = tf.Variable([3.0, 4.0])  # Gradient [6, 8].
        train_op = slim.learning.create_train_op(
            tf.reduce_sum(v * v), tf.train.GradientDescentOptimizer(0.1),
            clip_gradient_norm=1.0, summarize_gradients=True)
        tp, update = slim.metrics.streaming_true_positives_at_thresholds(
            tf.constant([0.2, 0.8]), tf.constant([1, 1]), [0.5])
        with tf.Session() as sess:
          sess.run([tf.global_variables_initializer(),
                    tf.local_variables_initializer()])
          training = sess.run(normalized, {is_training: True})
          sess.run([train_op, update])
          print(json.dumps({
              'mean': np.abs(training.mean(0)).max().item(),
              'std': training.std(0).tolist(), 'v': sess.run(v).tolist(),
              'tp': sess.run(tp).tolist(), 'ref': v.dtype._is_ref_dtype}))
        """
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    values = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertTrue(values['ref'])  # TF1 variables, unlike the other tests.
    self.assertLess(values['mean'], 1e-5)
    self.assertAllClose(values['std'], np.ones(3), rtol=1e-3)
    self.assertAllClose(values['v'], [3.0 - 0.06, 4.0 - 0.08], rtol=1e-6)
    self.assertEqual(values['tp'], [1.0])


class NoGlobalSideEffectsTest(tf.test.TestCase):

  def testImportingSlimCompatAloneMakesTfSlimWork(self):
    script = """if True:
        import json, sys
        import numpy as np
        import tensorflow.compat.v1 as tf
        from tensorflow.python.framework import ops
        import nets.slim_compat
        import tf_slim as slim
        assert 'nets.inception_v3' not in sys.modules
        # Patches 6 and 7 wait for the first call of what they patch.
        pending = len(nets.slim_compat_metrics.PENDING)
        assert tf.executing_eagerly() and tf.compat.v2.__internal__.tf2.enabled()
        assert not hasattr(ops, 'Tensor')
        with tf.Graph().as_default():
          is_training = tf.placeholder_with_default(True, [])
          net = slim.conv2d(tf.ones([2, 4, 4, 3]), 5, 3,
                            normalizer_fn=slim.batch_norm,
                            normalizer_params={'is_training': is_training})
          mean, update = slim.metrics.streaming_mean(tf.reduce_mean(net))
          with tf.Session() as sess:
            sess.run([tf.global_variables_initializer(),
                      tf.local_variables_initializer()])
            sess.run([update, tf.get_collection(tf.GraphKeys.UPDATE_OPS)])
            print(json.dumps({'patches': nets.slim_compat.applied_patches(),
                              'mean': float(sess.run(mean)),
                              'pending': pending}))
        """
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    values = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual(values['patches'], slim_compat.applied_patches())
    self.assertEqual(values['pending'], 2)
    self.assertTrue(np.isfinite(values['mean']))

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


# The modules a slim user imports (slim's surface) and every module that
# uses tf-slim itself: each applies the patches when imported.
SLIM_SURFACE = ('dataset_factory', 'dataset_utils', 'inception',
                'inception_preprocessing', 'model_deploy', 'nets_factory',
                'preprocessing', 'preprocessing_factory')

# A user's own dataset module, as the README maps slim's: nets.dataset_utils
# and tf-slim only; it decodes the PNG records through slim's Image handler.
USER_DATASET_SCRIPT = """
import json, sys
import tensorflow.compat.v1 as tf
import tf_slim as slim
from nets import dataset_utils

def decoder():
  keys = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
      'image/class/label': tf.FixedLenFeature([], tf.int64),
  }
  items = {'image': slim.tfexample_decoder.Image(),
           'label': slim.tfexample_decoder.Tensor('image/class/label')}
  return slim.tfexample_decoder.TFExampleDecoder(keys, items)

records = list(tf.io.tf_record_iterator(sys.argv[1]))
with tf.Graph().as_default():
  serialized = tf.placeholder(tf.string, [])
  image, label = decoder().decode(serialized, ['image', 'label'])
  with tf.Session() as sess:
    out = [sess.run([image, label], {serialized: r}) for r in records]
print(json.dumps([[i.tolist(), int(l)] for i, l in out]))
"""


class AppliedOnImportTest(tf.test.TestCase):

  def testEveryModuleUsingTfSlimAppliesThePatches(self):
    """slim's surface calls apply(); other tf-slim users, or an import does."""
    nets_dir = os.path.join(testing.REPO_ROOT, 'nets')
    applies, imports_slim, nets_imports = set(), set(), {}
    for name in sorted(os.listdir(nets_dir)):
      if not name.endswith('.py') or name == 'slim_compat.py':
        continue
      module = name[:-3]
      with open(os.path.join(nets_dir, name)) as f:
        tree = ast.parse(f.read())
      nets_imports[module] = set()
      for node in tree.body:
        if isinstance(node, ast.Expr) and (
            ast.unparse(node) == 'slim_compat.apply()'):
          applies.add(module)
        elif isinstance(node, ast.Import) and any(
            a.name == 'tf_slim' for a in node.names):
          imports_slim.add(module)
        elif isinstance(node, ast.ImportFrom) and node.module == 'nets':
          nets_imports[module].update(a.name for a in node.names)
    for module in SLIM_SURFACE:
      self.assertIn(module, applies)
    for module in imports_slim:
      self.assertTrue(module in applies or nets_imports[module] & applies,
                      '%s uses tf-slim but neither it nor a nets module it '
                      'imports calls slim_compat.apply()' % module)

  def testUserDatasetModuleReadsImagesThroughSlim(self):
    images = np.random.RandomState(0).randint(
        0, 256, [2, 5, 7, 3]).astype(np.uint8)
    path = os.path.join(self.get_temp_dir(), 'user-train.tfrecord')
    testing.write_tfrecord(path, [
        dataset_utils.image_to_tfexample(data, b'png', 5, 7, label)
        for label, data in enumerate(testing.encode_images(images, 'png'))])
    result = testing.run_python(['-c', USER_DATASET_SCRIPT, path])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    decoded = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual([label for _, label in decoded], [0, 1])
    for (image, _), expected in zip(decoded, images):
      self.assertAllEqual(image, expected)


if __name__ == '__main__':
  tf.test.main()
