"""research/slim's InceptionV3 tests, against `from nets import inception`.

The cases of research/slim's `nets/inception_v3_test.py` (its sizes, 299,
150, unknown batch and spatial sizes, 330x400 with global_pool, depth
multipliers, reuse, BatchNorm scale), as a slim user runs them: under pytest
each test builds in a graph of its own (`tf.Graph().as_default()`); run as
`python -m nets_test.inception_test`, the module calls
`tf.disable_v2_behavior()` first and the tests build in the default graph,
as upstream's do. Also: the `nets.inception` module and the `nets` package
(lazy submodules, no TensorFlow on import), and research/slim's
`inception_utils.inception_arg_scope`.
"""

import inspect
import textwrap

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception
from nets import inception_utils
from nets import inception_v3
from nets_test import released_variables
from nets_test import testing

ENDPOINTS = ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
             'MaxPool_3a_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
             'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_5c', 'Mixed_5d',
             'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
             'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c']


class InceptionV3Test(tf.test.TestCase):
  """research/slim's InceptionV3Test, case for case."""

  def setUp(self):
    super().setUp()
    if tf.executing_eagerly():  # TF2 behaviour: build in a graph of our own.
      graph = tf.Graph().as_default()
      graph.__enter__()
      self.addCleanup(graph.__exit__, None, None, None)

  def testBuildClassificationNetwork(self):
    batch_size, num_classes = 2, 1000
    inputs = tf.random.uniform((batch_size, 299, 299, 3))
    logits, end_points = inception.inception_v3(inputs, num_classes)
    self.assertStartsWith(logits.op.name, 'InceptionV3/Logits/SpatialSqueeze')
    self.assertListEqual(logits.get_shape().as_list(),
                         [batch_size, num_classes])
    self.assertIn('Predictions', end_points)
    self.assertListEqual(end_points['Predictions'].get_shape().as_list(),
                         [batch_size, num_classes])

  def testBuildPreLogitsNetwork(self):
    batch_size = 2
    inputs = tf.random.uniform((batch_size, 299, 299, 3))
    net, end_points = inception.inception_v3(inputs, None)
    self.assertStartsWith(net.op.name, 'InceptionV3/Logits/AvgPool')
    self.assertListEqual(net.get_shape().as_list(), [batch_size, 1, 1, 2048])
    self.assertNotIn('Logits', end_points)
    self.assertNotIn('Predictions', end_points)

  def testBuildBaseNetwork(self):
    batch_size = 2
    inputs = tf.random.uniform((batch_size, 299, 299, 3))
    final_endpoint, end_points = inception.inception_v3_base(inputs)
    self.assertStartsWith(final_endpoint.op.name, 'InceptionV3/Mixed_7c')
    self.assertListEqual(final_endpoint.get_shape().as_list(),
                         [batch_size, 8, 8, 2048])
    self.assertCountEqual(end_points.keys(), ENDPOINTS)

  def testBuildOnlyUptoFinalEndpoint(self):
    for index, endpoint in enumerate(ENDPOINTS):
      with tf.Graph().as_default():
        inputs = tf.random.uniform((2, 299, 299, 3))
        out_tensor, end_points = inception.inception_v3_base(
            inputs, final_endpoint=endpoint)
        self.assertStartsWith(out_tensor.op.name, 'InceptionV3/' + endpoint)
        self.assertCountEqual(ENDPOINTS[:index + 1], end_points.keys())

  def testBuildAndCheckAllEndPointsUptoMixed7c(self):
    batch_size = 2
    inputs = tf.random.uniform((batch_size, 299, 299, 3))
    _, end_points = inception.inception_v3_base(
        inputs, final_endpoint='Mixed_7c')
    expected = {'Conv2d_1a_3x3': [149, 149, 32],
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
                'Mixed_7c': [8, 8, 2048]}
    self.assertCountEqual(expected.keys(), end_points.keys())
    for name, shape in expected.items():
      self.assertListEqual(end_points[name].get_shape().as_list(),
                           [batch_size] + shape, name)

  def testModelHasExpectedNumberOfParameters(self):
    inputs = tf.random.uniform((2, 299, 299, 3))
    with slim.arg_scope(inception.inception_v3_arg_scope()):
      inception.inception_v3_base(inputs)
    total_params, _ = slim.model_analyzer.analyze_vars(
        slim.get_model_variables())
    self.assertEqual(total_params, 21802784)

  def testBuildEndPoints(self):
    batch_size, num_classes = 2, 1000
    inputs = tf.random.uniform((batch_size, 299, 299, 3))
    _, end_points = inception.inception_v3(inputs, num_classes)
    for name, shape in (('Logits', [batch_size, num_classes]),
                        ('AuxLogits', [batch_size, num_classes]),
                        ('Mixed_7c', [batch_size, 8, 8, 2048]),
                        ('PreLogits', [batch_size, 1, 1, 2048])):
      self.assertIn(name, end_points)
      self.assertListEqual(end_points[name].get_shape().as_list(), shape)

  def _check_depth_multiplier(self, multiplier):
    inputs = tf.random.uniform((2, 299, 299, 3))
    _, end_points = inception.inception_v3(inputs, 1000)
    keys = [key for key in end_points
            if key.startswith('Mixed') or key.startswith('Conv')]
    _, multiplied = inception.inception_v3(
        inputs, 1000, scope='depth_multiplied_net',
        depth_multiplier=multiplier)
    self.assertNotEmpty(keys)
    for key in keys:
      original_depth = end_points[key].get_shape().as_list()[3]
      self.assertEqual(multiplier * original_depth,
                       multiplied[key].get_shape().as_list()[3], key)

  def testBuildEndPointsWithDepthMultiplierLessThanOne(self):
    self._check_depth_multiplier(0.5)

  def testBuildEndPointsWithDepthMultiplierGreaterThanOne(self):
    self._check_depth_multiplier(2.0)

  def testRaiseValueErrorWithInvalidDepthMultiplier(self):
    inputs = tf.random.uniform((2, 299, 299, 3))
    with self.assertRaises(ValueError):
      inception.inception_v3(inputs, 1000, depth_multiplier=-0.1)
    with self.assertRaises(ValueError):
      inception.inception_v3(inputs, 1000, depth_multiplier=0.0)

  def testHalfSizeImages(self):
    batch_size, num_classes = 2, 1000
    inputs = tf.random.uniform((batch_size, 150, 150, 3))
    logits, end_points = inception.inception_v3(inputs, num_classes)
    self.assertStartsWith(logits.op.name, 'InceptionV3/Logits')
    self.assertListEqual(logits.get_shape().as_list(),
                         [batch_size, num_classes])
    self.assertListEqual(end_points['Mixed_7c'].get_shape().as_list(),
                         [batch_size, 3, 3, 2048])

  def testUnknownImageShape(self):
    batch_size, num_classes = 2, 1000
    images = np.random.uniform(0, 1, (batch_size, 299, 299, 3))
    with tf.Graph().as_default():  # upstream: tf.reset_default_graph()
      inputs = tf.placeholder(tf.float32, shape=(batch_size, None, None, 3))
      logits, end_points = inception.inception_v3(inputs, num_classes)
      self.assertListEqual(logits.get_shape().as_list(),
                           [batch_size, num_classes])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        pre_pool = sess.run(end_points['Mixed_7c'], {inputs: images})
    self.assertListEqual(list(pre_pool.shape), [batch_size, 8, 8, 2048])

  def testGlobalPoolUnknownImageShape(self):
    batch_size, num_classes = 1, 1000
    images = np.random.uniform(0, 1, (batch_size, 330, 400, 3))
    with tf.Graph().as_default():  # upstream: tf.reset_default_graph()
      inputs = tf.placeholder(tf.float32, shape=(batch_size, None, None, 3))
      logits, end_points = inception.inception_v3(inputs, num_classes,
                                                  global_pool=True)
      self.assertListEqual(logits.get_shape().as_list(),
                           [batch_size, num_classes])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        pre_pool = sess.run(end_points['Mixed_7c'], {inputs: images})
    self.assertListEqual(list(pre_pool.shape), [batch_size, 8, 11, 2048])

  def testGlobalPoolStaticNonSquareImages(self):
    batch_size, num_classes = 1, 1000
    inputs = tf.random.uniform((batch_size, 250, 300, 3))
    logits, end_points = inception.inception_v3(inputs, num_classes,
                                                global_pool=True)
    self.assertListEqual(logits.get_shape().as_list(),
                         [batch_size, num_classes])
    self.assertListEqual(end_points['Mixed_7c'].get_shape().as_list(),
                         [batch_size, 6, 8, 2048])
    self.assertListEqual(end_points['global_pool'].get_shape().as_list(),
                         [batch_size, 1, 1, 2048])

  def testUnknownBatchSize(self):
    batch_size, num_classes = 1, 1000
    inputs = tf.placeholder(tf.float32, (None, 299, 299, 3))
    logits, _ = inception.inception_v3(inputs, num_classes)
    self.assertStartsWith(logits.op.name, 'InceptionV3/Logits')
    self.assertListEqual(logits.get_shape().as_list(), [None, num_classes])
    images = tf.random.uniform((batch_size, 299, 299, 3))
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      output = sess.run(logits, {inputs: images.eval()})
    self.assertEqual(output.shape, (batch_size, num_classes))

  def testEvaluation(self):
    batch_size = 2
    eval_inputs = tf.random.uniform((batch_size, 299, 299, 3))
    logits, _ = inception.inception_v3(eval_inputs, 1000, is_training=False)
    predictions = tf.argmax(input=logits, axis=1)
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertEqual(sess.run(predictions).shape, (batch_size,))

  def testTrainEvalWithReuse(self):
    train_batch_size, eval_batch_size = 3, 2
    train_inputs = tf.random.uniform((train_batch_size, 150, 150, 3))
    inception.inception_v3(train_inputs, 1000)
    eval_inputs = tf.random.uniform((eval_batch_size, 150, 150, 3))
    logits, _ = inception.inception_v3(eval_inputs, 1000, is_training=False,
                                       reuse=True)
    predictions = tf.argmax(input=logits, axis=1)
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertEqual(sess.run(predictions).shape, (eval_batch_size,))

  def testLogitsNotSqueezed(self):
    num_classes = 25
    images = tf.random.uniform([1, 299, 299, 3])
    logits, _ = inception.inception_v3(images, num_classes=num_classes,
                                       spatial_squeeze=False)
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertListEqual(list(sess.run(logits).shape),
                           [1, 1, 1, num_classes])

  def testNoBatchNormScaleByDefault(self):
    inputs = tf.placeholder(tf.float32, (1, 299, 299, 3))
    with slim.arg_scope(inception.inception_v3_arg_scope()):
      inception.inception_v3(inputs, 1000, is_training=False)
    self.assertEqual(tf.global_variables('.*/BatchNorm/gamma:0$'), [])

  def testBatchNormScale(self):
    inputs = tf.placeholder(tf.float32, (1, 299, 299, 3))
    with slim.arg_scope(
        inception.inception_v3_arg_scope(batch_norm_scale=True)):
      inception.inception_v3(inputs, 1000, is_training=False)
    gamma_names = set(
        v.op.name for v in tf.global_variables('.*/BatchNorm/gamma:0$'))
    self.assertNotEmpty(gamma_names)
    for v in tf.global_variables('.*/BatchNorm/moving_mean:0$'):
      self.assertIn(v.op.name[:-len('moving_mean')] + 'gamma', gamma_names)


