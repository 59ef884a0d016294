"""research/slim's way of training, on this package: model_deploy and friends.

A trainer written as research/slim's `train_image_classifier.py` is (its
imports mapped to `nets`, tf.contrib.slim to tf_slim, TensorFlow to
tf.compat.v1 with v2 behaviour off): DeploymentConfig, the global step on
the variables' device, a slim Dataset read by DatasetDataProvider and
batched into a prefetch queue, create_clones of a clone_fn with slim.losses,
optimize_clones with var_list, the first clone's update ops and
slim.learning.train. It runs in a new interpreter on a dataset
`nets.convert_images` wrote.
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

from nets_test import testing

SIZE = 107  # The smallest input with the aux head (and its loss).
STEPS = 2

SLIM_STYLE_TRAINER = """
import json, sys
import tensorflow.compat.v1 as tf
import tf_slim as slim
from nets import dataset_factory
from nets import model_deploy
from nets import nets_factory
from nets import preprocessing_factory

tf.disable_v2_behavior()
train_dir, dataset_dir, size, steps = sys.argv[1], sys.argv[2], int(
    sys.argv[3]), int(sys.argv[4])

with tf.Graph().as_default():
  deploy_config = model_deploy.DeploymentConfig(num_clones=2,
                                                clone_on_cpu=True)
  with tf.device(deploy_config.variables_device()):
    global_step = slim.create_global_step()
  dataset = dataset_factory.get_dataset('custom', 'train', dataset_dir)
  network_fn = nets_factory.get_network_fn(
      'inception_v3', num_classes=dataset.num_classes, weight_decay=0.00004,
      is_training=True)
  image_preprocessing_fn = preprocessing_factory.get_preprocessing(
      'inception_v3', is_training=True)
  with tf.device(deploy_config.inputs_device()):
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, num_readers=1, common_queue_capacity=20, common_queue_min=4)
    [image, label] = provider.get(['image', 'label'])
    image = image_preprocessing_fn(image, size, size)
    images, labels = tf.train.batch([image, label], batch_size=2,
                                    num_threads=1, capacity=10)
    labels = slim.one_hot_encoding(labels, dataset.num_classes)
    batch_queue = slim.prefetch_queue.prefetch_queue(
        [images, labels], capacity=2 * deploy_config.num_clones)

  def clone_fn(batch_queue):
    images, labels = batch_queue.dequeue()
    logits, end_points = network_fn(images)
    if 'AuxLogits' in end_points:
      slim.losses.softmax_cross_entropy(
          end_points['AuxLogits'], labels, weights=0.4, scope='aux_loss')
    slim.losses.softmax_cross_entropy(logits, labels, weights=1.0)
    return end_points

  summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
  clones = model_deploy.create_clones(deploy_config, clone_fn, [batch_queue])
  first_clone_scope = deploy_config.clone_scope(0)
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone_scope)
  with tf.device(deploy_config.optimizer_device()):
    optimizer = tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.9,
                                          epsilon=1.0)
  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer, var_list=tf.trainable_variables())
  summaries.add(tf.summary.scalar('total_loss', total_loss))
  update_ops.append(optimizer.apply_gradients(clones_gradients,
                                              global_step=global_step))
  with tf.control_dependencies([tf.group(*update_ops)]):
    train_tensor = tf.identity(total_loss, name='train_op')
  summaries |= set(tf.get_collection(tf.GraphKeys.SUMMARIES,
                                     first_clone_scope))
  summary_op = tf.summary.merge(list(summaries), name='summary_op')
  final_loss = slim.learning.train(
      train_tensor, logdir=train_dir, summary_op=summary_op,
      number_of_steps=steps, log_every_n_steps=1, save_summaries_secs=600,
      save_interval_secs=600)
  print(json.dumps({
      'final_loss': float(final_loss),
      'clone_scopes': [c.scope for c in clones],
      'update_ops': len(update_ops),
      'gradients': len(clones_gradients),
      'trainable': len(tf.trainable_variables()),
      'losses': sorted(l.op.name for l in tf.get_collection(
          tf.GraphKeys.LOSSES)),
  }))
"""


def write_images(root):
  """root/class_<k>/<i>.png: 4 noisy images of one colour per class."""
  rng = np.random.RandomState(0)
  for label, colour in enumerate(((220, 30, 30), (30, 30, 220))):
    images = [np.clip(np.array(colour) + rng.randint(-30, 31, (90, 90, 3)),
                      0, 255).astype(np.uint8) for _ in range(4)]
    folder = os.path.join(root, 'class_%d' % label)
    os.makedirs(folder)
    for i, data in enumerate(testing.encode_images(images, 'png')):
      with open(os.path.join(folder, '%d.png' % i), 'wb') as f:
        f.write(data)
  return root


class SlimStyleTrainerTest(tf.test.TestCase):

  def testTrainsAFewStepsOnACustomDataset(self):
    root = self.get_temp_dir()
    dataset_dir = os.path.join(root, 'dataset')
    rc, _, err = testing.run_tool(
        'nets.convert_images', '--image_dir=' + write_images(
            os.path.join(root, 'images')), '--output_dir=' + dataset_dir,
        '--validation_fraction=0.25')
    self.assertEqual(rc, 0, err)
    train_dir = os.path.join(root, 'train')
    result = testing.run_python(['-c', SLIM_STYLE_TRAINER, train_dir,
                                 dataset_dir, str(SIZE), str(STEPS)])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertTrue(np.isfinite(report['final_loss']))
    self.assertEqual(report['clone_scopes'], ['clone_0/', 'clone_1/'])
    # The first clone's BatchNorm layers (94, and 2 in the aux head), 2
    # statistics each, then the optimizer's update.
    self.assertEqual(report['update_ops'], 2 * (94 + 2) + 1)
    self.assertEqual(report['gradients'], report['trainable'])
    self.assertEqual(report['losses'], [
        'clone_%d/%s/value' % (i, name) for i in range(2)
        for name in ('aux_loss', 'softmax_cross_entropy_loss')])
    checkpoint = tf.train.latest_checkpoint(train_dir)
    self.assertEqual(os.path.basename(checkpoint), 'model.ckpt-%d' % STEPS)
    saved = testing.read_checkpoint(checkpoint)
    self.assertEqual(saved['global_step'], STEPS)
    self.assertIn('InceptionV3/AuxLogits/Conv2d_2b_1x1/weights', saved)
    self.assertIn('InceptionV3/Logits/Conv2d_1c_1x1/weights/RMSProp', saved)


if __name__ == '__main__':
  tf.test.main()
