"""End-to-end tests of nets.train_image_classifier, run as a user runs it.

A folder of red and blue images (two classes a network with random trunk
weights tells apart) is converted with nets.convert_images; the tool
fine-tunes only InceptionV3/Logits of a 1001-class checkpoint with the
heads excluded and BatchNorm frozen, then resumes to a later step; the
held-out split is evaluated with nets.eval_image_classifier, and so are the
checkpoint's float and int8 TensorFlow Lite models (nets.to_tflite).
"""

import functools
import io
import os
import signal
import socket
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf

from nets import convert_images
from nets import dataset_factory
from nets import eval_image_classifier
from nets import input_pipeline
from nets import preprocessing_factory
from nets import to_tflite
from nets import train_dir as train_dir_lib
from nets_test import testing

TOOL = 'nets.train_image_classifier'
SIZE = 80
COLOURS = ((220, 30, 30), (30, 30, 220))
IMAGES_PER_CLASS = 16
HEADS = 'InceptionV3/Logits,InceptionV3/AuxLogits'
LOGITS = 'InceptionV3/Logits'
STEPS, RESUMED_STEPS = 30, 33
EMA_DECAY = 0.9
SEED = 1


def write_images(root):
  """root/<colour>/<i>.png: noisy images of one colour per class, 75..107."""
  rng = np.random.RandomState(0)
  images = []
  for colour in COLOURS:
    for i in range(IMAGES_PER_CLASS):
      shape = (75 + 2 * i, 107 - 2 * i, 3)
      images.append(np.clip(np.array(colour) + rng.randint(-30, 31, shape),
                            0, 255).astype(np.uint8))
  encoded = testing.encode_images(images, 'png')
  for label, colour in enumerate(COLOURS):
    folder = os.path.join(root, 'class_%d' % label)
    os.makedirs(folder)
    for i in range(IMAGES_PER_CLASS):
      with open(os.path.join(folder, '%02d.png' % i), 'wb') as f:
        f.write(encoded[label * IMAGES_PER_CLASS + i])
  return root


@functools.lru_cache(maxsize=1)
def image_folder():
  """write_images' folder, once per test process (the runs only read it)."""
  return write_images(os.path.join(
      tempfile.mkdtemp(dir=tf.test.get_temp_dir()), 'images'))


write_he_checkpoint = testing.write_he_checkpoint


def train_args(train_dir, dataset_dir, checkpoint, *extra):
  return ['--train_dir=' + train_dir, '--dataset_name=custom',
          '--dataset_dir=' + dataset_dir, '--checkpoint_path=' + checkpoint,
          '--checkpoint_exclude_scopes=' + HEADS,
          '--trainable_scopes=' + LOGITS, '--train_image_size=%d' % SIZE,
          '--batch_size=8', '--optimizer=momentum', '--learning_rate=0.1',
          '--weight_decay=0', '--num_readers=1',
          '--num_preprocessing_threads=2'] + list(extra)


