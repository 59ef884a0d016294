"""Tests of nets.training (the library) against NumPy and slim's rules."""

import io
import os
import tempfile
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import deployment as deployment_lib
from nets import training
from nets_test import testing

SIZE = 80
BATCH_NORM_DECAY = 0.9997  # inception_v3_arg_scope's.
FIRST_LAYER = 'InceptionV3/Conv2d_1a_3x3'


def conv_3x3_stride_2(images, kernel):
  """VALID 3x3/2 convolution of [b, h, w, c] by [3, 3, c, f], in NumPy."""
  size = (images.shape[1] - 3) // 2 + 1
  out = 0.0
  for i in range(3):
    for j in range(3):
      patch = images[:, i:i + 2 * size - 1:2, j:j + 2 * size - 1:2, :]
      out = out + np.einsum('bhwc,cf->bhwf', patch.astype(np.float64),
                            kernel[i, j].astype(np.float64))
  return out


class SlimBatchNormTest(tf.test.TestCase):
  """One step of slim's default BatchNorm (training mode everywhere)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    checkpoint = os.path.join(root, 'init', 'model.ckpt')
    cls.initial = testing.write_checkpoint(checkpoint)
    cls.images = np.random.RandomState(0).uniform(
        -1, 1, [2, SIZE, SIZE, 3]).astype(np.float32)
    config = training.TrainConfig(
        checkpoint_path=checkpoint, checkpoint_exclude_scopes=training.HEADS,
        trainable_scopes=['InceptionV3/Logits'], optimizer='sgd',
        learning_rate=0.1, max_number_of_steps=1)
    cls.train_dir = os.path.join(root, 'train')
    with tf.Graph().as_default():
      built = training.build_training(tf.constant(cls.images),
                                      tf.constant([0, 1]), 3, config, 10)
      cls.update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      cls.variables_to_train = [v.op.name for v in built.variables_to_train]
      init_fn = training.fine_tune_init_fn(config, built, out=io.StringIO())
      cls.result = training.run(built, cls.train_dir, config,
                                init_fn=init_fn, out=io.StringIO())
    cls.saved = testing.read_checkpoint(cls.result.checkpoint)

  def testOneStepToItsCheckpoint(self):
    self.assertEqual(self.result.global_step, 1)
    self.assertEqual(os.path.basename(self.result.checkpoint),
                     'model.ckpt-1')
    self.assertEqual(self.variables_to_train,
                     ['InceptionV3/Logits/Conv2d_1c_1x1/weights',
                      'InceptionV3/Logits/Conv2d_1c_1x1/biases'])

  def testTrainableVariablesOutsideTheScopesAreUnchanged(self):
    for name, value in self.initial.items():
      if name.startswith(training.HEADS) or 'moving_' in name:
        continue
      self.assertAllEqual(self.saved[name], value, msg=name)

  def testEveryMovingStatisticMoves(self):
    moving = [n for n in self.initial
              if 'moving_' in n and not n.startswith(training.HEADS)]
    self.assertLen(moving, 2 * 94)
    self.assertLen(self.update_ops, 2 * 94)
    for name in moving:
      self.assertFalse(np.array_equal(self.saved[name], self.initial[name]),
                       name)

  def testFirstLayerMovingStatisticsAsNumPy(self):
    conv = conv_3x3_stride_2(self.images,
                             self.initial[FIRST_LAYER + '/weights'])
    mean = conv.mean(axis=(0, 1, 2))
    count = conv.size // conv.shape[-1]
    variance = conv.var(axis=(0, 1, 2)) * count / (count - 1)  # Unbiased.
    for name, batch in (('moving_mean', mean), ('moving_variance',
                                                variance)):
      old = self.initial['%s/BatchNorm/%s' % (FIRST_LAYER, name)]
      new = self.saved['%s/BatchNorm/%s' % (FIRST_LAYER, name)]
      expected = (batch - old) * (1 - BATCH_NORM_DECAY)
      self.assertAllClose(new - old, expected, rtol=2e-3, atol=1e-7)


def build(size=SIZE, batch=2, deployment=deployment_lib.Deployment(),
          **config):
  """training.build_training on a zero batch of 3 classes, in the default graph."""
  config = training.TrainConfig(**config)
  images = tf.zeros([batch, size, size, 3])
  labels = tf.zeros([batch], tf.int64)
  return training.build_training(images, labels, 3, config, 10, deployment)


class BuildTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One graph the tests below only read: 106 pixels (one short of the aux
    # head), Mixed_7c trained and its BatchNorm the only one in training.
    with tf.Graph().as_default():
      built = build(size=106, trainable_scopes=['InceptionV3/Mixed_7c'],
                    freeze_batch_norm=True)
      cls.frozen_losses = [l.op.name for l in
                           tf.get_collection(tf.GraphKeys.LOSSES)]
      cls.frozen_updates = [op.name for op in
                            tf.get_collection(tf.GraphKeys.UPDATE_OPS)]
      cls.frozen_trained = [v.op.name for v in built.variables_to_train]

  def testAuxLossWeighsPoint4From107Pixels(self):
    with tf.Graph().as_default():
      built = build(size=107)
      losses = tf.get_collection(tf.GraphKeys.LOSSES)
      self.assertEqual([l.op.name for l in losses],
                       ['aux_loss/value', 'softmax_cross_entropy_loss/value'])
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        aux_loss, aux_logits = sess.run([losses[0],
                                         built.end_points['AuxLogits']])
      # Labels 0: -log softmax(aux_logits)[:, 0], averaged.
      cross_entropy = -np.log(testing.softmax(aux_logits)[:, 0]).mean()
      self.assertAllClose(aux_loss, 0.4 * cross_entropy, rtol=1e-5)
    # One pixel less: no aux head, no aux loss.
    self.assertEqual(self.frozen_losses, ['softmax_cross_entropy_loss/value'])

  def testFrozenBatchNormHasNoUpdatesOutsideTheScopes(self):
    self.assertTrue(self.frozen_updates)
    self.assertTrue(all('Mixed_7c' in name for name in self.frozen_updates))
    self.assertTrue(all(n.startswith('InceptionV3/Mixed_7c')
                        for n in self.frozen_trained))
    self.assertIn('InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/BatchNorm/'
                  'beta', self.frozen_trained)

  def testClonesOnCpuDevices(self):
    with tf.Graph().as_default():
      deployment = deployment_lib.Deployment(num_clones=2, clone_on_cpu=True)
      built = build(batch=4, deployment=deployment,
                    trainable_scopes=['InceptionV3/Logits'],
                    freeze_batch_norm=True)
      graph = tf.get_default_graph()
      for i in range(2):
        logits = graph.get_operation_by_name(
            'clone_%d/InceptionV3/Logits/Conv2d_1c_1x1/Conv2D' % i)
        self.assertEqual(logits.device, '/device:CPU:%d' % i)
        self.assertEqual(logits.inputs[0].shape[0], 2)
      self.assertEqual(built.images_per_step, 4)
      with tf.Session(config=deployment.session_config()) as sess:
        sess.run(tf.global_variables_initializer())
        loss, step = sess.run([built.train_op, built.step])
      self.assertTrue(np.isfinite(loss))
      self.assertEqual(step, 1)

  def testScopeErrorsNameTheScope(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, 'trainable_scopes: Foo matches '
                                  'no trainable variable'):
        build(trainable_scopes=['Foo'])
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, 'checkpoint_exclude_scopes: '
                                  'InceptionV3/Logitz matches no model '
                                  'variable'):
        build(checkpoint_path='unused',
              checkpoint_exclude_scopes=['InceptionV3/Logitz'])

  def testConfigErrors(self):
    for kwargs, message in [
        (dict(optimizer='lbfgs'), "optimizer must be one of .*'lbfgs'"),
        (dict(batch_size=0), 'batch_size must be an integer >= 1, got 0'),
        (dict(train_image_size=74), 'train_image_size must be >= 75'),
        (dict(moving_average_decay=1.0), 'moving_average_decay must be in'),
        (dict(learning_rate_decay_type='cosine'), 'learning_rate_decay_type'),
    ]:
      with self.assertRaisesRegex(ValueError, message):
        training.TrainConfig(**kwargs)

  def testLearningRatesAsSlim(self):
    with tf.Graph().as_default():
      step = tf.placeholder(tf.int64, [])
      rates = {
          kind: training.learning_rate(training.TrainConfig(
              learning_rate=0.1, learning_rate_decay_type=kind,
              learning_rate_decay_factor=0.5, end_learning_rate=0.01), step,
                                       steps_per_decay=10)
          for kind in training.LEARNING_RATE_DECAY_TYPES}
      with tf.Session() as sess:
        for at, expected in [(0, (0.1, 0.1, 0.1)), (9, (0.1, 0.1, 0.019)),
                             (25, (0.025, 0.1, 0.01))]:
          got = sess.run([rates['exponential'], rates['fixed'],
                          rates['polynomial']], {step: at})
          self.assertAllClose(got, expected, rtol=1e-5)
    self.assertEqual(training.decay_steps(1000, 32, 2.0), 62)
    self.assertEqual(training.decay_steps(10, 32, 2.0), 1)

  def testOptimizersWithSlimsParameters(self):
    expected = {'adadelta': 'Adadelta', 'adagrad': 'Adagrad', 'adam': 'Adam',
                'ftrl': 'Ftrl', 'momentum': 'Momentum', 'rmsprop': 'RMSProp',
                'sgd': 'GradientDescent'}
    for name in training.OPTIMIZERS:
      opt = training.optimizer(training.TrainConfig(optimizer=name), 0.1)
      self.assertEqual(opt.get_name(), expected[name])
    rmsprop = training.optimizer(training.TrainConfig(), 0.1)
    self.assertEqual((rmsprop._decay, rmsprop._momentum, rmsprop._epsilon),
                     (0.9, 0.9, 1.0))


class BenchmarkTrainingRowsTest(tf.test.TestCase):
  """benchmark.py --compare=train,keras_train: both compute all gradients."""

  def testBothRowsRunAGradientPerVariable(self):
    from nets.benchmarking import config as config_lib  # pylint: disable=g-import-not-at-top
    from nets.benchmarking import runners  # pylint: disable=g-import-not-at-top
    self.assertEqual(runners.expand_names(['train', 'keras_train']),
                     list(runners.TRAINING_NAMES))
    self.assertNotIn('train', runners.expand_names(['all']))
    config = config_lib.Config(batch_size=1, image_size=75, num_classes=10)
    sizes = {}
    for name in runners.TRAINING_NAMES:
      runner = runners.make_runner(name, config, None, {})
      try:
        self.assertIsNone(runner.logits)
        sizes[name] = len(runner.step())
      finally:
        runner.close()
    # One gradient per trainable variable: slim's 190 at 75 pixels (no aux
    # head) plus the logits' biases; Keras' has conv kernels, BatchNorm
    # betas (no gammas: scale=False) and the dense layer's kernel and bias.
    self.assertEqual(sizes['train'], 190)
    self.assertEqual(sizes['keras_train'], 190)


@slim.add_arg_scope
def _no_dropout(inputs, keep_prob=0.5, is_training=True, scope=None,
                **unused_kwargs):
  """slim.dropout's signature, keeping everything (deterministic losses)."""
  del keep_prob, is_training, scope
  return inputs


