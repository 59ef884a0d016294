"""Slim users' scripts on Inception V3, through the paths slim_compat patches.

A tensor `is_training` (what fine-tuning scripts feed: patch 3's
`smart_cond`), and a fine-tuning run as research/slim users write it:
restore the trunk, `slim.learning.create_train_op` with gradient clipping,
multipliers and summaries, `slim.learning.train`, then
`slim.evaluation.evaluate_once` with streaming metrics that needed patch 3.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets_test import testing

NUM_CLASSES = 5
SIZE = 107  # The smallest input with the auxiliary head.
HEADS = ['InceptionV3/Logits', 'InceptionV3/AuxLogits']
ENDPOINTS = ('AvgPool_1a', 'PreLogits', 'Logits', 'AuxLogits')


def _images(seed=0):
  return np.random.RandomState(seed).uniform(
      -1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)


def _moving_statistics():
  return [v for v in tf.global_variables() if 'moving_' in v.op.name]


class TensorIsTrainingTest(tf.test.TestCase):
  """inception_v3 with `is_training` a tensor = with the Python bool."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.checkpoint = os.path.join(tf.test.get_temp_dir(), 'is_training',
                                  'model.ckpt')
    cls.values = testing.write_checkpoint(cls.checkpoint, NUM_CLASSES, SIZE,
                                          seed=7)
    cls.images = _images()

  def _run(self, is_training):
    """Endpoints and moving statistics after runs with the update ops.

    Args:
      is_training: True or False, or None for a
        `tf.placeholder_with_default(False, [])`, run unfed, then fed True.

    Returns:
      ([({endpoint: value}, {moving statistic: value after the run}) per
      run], number of update ops).
    """
    with tf.Graph().as_default():
      if is_training is None:
        is_training = tf.placeholder_with_default(False, [])
        feeds = [{}, {is_training: True}]
      else:
        feeds = [{}]
      _, end_points = testing.build_classifier(
          tf.constant(self.images), NUM_CLASSES, is_training=is_training)
      fetches = {name: end_points[name] for name in ENDPOINTS}
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      statistics = _moving_statistics()
      saver = tf.train.Saver()
      results = []
      with self.session() as sess:
        for feed in feeds:
          saver.restore(sess, self.checkpoint)
          outputs, _ = sess.run([fetches, updates], feed)
          results.append((outputs, dict(zip(
              [v.op.name for v in statistics], sess.run(statistics)))))
      return results, len(updates)

  def _assert_close(self, actual, expected):
    scale = np.abs(expected).max()
    self.assertGreater(scale, 0.0)
    self.assertAllClose(actual, expected, rtol=0, atol=1e-4 * scale)

  def testBothModesMatchThePythonBoolGraphs(self):
    [(inference, unchanged), (training, updated)], num_updates = self._run(
        None)
    [(python_false, _)], python_false_updates = self._run(False)
    [(python_true, python_updated)], python_true_updates = self._run(True)
    self.assertEqual(python_false_updates, 0)
    self.assertEqual(num_updates, python_true_updates)
    self.assertEqual(num_updates, len(unchanged))  # Mean and variance each.

    # Unfed (False): moving statistics, no dropout, updates change nothing.
    for name in ENDPOINTS:
      self._assert_close(inference[name], python_false[name])
    self.assertAllEqual(inference['PreLogits'], inference['AvgPool_1a'])
    for name, value in unchanged.items():
      self.assertAllEqual(value, self.values[name])

    # Fed True: batch statistics, dropout, the moving averages updated.
    for name in ('AvgPool_1a', 'AuxLogits'):
      self._assert_close(training[name], python_true[name])
    active = training['AvgPool_1a'] != 0  # After ReLUs, some are 0.
    kept = active & (training['PreLogits'] != 0)
    self.assertGreater(active.sum(), 1000)
    self.assertBetween(1.0 - kept.sum() / active.sum(), 0.1, 0.3)  # p = 0.8
    self._assert_close(training['PreLogits'][kept],
                       training['AvgPool_1a'][kept] / 0.8)
    self.assertCountEqual(updated, python_updated)
    for name, value in updated.items():
      self._assert_close(value, python_updated[name])
      self.assertNotAllEqual(value, self.values[name])


def _classifier(images, is_training):
  return testing.build_classifier(tf.constant(images), NUM_CLASSES,
                                  is_training=is_training)


