"""Graph-mode tests of nets.inception_v3: builds, endpoints, shapes, variables.

Covers what TF-slim's own inception_v3_test covers, plus the released
checkpoint's variable list, op names, argument validation, checkpoint round
trips (V1 and V2) and training mode.
"""

import os
import textwrap

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_v3
from nets_test import released_variables
from nets_test import testing


ENDPOINT_SHAPES_299 = {
    'Conv2d_1a_3x3': [149, 149, 32],
    'Conv2d_2a_3x3': [147, 147, 32],
    'Conv2d_2b_3x3': [147, 147, 64],
    'MaxPool_3a_3x3': [73, 73, 64],
    'Conv2d_3b_1x1': [73, 73, 80],
    'Conv2d_4a_3x3': [71, 71, 192],
    'MaxPool_5a_3x3': [35, 35, 192],
    'Mixed_5b': [35, 35, 256],
    'Mixed_5c': [35, 35, 288],
    'Mixed_5d': [35, 35, 288],
    'Mixed_6a': [17, 17, 768],
    'Mixed_6b': [17, 17, 768],
    'Mixed_6c': [17, 17, 768],
    'Mixed_6d': [17, 17, 768],
    'Mixed_6e': [17, 17, 768],
    'Mixed_7a': [8, 8, 1280],
    'Mixed_7b': [8, 8, 2048],
    'Mixed_7c': [8, 8, 2048],
}


def _variable_shapes(variables):
  return {v.op.name: v.shape.as_list() for v in variables}