class BenchmarkBuildsTheTrainersLossTest(tf.test.TestCase):
  """benchmark.py's forward-backward graph has nets.training's loss."""

  def testSameLossOnTheSameWeightsAndBatch(self):
    from nets.benchmarking import config as config_lib  # pylint: disable=g-import-not-at-top
    from nets.benchmarking import graphs  # pylint: disable=g-import-not-at-top
    size, num_classes = 107, 5  # The aux head's loss included.
    images = np.random.RandomState(1).uniform(
        -1, 1, [2, size, size, 3]).astype(np.float32)
    labels = np.array([0, 3], np.int32)
    losses = []
    # Dropout draws differ between graphs: both builds keep everything.
    with mock.patch.object(slim, 'dropout', _no_dropout):
      with tf.Graph().as_default():
        # The loss does not depend on the optimizer: SGD has no slots to
        # build and initialize.
        built = training.build_training(
            tf.constant(images), tf.constant(labels), num_classes,
            training.TrainConfig(optimizer='sgd'), num_samples_per_epoch=10)
        # Random values of the network's variables (global_step and the
        # optimizer's slots keep their initializers).
        network = slim.get_model_variables()
        values = testing.random_values(network)
        with tf.Session() as session:
          session.run(tf.global_variables_initializer())
          testing.assign(session, network, values)
          losses.append(session.run(built.total_loss))
          regularization = session.run(
              tf.add_n(tf.losses.get_regularization_losses()))
      config = config_lib.Config(mode='forward-backward', batch_size=2,
                                 image_size=size, num_classes=num_classes)
      model = graphs.build_model(config, values)
      with graphs.start_session(model, config) as session:
        losses.append(session.run(model.loss, {model.images[0]: images,
                                               model.labels: labels}))
    self.assertGreater(regularization, 0.1)  # Weight decay counts in both.
    self.assertAllClose(losses[0], losses[1], rtol=1e-4)


