"""slim's input pipeline, training and evaluation on a tiny model.

What slim's walkthrough and train/eval scripts do, on Flowers-format
TFRecords written here (32x32 PNG images): DatasetDataProvider,
tf.train.batch and queue runners; slim.learning.train with create_train_op
and an init_fn; slim.evaluation.evaluate_once and evaluation_loop with
slim.metrics. In this (TF2) process inside tf.Graph().as_default(), and in a
subprocess after tf.compat.v1.disable_v2_behavior().
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import dataset_utils
from nets import flowers
from nets_test import testing

NUM_IMAGES = 8
NUM_CLASSES = 5  # Flowers'.
SIZE = 32


def _logits_of(images, checkpoint):
  """testing.tiny_classifier's logits of float images, weights restored."""
  with tf.Graph().as_default():
    logits = testing.tiny_classifier(tf.constant(images), NUM_CLASSES)
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, checkpoint)
      return sess.run(logits)


def _batch(dataset, batch_size=NUM_IMAGES):
  """Images in [0, 1] and labels, batched from the dataset in file order."""
  provider = slim.dataset_data_provider.DatasetDataProvider(
      dataset, num_readers=1, shuffle=False, common_queue_capacity=16,
      common_queue_min=NUM_IMAGES)
  image, label = provider.get(['image', 'label'])
  image = tf.image.convert_image_dtype(image, tf.float32)
  image.set_shape([SIZE, SIZE, 3])
  return tf.train.batch([image, label], batch_size=batch_size, num_threads=1,
                        capacity=2 * batch_size)


class PipelineTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = os.path.join(tf.test.get_temp_dir(), 'slim_pipeline')
    cls.data_dir = os.path.join(root, 'data')
    cls.init_dir = os.path.join(root, 'init')
    os.makedirs(cls.data_dir, exist_ok=True)
    rng = np.random.RandomState(0)
    cls.images = rng.randint(0, 256, (NUM_IMAGES, SIZE, SIZE, 3)).astype(
        np.uint8)
    # Random weights and a global step, as training saves them: the
    # checkpoint of init_fn and of the evaluations.
    with tf.Graph().as_default():
      tf.set_random_seed(0)
      testing.tiny_classifier(tf.zeros([1, SIZE, SIZE, 3]), NUM_CLASSES)
      tf.train.get_or_create_global_step()
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        cls.checkpoint = tf.train.Saver().save(
            sess, os.path.join(cls.init_dir, 'model.ckpt'), global_step=0)
    cls.logits = _logits_of((cls.images / 255.0).astype(np.float32),
                            cls.checkpoint)
    predictions = cls.logits.argmax(axis=1)
    # The first 5 labelled as the model predicts them, the last 3 not: an
    # accuracy of 5/8 whatever the weights.
    cls.labels = np.concatenate([predictions[:5],
                                 (predictions[5:] + 1) % NUM_CLASSES])
    examples = [
        dataset_utils.image_to_tfexample(encoded, b'png', SIZE, SIZE,
                                         int(label))
        for encoded, label in zip(testing.encode_images(cls.images, 'png'),
                                  cls.labels)]
    testing.write_tfrecord(
        os.path.join(cls.data_dir, 'flowers_train_00000-of-00001.tfrecord'),
        examples)

  def dataset(self):
    return flowers.get_split('train', self.data_dir)

  def testBatchesWithStartQueueRunners(self):
    with tf.Graph().as_default():
      images, labels = _batch(self.dataset(), batch_size=4)
      with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord=coord)
        batches = [sess.run([images, labels]) for _ in range(2)]
        coord.request_stop()
        coord.join(threads)
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    self.assertEqual(images.shape, (NUM_IMAGES, SIZE, SIZE, 3))
    # One reader, no shuffling: the file's order.
    self.assertAllClose(images, self.images / 255.0, rtol=0, atol=1e-6)
    self.assertAllEqual(labels, self.labels)

  def testTrainTwoStepsFromInitFn(self):
    logdir = os.path.join(self.get_temp_dir(), 'train')
    losses = []

    def train_step(sess, train_op, global_step, train_step_kwargs):
      loss, should_stop = slim.learning.train_step(
          sess, train_op, global_step, train_step_kwargs)
      losses.append(loss)
      return loss, should_stop

    with tf.Graph().as_default():
      images, labels = _batch(self.dataset())
      logits = testing.tiny_classifier(images, NUM_CLASSES)
      slim.losses.softmax_cross_entropy(
          logits, slim.one_hot_encoding(labels, NUM_CLASSES))
      total_loss = slim.losses.get_total_loss()
      train_op = slim.learning.create_train_op(
          total_loss, tf.train.GradientDescentOptimizer(0.1))
      init_fn = slim.assign_from_checkpoint_fn(self.checkpoint,
                                               slim.get_model_variables())
      final_loss = slim.learning.train(train_op, logdir, number_of_steps=2,
                                       init_fn=init_fn,
                                       train_step_fn=train_step)
    # Step 1's loss is the checkpoint's (init_fn ran), on all 8 images.
    log_p = self.logits - np.log(np.exp(self.logits).sum(axis=1,
                                                         keepdims=True))
    expected = -log_p[np.arange(NUM_IMAGES), self.labels].mean()
    self.assertLen(losses, 2)
    self.assertAllClose(losses[0], expected, rtol=1e-5, atol=0)
    self.assertLess(losses[1], losses[0])  # Step 2: the same images again.
    self.assertEqual(final_loss, losses[1])
    self.assertEqual(tf.train.latest_checkpoint(logdir),
                     os.path.join(logdir, 'model.ckpt-2'))
    reader = tf.train.NewCheckpointReader(os.path.join(logdir, 'model.ckpt-2'))
    self.assertEqual(reader.get_tensor('global_step'), 2)

  def metrics(self):
    """slim's eval script's metrics on one batch of all the images."""
    images, labels = _batch(self.dataset())
    logits = testing.tiny_classifier(images, NUM_CLASSES)
    values, updates = slim.metrics.aggregate_metric_map({
        'Accuracy': slim.metrics.streaming_accuracy(tf.argmax(logits, 1),
                                                    labels),
        'Recall_2': slim.metrics.streaming_recall_at_k(logits, labels, 2),
    })
    for name, value in values.items():
      tf.summary.scalar('eval/' + name, value)
    return list(values), dict(eval_op=list(updates.values()),
                              final_op=list(values.values()))

  def expected_metrics(self):
    top2 = np.argsort(-self.logits, axis=1)[:, :2]
    return {'Accuracy': np.mean(self.logits.argmax(axis=1) == self.labels),
            'Recall_2': np.mean([l in t for l, t in zip(self.labels, top2)])}

  def testEvaluateOnce(self):
    logdir = os.path.join(self.get_temp_dir(), 'eval_once')
    with tf.Graph().as_default():
      names, ops = self.metrics()
      values = slim.evaluation.evaluate_once('', self.checkpoint, logdir,
                                             num_evals=1, **ops)
    results = dict(zip(names, values))
    self.assertEqual(results['Accuracy'], 0.625)
    self.assertAllClose(results, self.expected_metrics(), rtol=0, atol=1e-7)
    self.assertEqual(testing.summary_values(logdir)['eval/Accuracy'], [0.625])

  def testEvaluationLoop(self):
    logdir = os.path.join(self.get_temp_dir(), 'eval_loop')
    with tf.Graph().as_default():
      names, ops = self.metrics()
      values = slim.evaluation.evaluation_loop(
          '', self.init_dir, logdir, num_evals=1, eval_interval_secs=0,
          max_number_of_evaluations=1, **ops)
    self.assertAllClose(dict(zip(names, values)), self.expected_metrics(),
                        rtol=0, atol=1e-7)