class AsSlimUsersRunItTest(tf.test.TestCase):
  """The cases above, run as a script after tf.disable_v2_behavior()."""

  def testRunsAfterDisableV2Behavior(self):
    names = ['InceptionV3Test.testHalfSizeImages',
             'InceptionV3Test.testUnknownBatchSize',
             'InceptionV3Test.testTrainEvalWithReuse']
    result = testing.run_python(['-m', 'nets_test.inception_test'] + names)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn('Ran 3 tests', result.stderr)
    self.assertIn('V2_BEHAVIOR_DISABLED', result.stdout)


class InceptionModuleTest(tf.test.TestCase):
  """nets.inception: slim's module, Inception V3 only."""

  def testInceptionV3Names(self):
    self.assertIs(inception.inception_v3, inception_v3.inception_v3)
    self.assertIs(inception.inception_v3_base, inception_v3.inception_v3_base)
    self.assertIs(inception.inception_v3_arg_scope,
                  inception_v3.inception_v3_arg_scope)
    self.assertEqual(inception.inception_v3.default_image_size, 299)

  def testOtherSlimNetworksSayOnlyV3IsHere(self):
    for network in ('inception_v1', 'inception_v2', 'inception_v4',
                    'inception_resnet_v2'):
      for name in (network, network + '_base', network + '_arg_scope'):
        with self.assertRaisesRegex(
            AttributeError, r'^nets.inception.%s: only Inception V3 is in '
            r'this port .*; %s is not$' % (name, network)):
          getattr(inception, name)
        self.assertFalse(hasattr(inception, name))

  def testUnknownNameIsAPlainAttributeError(self):
    with self.assertRaisesRegex(
        AttributeError, "^module 'nets.inception' has no attribute "
        "'inception_v5'$"):
      inception.inception_v5  # pylint: disable=pointless-statement