class InceptionV3BuildTest(tf.test.TestCase):

  def testBuildClassificationNetwork(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((5, 299, 299, 3))
      logits, end_points = inception_v3.inception_v3(inputs, 1000)
      self.assertEqual(logits.op.name, 'InceptionV3/Logits/SpatialSqueeze')
      self.assertListEqual(logits.shape.as_list(), [5, 1000])
      self.assertIn('Predictions', end_points)
      self.assertListEqual(end_points['Predictions'].shape.as_list(), [5, 1000])
      self.assertEqual(end_points['Predictions'].op.name,
                       'InceptionV3/Predictions/Reshape_1')

  def testBuildPreLogitsNetwork(self):
    for num_classes in (0, None):
      with tf.Graph().as_default():
        inputs = tf.random_uniform((5, 299, 299, 3))
        net, end_points = inception_v3.inception_v3(inputs, num_classes)
        self.assertTrue(net.op.name.startswith('InceptionV3/Logits/AvgPool'))
        self.assertListEqual(net.shape.as_list(), [5, 1, 1, 2048])
        self.assertNotIn('Logits', end_points)
        self.assertNotIn('Predictions', end_points)
        self.assertNotIn('AuxLogits', end_points)
        self.assertIs(end_points['AvgPool_1a'], net)

  def testBuildBaseNetwork(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((5, 299, 299, 3))
      final, end_points = inception_v3.inception_v3_base(inputs)
      self.assertTrue(final.op.name.startswith('InceptionV3/Mixed_7c'))
      self.assertListEqual(final.shape.as_list(), [5, 8, 8, 2048])
      self.assertCountEqual(end_points.keys(), inception_v3.ENDPOINTS)
      self.assertEqual(len(inception_v3.ENDPOINTS), 18)

  def testBuildOnlyUptoFinalEndpoint(self):
    for index, endpoint in enumerate(inception_v3.ENDPOINTS):
      with tf.Graph().as_default():
        inputs = tf.random_uniform((2, 299, 299, 3))
        out, end_points = inception_v3.inception_v3_base(
            inputs, final_endpoint=endpoint)
        self.assertTrue(out.op.name.startswith('InceptionV3/' + endpoint),
                        out.op.name)
        self.assertCountEqual(end_points.keys(),
                              inception_v3.ENDPOINTS[:index + 1])
        self.assertListEqual(out.shape.as_list(),
                             [2] + ENDPOINT_SHAPES_299[endpoint])

  def testBuildAndCheckAllEndPointsUptoMixed7c(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((5, 299, 299, 3))
      _, end_points = inception_v3.inception_v3_base(
          inputs, final_endpoint='Mixed_7c')
      self.assertCountEqual(end_points.keys(), ENDPOINT_SHAPES_299.keys())
      for name, shape in ENDPOINT_SHAPES_299.items():
        self.assertListEqual(end_points[name].shape.as_list(), [5] + shape,
                             name)

  def testModelHasExpectedNumberOfParameters(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((5, 299, 299, 3))
      with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        inception_v3.inception_v3_base(inputs)
      total_params, _ = slim.model_analyzer.analyze_vars(
          slim.get_model_variables())
      self.assertEqual(total_params, 21802784)
    # The hand-written table agrees: weights plus beta, mean and variance.
    expected = sum(kh * kw * cin * cout + 3 * cout for _, kh, kw, cin, cout
                   in released_variables.base_convs())
    self.assertEqual(expected, 21802784)

  def testBuildEndPoints(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((5, 299, 299, 3))
      _, end_points = inception_v3.inception_v3(inputs, 1000)
      self.assertListEqual(end_points['Logits'].shape.as_list(), [5, 1000])
      self.assertListEqual(end_points['AuxLogits'].shape.as_list(), [5, 1000])
      self.assertListEqual(end_points['Mixed_7c'].shape.as_list(),
                           [5, 8, 8, 2048])
      self.assertListEqual(end_points['PreLogits'].shape.as_list(),
                           [5, 1, 1, 2048])
      self.assertListEqual(end_points['AvgPool_1a'].shape.as_list(),
                           [5, 1, 1, 2048])
      self.assertNotIn('global_pool', end_points)

  def _check_depth_multiplier(self, multiplier):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((2, 299, 299, 3))
      _, end_points = inception_v3.inception_v3(inputs, 1000)
      original = {k: v.shape.as_list()[3] for k, v in end_points.items()
                  if k.startswith(('Mixed', 'Conv'))}
    with tf.Graph().as_default():
      inputs = tf.random_uniform((2, 299, 299, 3))
      _, end_points = inception_v3.inception_v3(
          inputs, 1000, depth_multiplier=multiplier)
      for key, depth in original.items():
        self.assertEqual(end_points[key].shape.as_list()[3],
                         int(depth * multiplier), key)

  def testBuildEndPointsWithDepthMultiplierLessThanOne(self):
    self._check_depth_multiplier(0.5)

  def testBuildEndPointsWithDepthMultiplierGreaterThanOne(self):
    self._check_depth_multiplier(2.0)

  def testRaiseValueErrorWithInvalidDepthMultiplier(self):
    for multiplier in (-0.1, 0.0):
      with tf.Graph().as_default():
        inputs = tf.random_uniform((1, 299, 299, 3))
        with self.assertRaisesRegex(ValueError, 'depth_multiplier'):
          inception_v3.inception_v3(inputs, depth_multiplier=multiplier)
        with self.assertRaisesRegex(ValueError, 'depth_multiplier'):
          inception_v3.inception_v3_base(inputs, depth_multiplier=multiplier)
        self.assertEqual(tf.global_variables(), [])

  def testRaiseValueErrorWithUnknownFinalEndpoint(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((1, 299, 299, 3))
      with self.assertRaisesRegex(ValueError, "final_endpoint 'Mixed_8a'.*Mixed_7c"):
        inception_v3.inception_v3_base(inputs, final_endpoint='Mixed_8a')
      self.assertEqual(tf.global_variables(), [])

  def testDefaultImageSize(self):
    self.assertEqual(inception_v3.inception_v3.default_image_size, 299)

  def testLogitsNotSqueezed(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((1, 299, 299, 3))
      logits, _ = inception_v3.inception_v3(inputs, num_classes=1,
                                            spatial_squeeze=False)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertListEqual(list(sess.run(logits).shape), [1, 1, 1, 1])


class InceptionV3ShapesTest(tf.test.TestCase):
  """Non-default input sizes, unknown dimensions, and running the graph."""

  def testHalfSizeImages(self):
    with tf.Graph().as_default():
      inputs = tf.random_uniform((2, 150, 150, 3))
      logits, end_points = inception_v3.inception_v3(inputs, 1000)
      self.assertListEqual(logits.shape.as_list(), [2, 1000])
      self.assertListEqual(end_points['Mixed_7c'].shape.as_list(),
                           [2, 3, 3, 2048])
      # The final pool and the aux conv shrink to the smaller maps.
      self.assertEqual(end_points['AvgPool_1a'].op.name,
                       'InceptionV3/Logits/AvgPool_1a_3x3/AvgPool')
      names = [v.op.name for v in tf.global_variables()]
      self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_1x1/weights', names)
      self.assertNotIn('InceptionV3/AuxLogits/Conv2d_2a_5x5/weights', names)

  def testAuxHeadNamedAsUpstreamAtEachSize(self):
    # Mixed_6e is 17x17 at 299, 12x12 at 224, 7x7 at 150, 5x5 at 107; the
    # aux head's 5x5/3 VALID pool makes that 5x5, 3x3, 3x3, 1x1, 1x1.
    for size, aux_kernel in ((299, '5x5'), (235, '3x3'), (224, '3x3'),
                             (150, '1x1'), (107, '1x1')):
      with tf.Graph().as_default():
        inputs = tf.placeholder(tf.float32, (1, size, size, 3))
        testing.build_classifier(inputs)
        names = [v.op.name for v in tf.global_variables()]
        self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_%s/weights' % aux_kernel,
                      names, size)

  def testUnknownImageShape(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, shape=(2, None, None, 3))
      logits, end_points = inception_v3.inception_v3(inputs, 1000)
      self.assertListEqual(logits.shape.as_list(), [2, 1000])
      pre_pool = end_points['Mixed_7c']
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        images = np.random.uniform(size=(2, 299, 299, 3))
        self.assertEqual(sess.run(pre_pool, {inputs: images}).shape,
                         (2, 8, 8, 2048))

  def testGlobalPoolUnknownImageShape(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, shape=(1, None, None, 3))
      logits, end_points = inception_v3.inception_v3(
          inputs, 1000, is_training=False, global_pool=True)
      self.assertListEqual(logits.shape.as_list(), [1, 1000])
      self.assertIn('global_pool', end_points)
      self.assertNotIn('AvgPool_1a', end_points)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        images = np.random.uniform(size=(1, 330, 400, 3))
        pre_pool, logits_value = sess.run([end_points['Mixed_7c'], logits],
                                          {inputs: images})
        self.assertEqual(pre_pool.shape, (1, 8, 11, 2048))
        self.assertEqual(logits_value.shape, (1, 1000))

  def testUnknownBatchSize(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (None, 299, 299, 3))
      logits, _ = inception_v3.inception_v3(inputs, 1000)
      self.assertListEqual(logits.shape.as_list(), [None, 1000])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        output = sess.run(logits, {inputs: np.random.uniform(size=(2, 299, 299, 3))})
        self.assertEqual(output.shape, (2, 1000))

  def testEvaluation(self):
    with tf.Graph().as_default():
      eval_inputs = tf.random_uniform((2, 299, 299, 3))
      logits, end_points = inception_v3.inception_v3(
          eval_inputs, 1000, is_training=False)
      predictions = tf.argmax(logits, 1)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        output, probabilities = sess.run([predictions, end_points['Predictions']])
        self.assertEqual(output.shape, (2,))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

  def testTrainEvalWithReuse(self):
    with tf.Graph().as_default():
      train_inputs = tf.random_uniform((3, 150, 150, 3))
      inception_v3.inception_v3(train_inputs, 1000)
      num_variables = len(tf.global_variables())
      eval_inputs = tf.random_uniform((2, 150, 150, 3))
      logits, _ = inception_v3.inception_v3(eval_inputs, 1000,
                                            is_training=False, reuse=True)
      self.assertEqual(len(tf.global_variables()), num_variables)
      predictions = tf.argmax(logits, 1)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertEqual(sess.run(predictions).shape, (2,))


class SameGraphAsTfSlimTest(tf.test.TestCase):
  """The port builds tf-slim's own inception_v3 graph, node for node."""

  def _graph_def(self, module, is_training):
    with tf.Graph().as_default() as graph:
      images = tf.placeholder(tf.float32, [2, 299, 299, 3])
      with slim.arg_scope(module.inception_v3_arg_scope()):
        module.inception_v3(images, num_classes=1001, is_training=is_training)
    return graph.as_graph_def()

  def testEveryNodeButTheSeedsInitializerScale(self):
    from tf_slim.nets import inception_v3 as tf_slim_inception_v3  # pylint: disable=g-import-not-at-top
    for is_training in (False, True):
      ours = self._graph_def(inception_v3, is_training).node
      theirs = self._graph_def(tf_slim_inception_v3, is_training).node
      self.assertEqual([n.name for n in ours], [n.name for n in theirs])
      differ = [a.name for a, b in zip(ours, theirs) if a != b]
      # The seed initializes conv weights with truncated_normal(0.1); tf-slim
      # with variance scaling. Every other node, attributes included, is
      # the same.
      self.assertLen(differ, 96)
      for name in differ:
        self.assertEndsWith(name, '/weights/Initializer/truncated_normal/'
                                  'stddev')


class PoolBranchTest(tf.test.TestCase):
  """pool_branch(pool_last=True): the same outputs from the same variables."""

  def testPoolLastEqualsPoolFirstAtInference(self):
    with tf.Graph().as_default():
      images = tf.random_uniform((2, 107, 107, 3), -1.0, 1.0, seed=1)
      with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        logits, _ = inception_v3.inception_v3(images, 10, is_training=False)
        num_variables = len(tf.global_variables())
        with slim.arg_scope([inception_v3.pool_branch], pool_last=True):
          swapped, _ = inception_v3.inception_v3(images, 10,
                                                 is_training=False,
                                                 reuse=True)
      self.assertLen(tf.global_variables(), num_variables)
      pools = [op for op in tf.get_default_graph().get_operations()
               if op.type == 'AvgPool' and '/Branch_3/' in op.name]
      self.assertLen(pools, 18)  # 9 of each order.
      self.assertEqual(sum(p.inputs[0].op.type == 'FusedBatchNormV3'
                           for p in pools), 9)
      # Non-trivial BatchNorm statistics, so that both orders are tested
      # with the normalizer's offset and scale between conv and pool.
      rng = np.random.RandomState(0)
      assigns = []
      for var in tf.global_variables():
        shape = var.shape.as_list()
        if 'moving_variance' in var.op.name:
          value = rng.uniform(0.5, 2.0, shape)
        elif 'moving_mean' in var.op.name or 'beta' in var.op.name:
          value = rng.normal(0.0, 0.5, shape)
        else:
          continue
        assigns.append(var.assign(value.astype(np.float32)))
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(assigns)
        expected, actual = sess.run([logits, swapped])
    self.assertGreater(np.abs(expected).max(), 1e-2)
    self.assertAllClose(actual, expected, rtol=0,
                        atol=1e-5 * np.abs(expected).max())


class InceptionV3VariablesTest(tf.test.TestCase):
  """The released checkpoint's variables, and saving/restoring them."""

  def testVariablesMatchReleasedCheckpoint(self):
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [None, 299, 299, 3])
      testing.build_classifier(images, num_classes=1001)
      actual = _variable_shapes(tf.global_variables())
      self.assertEqual(len(actual), 388)
      expected = released_variables.released_variables(1001)
      self.assertEqual(sorted(actual.items()), sorted(expected.items()))
      # Quirky upstream names are the real names.
      for name in ('InceptionV3/Mixed_5c/Branch_1/Conv2d_0b_1x1/weights',
                   'InceptionV3/Mixed_5c/Branch_1/Conv_1_0c_5x5/weights',
                   'InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights',
                   'InceptionV3/Mixed_6a/Branch_1/Conv2d_1a_1x1/weights',
                   'InceptionV3/Mixed_7b/Branch_1/Conv2d_0b_3x1/weights'):
        self.assertIn(name, actual)
      self.assertListEqual(
          actual['InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights'],
          [3, 3, 288, 384])
      # Moving statistics also sit in the seed's extra collection.
      self.assertLen(tf.get_collection('moving_vars'), 2 * 96)
      self.assertLen(tf.trainable_variables(), 96 * 1 + 96 + 4)

  def testNoBatchNormScaleByDefault(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (1, 299, 299, 3))
      with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        inception_v3.inception_v3(inputs, num_classes=0)
      self.assertEqual(tf.global_variables('.*/BatchNorm/gamma:0$'), [])

  def testBatchNormScale(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (1, 299, 299, 3))
      with slim.arg_scope(
          inception_v3.inception_v3_arg_scope(batch_norm_scale=True)):
        inception_v3.inception_v3(inputs, num_classes=1001)
      actual = _variable_shapes(tf.global_variables())
      expected = released_variables.released_variables(1001, with_gamma=True)
      self.assertEqual(sorted(actual.items()), sorted(expected.items()))
      self.assertLen(tf.global_variables('.*/BatchNorm/gamma:0$'), 96)

  def testWithoutBatchNormConvsHaveBiases(self):
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (1, 299, 299, 3))
      with slim.arg_scope(
          inception_v3.inception_v3_arg_scope(use_batch_norm=False)):
        inception_v3.inception_v3(inputs, num_classes=1001)
      names = [v.op.name for v in tf.global_variables()]
      self.assertEqual([n for n in names if 'BatchNorm' in n], [])
      self.assertIn('InceptionV3/Conv2d_1a_3x3/biases', names)
      self.assertLen(names, 2 * 98)

  def _check_round_trip(self, version):
    path = os.path.join(self.get_temp_dir(), version, 'model.ckpt')
    written = testing.write_checkpoint(path, num_classes=1001, version=version,
                                       seed=3)
    images_value = np.random.RandomState(0).uniform(
        -1, 1, (1, 299, 299, 3)).astype(np.float32)
    logits_values = []
    for _ in range(2):  # two fresh graphs restore the same numbers
      with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, 299, 299, 3])
        logits, _ = testing.build_classifier(images, num_classes=1001)
        saver = tf.train.Saver()
        with self.session() as sess:
          saver.restore(sess, path)
          restored = sess.run({v.op.name: v for v in tf.global_variables()})
          self.assertCountEqual(restored.keys(), written.keys())
          for name, value in restored.items():
            np.testing.assert_array_equal(value, written[name], name)
          logits_values.append(sess.run(logits, {images: images_value}))
    scale = np.abs(logits_values[0]).max()
    self.assertGreater(scale, 1e-3)
    # The restored variables are equal bit for bit (above); the logits of two
    # graphs are not: oneDNN may sum in another order (5e-5 of ~25 was seen
    # on an AMD EPYC). 1e-5 of their scale still catches any wrong weight.
    self.assertAllClose(logits_values[0], logits_values[1], rtol=0,
                        atol=1e-5 * scale)

  def testCheckpointRoundTripV1(self):
    self._check_round_trip('V1')
    self.assertTrue(os.path.isfile(
        os.path.join(self.get_temp_dir(), 'V1', 'model.ckpt')))

  def testCheckpointRoundTripV2(self):
    self._check_round_trip('V2')
    self.assertTrue(os.path.isfile(
        os.path.join(self.get_temp_dir(), 'V2', 'model.ckpt.index')))


class InceptionV3TrainingTest(tf.test.TestCase):

  def testTrainingGraph(self):
    with tf.Graph().as_default():
      tf.set_random_seed(0)
      images = tf.random_uniform((2, 107, 107, 3), -1, 1)
      labels = tf.one_hot([1, 7], 10)
      logits, end_points = testing.build_classifier(
          images, num_classes=10, is_training=True)
      update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      self.assertLen(update_ops, 2 * 96)
      regularization = tf.losses.get_regularization_losses()
      self.assertLen(regularization, 98)  # every conv's weights
      tf.losses.softmax_cross_entropy(labels, logits)
      tf.losses.softmax_cross_entropy(labels, end_points['AuxLogits'],
                                      weights=0.4)
      loss = tf.losses.get_total_loss()
      variables = tf.trainable_variables()
      gradients = tf.gradients(loss, variables)
      self.assertEqual([v.op.name for v, g in zip(variables, gradients)
                        if g is None], [])
      train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
      with tf.control_dependencies(update_ops):
        train_op = tf.group(train_op)
      moving_mean = tf.global_variables(
          'InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean')[0]
      weights = tf.global_variables('InceptionV3/Conv2d_1a_3x3/weights')[0]
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run([moving_mean, weights])
        grad_norm = sess.run(tf.global_norm(gradients))
        sess.run(train_op)
        after = sess.run([moving_mean, weights])
      self.assertGreater(grad_norm, 0.0)
      self.assertFalse(np.allclose(before[0], after[0]))  # BN statistics moved
      self.assertFalse(np.allclose(before[1], after[1]))  # weights learned


class GraphModeEntryPointsTest(tf.test.TestCase):
  """The README's usage works in a plain TF2 process and after disable_v2_behavior."""

  def _run(self, preamble):
    script = preamble + textwrap.dedent("""
        import numpy as np
        import tf_slim as slim
        from nets import inception_v3
        assert tf.executing_eagerly() == EAGER, 'nets changed the global mode'
        with tf.Graph().as_default():
          images = tf.placeholder(tf.float32, [None, 107, 107, 3])
          with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
            logits, _ = inception_v3.inception_v3(images, num_classes=1001,
                                                  is_training=False)
          saver = tf.train.Saver()
          with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            print('LOGITS', sess.run(logits, {images: np.zeros((2, 107, 107, 3))}).shape)
        """)
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn('LOGITS (2, 1001)', result.stdout)

  def testDefaultTF2Process(self):
    self._run('import tensorflow.compat.v1 as tf\nEAGER = True\n')

  def testAfterDisableV2Behavior(self):
    self._run('import tensorflow.compat.v1 as tf\n'
              'tf.disable_v2_behavior()\nEAGER = False\n')


if __name__ == '__main__':
  tf.test.main()
