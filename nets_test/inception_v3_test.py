"""Graph-mode tests of nets.inception_v3: builds, endpoints, shapes, variables.

Covers what TF-slim's own inception_v3_test covers, plus the released
checkpoint's variable list, op names, argument validation (every ValueError
message), the size facts, the arg scope's keywords of every slim version,
checkpoint round trips (V1 and V2) and training mode.
"""

import inspect
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


def _classifier_299():
  """(graph, (logits, end_points)) of upstream's default network, shared.

  inception_v3(5 random 299x299 images, 1000 classes), no arg scope; built
  once per test process for the tests that only read it.
  """
  return testing.shared_graph(
      ('inception_v3', 1000, 'random', (5, 299, 299, 3)),
      lambda: inception_v3.inception_v3(tf.random_uniform((5, 299, 299, 3)),
                                        1000))


def _base_299():
  """(graph, (net, end_points)) of inception_v3_base on 5 random 299x299
  images, under inception_v3_arg_scope() (for slim's parameter count), with
  the default final endpoint; shared."""
  def build():
    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
      return inception_v3.inception_v3_base(
          tf.random_uniform((5, 299, 299, 3)))
  return testing.shared_graph(
      ('inception_v3_base', 'arg_scope', 'random', (5, 299, 299, 3)), build)


def _released_299():
  """(graph, (logits, end_points, saver)) of the released classifier
  (testing.build_classifier, 1001 classes, inputs [None, 299, 299, 3]) with
  a Saver of every variable; shared."""
  def build():
    images = tf.placeholder(tf.float32, [None, 299, 299, 3], name='images')
    logits, end_points = testing.build_classifier(images, num_classes=1001)
    return logits, end_points, tf.train.Saver()
  return testing.shared_graph(
      ('build_classifier', 1001, 'placeholder', (None, 299, 299, 3), 'saver'),
      build)


def _half_size_with_eval_reuse():
  """(graph, dict) of inception_v3(2 random 150x150 images, 1000 classes),
  no arg scope, then in the same graph upstream's testTrainEvalWithReuse's
  second build: 3 other random images, is_training=False, reuse=True;
  shared.

  The dict: logits and end_points of the first build; num_variables after
  it and after the reuse; predictions (argmax of the reused network's
  logits) and init (the variables' initializer).
  """
  def build():
    logits, end_points = inception_v3.inception_v3(
        tf.random_uniform((2, 150, 150, 3)), 1000)
    num_variables = len(tf.global_variables())
    eval_logits, _ = inception_v3.inception_v3(
        tf.random_uniform((3, 150, 150, 3)), 1000, is_training=False,
        reuse=True)
    return dict(logits=logits, end_points=end_points,
                num_variables=num_variables,
                num_variables_after_reuse=len(tf.global_variables()),
                predictions=tf.argmax(eval_logits, 1),
                init=tf.global_variables_initializer())
  return testing.shared_graph(
      ('inception_v3', 1000, 'random', (2, 150, 150, 3),
       'reuse: is_training=False', (3, 150, 150, 3)), build)


def _half_size():
  """(graph, (logits, end_points)) of inception_v3(2 random 150x150 images,
  1000 classes), no arg scope: the first build of
  _half_size_with_eval_reuse (the second adds no variables)."""
  graph, built = _half_size_with_eval_reuse()
  return graph, (built['logits'], built['end_points'])


def _pre_logits_75():
  """(graph, (net, end_points)) of inception_v3 on a [1, 75, 75, 3]
  placeholder with num_classes=0, every other argument the default;
  shared."""
  return testing.shared_graph(
      ('inception_v3', 0, 'placeholder', (1, 75, 75, 3)),
      lambda: inception_v3.inception_v3(
          tf.placeholder(tf.float32, (1, 75, 75, 3)), 0))


def _smallest_with_aux_head():
  """(graph, (logits, end_points)) of inception_v3 on a [1, 107, 107, 3]
  placeholder, every other argument the default; shared."""
  return testing.shared_graph(
      ('inception_v3', 1000, 'placeholder', (1, 107, 107, 3)),
      lambda: inception_v3.inception_v3(
          tf.placeholder(tf.float32, (1, 107, 107, 3))))


def _variable_names(graph):
  with graph.as_default():
    return [v.op.name for v in tf.global_variables()]