class FineTuneTest(tf.test.TestCase):
  """One fine-tuning run (frozen BatchNorm, EMA), resumed once."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    folder = cls.folder = image_folder()
    cls.dataset_dir = os.path.join(cls.dir, 'converted')
    convert_images.convert(folder, cls.dataset_dir, validation_fraction=0.25,
                           num_shards=2, out=io.StringIO(),
                           err=io.StringIO())
    cls.checkpoint = os.path.join(cls.dir, 'he', 'model.ckpt')
    cls.initial = write_he_checkpoint(cls.checkpoint)
    cls.train_dir = os.path.join(cls.dir, 'train')
    args = train_args(cls.train_dir, cls.dataset_dir, cls.checkpoint,
                      '--freeze_batch_norm', '--log_every_n_steps=1',
                      '--moving_average_decay=%g' % EMA_DECAY,
                      # Unseeded, the loss fell to 0.6-0.7x in three runs
                      # and not at all (1.08x) in a fourth.
                      '--seed=%d' % SEED)
    cls.first = testing.run_tool(TOOL, *args,
                                 '--max_number_of_steps=%d' % STEPS)
    cls.saved = testing.read_checkpoint(
        os.path.join(cls.train_dir, 'model.ckpt-%d' % STEPS))
    cls.second = testing.run_tool(
        TOOL, *args, '--max_number_of_steps=%d' % RESUMED_STEPS)

  def progress(self, stdout):
    """[(step, loss)] of the progress lines."""
    steps = []
    for line in stdout.splitlines():
      if line.startswith('global step '):
        step, rest = line[len('global step '):].split(': loss = ')
        steps.append((int(step), float(rest.split()[0])))
        self.assertRegex(line, r'\(\d+\.\d+ sec/step, \d+\.\d images/s\)$')
    return steps

  def testRunsQuietlyAndLogs(self):
    rc, stdout, stderr = self.first
    self.assertEqual((rc, stderr), (0, []), stdout)
    self.assertIn('Fine-tuning from %s: 376 variables restored, %s excluded'
                  % (self.checkpoint, HEADS), stdout)
    self.assertEqual([s for s, _ in self.progress(stdout)],
                     list(range(1, STEPS + 1)))
    self.assertIn('Stopped at global step %d: %s' % (
        STEPS, os.path.join(self.train_dir, 'model.ckpt-%d' % STEPS)),
                  stdout)

  def testTheLossFalls(self):
    losses = [loss for _, loss in self.progress(self.first[1])]
    # Random crops, flips and colours make the losses noisy: the last 10
    # averaged 0.72x the first 5 in one run of three (below 0.6x in the
    # others); that it learnt is tested by the held-out accuracy.
    self.assertLess(np.mean(losses[-10:]), 0.85 * np.mean(losses[:5]))

  def testOnlyTheLogitsChangeAndFrozenBatchNormIsUnchanged(self):
    changed = []
    for name, initial in self.initial.items():
      if name.startswith(tuple(HEADS.split(','))):
        continue
      if not np.array_equal(self.saved[name], initial):
        changed.append(name)
    self.assertEqual(changed, [])
    # The moving statistics are restored values, kept exactly.
    self.assertTrue(any(n.endswith('moving_variance') for n in self.initial))
    weights = LOGITS + '/Conv2d_1c_1x1/weights'
    self.assertEqual(self.saved[weights].shape, (1, 1, 2048, 2))
    self.assertEqual(int(self.saved['global_step']), STEPS)
    self.assertNotIn('InceptionV3/AuxLogits/Conv2d_2b_1x1/weights',
                     self.saved)  # No aux head at 80 pixels.

  def testHeldOutAccuracy(self):
    # The features of this He-initialized trunk are 98% one direction
    # common to both classes (|mean f|^2 8.04 of |f|^2 8.17; the class means
    # 0.69 apart). So the last step's raw weights carry a class-independent
    # offset that swings with the labels of the last batches (measured -1.47
    # to +0.88 in three runs, against class margins 2.8 apart: one run of
    # three put all 8 images in one class, accuracy 0.5), while the moving
    # averages' offset stays within +-0.42 (accuracy 1.0 in all three). The
    # averages must reach the bar; the raw weights must rank every image of
    # class 1 above every image of class 0.
    validation = dataset_factory.get_dataset('custom', 'validation',
                                             self.dataset_dir)
    self.assertEqual(validation.num_samples, 8)
    result = eval_image_classifier.evaluate(
        validation, os.path.join(self.train_dir, 'model.ckpt-%d' % STEPS),
        batch_size=8, eval_image_size=SIZE, moving_average_decay=EMA_DECAY,
        out=io.StringIO())
    self.assertEqual(result.num_images, 8)
    self.assertGreaterEqual(result.accuracy, 0.9)
    held_out = convert_images.split_images(
        input_pipeline.ImageFolder(self.folder), 0.25, seed=0)['validation']
    encoded = []
    for path, _ in held_out:
      with open(path, 'rb') as f:
        encoded.append(f.read())
    _, logits = testing.session_outputs(
        self.saved, 2, SIZE, np.zeros([1, SIZE, SIZE, 3], np.float32),
        encoded)
    margins = logits[:, 1] - logits[:, 0]
    labels = np.array([label for _, label in held_out])
    self.assertGreater(margins[labels == 1].min(), margins[labels == 0].max())

  def testTfliteInt8CostsLessThanOnePointAndAgreesWithFloat(self):
    # nets.to_tflite on this run's moving averages, float and int8
    # (calibrated on the training split), both evaluated on the held-out
    # one. Here rather than in to_tflite_test: the checkpoint this class
    # trains, not a second fine-tuning run.
    data = ['--dataset_name=custom', '--dataset_dir=' + self.dataset_dir]
    out = tempfile.mkdtemp(dir=self.dir)
    models, accuracy = {}, {}
    for mode in 'none', 'int8':
      path = models[mode] = os.path.join(out, mode + '.tflite')
      rc, stdout, stderr = testing.run_tool(
          'nets.to_tflite', '--checkpoint_path=' + os.path.join(
              self.train_dir, 'model.ckpt-%d' % STEPS), '--output=' + path,
          '--image_size=%d' % SIZE, '--quantize=' + mode,
          '--moving_average_decay=%g' % EMA_DECAY, *data)
      self.assertEqual((rc, stderr), (0, []), mode)
      if mode == 'int8':
        # Calibrated on 12 training images, verified on 12 others.
        self.assertIn('verified on 12 held-out images: logits top-1 equal '
                      'to TF on 12 of 12', stdout)
      rc, stdout, stderr = testing.run_tool(
          'nets.eval_image_classifier', '--tflite_model=' + path, *data)
      self.assertEqual((rc, stderr), (0, []), stdout)
      line = stdout.splitlines()[-1]
      self.assertRegex(line, r'^Accuracy \S+ \(\d+/8\), ')
      accuracy[mode] = float(line.split()[1])
    self.assertGreaterEqual(accuracy['none'], 0.9)  # It learnt.
    self.assertLessEqual(abs(accuracy['int8'] - accuracy['none']), 0.01)
    # Top-1 agreement on the held-out split: at least 98% (all 8).
    validation = dataset_factory.get_dataset('custom', 'validation',
                                             self.dataset_dir)
    images = to_tflite.read_images(
        validation, 8, SIZE,
        preprocessing_factory.get_preprocessing('inception_v3'))
    self.assertLen(images, 8)
    top1 = {mode: to_tflite.TfliteModel(path).run(images)[0].argmax(1)
            for mode, path in models.items()}
    self.assertGreaterEqual(np.mean(top1['int8'] == top1['none']), 0.98)

  def testMovingAveragesAreSaved(self):
    weights = LOGITS + '/Conv2d_1c_1x1/weights'
    shadow = self.saved[weights + '/ExponentialMovingAverage']
    self.assertFalse(np.array_equal(shadow, self.saved[weights]))
    # Restored variables: the shadow started at the value and stays there.
    name = 'InceptionV3/Conv2d_1a_3x3/weights'
    self.assertAllEqual(self.saved[name + '/ExponentialMovingAverage'],
                        self.initial[name])

  def testResumesAndStopsExactly(self):
    rc, stdout, stderr = self.second
    self.assertEqual((rc, stderr), (0, []), stdout)
    self.assertIn('Resuming from %s (global step %d); checkpoint_path is not '
                  'used' % (os.path.join(self.train_dir, 'model.ckpt-%d' %
                                         STEPS), STEPS), stdout)
    self.assertNotIn('Fine-tuning from', stdout)
    self.assertEqual([s for s, _ in self.progress(stdout)],
                     list(range(STEPS + 1, RESUMED_STEPS + 1)))
    latest = tf.train.latest_checkpoint(self.train_dir)
    self.assertEqual(os.path.basename(latest),
                     'model.ckpt-%d' % RESUMED_STEPS)
    self.assertEqual(int(testing.read_checkpoint(latest)['global_step']),
                     RESUMED_STEPS)

  def testSummaries(self):
    tags = testing.summary_values(self.train_dir)
    for tag in ('total_loss', 'learning_rate', 'Losses/clone_loss',
                'sparsity/Mixed_7c',
                'losses/softmax_cross_entropy_loss/value'):
      self.assertIn(tag, tags)
    # slim's default schedule: 0.1 x 0.94 ** k, staircase (k = epochs / 2).
    # When the summaries are written (every --save_summaries_secs) varies.
    powers = np.log(np.array(tags['learning_rate']) / 0.1) / np.log(0.94)
    self.assertAllClose(powers, np.round(powers), atol=1e-3)
    self.assertTrue(np.all(powers > -1e-3), powers)

  def testErrorsAreOneLine(self):
    missing = os.path.join(self.dir, 'nothing')
    run_dir = os.path.join(self.dir, 'errors')
    cases = [
        (['--optimizer=lbfgs'], 'flag --optimizer=lbfgs'),
        (['--trainable_scopes=InceptionV3/Nope'],
         'trainable_scopes: InceptionV3/Nope matches no trainable variable'),
        (['--checkpoint_exclude_scopes='],
         'the model 2: use num_classes=1001, or exclude InceptionV3/Logits,'
         'InceptionV3/AuxLogits to fine-tune'),
        (['--dataset_dir=' + missing], 'has no metadata file'),
    ]
    for extra, message in cases:
      rc, _, stderr = testing.run_tool(TOOL, *train_args(
          run_dir, self.dataset_dir, self.checkpoint, *extra))
      self.assertEqual(rc, 1, extra)
      self.assertLen(stderr, 1, (extra, stderr))
      self.assertStartsWith(stderr[0], TOOL + ': error: ')
      self.assertIn(message, stderr[0])
    self.assertFalse(tf.io.gfile.exists(os.path.join(run_dir, 'checkpoint')))

  def testHelp(self):
    rc, stdout, stderr = testing.run_tool(TOOL, '--help')
    self.assertEqual((rc, stderr), (0, []))
    for flag in ('--train_dir', '--freeze_batch_norm', '--rmsprop_decay',
                 '--dataset_split_name', '--sync_replicas', '--num_clones'):
      self.assertIn(flag, stdout)


class InterruptTest(tf.test.TestCase):

  def testCtrlCSavesAndExits130(self):
    root = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    folder = image_folder()
    train_dir = os.path.join(root, 'train')
    proc = testing.start_tool(
        TOOL, '--train_dir=' + train_dir, '--image_dir=' + folder,
        '--train_image_size=%d' % SIZE, '--batch_size=2',
        '--log_every_n_steps=1', '--num_readers=1',
        '--trainable_scopes=' + LOGITS, '--freeze_batch_norm',
        fresh=True)  # Ctrl-C: as a user's process, not a fork's.
    try:
      for line in proc.stdout:
        if line.startswith('global step 2:'):
          break
      proc.send_signal(signal.SIGINT)
      _, stderr = proc.communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
    finally:
      proc.kill()
    self.assertEqual(proc.returncode, 130, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    self.assertLen(lines, 1)
    latest = tf.train.latest_checkpoint(train_dir)
    step = int(latest.rsplit('-', 1)[1])
    self.assertGreaterEqual(step, 2)
    self.assertEqual(lines[0], '%s: error: interrupted at global step %d; '
                     'saved %s' % (TOOL, step, latest))


def free_ports(count):
  """`count` localhost ports that were free a moment ago."""
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('localhost', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


class ClusterTest(tf.test.TestCase):
  """One ps and two workers on localhost, each its own process."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    cls.folder = image_folder()

  def train_on_cluster(self, *extra):
    ps, worker_0, worker_1 = free_ports(3)
    train_dir = tempfile.mkdtemp(dir=self.dir)
    args = ['--ps_hosts=localhost:%d' % ps,
            '--worker_hosts=localhost:%d,localhost:%d' % (worker_0, worker_1),
            '--train_dir=' + train_dir, '--image_dir=' + self.folder,
            '--train_image_size=%d' % SIZE, '--batch_size=2',
            '--trainable_scopes=' + LOGITS, '--freeze_batch_norm',
            '--optimizer=sgd', '--max_number_of_steps=2', '--num_readers=1',
            '--log_every_n_steps=1'] + list(extra)

    def start(job, task):
      return testing.start_tool(TOOL, '--job_name=' + job,
                                '--task=%d' % task, *args)

    # The ps serves until it is killed. (Its Ctrl-C, exit 130 and one
    # line, is ClusterFaultsTest's: a new interpreter, as a user's.)
    processes = [start('ps', 0), start('worker', 1), start('worker', 0)]
    try:
      outputs = [p.communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
                 for p in processes[1:]]
    finally:
      for p in processes:
        p.kill()
      processes[0].communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
    self.assertEqual([p.returncode for p in processes[1:]], [0, 0], outputs)
    chief_stdout = outputs[1][0]
    latest = os.path.join(train_dir, 'model.ckpt-2')
    self.assertIn('Stopped at global step 2: ' + latest, chief_stdout)
    self.assertNotIn('Stopped at', outputs[0][0])  # Only the chief saves.
    self.assertEqual(tf.train.latest_checkpoint(train_dir), latest)
    self.assertEqual(int(testing.read_checkpoint(latest)['global_step']), 2)

  def testAsynchronous(self):
    self.train_on_cluster()

  def testSynchronous(self):
    self.train_on_cluster('--sync_replicas')


