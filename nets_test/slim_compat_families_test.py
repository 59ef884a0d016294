"""tf-slim's public function families on this TensorFlow, after one import.

`import nets.slim_compat` is all a tf-slim script needs (README: "Why a
compatibility layer"). slim_compat_test covers what each patch fixes; this
file runs the other families of tf-slim's API (layers, normalization,
regularizers and initializers, losses, variables, metrics, summaries and
tf-slim's own networks) on small graphs, each against NumPy, so a change in
TensorFlow that breaks one without a missing name shows up here.
"""

import numpy as np
import tensorflow.compat.v1 as tf

import nets.slim_compat  # pylint: disable=unused-import  (patches tf-slim)
import tf_slim as slim
from tf_slim.nets import resnet_v2


def _rng(seed=0):
  return np.random.RandomState(seed)


def _run(fetches, init=True):
  """`fetches` run in a session of the default graph, variables initialized."""
  with tf.Session() as sess:
    if init:
      sess.run([tf.global_variables_initializer(),
                tf.local_variables_initializer()])
    return sess.run(fetches)


def _pool(x, size, reduce):
  """`reduce` over size x size windows, stride size, VALID (NHWC)."""
  n, h, w, c = x.shape
  windows = x[:, :h // size * size, :w // size * size].reshape(
      n, h // size, size, w // size, size, c)
  return reduce(windows, axis=(2, 4))


class LayersTest(tf.test.TestCase):

  def testConvPoolFlattenFullyConnected(self):
    x = _rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
    with tf.Graph().as_default():
      with slim.arg_scope([slim.conv2d, slim.fully_connected],
                          activation_fn=tf.nn.relu):
        conv = slim.conv2d(tf.constant(x), 4, [1, 1], scope='conv')
        pooled = slim.max_pool2d(conv, [2, 2], scope='max')
        averaged = slim.avg_pool2d(conv, [3, 3], stride=3, scope='avg')
        logits = slim.fully_connected(slim.flatten(pooled), 5,
                                      activation_fn=None, scope='fc')
      values = _run({'conv': conv, 'pooled': pooled, 'averaged': averaged,
                     'logits': logits,
                     'variables': {v.op.name: v
                                   for v in tf.trainable_variables()}})
    variables = values['variables']
    conv = np.maximum(x.dot(variables['conv/weights'][0, 0]) +
                      variables['conv/biases'], 0)
    pooled = _pool(conv, 2, np.max)
    self.assertAllClose(values['conv'], conv, rtol=1e-5, atol=1e-5)
    self.assertAllClose(values['pooled'], pooled, rtol=1e-5, atol=1e-5)
    self.assertAllClose(values['averaged'], _pool(conv, 3, np.mean),
                        rtol=1e-5, atol=1e-5)
    self.assertAllClose(
        values['logits'], pooled.reshape(2, -1).dot(
            variables['fc/weights']) + variables['fc/biases'],
        rtol=1e-5, atol=1e-5)

  def testTransposeAndSeparableConvolutions(self):
    x = _rng(2).normal(size=(1, 3, 3, 2)).astype(np.float32)
    with tf.Graph().as_default():
      up = slim.conv2d_transpose(tf.constant(x), 4, [1, 1], stride=2,
                                 activation_fn=None, scope='up')
      depthwise = slim.separable_conv2d(tf.constant(x), None, [1, 1],
                                        depth_multiplier=2,
                                        activation_fn=None, scope='dw')
      values = _run([up, depthwise, tf.trainable_variables()])
    (up, depthwise, (up_weights, up_biases, dw_weights, dw_biases)) = values
    # 1x1 kernels: stride 2 puts each pixel at even positions, biases
    # elsewhere; depthwise scales each channel by its multipliers.
    expected_up = np.tile(up_biases, (1, 6, 6, 1))
    expected_up[:, ::2, ::2] += x.dot(up_weights[0, 0].T)
    self.assertAllClose(up, expected_up, rtol=1e-5, atol=1e-5)
    expected_dw = (x[..., :, None] * dw_weights[0, 0]).reshape(1, 3, 3, 4)
    self.assertAllClose(depthwise, expected_dw + dw_biases, rtol=1e-5,
                        atol=1e-5)

  def testRepeatAndStackNameAndChainTheirLayers(self):
    x = _rng(3).normal(size=(2, 3)).astype(np.float32)
    with tf.Graph().as_default():
      stacked = slim.stack(tf.constant(x), slim.fully_connected, [4, 3],
                           activation_fn=None, scope='mlp')
      repeated = slim.repeat(stacked, 2, slim.fully_connected, 3,
                             activation_fn=tf.tanh, scope='rep')
      names = [v.op.name for v in tf.trainable_variables()]
      values = _run([stacked, repeated, tf.trainable_variables()])
    self.assertEqual(names, [
        'mlp/mlp_1/weights', 'mlp/mlp_1/biases', 'mlp/mlp_2/weights',
        'mlp/mlp_2/biases', 'rep/rep_1/weights', 'rep/rep_1/biases',
        'rep/rep_2/weights', 'rep/rep_2/biases'])
    stacked, repeated, params = values
    net = x
    for weights, biases in zip(params[0:4:2], params[1:4:2]):
      net = net.dot(weights) + biases
    self.assertAllClose(stacked, net, rtol=1e-5, atol=1e-5)
    for weights, biases in zip(params[4::2], params[5::2]):
      net = np.tanh(net.dot(weights) + biases)
    self.assertAllClose(repeated, net, rtol=1e-5, atol=1e-5)

  def testOneHotSoftmaxUnitNormDropout(self):
    x = _rng(4).normal(size=(2, 3, 4)).astype(np.float32)
    with tf.Graph().as_default():
      is_training = tf.placeholder_with_default(False, [])
      outputs = {
          'one_hot': slim.one_hot_encoding(tf.constant([2, 0]), 3),
          'softmax': slim.softmax(tf.constant(x)),
          'unit_norm': slim.unit_norm(tf.constant(x), dim=2),
          'dropout': slim.dropout(tf.constant(x), 0.5,
                                  is_training=is_training),
      }
      values = _run(outputs)
      with tf.Session() as sess:
        dropped = sess.run(outputs['dropout'], {is_training: True})
    self.assertAllEqual(values['one_hot'], [[0, 0, 1], [1, 0, 0]])
    exp = np.exp(x - x.max(axis=2, keepdims=True))
    self.assertAllClose(values['softmax'], exp / exp.sum(2, keepdims=True),
                        rtol=1e-5)
    self.assertAllClose(values['unit_norm'],
                        x / np.linalg.norm(x, axis=2, keepdims=True),
                        rtol=1e-5)
    self.assertAllEqual(values['dropout'], x)  # Not training: identity.
    kept = dropped != 0
    self.assertAllClose(dropped[kept], 2 * x[kept], rtol=1e-6)
    self.assertBetween(kept.mean(), 0.2, 0.8)


class NormalizationTest(tf.test.TestCase):

  def testLayerInstanceAndGroupNorm(self):
    x = _rng(5).normal(2.0, 3.0, size=(2, 4, 4, 6)).astype(np.float32)
    with tf.Graph().as_default():
      outputs = _run({
          'layer': slim.layer_norm(tf.constant(x), begin_norm_axis=1),
          'instance': slim.instance_norm(tf.constant(x), epsilon=1e-6),
          'group': slim.group_norm(tf.constant(x), groups=3, epsilon=1e-6),
      })
    def normalized(values, axes, epsilon):
      mean = values.mean(axis=axes, keepdims=True)
      return (values - mean) / np.sqrt(
          values.var(axis=axes, keepdims=True) + epsilon)
    self.assertAllClose(outputs['layer'], normalized(x, (1, 2, 3), 1e-12),
                        rtol=1e-4, atol=1e-4)
    self.assertAllClose(outputs['instance'], normalized(x, (1, 2), 1e-6),
                        rtol=1e-4, atol=1e-4)
    groups = normalized(x.reshape(2, 4, 4, 3, 2), (1, 2, 4), 1e-6)
    self.assertAllClose(outputs['group'], groups.reshape(x.shape),
                        rtol=1e-4, atol=1e-4)


class RegularizersAndInitializersTest(tf.test.TestCase):

  def testRegularizationLossesOfLayers(self):
    x = np.ones((1, 3), np.float32)
    with tf.Graph().as_default():
      slim.fully_connected(
          tf.constant(x), 2,
          weights_regularizer=slim.l1_l2_regularizer(0.1, 0.2),
          biases_regularizer=slim.l2_regularizer(0.3),
          biases_initializer=tf.constant_initializer(0.5))
      weights_var = slim.get_variables_by_suffix('weights')[0]
      extra = slim.apply_regularization(slim.l1_regularizer(0.4),
                                        [weights_var])
      total = tf.losses.get_regularization_loss()
      weights, losses, extra, total = _run([
          weights_var, tf.losses.get_regularization_losses(), extra, total])
    l1_l2 = 0.1 * np.abs(weights).sum() + 0.2 * np.square(weights).sum() / 2
    biases = 0.3 * np.square([0.5, 0.5]).sum() / 2
    self.assertAllClose(extra, 0.4 * np.abs(weights).sum(), rtol=1e-5)
    # apply_regularization adds its loss to the same collection.
    self.assertAllClose(sorted(losses), sorted([l1_l2, biases, extra]),
                        rtol=1e-5)
    self.assertAllClose(total, l1_l2 + biases + extra, rtol=1e-5)

  def testXavierAndVarianceScalingStayInTheirBounds(self):
    with tf.Graph().as_default():
      xavier = tf.get_variable('xavier', [200, 100],
                               initializer=slim.xavier_initializer(seed=1))
      scaled = tf.get_variable(
          'scaled', [300, 50], initializer=slim.variance_scaling_initializer(
              factor=2.0, mode='FAN_IN', uniform=True, seed=2))
      xavier, scaled = _run([xavier, scaled])
    for values, limit in ((xavier, np.sqrt(6.0 / 300)),
                          (scaled, np.sqrt(3 * 2.0 / 300))):
      self.assertLessEqual(np.abs(values).max(), limit)
      self.assertGreater(np.abs(values).max(), 0.9 * limit)
      self.assertAllClose(values.var(), limit ** 2 / 3, rtol=0.1)


class LossesTest(tf.test.TestCase):

  def testLossesAgainstNumPy(self):
    rng = _rng(6)
    predictions = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    labels = rng.randint(0, 2, (4, 3)).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, (4, 1)).astype(np.float32)
    logits = rng.normal(size=(4, 3)).astype(np.float32)
    with tf.Graph().as_default():
      p, l, w = (tf.constant(v) for v in (predictions, labels, weights))
      losses = _run({
          'mse': slim.losses.mean_squared_error(p, l, w),
          'absolute': slim.losses.absolute_difference(p, l),
          'log': slim.losses.log_loss(p, l, epsilon=1e-7),
          'hinge': tf.reduce_mean(slim.losses.hinge_loss(tf.constant(logits),
                                                         l)),
          'sigmoid': slim.losses.sigmoid_cross_entropy(tf.constant(logits),
                                                       l),
          'total': slim.losses.get_total_loss(add_regularization_losses=False),
      }, init=False)
    sigmoid = 1 / (1 + np.exp(-logits))
    expected = {
        # Weighted sum over the number of elements with a weight.
        'mse': np.sum(np.square(predictions - labels) * weights) / 12,
        'absolute': np.abs(predictions - labels).mean(),
        'log': -np.mean(labels * np.log(predictions + 1e-7) +
                        (1 - labels) * np.log(1 - predictions + 1e-7)),
        'hinge': np.maximum(0, 1 - (2 * labels - 1) * logits).mean(),
        'sigmoid': -np.mean(labels * np.log(sigmoid) +
                            (1 - labels) * np.log(1 - sigmoid)),
    }
    # hinge_loss (unreduced) is not added to the LOSSES collection.
    expected['total'] = sum(v for k, v in expected.items() if k != 'hinge')
    for name, value in expected.items():
      self.assertAllClose(losses[name], value, rtol=1e-5, msg=name)