_V1_SCRIPT = r'''
import os, sys
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
import tf_slim as slim
from nets import dataset_utils, flowers
from nets_test import testing

root = sys.argv[1]
images = np.random.RandomState(0).randint(0, 256, (4, 32, 32, 3))
testing.write_tfrecord(
    os.path.join(root, 'flowers_train_00000-of-00001.tfrecord'),
    [dataset_utils.image_to_tfexample(e, b'png', 32, 32, i % 5) for i, e in
     enumerate(testing.encode_images(images.astype(np.uint8), 'png'))])

def build():
  provider = slim.dataset_data_provider.DatasetDataProvider(
      flowers.get_split('train', root), num_readers=1, shuffle=False)
  image, label = provider.get(['image', 'label'])
  image = tf.image.convert_image_dtype(image, tf.float32)
  image.set_shape([32, 32, 3])
  images, labels = tf.train.batch([image, label], batch_size=4)
  return testing.tiny_classifier(images, 5), labels

with tf.Graph().as_default():
  logits, labels = build()
  loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
  train_op = slim.learning.create_train_op(
      loss, tf.train.GradientDescentOptimizer(0.1))
  slim.learning.train(train_op, os.path.join(root, 'train'), number_of_steps=2)
with tf.Graph().as_default():
  logits, labels = build()
  accuracy, update = slim.metrics.streaming_accuracy(tf.argmax(logits, 1),
                                                     labels)
  value, = slim.evaluation.evaluate_once(
      '', tf.train.latest_checkpoint(os.path.join(root, 'train')),
      os.path.join(root, 'eval'), num_evals=1, eval_op=[update],
      final_op=[accuracy])
print('OK', tf.train.latest_checkpoint(os.path.join(root, 'train')), value)
'''


class V1BehaviourTest(tf.test.TestCase):

  def testTrainAndEvaluateAfterDisableV2Behavior(self):
    root = self.get_temp_dir()
    result = testing.run_python(['-c', _V1_SCRIPT, root])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    ok, checkpoint, accuracy = result.stdout.split()[-3:]
    self.assertEqual(ok, 'OK')
    self.assertEqual(checkpoint, os.path.join(root, 'train', 'model.ckpt-2'))
    self.assertBetween(float(accuracy), 0.0, 1.0)


if __name__ == '__main__':
  tf.test.main()