class InceptionV3BuildTest(tf.test.TestCase):
  """Upstream's build cases. Those that only read the default network share
  one build of it (_classifier_299, _base_299)."""

  def testBuildClassificationNetwork(self):
    _, (logits, end_points) = _classifier_299()
    self.assertEqual(logits.op.name, 'InceptionV3/Logits/SpatialSqueeze')
    self.assertListEqual(logits.shape.as_list(), [5, 1000])
    self.assertIn('Predictions', end_points)
    self.assertListEqual(end_points['Predictions'].shape.as_list(), [5, 1000])
    self.assertEqual(end_points['Predictions'].op.name,
                     'InceptionV3/Predictions/Reshape_1')

  def testBuildPreLogitsNetwork(self):
    # At 75x75 (the smallest input; the pooled features are 1x1 at any size
    # up to 362): num_classes=0 reads the build testAuxLogitsNeedInputsOf107
    # shares.
    for num_classes in (0, None):
      if num_classes == 0:
        _, (net, end_points) = _pre_logits_75()
      else:
        with tf.Graph().as_default():
          inputs = tf.placeholder(tf.float32, (1, 75, 75, 3))
          net, end_points = inception_v3.inception_v3(inputs, num_classes)
      self.assertTrue(net.op.name.startswith('InceptionV3/Logits/AvgPool'),
                      (num_classes, net.op.name))
      self.assertListEqual(net.shape.as_list(), [1, 1, 1, 2048], num_classes)
      self.assertNotIn('Logits', end_points, num_classes)
      self.assertNotIn('Predictions', end_points, num_classes)
      self.assertNotIn('AuxLogits', end_points, num_classes)
      self.assertIs(end_points['AvgPool_1a'], net, num_classes)

  def testBuildBaseNetwork(self):
    # Upstream's testBuildBaseNetwork (the default final endpoint) and
    # testBuildAndCheckAllEndPointsUptoMixed7c (final_endpoint='Mixed_7c',
    # the same call) on one build.
    self.assertEqual(inspect.signature(inception_v3.inception_v3_base)
                     .parameters['final_endpoint'].default, 'Mixed_7c')
    _, (final, end_points) = _base_299()
    self.assertTrue(final.op.name.startswith('InceptionV3/Mixed_7c'))
    self.assertListEqual(final.shape.as_list(), [5, 8, 8, 2048])
    self.assertCountEqual(end_points.keys(), inception_v3.ENDPOINTS)
    self.assertEqual(len(inception_v3.ENDPOINTS), 18)
    self.assertCountEqual(end_points.keys(), ENDPOINT_SHAPES_299.keys())
    for name, shape in ENDPOINT_SHAPES_299.items():
      self.assertListEqual(end_points[name].shape.as_list(), [5] + shape,
                           name)

  def testBuildOnlyUptoFinalEndpoint(self):
    for index, endpoint in enumerate(inception_v3.ENDPOINTS):
      if endpoint == 'Mixed_7c':  # The default: the shared build.
        _, (out, end_points) = _base_299()
        batch = 5
      else:
        with tf.Graph().as_default():
          inputs = tf.random_uniform((2, 299, 299, 3))
          out, end_points = inception_v3.inception_v3_base(
              inputs, final_endpoint=endpoint)
        batch = 2
      self.assertTrue(out.op.name.startswith('InceptionV3/' + endpoint),
                      out.op.name)
      self.assertCountEqual(end_points.keys(),
                            inception_v3.ENDPOINTS[:index + 1])
      self.assertListEqual(out.shape.as_list(),
                           [batch] + ENDPOINT_SHAPES_299[endpoint])

  def testModelHasExpectedNumberOfParameters(self):
    graph, _ = _base_299()
    with graph.as_default():
      total_params, _ = slim.model_analyzer.analyze_vars(
          slim.get_model_variables(), print_info=False)
    self.assertEqual(total_params, 21802784)
    # The hand-written table agrees: weights plus beta, mean and variance.
    expected = sum(kh * kw * cin * cout + 3 * cout for _, kh, kw, cin, cout
                   in released_variables.base_convs())
    self.assertEqual(expected, 21802784)

  def testBuildEndPoints(self):
    _, (_, end_points) = _classifier_299()
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
    _, (_, end_points) = _classifier_299()
    original = {k: v.shape.as_list()[3] for k, v in end_points.items()
                if k.startswith(('Mixed', 'Conv'))}
    self.assertLen(original, 16)
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
    # Run at 107x107, the smallest input with the (default) aux head: the
    # logits are 1x1 before the squeeze at any size up to 362.
    with tf.Graph().as_default():
      inputs = tf.random_uniform((1, 107, 107, 3))
      logits, _ = inception_v3.inception_v3(inputs, num_classes=1,
                                            spatial_squeeze=False)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertListEqual(list(sess.run(logits).shape), [1, 1, 1, 1])