class VariablesTest(tf.test.TestCase):

  def testFindingAndAssigningVariables(self):
    with tf.Graph().as_default():
      with tf.variable_scope('net'):
        weights = slim.model_variable('weights', shape=[2, 2])
        step = slim.variable('step', shape=[], dtype=tf.int64,
                             initializer=tf.zeros_initializer(),
                             trainable=False)
      self.assertEqual(slim.get_unique_variable('net/weights'), weights)
      self.assertEqual(slim.get_variables_by_name('step'), [step])
      self.assertEqual(slim.get_variables_by_suffix('weights'), [weights])
      self.assertEqual(slim.get_model_variables(), [weights])
      self.assertEqual(slim.get_trainable_variables('net'), [weights])
      self.assertEqual(slim.get_variables_to_restore(exclude=['net/step']),
                       [weights])
      values = {'net/weights': np.array([[1., 2.], [3., 4.]], np.float32),
                'net/step': np.int64(7)}
      assign_op, feed_dict = slim.assign_from_values(values)
      init_fn = slim.assign_from_values_fn({'net/step': np.int64(9)})
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(assign_op, feed_dict)
        self.assertAllEqual(sess.run(weights), values['net/weights'])
        self.assertEqual(sess.run(step), 7)
        init_fn(sess)
        self.assertEqual(sess.run(step), 9)