class SeedTest(tf.test.TestCase):
  """A seed fixes the training batches: order, crops, flips and colours."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    rng = np.random.RandomState(0)
    images = [rng.randint(0, 256, (20 + i, 24, 3)).astype(np.uint8)
              for i in range(6)]
    for i, encoded in enumerate(testing.encode_images(images, 'png')):
      folder = os.path.join(cls.dir, 'class_%d' % (i % 2))
      os.makedirs(folder, exist_ok=True)
      with open(os.path.join(folder, '%d.png' % i), 'wb') as f:
        f.write(encoded)

  def batches(self, seed, count=3):
    from nets import input_pipeline  # pylint: disable=g-import-not-at-top
    config = training.TrainConfig(train_image_size=SIZE, batch_size=4,
                                  num_preprocessing_threads=4, seed=seed)
    with tf.Graph().as_default():
      tf.set_random_seed(seed)
      batch = training.input_batches(
          input_pipeline.ImageFolder(self.dir), config, seed=seed)
      with tf.Session() as sess:
        return [sess.run(batch) for _ in range(count)]

  def testSameSeedSameBatches(self):
    first, second = self.batches(7), self.batches(7)
    for (images_1, labels_1), (images_2, labels_2) in zip(first, second):
      self.assertAllEqual(labels_1, labels_2)
      self.assertAllEqual(images_1, images_2)
    other = self.batches(8)
    self.assertFalse(all(np.array_equal(a[0], b[0])
                         for a, b in zip(first, other)))

  def testSeedIsChecked(self):
    with self.assertRaisesRegex(ValueError, 'seed must be an integer >= 0, '
                                'got -1'):
      training.TrainConfig(seed=-1)


if __name__ == '__main__':
  tf.test.main()