# --- Faults: what a careless user or a full disk does --------------------------

def folder_args(train_dir, folder, *extra):
  """A small run on an image folder, only the logits trained (random init)."""
  return ['--train_dir=' + train_dir, '--image_dir=' + folder,
          '--train_image_size=%d' % SIZE, '--batch_size=2', '--num_readers=1',
          '--trainable_scopes=' + LOGITS, '--freeze_batch_norm',
          '--log_every_n_steps=1', '--optimizer=sgd'] + list(extra)


def error_line(stderr):
  """The one stderr line of a failed run, without the tool's prefix."""
  assert len(stderr) == 1, stderr
  prefix = TOOL + ': error: '
  assert stderr[0].startswith(prefix), stderr
  return stderr[0][len(prefix):]


def all_finite(values):
  return all(np.all(np.isfinite(v)) for v in values.values()
             if np.issubdtype(np.asarray(v).dtype, np.floating))


def progress_steps(stdout):
  return [int(line.split()[2].rstrip(':')) for line in stdout.splitlines()
          if line.startswith('global step ')]


class NonFiniteLossAndResumeTest(tf.test.TestCase):
  """A learning rate of 1e38 makes the loss NaN: the run stops, exit 1, the
  newest checkpoint the last finite one; the train_dir, then moved and with
  what a killed save leaves, resumes."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    cls.folder = image_folder()
    train_dir = os.path.join(cls.dir, 'train')
    cls.nan = testing.run_tool(TOOL, *folder_args(
        train_dir, cls.folder, '--learning_rate=1e38',
        '--max_number_of_steps=5'))
    cls.after_nan = sorted(os.listdir(train_dir))
    cls.nan_latest = tf.train.latest_checkpoint(train_dir)
    cls.nan_values = testing.read_checkpoint(cls.nan_latest)
    # Moved, with a state file of absolute paths (as older runs wrote it)
    # naming a checkpoint whose save was killed before its index.
    cls.moved = os.path.join(cls.dir, 'moved')
    os.rename(train_dir, cls.moved)
    with open(os.path.join(cls.moved, 'checkpoint'), 'w') as f:
      for key, step in (('all_model_checkpoint_paths', 0),
                        ('all_model_checkpoint_paths', 7),
                        ('model_checkpoint_path', 7)):
        f.write('%s: "%s/model.ckpt-%d"\n' % (key, train_dir, step))
    for name in ('model.ckpt-7.data-00000-of-00001',
                 'model.ckpt-7_temp/part-00000-of-00001.data-00000-of-00001'
                 '.tempstate123'):
      path = os.path.join(cls.moved, name)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      with open(path, 'wb') as f:
        f.write(b'\0' * 100)
    cls.resumed = testing.run_tool(TOOL, *folder_args(
        cls.moved, cls.folder, '--max_number_of_steps=1'))

  def testStopsAtTheFirstNonFiniteLoss(self):
    rc, stdout, stderr = self.nan
    self.assertEqual(rc, 1, (stdout, stderr))
    message = error_line(stderr)
    self.assertRegex(message, r'^the loss is (nan|inf) at global step (\d+): '
                     r'learning_rate 1e\+38 is likely too high \(try a smaller '
                     r'one\); stopped without saving: the newest checkpoint, '
                     r'model.ckpt-0, is the last finite one$')
    step = int(message.split('global step ')[1].split(':')[0])
    # Every step before it was logged, none after.
    self.assertEqual(progress_steps(stdout), list(range(1, step)))

  def testTheNewestCheckpointIsTheLastFiniteOne(self):
    self.assertEqual(os.path.basename(self.nan_latest), 'model.ckpt-0')
    self.assertEqual([n for n in self.after_nan if n.endswith('.index')],
                     ['model.ckpt-0.index'])
    self.assertTrue(all_finite(self.nan_values))
    self.assertEqual(int(self.nan_values['global_step']), 0)

  def testMovedTrainDirResumesSkippingTheKilledSave(self):
    rc, stdout, stderr = self.resumed
    self.assertEqual((rc, stderr), (0, []), stdout)
    self.assertIn('Skipped model.ckpt-7: incomplete (no model.ckpt-7.index), '
                  'removed\n', stdout)
    self.assertIn('Resuming from %s (global step 0)' % os.path.join(
        self.moved, 'model.ckpt-0'), stdout)
    latest = os.path.join(self.moved, 'model.ckpt-1')
    self.assertIn('Stopped at global step 1: ' + latest, stdout)
    self.assertEqual(tf.train.latest_checkpoint(self.moved), latest)
    self.assertFalse([n for n in os.listdir(self.moved)
                      if n.startswith('model.ckpt-7')])
    with open(os.path.join(self.moved, 'checkpoint')) as f:
      self.assertEqual(f.read(), 'model_checkpoint_path: "model.ckpt-1"\n'
                       'all_model_checkpoint_paths: "model.ckpt-0"\n'
                       'all_model_checkpoint_paths: "model.ckpt-1"\n')


class RefusedEarlyTest(tf.test.TestCase):
  """Runs refused before they train: one line, exit 1, nothing written."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    cls.folder = image_folder()

  def testEmptySplit(self):
    converted = os.path.join(self.dir, 'all_validation')
    convert_images.convert(self.folder, converted, validation_fraction=1.0,
                           out=io.StringIO(), err=io.StringIO())
    train_dir = os.path.join(self.dir, 'empty')
    rc, _, stderr = testing.run_tool(
        TOOL, '--train_dir=' + train_dir, '--dataset_name=custom',
        '--dataset_dir=' + converted, '--train_image_size=%d' % SIZE)
    self.assertEqual(rc, 1)
    self.assertEqual(error_line(stderr),
                     'no examples to train on: %s has none (use another '
                     'split or dataset)' % os.path.join(
                         converted, 'custom_train_*.tfrecord'))
    self.assertFalse(os.path.exists(train_dir))

  def testTrainDirInUse(self):
    train_dir = os.path.join(self.dir, 'busy')
    # This test's process holds it (the tool runs in another process).
    held = train_dir_lib.lock(train_dir)
    try:
      rc, stdout, stderr = testing.run_tool(TOOL, *folder_args(
          train_dir, self.folder, '--max_number_of_steps=1'))
    finally:
      held.release()
    self.assertEqual(rc, 1, stdout)
    self.assertEqual(error_line(stderr),
                     'train_dir %s is in use by process %d on %s (another '
                     'training); wait for it to end or give another '
                     '--train_dir' % (train_dir, os.getpid(),
                                      socket.gethostname()))
    self.assertEqual(os.listdir(train_dir), ['lock'])


