"""Tests of nets.inference: the optimized graph gives the plain graph's logits.

The reference is always the plain slim graph (`testing.build_classifier`)
restored from a checkpoint written by `testing.write_checkpoint`, or NumPy.
Small inputs (75..107 pixels, batch 1-2) keep it fast; nothing here times.
"""

import collections
import os
import re
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from nets import checkpoints
from nets import classify
from nets import export
from nets import inception_v3
from nets import inference
from nets_test import testing

SIZE = 91
NUM_CLASSES = 1001


def plain_outputs(checkpoint_path, images, num_classes=NUM_CLASSES):
  """[logits, predictions] of the plain graph restored from the checkpoint."""
  return testing.restored_outputs(checkpoint_path, images, num_classes)


def optimized_outputs(weights, images, num_classes=NUM_CLASSES, **kwargs):
  """[logits, predictions] of OptimizedModel, and the ops it ran."""
  with tf.Graph().as_default() as graph:
    placeholder = tf.placeholder(tf.float32, images.shape)
    model = inference.OptimizedModel(placeholder, weights, num_classes,
                                     **kwargs)
    with tf.Session(config=inference.session_config()) as sess:
      model.initialize(sess)
      outputs, ran = traced_run(
          sess, [model.logits, model.end_points['Predictions']],
          {placeholder: images})
  return outputs, graph, ran


def traced_run(sess, fetches, feeds):
  """sess.run's outputs, and {op type: how many ran}."""
  metadata = tf.RunMetadata()
  outputs = sess.run(
      fetches, feeds,
      options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
      run_metadata=metadata)
  ran = collections.Counter(
      node.timeline_label.split(' = ')[-1].split('(')[0]
      for device in metadata.step_stats.dev_stats
      for node in device.node_stats if ' = ' in node.timeline_label)
  return outputs, ran


def random_images(batch=2, size=SIZE, seed=0):
  return np.random.RandomState(seed).uniform(
      -1, 1, (batch, size, size, 3)).astype(np.float32)


class FoldBatchNormTest(tf.test.TestCase):

  def testFolded1x1ConvEqualsConvThenBatchNorm(self):
    # A 1x1 convolution is a matmul: the reference is plain NumPy.
    rng = np.random.RandomState(1)
    x = rng.randn(5, 3).astype(np.float32)
    weights = {
        'net/conv/weights': rng.randn(1, 1, 3, 4).astype(np.float32),
        'net/conv/BatchNorm/beta': rng.randn(4).astype(np.float32),
        'net/conv/BatchNorm/gamma': rng.uniform(0.5, 2, 4).astype(np.float32),
        'net/conv/BatchNorm/moving_mean': rng.randn(4).astype(np.float32),
        'net/conv/BatchNorm/moving_variance':
            rng.uniform(0.1, 2, 4).astype(np.float32),
    }
    epsilon = 0.001
    norm = 'net/conv/BatchNorm/'
    expected = ((x @ weights['net/conv/weights'][0, 0] -
                 weights[norm + 'moving_mean']) /
                np.sqrt(weights[norm + 'moving_variance'] + epsilon) *
                weights[norm + 'gamma'] + weights[norm + 'beta'])
    kernel, bias = inference.fold_batch_norm(weights, 'net/conv', epsilon)
    self.assertEqual(kernel.dtype, np.float32)
    self.assertEqual(kernel.shape, (1, 1, 3, 4))
    self.assertAllClose(x @ kernel[0, 0] + bias, expected, rtol=1e-5,
                        atol=1e-5)

  def testWithoutGammaAndWithTheArgScopesEpsilon(self):
    weights = {'c/weights': np.full((1, 1, 1, 2), 2.0, np.float32),
               'c/BatchNorm/beta': np.array([1.0, -1.0], np.float32),
               'c/BatchNorm/moving_mean': np.array([0.5, 0.0], np.float32),
               'c/BatchNorm/moving_variance': np.array([0.999, 3.999],
                                                       np.float32)}
    self.assertEqual(inference.batch_norm_epsilon(), 0.001)
    kernel, bias = inference.fold_batch_norm(weights, 'c')
    # scale = 1 / sqrt(var + 0.001) = [1, 0.5]
    self.assertAllClose(kernel.ravel(), [2.0, 1.0])
    self.assertAllClose(bias, [1.0 - 0.5, -1.0])


class OptimizedModelTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.checkpoint = os.path.join(tf.test.get_temp_dir(), 'inference_test',
                                  'model.ckpt')
    cls.written = testing.write_checkpoint(
        cls.checkpoint, num_classes=NUM_CLASSES, image_size=299, seed=5)
    cls.images = random_images()
    cls.plain_logits, cls.plain_predictions = plain_outputs(cls.checkpoint,
                                                            cls.images)
    cls.weights, num_classes = inference.read_weights(cls.checkpoint)
    assert num_classes == NUM_CLASSES

  def testConstantWeightsMatchThePlainGraph(self):
    # build_optimized_model: OptimizedModel with constant weights, on inputs
    # of any batch; its outputs named as the plain graph's.
    with tf.Graph().as_default() as graph:
      images = tf.placeholder(tf.float32, [None, SIZE, SIZE, 3])
      logits, end_points = inference.build_optimized_model(
          images, self.weights, NUM_CLASSES)
      self.assertEqual(logits.op.name, inception_v3.LOGITS_OP)
      self.assertEqual(end_points['Predictions'].op.name,
                       inception_v3.PREDICTIONS_OP)
      self.assertEqual(logits.shape.as_list(), [None, NUM_CLASSES])
      with tf.Session(config=inference.session_config()) as sess:
        (logits, predictions), ran = traced_run(
            sess, [logits, end_points['Predictions']], {images: self.images})
    self.assertLess(inference.logits_error(logits, self.plain_logits), 1e-4)
    self.assertAllClose(predictions, self.plain_predictions, atol=1e-6)
    ops = collections.Counter(op.type for op in graph.get_operations())
    self.assertEqual(ops['VarHandleOp'], 0)
    self.assertEqual(ops['FusedBatchNormV3'], 0)
    self.assertEqual(ops['Conv2D'], 95)
    self.assertEqual(ops['BiasAdd'], 95)  # 94 folded + the logits layer.
    # Conv2D + BiasAdd + Relu run as one op under session_config(), except
    # the ReLUs of the 9 pool branches, which come after their pool.
    self.assertFalse([op for op in ran if op in ('BiasAdd', 'Conv2D')], ran)
    self.assertEqual(ran['Relu'], 9)
    pools = [op for op in graph.get_operations() if op.type == 'AvgPool' and
             '/Branch_3/' in op.name]
    self.assertLen(pools, 9)
    for pool in pools:  # Pooled after the 1x1 conv: its channels, not 4-10x.
      self.assertEqual(pool.inputs[0].op.type, 'BiasAdd')
      self.assertIn(pool.outputs[0].shape[-1], (32, 64, 192))
    self.assertEqual(sum(n for op, n in ran.items() if 'Conv2D' in op), 95)

  def testVariableWeightsMatchThePlainGraph(self):
    (logits, _), graph, _ = optimized_outputs(self.weights, self.images,
                                              constant_weights=False)
    self.assertLess(inference.logits_error(logits, self.plain_logits), 1e-4)
    with graph.as_default():
      names = [v.op.name for v in tf.global_variables()]
    self.assertLen(names, 95 * 2)
    self.assertIn('InceptionV3/Conv2d_1a_3x3/weights', names)
    self.assertIn('InceptionV3/Conv2d_1a_3x3/BatchNorm_folded/biases', names)
    self.assertIn('InceptionV3/Logits/Conv2d_1c_1x1/biases', names)

  def testReducedPrecisionsAreWithinTheirTolerance(self):
    for precision in ('fp16', 'bf16'):
      (logits, predictions), _, _ = optimized_outputs(
          self.weights, self.images, precision=precision)
      self.assertEqual(logits.dtype, np.float32)
      self.assertEqual(predictions.dtype, np.float32)
      error = inference.logits_error(logits, self.plain_logits)
      self.assertLess(error, inference.TOLERANCES[precision], precision)
      self.assertGreater(error, 1e-5, precision)  # It really ran in 16 bits.
      self.assertAllClose(predictions.sum(axis=1), [1, 1], atol=1e-5)

  def testWeightsThatDoNotFit(self):
    missing = dict(self.weights)
    del missing['InceptionV3/Mixed_6c/Branch_1/Conv2d_0b_1x7/BatchNorm/beta']
    wrong = dict(self.weights)
    wrong['InceptionV3/Logits/Conv2d_1c_1x1/biases'] = np.zeros(1000,
                                                                np.float32)
    for weights, message in [
        (missing, 'no InceptionV3/Mixed_6c/Branch_1/Conv2d_0b_1x7/BatchNorm/'
                  'beta'),
        (wrong, 'InceptionV3/Logits/Conv2d_1c_1x1/biases has shape [1000]')]:
      with tf.Graph().as_default():
        with self.assertRaisesRegex(ValueError, re.escape(message)):
          inference.OptimizedModel(tf.zeros([1, 75, 75, 3]), weights,
                                   NUM_CLASSES)
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, 'precision must be one of'):
        inference.OptimizedModel(tf.zeros([1, 75, 75, 3]), self.weights,
                                 NUM_CLASSES, precision='int8')

  def testOptimizedGraphDefIsFrozenAndMatches(self):
    # optimized_graph_def is frozen_graph_def(optimize=True), as export's
    # hook is (which builds it here: a build of the model and one to read
    # the weights).
    with mock.patch.object(inference, 'frozen_graph_def') as frozen:
      self.assertIs(inference.optimized_graph_def(self.checkpoint,
                                                  image_size=SIZE),
                    frozen.return_value)
    frozen.assert_called_once_with(self.checkpoint, None, SIZE, None,
                                   optimize=True)
    graph_def = export.frozen_graph_def(self.checkpoint, image_size=SIZE,
                                        optimize=True)
    ops = collections.Counter(node.op for node in graph_def.node)
    self.assertEqual(ops['Placeholder'], 1)
    self.assertEqual(ops['VarHandleOp'] + ops['VariableV2'], 0)
    self.assertEqual(ops['FusedBatchNormV3'], 0)
    with tf.Graph().as_default() as graph:
      tf.import_graph_def(graph_def, name='')
      with tf.Session(graph=graph, config=inference.session_config()) as sess:
        logits, predictions = sess.run(
            [inception_v3.LOGITS_OP + ':0', inception_v3.PREDICTIONS_OP + ':0'],
            {inception_v3.INPUT_NAME + ':0': self.images})
    self.assertLess(inference.logits_error(logits, self.plain_logits), 1e-4)
    self.assertAllClose(predictions, self.plain_predictions, atol=1e-6)

  def testReadWeightsErrorsAreTheCheckpointsModules(self):
    with self.assertRaisesRegex(checkpoints.CheckpointMismatchError,
                                '1001 classes, the model 1000'):
      inference.read_weights(self.checkpoint, num_classes=1000)
    with self.assertRaises(checkpoints.CheckpointNotFoundError):
      inference.read_weights(os.path.join(self.get_temp_dir(), 'none'))
    with self.assertRaises(checkpoints.MovingAveragesNotFoundError):
      inference.read_weights(self.checkpoint, moving_average_decay=0.9999)

  def testNoMovingAveragesIsFoundBeforeTheBuild(self):
    # On slim's road too (where restore_fn would find it after building),
    # with the message restore_fn gives.
    for optimize in False, True:
      with tf.Graph().as_default() as graph:
        images = tf.placeholder(tf.float32, [None, SIZE, SIZE, 3])
        with self.assertRaisesRegex(
            checkpoints.MovingAveragesNotFoundError,
            r'^Checkpoint %s has no moving averages \(no InceptionV3/'
            r'Conv2d_1a_3x3/weights/ExponentialMovingAverage\): restore it '
            r'without moving_average_decay\.$' % re.escape(self.checkpoint)):
          inference.build(images, self.checkpoint, optimize=optimize,
                          moving_average_decay=0.9999)
        self.assertEqual(len(graph.get_operations()), 1, optimize)  # Input.

  def testFreezeNeedsTheModelsOutputs(self):
    with tf.Graph().as_default():
      tf.Variable(1.0, name='InceptionV3/Logits/SpatialSqueeze')
      with self.session() as sess:
        with self.assertRaisesRegex(
            ValueError, r'^session: its graph has no InceptionV3/Predictions/'
            r"Reshape_1 \(freeze takes a session of nets\.inference\.build's "
            r'model\)$'):
          inference.freeze(sess)

  def testTruncatedDataIsOneCheckpointErrorAlsoWhenReadLazily(self):
    prefix = os.path.join(self.get_temp_dir(), 'truncated', 'model.ckpt')
    testing.write_truncated_copy(self.checkpoint, prefix)
    with self.assertRaisesRegex(checkpoints.CheckpointReadError,
                                r'^Cannot read checkpoint %s: InceptionV3/\S+ '
                                r'is truncated or corrupt' % re.escape(prefix)):
      inference.read_weights(prefix)
    rc, out, err = testing.run_tool(
        'nets.classify', '--checkpoint_path=' + prefix, '--optimize',
        '--image_size=%d' % SIZE, os.path.join(self.get_temp_dir(), 'x.png'))
    self.assertEqual((rc, out), (1, ''))
    self.assertLen(err, 1, msg=err)
    self.assertRegex(err[0], r'^nets\.classify: error: Cannot read checkpoint '
                     r'.* is truncated or corrupt')

  def testReadWeightsValuesAndMovingAverages(self):
    name = 'InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/beta'
    # Every variable of the inference model, i.e. all but the aux head's.
    self.assertCountEqual(
        self.weights, [n for n in self.written if '/AuxLogits/' not in n])
    for weight_name, value in self.weights.items():
      self.assertAllEqual(value, self.written[weight_name])
    path = os.path.join(self.get_temp_dir(), 'ema', 'model.ckpt')
    testing.write_checkpoint(path, extra_variables={
        n + '/ExponentialMovingAverage': v + 1.0
        for n, v in self.weights.items()})
    averaged, num_classes = inference.read_weights(
        path, moving_average_decay=0.9999)
    self.assertEqual(num_classes, NUM_CLASSES)
    self.assertCountEqual(averaged, self.weights)
    self.assertAllEqual(averaged[name], self.weights[name] + 1.0)

  def testTheModelsVariablesAreListedOncePerProcessOutsideTheCallersGraph(self):
    # read_weights checks the checkpoint against the network's variables,
    # which are built once per process per class count, in a graph of their
    # own: never in the caller's default graph.
    with tf.Graph().as_default() as graph:
      inference.read_weights(self.checkpoint)
      self.assertEmpty(graph.get_operations())
    listed = inference._model_variables(NUM_CLASSES)  # pylint: disable=protected-access
    self.assertIs(inference._model_variables(NUM_CLASSES), listed)  # pylint: disable=protected-access
    self.assertTrue(listed[0].graph.finalized)
    self.assertCountEqual([v.op.name for v in listed], self.weights)

  def testClassifyHook(self):
    pixels = np.random.RandomState(2).randint(0, 256, (40, 50, 3), np.uint8)
    encoded = tf.image.encode_png(pixels).numpy()
    probabilities = []
    for optimize in (False, True):
      classifier = classify.Classifier(self.checkpoint, image_size=SIZE,
                                       optimize=optimize)
      probabilities.append(classifier.probabilities(encoded))
      classifier.close()
    self.assertEqual(probabilities[1].shape, (NUM_CLASSES,))
    self.assertAllClose(probabilities[1], probabilities[0], atol=1e-6)