class InceptionV3ShapesTest(tf.test.TestCase):
  """Non-default input sizes, unknown dimensions, and running the graph."""

  def testHalfSizeImages(self):
    graph, (logits, end_points) = _half_size()
    self.assertListEqual(logits.shape.as_list(), [2, 1000])
    self.assertListEqual(end_points['Mixed_7c'].shape.as_list(),
                         [2, 3, 3, 2048])
    # The final pool and the aux conv shrink to the smaller maps.
    self.assertEqual(end_points['AvgPool_1a'].op.name,
                     'InceptionV3/Logits/AvgPool_1a_3x3/AvgPool')
    names = _variable_names(graph)
    self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_1x1/weights', names)
    self.assertNotIn('InceptionV3/AuxLogits/Conv2d_2a_5x5/weights', names)

  def testAuxHeadNamedAsUpstreamAtEachSize(self):
    # Mixed_6e is 17x17 at 299, 12x12 at 224, 7x7 at 150, 5x5 at 107; the
    # aux head's 5x5/3 VALID pool makes that 5x5, 3x3, 3x3, 1x1, 1x1.
    # 299, 150 and 107 read the shared builds (the kernel's name does not
    # depend on the arg scope or the number of classes).
    shared = {299: _released_299, 150: _half_size,
              107: _smallest_with_aux_head}
    for size, aux_kernel in ((299, '5x5'), (235, '3x3'), (224, '3x3'),
                             (150, '1x1'), (107, '1x1')):
      if size in shared:
        graph, _ = shared[size]()
      else:
        with tf.Graph().as_default() as graph:
          inputs = tf.placeholder(tf.float32, (1, size, size, 3))
          testing.build_classifier(inputs)
      aux = [n for n in _variable_names(graph) if '/AuxLogits/Conv2d_2a_' in n]
      self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_%s/weights' % aux_kernel,
                    aux, size)

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
    # 107x107, the smallest input with the (default) aux head.
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (None, 107, 107, 3))
      logits, _ = inception_v3.inception_v3(inputs, 1000)
      self.assertListEqual(logits.shape.as_list(), [None, 1000])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        output = sess.run(logits, {inputs: np.random.uniform(size=(2, 107, 107, 3))})
        self.assertEqual(output.shape, (2, 1000))

  def testEvaluation(self):
    # Run at 107x107, the smallest input with the (default) aux head.
    with tf.Graph().as_default():
      eval_inputs = tf.random_uniform((2, 107, 107, 3))
      logits, end_points = inception_v3.inception_v3(
          eval_inputs, 1000, is_training=False)
      predictions = tf.argmax(logits, 1)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        output, probabilities = sess.run([predictions, end_points['Predictions']])
        self.assertEqual(output.shape, (2,))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

  def testTrainEvalWithReuse(self):
    # The training build is testHalfSizeImages's (2 images); the eval one,
    # reusing its variables, takes 3.
    graph, built = _half_size_with_eval_reuse()
    self.assertEqual(built['num_variables_after_reuse'],
                     built['num_variables'])
    names = _variable_names(graph)
    self.assertLen(names, built['num_variables'])
    self.assertEqual([n for n in names if not n.startswith('InceptionV3/')],
                     [])
    with tf.Session(graph=graph) as sess:
      sess.run(built['init'])
      self.assertEqual(sess.run(built['predictions']).shape, (3,))


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
      # The original script initializes conv weights with
      # truncated_normal(0.1), tf-slim with variance scaling. Every other
      # node, attributes included, is the same.
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
    graph, _ = _released_299()
    with graph.as_default():
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
      # Moving statistics also sit in the original script's extra collection.
      self.assertLen(tf.get_collection('moving_vars'), 2 * 96)
      self.assertLen(tf.trainable_variables(), 96 * 1 + 96 + 4)

  def testNoBatchNormScaleByDefault(self):
    graph, _ = _released_299()  # Under inception_v3_arg_scope()'s defaults.
    with graph.as_default():
      self.assertLen(tf.global_variables('.*/BatchNorm/beta:0$'), 96)
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

  def testCheckpointRoundTripV1AndV2(self):
    # Two graphs (the shared one and a fresh one) each restore both
    # checkpoints.
    shared, (shared_logits, _, shared_saver) = _released_299()
    with shared.as_default():
      variables = tf.global_variables()
    paths, written = {}, {}
    for version, seed in (('V1', 3), ('V2', 4)):
      paths[version] = os.path.join(self.get_temp_dir(), version, 'model.ckpt')
      # testing.write_checkpoint's values, from the shared graph's variables.
      written[version] = testing.random_values(variables, seed)
      testing.save_tensors(paths[version], written[version], version)
    self.assertTrue(os.path.isfile(paths['V1']))
    self.assertTrue(os.path.isfile(paths['V2'] + '.index'))
    self.assertFalse(os.path.exists(paths['V2']))
    with tf.Graph().as_default() as fresh:
      images = tf.placeholder(tf.float32, [None, 299, 299, 3], name='images')
      fresh_logits, _ = testing.build_classifier(images, num_classes=1001)
      fresh_saver = tf.train.Saver()
    graphs = [(shared, shared_logits, shared_saver),
              (fresh, fresh_logits, fresh_saver)]
    images_value = np.random.RandomState(0).uniform(
        -1, 1, (1, 299, 299, 3)).astype(np.float32)
    logits_values = {'V1': [], 'V2': []}
    for graph, logits, saver in graphs:
      with graph.as_default():
        variables = {v.op.name: v for v in tf.global_variables()}
      with tf.Session(graph=graph) as sess:
        for version, path in paths.items():
          saver.restore(sess, path)
          restored = sess.run(variables)
          self.assertCountEqual(restored.keys(), written[version].keys())
          for name, value in restored.items():
            np.testing.assert_array_equal(value, written[version][name],
                                          (version, name))
          logits_values[version].append(sess.run(
              logits, {graph.get_tensor_by_name('images:0'): images_value}))
    for version, (first, second) in logits_values.items():
      scale = np.abs(first).max()
      self.assertGreater(scale, 1e-3)
      # The restored variables are equal bit for bit (above); the logits of
      # two graphs are not: oneDNN may sum in another order (5e-5 of ~25 was
      # seen on an AMD EPYC). 1e-5 of their scale still catches any wrong
      # weight.
      self.assertAllClose(first, second, rtol=0, atol=1e-5 * scale,
                          msg=version)
    # Different seeds: each restore replaced every value.
    self.assertGreater(np.abs(logits_values['V1'][0] -
                              logits_values['V2'][0]).max(), 1e-3)


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