class FullDiskTest(tf.test.TestCase):
  """A save that fails on a full disk: one line, nothing half-written."""

  @testing.needs_tmpfs
  def testFailedSaveLeavesTheLastCheckpoint(self):
    root = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    folder = image_folder()
    disk = os.path.join(root, 'disk')
    os.makedirs(disk)
    train_dir = os.path.join(disk, 'train')
    # The small disk goes with the run: what it left is copied out first.
    after = os.path.join(root, 'after')
    # About 100 MB hold the graph and model.ckpt-0 (87 MB of variables),
    # not a second checkpoint.
    rc, stdout, stderr = testing.run_tool_on_small_disk(
        TOOL, disk, *folder_args(train_dir, folder, '--max_number_of_steps=2'),
        size='135m', copy=(train_dir, after))
    self.assertEqual(rc, 1, (stdout, stderr))
    self.assertRegex(
        error_line(stderr),
        r'^cannot save checkpoint model.ckpt-2 in %s: No space left on '
        r'device \(a checkpoint takes about 8\d\.\d MB, \d+\.\d MB free\)$'
        % train_dir)
    latest = tf.train.latest_checkpoint(after)
    self.assertEqual(latest, os.path.join(after, 'model.ckpt-0'))
    values = testing.read_checkpoint(latest)
    self.assertEqual(int(values['global_step']), 0)
    self.assertTrue(all_finite(values))
    self.assertEqual([f for f in sorted(os.listdir(after))
                      if f.startswith('model.ckpt')],
                     ['model.ckpt-0.data-00000-of-00001',
                      'model.ckpt-0.index', 'model.ckpt-0.meta'])