class SessionConfigTest(tf.test.TestCase):

  def testCpuKeepsOnlyTheRemapper(self):
    config = inference.session_config()
    self.assertEqual(config.inter_op_parallelism_threads, 0)
    self.assertEqual(config.intra_op_parallelism_threads, 0)
    rewrite = config.graph_options.rewrite_options
    off = rewriter_config_pb2.RewriterConfig.OFF
    self.assertEqual(rewrite.constant_folding, off)
    self.assertEqual(rewrite.arithmetic_optimization, off)
    self.assertNotEqual(rewrite.remapping, off)
    gpu = inference.session_config('GPU', num_intra_threads=4,
                                   num_inter_threads=2)
    self.assertEqual(gpu.graph_options.rewrite_options.layout_optimizer,
                     rewriter_config_pb2.RewriterConfig.DEFAULT)
    self.assertEqual((gpu.intra_op_parallelism_threads,
                      gpu.inter_op_parallelism_threads), (4, 2))

  def testBatch1OnCpuRunsTwoOpsAtOnce(self):
    with mock.patch.object(os, 'sched_getaffinity', return_value={0, 1}):
      config = inference.session_config(batch_size=1)
      self.assertEqual((config.intra_op_parallelism_threads,
                        config.inter_op_parallelism_threads), (1, 2))
    with mock.patch.object(os, 'sched_getaffinity',
                           return_value=set(range(16))):
      self.assertEqual(inference.single_image_threads(), (8, 2))
    with mock.patch.object(os, 'sched_getaffinity', return_value={0}):
      self.assertEqual(inference.single_image_threads(), (0, 0))
    # The caller's thread counts, other batches and GPUs: unchanged.
    for config in (inference.session_config(num_intra_threads=3,
                                            batch_size=1),
                   inference.session_config(batch_size=2),
                   inference.session_config('GPU', batch_size=1)):
      self.assertEqual(config.inter_op_parallelism_threads, 0)

  def testConstantsOnlyForSmallBatches(self):
    self.assertTrue(inference.use_constants(1))
    self.assertTrue(inference.use_constants(None))
    self.assertTrue(inference.use_constants(
        inference.MAX_BATCH_FOR_CONSTANTS))
    self.assertFalse(inference.use_constants(
        inference.MAX_BATCH_FOR_CONSTANTS + 1))

  def testLogitsErrorIsRelativeToTheLargestLogit(self):
    self.assertAllClose(inference.logits_error([[1.0, 21.0]], [[0.0, 20.0]]),
                        0.05)
    self.assertAllClose(inference.logits_error([[0.5]], [[0.25]]), 0.25)


if __name__ == '__main__':
  tf.test.main()