class MetricsTest(tf.test.TestCase):

  def testStreamingMetricsOverTwoBatches(self):
    rng = _rng(7)
    predictions = rng.randint(0, 2, (2, 6))
    labels = rng.randint(0, 2, (2, 6))
    values = rng.normal(size=(2, 6)).astype(np.float32)
    targets = rng.normal(size=(2, 6)).astype(np.float32)
    with tf.Graph().as_default():
      p, l = tf.placeholder(tf.int64, [6]), tf.placeholder(tf.int64, [6])
      v, t = tf.placeholder(tf.float32, [6]), tf.placeholder(tf.float32, [6])
      metrics, updates = slim.metrics.aggregate_metric_map({
          'accuracy': slim.metrics.streaming_accuracy(p, l),
          'precision': slim.metrics.streaming_precision(p, l),
          'recall': slim.metrics.streaming_recall(p, l),
          'mean_iou': slim.metrics.streaming_mean_iou(p, l, 2),
          'mse': slim.metrics.streaming_mean_squared_error(v, t),
          'mae': slim.metrics.streaming_mean_absolute_error(v, t),
          'less': slim.metrics.streaming_percentage_less(v, 0.0),
          'mean_tensor': slim.metrics.streaming_mean_tensor(v),
      })
      with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        for batch in range(2):
          sess.run(updates, {p: predictions[batch], l: labels[batch],
                             v: values[batch], t: targets[batch]})
        actual = sess.run(metrics)
    p, l = predictions.ravel() == 1, labels.ravel() == 1
    iou = [np.sum(p & l) / np.sum(p | l), np.sum(~p & ~l) / np.sum(~p | ~l)]
    expected = {
        'accuracy': np.mean(p == l), 'precision': np.sum(p & l) / np.sum(p),
        'recall': np.sum(p & l) / np.sum(l), 'mean_iou': np.mean(iou),
        'mse': np.mean(np.square(values - targets)),
        'mae': np.mean(np.abs(values - targets)),
        'less': np.mean(values < 0.0), 'mean_tensor': values.mean(axis=0),
    }
    for name, value in expected.items():
      self.assertAllClose(actual[name], value, rtol=1e-5, msg=name)


