"""Tests of nets.nets_factory: slim's get_network_fn for Inception V3."""

import numpy as np
import tensorflow.compat.v1 as tf

from nets import inception
from nets import nets_factory
from nets_test import released_variables
from nets_test import testing

BATCH_SIZE, NUM_CLASSES = 2, 1000


def _default_network(net):
  """(graph, (logits, end_points)) of get_network_fn(net, 1000) on 2 random
  images of its default size; built once per test process (the tests only
  read it)."""
  def build():
    net_fn = nets_factory.get_network_fn(net, num_classes=NUM_CLASSES)
    image_size = getattr(net_fn, 'default_image_size', 224)
    return net_fn(tf.random_uniform((BATCH_SIZE, image_size, image_size, 3)))
  return testing.shared_graph(('get_network_fn', net, NUM_CLASSES, 'random',
                               BATCH_SIZE), build)


class NetworksTest(tf.test.TestCase):
  """research/slim's nets_factory_test, for the networks of this port."""

  def testGetNetworkFn(self):
    for net in nets_factory.networks_map:
      _, (logits, end_points) = _default_network(net)
      self.assertIsInstance(logits, tf.Tensor)
      self.assertIsInstance(end_points, dict)
      self.assertEqual(logits.get_shape().as_list()[0], BATCH_SIZE)
      self.assertEqual(logits.get_shape().as_list()[-1], NUM_CLASSES)