def start_tool(*args):
  # Each is stopped with Ctrl-C: as a user's process, not a fork's.
  return testing.start_tool(TOOL, *args, fresh=True)


def read_until(proc, start):
  """stdout lines of proc up to the first that starts with `start`."""
  lines = []
  for line in proc.stdout:
    lines.append(line)
    if line.startswith(start):
      return lines
  raise AssertionError('no line %r in %r' % (start, lines))


def interrupt(proc):
  """Ctrl-C: (exit status, non-empty stderr lines)."""
  proc.send_signal(signal.SIGINT)
  _, stderr = proc.communicate(timeout=60)
  return proc.returncode, [l for l in stderr.splitlines() if l.strip()]


class ClusterFaultsTest(tf.test.TestCase):
  """A ps whose workers never come, a worker whose chief never comes."""

  def testWorkerWaitingForTheChiefSaysSoAndStopsOnCtrlC(self):
    root = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    folder = image_folder()
    ps, chief, worker = free_ports(3)
    hosts = ['--ps_hosts=127.0.0.1:%d' % ps,
             '--worker_hosts=127.0.0.1:%d,127.0.0.1:%d' % (chief, worker)]
    ps_proc = start_tool(*hosts, '--job_name=ps', '--task=0')
    worker_proc = None
    try:
      lines = read_until(ps_proc, 'ps task 0 serving on')
      self.assertEqual(
          lines[0], 'ps task 0: TensorFlow serves on every interface at port '
          '%d, with no authentication: keep the cluster on a private '
          'network\n' % ps)
      # Probe: TensorFlow 2.21 binds 0.0.0.0 (grpc_server_lib.cc), whatever
      # the host list says; 127.0.0.2 is loopback too. Should this fail,
      # TensorFlow binds the given host: say so instead of the note above.
      with socket.create_connection(('127.0.0.2', ps), timeout=10):
        pass
      worker_proc = start_tool(
          *hosts, '--job_name=worker', '--task=1',
          '--train_dir=' + os.path.join(root, 'train'), '--image_dir=' +
          folder, '--train_image_size=%d' % SIZE, '--batch_size=2',
          '--trainable_scopes=' + LOGITS, '--freeze_batch_norm')
      read_until(worker_proc,
                 'worker task 1: waiting for the chief (worker task 0, '
                 '127.0.0.1:%d) to start and initialize the variables '
                 '(Ctrl-C stops)' % chief)
      self.assertEqual(interrupt(worker_proc),
                       (130, [TOOL + ': error: interrupted']))
      self.assertEqual(interrupt(ps_proc),
                       (130, [TOOL + ': error: interrupted']))
    finally:
      for proc in (ps_proc, worker_proc):
        if proc is not None:
          proc.kill()
          proc.communicate()

  def testCtrlCWhileAPsTaskStarts(self):
    # In TensorFlow's import, then as soon as the server serves.
    for wait_for_line in (False, True):
      ps = free_ports(1)[0]
      proc = start_tool('--ps_hosts=127.0.0.1:%d' % ps,
                        '--worker_hosts=127.0.0.1:%d' % free_ports(1)[0],
                        '--job_name=ps', '--task=0')
      try:
        if wait_for_line:
          read_until(proc, 'ps task 0: TensorFlow serves')
        else:
          time.sleep(1.0)
        self.assertEqual(interrupt(proc),
                         (130, [TOOL + ': error: interrupted']))
      finally:
        proc.kill()
        proc.communicate()