class SummariesTest(tf.test.TestCase):

  def testScalarAndHistogramSummaries(self):
    with tf.Graph().as_default():
      loss = tf.constant(2.5)
      weights = tf.constant([1.0, 2.0, 3.0], name='weights')
      summaries = (slim.summaries.add_scalar_summaries([loss], prefix='p') +
                   slim.summaries.add_histogram_summaries([weights]))
      self.assertEqual(tf.get_collection(tf.GraphKeys.SUMMARIES), summaries)
      summary = tf.Summary.FromString(_run(tf.summary.merge(summaries),
                                           init=False))
    values = {value.tag: value for value in summary.value}
    self.assertEqual(sorted(values), ['p/Const', 'weights_1'])
    self.assertEqual(values['p/Const'].simple_value, 2.5)
    histogram = values['weights_1'].histo
    self.assertEqual((histogram.num, histogram.sum, histogram.min,
                      histogram.max), (3, 6.0, 1.0, 3.0))


class TfSlimNetsTest(tf.test.TestCase):
  """tf_slim.nets: a network with batch norm and a tensor `is_training`."""

  def testResnetV2TrainsItsMovingAveragesOnlyWhenTraining(self):
    images = _rng(8).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    blocks = [resnet_v2.resnet_v2_block('block1', base_depth=2, num_units=2,
                                        stride=2),
              resnet_v2.resnet_v2_block('block2', base_depth=4, num_units=1,
                                        stride=1)]
    with tf.Graph().as_default():
      is_training = tf.placeholder_with_default(False, [])
      with slim.arg_scope(resnet_v2.resnet_arg_scope()):
        logits, end_points = resnet_v2.resnet_v2(
            tf.constant(images), blocks, num_classes=4,
            is_training=is_training, scope='tiny')
      self.assertEqual(logits.shape.as_list(), [2, 1, 1, 4])
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      self.assertNotEmpty(updates)
      mean = tf.global_variables('tiny/postnorm/moving_mean')[0]
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(updates)
        self.assertAllEqual(sess.run(mean), np.zeros(16))
        probabilities, _ = sess.run([end_points['predictions'], updates],
                                    {is_training: True})
        self.assertNotAllEqual(sess.run(mean), np.zeros(16))
    self.assertAllClose(probabilities.sum(axis=-1), np.ones((2, 1, 1)),
                        rtol=1e-5)


if __name__ == '__main__':
  tf.test.main()