class NetsFactoryTest(tf.test.TestCase):

  def testMaps(self):
    self.assertEqual(nets_factory.networks_map,
                     {'inception_v3': inception.inception_v3})
    self.assertEqual(nets_factory.arg_scopes_map,
                     {'inception_v3': inception.inception_v3_arg_scope})

  def testNetworkFnCarriesTheNetworksName(self):
    net_fn = nets_factory.get_network_fn('inception_v3', 1001)
    self.assertEqual(net_fn.default_image_size, 299)
    self.assertEqual(net_fn.__name__, 'inception_v3')

  def testUnknownNameListsTheKnownOnes(self):
    with self.assertRaisesRegex(
        ValueError, "^Name of network unknown 'inception_v4'; known "
        "networks: inception_v3$"):
      nets_factory.get_network_fn('inception_v4', 1001)

  def testBuildsUnderItsArgScope(self):
    # testGetNetworkFn's build: get_network_fn('inception_v3', 1000).
    graph, (logits, _) = _default_network('inception_v3')
    with graph.as_default():
      self.assertEqual(logits.op.name, 'InceptionV3/Logits/SpatialSqueeze')
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
      self.assertEqual(shapes, released_variables.released_variables(1000))
      # is_training=False by default: BatchNorm in inference mode.
      self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
      # weight_decay=0.0 by default: no regularization.
      self.assertEqual(tf.losses.get_regularization_losses(), [])

  def testWeightDecayAndIsTraining(self):
    weight_decay = 0.01
    with tf.Graph().as_default():
      images = tf.random_uniform((2, 107, 107, 3))
      net_fn = nets_factory.get_network_fn(
          'inception_v3', 10, weight_decay=weight_decay, is_training=True)
      net_fn(images)
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2 * 96)
      losses = tf.losses.get_regularization_losses()
      self.assertLen(losses, 98)  # every conv's weights
      weights = [v for v in tf.global_variables()
                 if v.op.name.endswith('/weights')]
      self.assertLen(weights, 98)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        total, weight_values = sess.run([tf.add_n(losses), weights])
    expected = weight_decay * sum(np.sum(w.astype(np.float64) ** 2) / 2
                                  for w in weight_values)
    self.assertAllClose(total, expected, rtol=1e-4)

  def testKeywordsGoToTheNetwork(self):
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [1, 150, 150, 3])
      net_fn = nets_factory.get_network_fn('inception_v3', 1001)
      _, end_points = net_fn(images, create_aux_logits=False,
                             global_pool=True, dropout_keep_prob=0.5)
      self.assertNotIn('AuxLogits', end_points)
      self.assertIn('global_pool', end_points)
      num_variables = len(tf.global_variables())
      logits, _ = net_fn(images, create_aux_logits=False, reuse=True)
      self.assertLen(tf.global_variables(), num_variables)
      self.assertEqual(logits.op.name, 'InceptionV3_1/Logits/SpatialSqueeze')
      features, end_points = net_fn(images, num_classes=0, scope='Features',
                                    is_training=True)
      self.assertListEqual(features.shape.as_list(), [1, 1, 1, 2048])
      self.assertNotIn('Logits', end_points)
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2 * 94)

  def testBatchNormModeByScope(self):
    trained = 'InceptionV3/Mixed_7'
    with tf.Graph().as_default() as graph:
      images = tf.random_uniform((2, 107, 107, 3), seed=1)
      seen = []

      def batch_norm_training(scope):
        seen.append(scope)
        return scope.startswith(trained)

      net_fn = nets_factory.get_network_fn(
          'inception_v3', 3, is_training=True,
          batch_norm_training=batch_norm_training)
      _, end_points = net_fn(images)
      # Every BatchNorm layer is asked once, by its variable scope.
      betas = sorted(v.op.name[:-len('/beta')] for v in tf.global_variables()
                     if v.op.name.endswith('/beta'))
      self.assertEqual(sorted(seen), betas)
      self.assertLen(betas, 96)
      modes = {op.name.split('/BatchNorm/')[0].split('/', 1)[1]:
               op.get_attr('is_training') for op in graph.get_operations()
               if op.type == 'FusedBatchNormV3'}
      self.assertLen(modes, 96)
      for layer, training in modes.items():
        self.assertEqual(training, layer.startswith(trained), layer)
      num_trained = sum(modes.values())
      self.assertEqual(num_trained, 24)  # Mixed_7a, 7b, 7c.
      updated = {op.name.split('/BatchNorm/')[0].split('/', 1)[1]
                 for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)}
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS),
                     2 * num_trained)
      self.assertEqual(updated, {l for l, training in modes.items()
                                 if training})
      # Frozen layers compute what the inference-mode network computes (not
      # what the training-mode one does).
      frozen = 'Mixed_6e'
      outputs = [end_points[frozen]]
      for is_training in (False, True):
        _, other = nets_factory.get_network_fn(
            'inception_v3', 3, is_training=is_training)(images, reuse=True)
        outputs.append(other[frozen])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        rng = np.random.RandomState(0)
        moving = [v for v in tf.global_variables() if 'moving_' in v.op.name]
        # Statistics unlike a batch's, in one run (a load each costs a run).
        testing.assign(sess, moving, {
            v.op.name: rng.uniform(0.5, 1.5, v.shape.as_list()).astype(
                np.float32) for v in moving})
        ours, inference, training = sess.run(outputs)
    self.assertAllClose(ours, inference, rtol=1e-4, atol=1e-5)
    self.assertGreater(np.abs(ours - training).max(), 0.1)

  def testBatchNormTrainingMustBeAFunction(self):
    with self.assertRaisesRegex(
        ValueError, '^batch_norm_training must be None or a function of the '
        "scope, got 'InceptionV3/Logits'$"):
      nets_factory.get_network_fn('inception_v3', 3, is_training=True,
                                  batch_norm_training='InceptionV3/Logits')

  def testNetworkErrorsComeBeforeBuilding(self):
    with tf.Graph().as_default() as graph:
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      net_fn = nets_factory.get_network_fn('inception_v3', -1)
      with self.assertRaisesRegex(ValueError,
                                  '^num_classes must be >= 0, got -1$'):
        net_fn(images)
      self.assertLen(graph.get_operations(), 1)  # the placeholder

  def testBuildForInference(self):
    for size, pool in ((299, 'AvgPool_1a_8x8'), (75, 'AvgPool_1a_1x1'),
                       (400, 'GlobalPool')):
      with tf.Graph().as_default() as graph:
        images = tf.placeholder(tf.float32, [2, size, size, 3])
        logits, end_points = nets_factory.build_for_inference(images, 10)
        self.assertEqual(logits.shape.as_list(), [2, 10])
        self.assertNotIn('AuxLogits', end_points)
        pools = [op.name for op in graph.get_operations()
                 if op.name.startswith('InceptionV3/Logits/' + pool)]
        self.assertTrue(pools, size)
        self.assertFalse(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        self.assertFalse(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      _, end_points = nets_factory.build_for_inference(
          images, 10, create_aux_logits=True)
      self.assertIn('AuxLogits', end_points)


if __name__ == '__main__':
  tf.test.main()