class ArgumentErrorsTest(tf.test.TestCase):
  """Every ValueError of the network, raised before anything is built."""

  def _assert_raises(self, message, build, shape=(1, 299, 299, 3),
                     dtype=tf.float32):
    """build(inputs) raises ValueError(message) with only `inputs` built."""
    with tf.Graph().as_default() as graph:
      inputs = tf.placeholder(dtype, shape)
      with self.assertRaises(ValueError) as raised:
        build(inputs)
      self.assertEqual(str(raised.exception), message)
      self.assertEqual(graph.get_operations(), [inputs.op])

  def _builds(self, build, shape, dtype=tf.float32):
    with tf.Graph().as_default():
      return build(tf.placeholder(dtype, shape))

  def testTooSmallInputs(self):
    message = ('inputs must be at least 75x75 for Inception V3 up to '
               'Mixed_7c, got %s')
    for shape, size in (((1, 74, 74, 3), '74x74'),
                        ((2, 60, 100, 3), '60x100'),
                        ((1, 299, 74, 3), '299x74'),
                        ((1, 60, None, 3), '60x?')):
      self._assert_raises(message % size, inception_v3.inception_v3, shape)
      self._assert_raises(message % size, inception_v3.inception_v3_base,
                          shape)
    net, _ = self._builds(
        lambda x: inception_v3.inception_v3(x, create_aux_logits=False),
        (1, 75, 75, 3))
    self.assertListEqual(net.shape.as_list(), [1, 1000])

  def testEarlierFinalEndpointsTakeSmallerInputs(self):
    # Mixed_5d (the 35x35 grid at 299) is 1x1 at 27x27 inputs.
    net, _ = self._builds(
        lambda x: inception_v3.inception_v3_base(x, final_endpoint='Mixed_5d'),
        (1, 27, 27, 3))
    self.assertListEqual(net.shape.as_list(), [1, 1, 1, 288])
    self._assert_raises(
        'inputs must be at least 27x27 for Inception V3 up to Mixed_5d, got '
        '26x26',
        lambda x: inception_v3.inception_v3_base(x, final_endpoint='Mixed_5d'),
        (1, 26, 26, 3))

  def testAuxLogitsNeedInputsOf107(self):
    message = ("create_aux_logits=True needs inputs of at least 107x107 (the "
               "aux head's 5x5 pool on Mixed_6e), got %s: pass "
               "create_aux_logits=False")
    for shape, size in (((1, 106, 106, 3), '106x106'),
                        ((1, 299, 106, 3), '299x106'),
                        ((1, 100, None, 3), '100x?')):
      self._assert_raises(message % size, inception_v3.inception_v3, shape)
    _, (_, end_points) = _smallest_with_aux_head()
    self.assertIn('AuxLogits', end_points)
    self.assertListEqual(end_points['AuxLogits'].shape.as_list(), [1, 1000])
    # No aux head without a classifier: the pooled features of a 75x75 input
    # (the build testBuildPreLogitsNetwork shares).
    _, (net, _) = _pre_logits_75()
    self.assertListEqual(net.shape.as_list(), [1, 1, 1, 2048])

  def testNonSquareSmallInputsWithoutAuxHead(self):
    # DeepVariant's pileup images: 100x221 with 6 channels.
    logits, end_points = self._builds(
        lambda x: inception_v3.inception_v3(x, 3, create_aux_logits=False),
        (2, 100, 221, 6))
    self.assertListEqual(logits.shape.as_list(), [2, 3])
    self.assertListEqual(end_points['Mixed_7c'].shape.as_list(),
                         [2, 1, 5, 2048])

  def testNumClasses(self):
    self._assert_raises('num_classes must be >= 0, got -1',
                        lambda x: inception_v3.inception_v3(x, -1))
    self._assert_raises('num_classes must be an integer or None, got 10.0',
                        lambda x: inception_v3.inception_v3(x, 10.0))

  def testDropoutKeepProb(self):
    for keep_prob in (0, 0.0, -0.5, 1.5):
      self._assert_raises(
          'dropout_keep_prob must be in (0, 1], got %r' % keep_prob,
          lambda x, p=keep_prob: inception_v3.inception_v3(
              x, dropout_keep_prob=p))

  def testIntegerInputs(self):
    for dtype in (tf.uint8, tf.int32, tf.string):
      message = ('inputs must be floating point, got %s: convert images to '
                 'float and preprocess them to [-1, 1] (e.g. '
                 'nets.preprocessing, or tf.image.convert_image_dtype then '
                 '2 * x - 1)' % dtype.name)
      self._assert_raises(message, inception_v3.inception_v3, dtype=dtype)
      self._assert_raises(message, inception_v3.inception_v3_base, dtype=dtype)

  def testValuesNextToTheErrorsBuild(self):
    # What testNumClasses, testDropoutKeepProb and testIntegerInputs reject
    # next to what they must accept, three accepted values a build: a NumPy
    # integer num_classes, keep_prob 1.0, 1 and a tensor, float16 inputs.
    for dtype, num_classes, keep_prob, shape in (
        (tf.float32, np.int64(7), 1.0, [1, 7]),
        (tf.float16, 4, 1, [1, 4]),
        (tf.float32, 5, 'tensor', [1, 5])):
      with tf.Graph().as_default():
        if keep_prob == 'tensor':
          keep_prob = tf.placeholder_with_default(0.5, [])
        logits, _ = inception_v3.inception_v3(
            tf.placeholder(dtype, (1, 107, 107, 3)), num_classes,
            dropout_keep_prob=keep_prob)
      self.assertListEqual(logits.shape.as_list(), shape)
      self.assertEqual(logits.dtype, dtype)

  def testInputsMustBe4D(self):
    self._assert_raises('inputs must be 4-D [batch, height, width, channels], '
                        'got shape (299, 299, 3)', inception_v3.inception_v3,
                        shape=(299, 299, 3))

  def testTooLargeForTheFixedFinalPool(self):
    message = ('inputs of %s are too large for the fixed 8x8/2 final pool '
               '(global_pool=False): it leaves a %s map, not 1x1, which '
               'spatial_squeeze=True cannot squeeze (up to 362x362 it can): '
               'pass global_pool=True%s, or spatial_squeeze=False')
    # Mixed_7c is 29x29 at 1000 and 10x10 at 363; the 8x8 pool with stride 2
    # leaves 11x11 and 2x2.
    self._assert_raises(message % ('1000x1000', '11x11',
                                   ' and create_aux_logits=False'),
                        inception_v3.inception_v3, (1, 1000, 1000, 3))
    self._assert_raises(
        message % ('363x363', '2x2', ' and create_aux_logits=False'),
        inception_v3.inception_v3, (1, 363, 363, 3))
    self._assert_raises(
        message % ('363x299', '2x1', ''),
        lambda x: inception_v3.inception_v3(x, create_aux_logits=False),
        (1, 363, 299, 3))

  def testTooLargeForSqueezedAuxLogits(self):
    message = ('inputs of %s are too large for create_aux_logits=True with '
               'spatial_squeeze=True: the aux logits are 1x1 only up to '
               '346x346: pass create_aux_logits=False, or '
               'spatial_squeeze=False')
    self._assert_raises(
        message % '1000x1000',
        lambda x: inception_v3.inception_v3(x, global_pool=True),
        (1, 1000, 1000, 3))
    self._assert_raises(message % '347x347', inception_v3.inception_v3,
                        (1, 347, 347, 3))

  def testLargeInputsThatWork(self):
    for kwargs, size, logits_shape in (
        ({}, 346, [1, 6]),
        (dict(create_aux_logits=False), 362, [1, 6]),
        (dict(global_pool=True, create_aux_logits=False), 1000, [1, 6]),
        (dict(spatial_squeeze=False), 1000, [1, 11, 11, 6]),
        (dict(num_classes=0), 1000, [1, 11, 11, 2048])):
      kwargs.setdefault('num_classes', 6)
      logits, end_points = self._builds(
          lambda x, kw=kwargs: inception_v3.inception_v3(x, **kw),
          (1, size, size, 3))
      self.assertListEqual(logits.shape.as_list(), logits_shape, kwargs)
      if 'AuxLogits' in end_points:
        self.assertEqual(end_points['AuxLogits'].shape.ndims,
                         len(logits_shape))