class KilledWhileSavingTest(tf.test.TestCase):
  """SIGKILL while a checkpoint is being written: the next run resumes from
  the newest complete one and removes the unfinished save."""

  def testResumesFromTheNewestCompleteCheckpoint(self):
    root = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    folder = image_folder()
    train_dir = os.path.join(root, 'train')
    # SIGKILL: no exit path runs, so a warm fork is a user's process here.
    proc = testing.start_tool(TOOL, *folder_args(
        train_dir, folder, '--save_interval_secs=1',
        '--max_number_of_steps=100000'))
    unfinished = None
    try:
      deadline = time.time() + testing.SUBPROCESS_TIMEOUT_S
      while unfinished is None and time.time() < deadline:
        for name in os.listdir(train_dir) if os.path.isdir(train_dir) else ():
          if name.endswith('_temp') and os.path.exists(
              os.path.join(train_dir, 'model.ckpt-0.index')):
            unfinished = name
        time.sleep(0.01)
      proc.send_signal(signal.SIGKILL)
      proc.communicate()
    finally:
      proc.kill()
    self.assertIsNotNone(unfinished)
    # A save writes its index last: the newest index is the newest complete
    # checkpoint, whether or not the state file names it yet.
    step = max(int(n[len('model.ckpt-'):-len('.index')])
               for n in os.listdir(train_dir) if n.endswith('.index'))
    newest = os.path.join(train_dir, 'model.ckpt-%d' % step)
    rc, stdout, stderr = testing.run_tool(TOOL, *folder_args(
        train_dir, folder, '--max_number_of_steps=%d' % (step + 1)))
    self.assertEqual((rc, stderr), (0, []), stdout)
    self.assertIn('Resuming from %s (global step %d)' % (newest, step),
                  stdout)
    latest = os.path.join(train_dir, 'model.ckpt-%d' % (step + 1))
    self.assertIn('Stopped at global step %d: %s' % (step + 1, latest),
                  stdout)
    self.assertFalse([n for n in os.listdir(train_dir)
                      if n.endswith('_temp')])
    for name in os.listdir(train_dir):
      if name.startswith('model.ckpt-') and '.' in name:
        prefix = os.path.join(train_dir, name.split('.')[0] + '.' +
                              name.split('.')[1])
        self.assertTrue(os.path.exists(prefix + '.index'), name)


if __name__ == '__main__':
  tf.test.main()