class FineTuningScriptTest(tf.test.TestCase):
  """Fine-tune the heads of a checkpoint, then evaluate: slim's workflow."""

  LABELS = np.array([1, 3])
  CLIP_NORM = 5.0
  LEARNING_RATE = 0.01
  STEPS = 2

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = os.path.join(tf.test.get_temp_dir(), 'fine_tuning')
    cls.checkpoint = os.path.join(root, 'pretrained', 'model.ckpt')
    cls.pretrained = testing.write_checkpoint(cls.checkpoint, NUM_CLASSES,
                                              SIZE, seed=8)
    cls.train_dir = os.path.join(root, 'train')
    cls.images = _images(seed=1)
    cls.final_loss, cls.summaries = cls._train()

  @classmethod
  def _train(cls):
    """The training part of a fine-tuning script (train_image_classifier).

    Returns:
      (the last loss, {tag: value} of the scalar summaries of the trained
      model). train's summary thread runs once at the start and may not
      finish in 2 steps, so the summaries are run here after training.
    """
    with tf.Graph().as_default():
      is_training = tf.placeholder_with_default(True, [])
      logits, end_points = _classifier(cls.images, is_training)
      one_hot = tf.one_hot(cls.LABELS, NUM_CLASSES)
      slim.losses.softmax_cross_entropy(end_points['AuxLogits'], one_hot,
                                        weights=0.4)
      slim.losses.softmax_cross_entropy(logits, one_hot)
      total_loss = slim.losses.get_total_loss()
      slim.summaries.add_scalar_summary(total_loss, 'fine_tuning_loss')
      init_fn = slim.assign_from_checkpoint_fn(
          cls.checkpoint, slim.get_variables_to_restore(exclude=HEADS))
      cls.trainable = tf.trainable_variables()
      heads = [v for v in tf.trainable_variables()
               if v.op.name.startswith(tuple(HEADS))]
      train_op = slim.learning.create_train_op(
          total_loss,
          tf.train.MomentumOptimizer(cls.LEARNING_RATE, 0.9),
          clip_gradient_norm=cls.CLIP_NORM,
          gradient_multipliers={v: 10.0 for v in heads},
          summarize_gradients=True)
      summary_op = tf.summary.merge_all()
      saver = tf.train.Saver()
      loss = slim.learning.train(train_op, cls.train_dir, init_fn=init_fn,
                                 number_of_steps=cls.STEPS,
                                 summary_op=summary_op, saver=saver)
      with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint(cls.train_dir))
        summary = tf.Summary.FromString(sess.run(summary_op))
      return loss, {value.tag: value.simple_value for value in summary.value
                    if value.WhichOneof('value') == 'simple_value'}

  def _trained(self):
    return testing.read_checkpoint(tf.train.latest_checkpoint(self.train_dir))

  def testTrainsFromTheCheckpointWithinTheClippedSteps(self):
    self.assertTrue(np.isfinite(self.final_loss))
    self.assertEqual(tf.train.latest_checkpoint(self.train_dir),
                     os.path.join(self.train_dir, 'model.ckpt-2'))
    trained = self._trained()
    self.assertEqual(trained['global_step'], self.STEPS)
    # Each step moves a variable by at most learning rate x clipped norm,
    # momentum 0.9 included: 1 + 1.9 times; the trunk started at the
    # checkpoint (random initial values are much farther).
    bound = self.LEARNING_RATE * self.CLIP_NORM * (1 + 1.9) * (1 + 1e-5)
    trunk = [name for name in self.pretrained
             if not name.startswith(tuple(HEADS)) and name in trained and
             'moving_' not in name]
    self.assertGreater(len(trunk), 90)
    for name in trunk:
      distance = np.linalg.norm(trained[name] - self.pretrained[name])
      self.assertLessEqual(distance, bound, name)
    self.assertGreater(np.linalg.norm(
        trained['InceptionV3/Conv2d_1a_3x3/weights'] -
        self.pretrained['InceptionV3/Conv2d_1a_3x3/weights']), 0.0)
    # The moving averages were updated (UPDATE_OPS with the train op).
    name = 'InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean'
    self.assertNotAllEqual(trained[name], self.pretrained[name])

  def testGradientSummaries(self):
    # slim.learning's create_train_op summarizes with slim.training's names.
    norms = {tag: value for tag, value in self.summaries.items()
             if tag.endswith('_gradient_norm')}
    for name in ('Logits/Conv2d_1c_1x1/weights', 'Conv2d_1a_3x3/weights'):
      self.assertIn('summarize_grads/InceptionV3/%s_gradient_norm' % name,
                    norms)
    self.assertLen(norms, len(self.trainable))
    # Summarized after multiplying and clipping.
    for tag, value in norms.items():
      self.assertLessEqual(value, self.CLIP_NORM * (1 + 1e-5), tag)
    self.assertGreater(self.summaries['fine_tuning_loss'], 0.0)

  def testEvaluateOnceWithStreamingMetrics(self):
    images = _images(seed=2)
    with tf.Graph().as_default():
      logits, _ = _classifier(images, False)
      probabilities = tf.nn.softmax(logits)
      labels = tf.constant(self.LABELS)
      is_one = tf.equal(labels, 1)
      names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
          'accuracy': slim.metrics.streaming_accuracy(
              tf.argmax(logits, 1), labels),
          'tp': slim.metrics.streaming_true_positives_at_thresholds(
              probabilities[:, 1], is_one, [0.1, 0.2, 0.3]),
          'concat': slim.metrics.streaming_concat(probabilities),
          'auc': slim.metrics.streaming_dynamic_auc(
              tf.cast(is_one, tf.int64), probabilities[:, 1]),
      })
      values = slim.evaluation.evaluate_once(
          '', tf.train.latest_checkpoint(self.train_dir),
          os.path.join(self.train_dir, 'eval'), num_evals=2,
          eval_op=list(names_to_updates.values()), final_op=names_to_values)
    with tf.Graph().as_default():
      logits, _ = _classifier(images, False)
      with self.session() as sess:
        tf.train.Saver().restore(sess,
                                 tf.train.latest_checkpoint(self.train_dir))
        expected_logits = sess.run(logits)
    expected = np.tile(testing.softmax(expected_logits), (2, 1))
    self.assertAllClose(values['concat'], expected, rtol=1e-4, atol=1e-6)
    positive = expected[:, 1]
    is_one = np.tile(self.LABELS == 1, 2)
    self.assertAllEqual(values['tp'], [np.sum(is_one & (positive > t))
                                       for t in (0.1, 0.2, 0.3)])
    self.assertAllClose(values['accuracy'], np.mean(
        np.argmax(expected_logits, 1) == self.LABELS))
    auc = np.mean(positive[is_one][:, None] > positive[~is_one][None, :])
    self.assertAllClose(values['auc'], auc)