class SizeFactsTest(tf.test.TestCase):
  """The size constants and functions against an independent computation."""

  @staticmethod
  def _valid(size, kernel, stride):
    # VALID padding as TensorFlow documents it: ceil((n - k + 1) / s).
    return -(-(size - kernel + 1) // stride)

  def _reference(self, size):
    """{endpoint: height} of an input of `size`, per the layer table above."""
    sizes = {}
    for name, kernel, stride in (
        ('Conv2d_1a_3x3', 3, 2), ('Conv2d_2a_3x3', 3, 1),
        ('Conv2d_2b_3x3', 1, 1), ('MaxPool_3a_3x3', 3, 2),
        ('Conv2d_3b_1x1', 1, 1), ('Conv2d_4a_3x3', 3, 1),
        ('MaxPool_5a_3x3', 3, 2), ('Mixed_5b', 1, 1), ('Mixed_5c', 1, 1),
        ('Mixed_5d', 1, 1), ('Mixed_6a', 3, 2), ('Mixed_6b', 1, 1),
        ('Mixed_6c', 1, 1), ('Mixed_6d', 1, 1), ('Mixed_6e', 1, 1),
        ('Mixed_7a', 3, 2), ('Mixed_7b', 1, 1), ('Mixed_7c', 1, 1)):
      size = self._valid(size, kernel, stride)
      sizes[name] = size
    return sizes

  def testConstants(self):
    self.assertEqual(inception_v3.MIN_IMAGE_SIZE, 75)
    self.assertEqual(inception_v3.MIN_IMAGE_SIZE_WITH_AUX_LOGITS, 107)
    self.assertEqual(inception_v3.MAX_IMAGE_SIZE_WITHOUT_GLOBAL_POOL, 362)
    sizes = range(3, 1200)
    # The smallest input with a 1x1 Mixed_7c; with a Mixed_6e the aux
    # head's 5x5 pool fits; the largest whose Mixed_7c (at most 9x9) the 8x8
    # pool with stride 2 makes 1x1.
    self.assertEqual(
        min(n for n in sizes if self._reference(n)['Mixed_7c'] >= 1), 75)
    self.assertEqual(
        min(n for n in sizes if self._reference(n)['Mixed_6e'] >= 5), 107)
    self.assertEqual(
        max(n for n in sizes if self._reference(n)['Mixed_7c'] <= 9), 362)

  def testFeatureMapSizeAgainstReference(self):
    for size in range(75, 1200):
      reference = self._reference(size)
      self.assertEqual(inception_v3.feature_map_size(size),
                       reference['Mixed_7c'], size)
      for endpoint in ('Conv2d_1a_3x3', 'MaxPool_5a_3x3', 'Mixed_6e'):
        self.assertEqual(inception_v3.feature_map_size(size, endpoint),
                         reference[endpoint], (size, endpoint))
      final_pool = self._valid(reference['Mixed_7c'],
                               min(reference['Mixed_7c'], 8), 2)
      self.assertEqual(inception_v3.needs_global_pool(size), final_pool > 1,
                       size)
    for endpoint, shape in ENDPOINT_SHAPES_299.items():
      self.assertEqual(inception_v3.feature_map_size(299, endpoint), shape[0])

  def testAgainstBuiltGraphs(self):
    for height, width in ((75, 75), (106, 107), (150, 299), (362, 363),
                          (331, 500)):
      with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, (1, height, width, 3))
        logits, end_points = inception_v3.inception_v3(
            images, 2, create_aux_logits=False, spatial_squeeze=False)
        self.assertListEqual(
            end_points['Mixed_7c'].shape.as_list()[1:3],
            [inception_v3.feature_map_size(height),
             inception_v3.feature_map_size(width)])
        self.assertListEqual(
            [d > 1 for d in logits.shape.as_list()[1:3]],
            [inception_v3.needs_global_pool(height),
             inception_v3.needs_global_pool(width)])

  def testBadSizes(self):
    with self.assertRaisesRegex(
        ValueError, '^image_size must be an integer >= 75 to reach Mixed_7c, '
        'got 74$'):
      inception_v3.feature_map_size(74)
    with self.assertRaisesRegex(
        ValueError, '^image_size must be an integer >= 75 to reach Mixed_7c, '
        'got 299.0$'):
      inception_v3.needs_global_pool(299.0)
    with self.assertRaisesRegex(
        ValueError, '^image_size must be an integer >= 27 to reach Mixed_5d, '
        'got 26$'):
      inception_v3.feature_map_size(26, 'Mixed_5d')
    with self.assertRaisesRegex(ValueError, "^Unknown endpoint 'Logits'"):
      inception_v3.feature_map_size(299, 'Logits')

  def testDefaultImageSize(self):
    self.assertEqual(inception_v3.default_image_size, 299)
    self.assertEqual(inception_v3.inception_v3.default_image_size, 299)