class NetsPackageTest(tf.test.TestCase):
  """`import nets` imports no TensorFlow; submodules load on first use."""

  def testLazySubmodules(self):
    script = textwrap.dedent("""
        import sys
        import nets
        assert 'tensorflow' not in sys.modules, 'import nets imported TF'
        assert 'nets.inception' not in sys.modules
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        assert tf.executing_eagerly()
        print('DEFAULT_SIZE', nets.inception_v3.default_image_size,
              nets.inception.inception_v3.default_image_size)
        with tf.Graph().as_default():
          images = tf.placeholder(tf.float32, [1, 107, 107, 3])
          with slim.arg_scope(nets.inception.inception_v3_arg_scope()):
            logits, _ = nets.inception.inception_v3(images, num_classes=7)
        print('LOGITS', logits.shape.as_list())
        try:
          nets.no_such_module
        except AttributeError as e:
          print('ERROR', e)
        assert tf.executing_eagerly()
        """)
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn('DEFAULT_SIZE 299 299', result.stdout)
    self.assertIn('LOGITS [1, 7]', result.stdout)
    self.assertIn("ERROR module 'nets' has no attribute 'no_such_module'",
                  result.stdout)


class InceptionUtilsTest(tf.test.TestCase):
  """research/slim's inception_utils.inception_arg_scope."""

  def testSignatureIsResearchSlims(self):
    parameters = inspect.signature(
        inception_utils.inception_arg_scope).parameters
    self.assertEqual(
        [(name, p.default) for name, p in parameters.items()],
        [('weight_decay', 0.00004), ('use_batch_norm', True),
         ('batch_norm_decay', 0.9997), ('batch_norm_epsilon', 0.001),
         ('activation_fn', tf.nn.relu),
         ('batch_norm_updates_collections', tf.GraphKeys.UPDATE_OPS),
         ('batch_norm_scale', False)])

  def _conv_defaults(self, scope):
    return scope[slim.arg_scope_func_key(slim.conv2d)]

  def testDefaults(self):
    scope = inception_utils.inception_arg_scope()
    conv = self._conv_defaults(scope)
    self.assertIsInstance(conv['weights_initializer'],
                          type(slim.variance_scaling_initializer()))
    self.assertIs(conv['normalizer_fn'], slim.batch_norm)
    self.assertIs(conv['activation_fn'], tf.nn.relu)
    self.assertEqual(conv['normalizer_params'],
                     {'decay': 0.9997, 'epsilon': 0.001,
                      'updates_collections': tf.GraphKeys.UPDATE_OPS,
                      'fused': None, 'scale': False})
    fc = scope[slim.arg_scope_func_key(slim.fully_connected)]
    self.assertIn('weights_regularizer', fc)

  def testReleasedVariablesAndRegularization(self):
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      with slim.arg_scope(inception_utils.inception_arg_scope(
          weight_decay=0.001)):
        inception.inception_v3(images, num_classes=1001, is_training=False)
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
      self.assertEqual(shapes, released_variables.released_variables(1001))
      self.assertLen(tf.losses.get_regularization_losses(), 98)
      self.assertEqual(tf.get_collection('moving_vars'), [])

  def testBatchNormScaleAndNoBatchNorm(self):
    conv = self._conv_defaults(
        inception_utils.inception_arg_scope(batch_norm_scale=True))
    self.assertTrue(conv['normalizer_params']['scale'])
    conv = self._conv_defaults(
        inception_utils.inception_arg_scope(use_batch_norm=False,
                                            activation_fn=tf.nn.relu6))
    self.assertIsNone(conv['normalizer_fn'])
    self.assertEqual(conv['normalizer_params'], {})
    self.assertIs(conv['activation_fn'], tf.nn.relu6)

  def testUpdatesCollections(self):
    conv = self._conv_defaults(inception_utils.inception_arg_scope(
        batch_norm_updates_collections=None))
    self.assertIsNone(conv['normalizer_params']['updates_collections'])

  def testBadArguments(self):
    with self.assertRaisesRegex(ValueError,
                                "use_batch_norm must be True or False, got "
                                "'moving_vars'"):
      inception_utils.inception_arg_scope(0.0, 'moving_vars')
    with self.assertRaisesRegex(ValueError,
                                "activation_fn must be callable or None, got "
                                "'relu'"):
      inception_utils.inception_arg_scope(activation_fn='relu')


if __name__ == '__main__':
  tf.disable_v2_behavior()
  print('V2_BEHAVIOR_DISABLED')
  tf.test.main()