class ArgScopeKeywordsTest(tf.test.TestCase):
  """inception_v3_arg_scope takes every slim version's keywords."""

  RESEARCH_SLIM = [('weight_decay', 0.00004), ('use_batch_norm', True),
                   ('batch_norm_decay', 0.9997), ('batch_norm_epsilon', 0.001),
                   ('activation_fn', tf.nn.relu),
                   ('batch_norm_updates_collections', tf.GraphKeys.UPDATE_OPS),
                   ('batch_norm_scale', False)]

  def _params(self, **kwargs):
    scope = inception_v3.inception_v3_arg_scope(**kwargs)
    return scope[slim.arg_scope_func_key(slim.conv2d)]

  def testResearchSlimsPositionalOrderFirst(self):
    parameters = list(inspect.signature(
        inception_v3.inception_v3_arg_scope).parameters.values())
    self.assertEqual([(p.name, p.default) for p in parameters[:7]],
                     self.RESEARCH_SLIM)
    self.assertEqual([p.name for p in parameters[7:]],
                     ['stddev', 'batch_norm_var_collection',
                      'use_fused_batchnorm', 'updates_collections'])

  def testTakesTfSlimNetsKeywords(self):
    from tf_slim.nets import inception_v3 as tf_slim_inception_v3  # pylint: disable=g-import-not-at-top
    theirs = inspect.signature(
        tf_slim_inception_v3.inception_v3_arg_scope).parameters
    ours = inspect.signature(inception_v3.inception_v3_arg_scope).parameters
    self.assertEmpty(set(theirs) - set(ours))
    for name, parameter in theirs.items():  # with the same defaults
      self.assertEqual(ours[name].default, parameter.default, name)
    # Every keyword at once: no TypeError.
    inception_v3.inception_v3_arg_scope(
        weight_decay=0.0, use_batch_norm=True, batch_norm_decay=0.99,
        batch_norm_epsilon=0.01, activation_fn=tf.nn.relu6,
        batch_norm_updates_collections='updates', batch_norm_scale=True,
        stddev=0.2, batch_norm_var_collection='stats',
        use_fused_batchnorm=False, updates_collections='updates')

  def testKeywordsReachTheLayers(self):
    conv = self._params(batch_norm_decay=0.99, batch_norm_epsilon=0.01,
                        activation_fn=tf.nn.relu6, batch_norm_scale=True,
                        stddev=0.2, batch_norm_var_collection='stats',
                        use_fused_batchnorm=False)
    self.assertIs(conv['activation_fn'], tf.nn.relu6)
    self.assertEqual(conv['weights_initializer'].stddev, 0.2)
    self.assertEqual(conv['normalizer_params'], {
        'decay': 0.99, 'epsilon': 0.01,
        'updates_collections': tf.GraphKeys.UPDATE_OPS, 'fused': False,
        'scale': True,
        'variables_collections': {'beta': None, 'gamma': None,
                                  'moving_mean': ['stats'],
                                  'moving_variance': ['stats']}})
    conv = self._params(batch_norm_var_collection=None)
    self.assertNotIn('variables_collections', conv['normalizer_params'])
    conv = self._params(use_batch_norm=False)
    self.assertIsNone(conv['normalizer_fn'])

  def testUpdatesCollectionsAliases(self):
    for kwargs in (dict(updates_collections='mine'),
                   dict(batch_norm_updates_collections='mine'),
                   dict(updates_collections='mine',
                        batch_norm_updates_collections='mine')):
      self.assertEqual(
          self._params(**kwargs)['normalizer_params']['updates_collections'],
          'mine')
    self.assertIsNone(self._params(updates_collections=None)[
        'normalizer_params']['updates_collections'])
    with self.assertRaisesRegex(
        ValueError, "^updates_collections='a' and "
        "batch_norm_updates_collections='b' name the same setting"):
      inception_v3.inception_v3_arg_scope(
          updates_collections='a', batch_norm_updates_collections='b')

  def testTfContribSlimPositionalCallsAreCaught(self):
    # tf.contrib.slim: (weight_decay, batch_norm_var_collection, ...) and,
    # earlier, (weight_decay, stddev, batch_norm_var_collection).
    for second in ('moving_vars', 0.1):
      with self.assertRaisesRegex(
          ValueError, r"^use_batch_norm must be True or False, got %r "
          r"\(tf.contrib.slim's inception_v3_arg_scope took "
          r"batch_norm_var_collection or stddev second: pass those by "
          r"keyword\)$" % second):
        inception_v3.inception_v3_arg_scope(0.00004, second)

  def testUpdatesCollectionsNoneUpdatesInPlace(self):
    with tf.Graph().as_default():
      images = tf.random_uniform((2, 75, 75, 3), -1, 1, seed=1)
      with slim.arg_scope(
          inception_v3.inception_v3_arg_scope(updates_collections=None)):
        logits, _ = inception_v3.inception_v3(
            images, 5, is_training=True, create_aux_logits=False)
      self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
      moving_mean = tf.global_variables(
          'InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean')[0]
      conv, = [op.outputs[0] for op in tf.get_default_graph().get_operations()
               if op.name.endswith('InceptionV3/Conv2d_1a_3x3/Conv2D')]
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(moving_mean)
        # One training-mode run, no update ops.
        _, conv_value = sess.run([logits, conv])
        after = sess.run(moving_mean)
    self.assertAllEqual(before, np.zeros_like(before))
    batch_mean = conv_value.mean(axis=(0, 1, 2))
    self.assertGreater(np.abs(batch_mean).max(), 1e-3)
    self.assertAllClose(after, (1 - 0.9997) * batch_mean, rtol=1e-3,
                        atol=1e-9)

  def testNonFusedBatchNormIsTheSameNetwork(self):
    with tf.Graph().as_default() as graph:
      images = tf.random_uniform((2, 107, 107, 3), -1, 1, seed=2)
      outputs = {}
      for scope, fused in (('Fused', True), ('NonFused', False)):
        with slim.arg_scope(inception_v3.inception_v3_arg_scope(
            use_fused_batchnorm=fused)):
          for is_training in (True, False):
            _, end_points = inception_v3.inception_v3(
                images, 10, is_training=is_training, scope=scope,
                reuse=tf.AUTO_REUSE)
            outputs[scope, is_training] = [end_points['Conv2d_4a_3x3'],
                                           end_points['Mixed_7c'],
                                           end_points['AuxLogits']]
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 4 * 96)
      op_types = {(op.name.split('/')[0], op.type)
                  for op in graph.get_operations()}
      self.assertIn(('Fused', 'FusedBatchNormV3'), op_types)
      self.assertNotIn(('NonFused', 'FusedBatchNormV3'), op_types)

      def variables(scope):
        """{name below scope: (shape, collections)}."""
        found = {}
        for var in tf.global_variables(scope + '/'):
          collections = frozenset(
              key for key in graph.get_all_collection_keys()
              if any(v is var for v in graph.get_collection(key)))
          found[var.op.name[len(scope) + 1:]] = (var.shape.as_list(),
                                                 collections)
        return found
      fused_variables = variables('Fused')
      self.assertEqual(len(fused_variables), 388)
      self.assertEqual(variables('NonFused'), fused_variables)
      # The same non-trivial values in both, then the four outputs.
      values = testing.random_values(tf.global_variables('Fused/'))
      values.update({'NonFused/' + name.split('/', 1)[1]: value
                     for name, value in values.items()})
      with self.session() as sess:
        testing.assign(sess, tf.global_variables(), values)
        results = sess.run(outputs)
    for is_training, tolerances in ((False, (1e-5, 1e-5, 1e-5)),
                                    (True, (1e-5, 1e-2, 1e-2))):
      # In training mode each BatchNorm normalizes by the statistics of a
      # small batch, which amplifies rounding: a 1e-6 relative change of the
      # inputs alone moves the fused network's Mixed_7c by 1.6e-3 of its
      # scale (measured). The layers themselves agree within 1e-5
      # (slim_compat_test), as does the stem here.
      for fused, non_fused, tolerance in zip(results['Fused', is_training],
                                             results['NonFused', is_training],
                                             tolerances):
        scale = np.abs(fused).max()
        self.assertGreater(scale, 1e-3)
        self.assertAllClose(non_fused, fused, rtol=0, atol=tolerance * scale)


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
