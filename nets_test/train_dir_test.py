"""Tests of nets.train_dir: the lock, and which checkpoints a run resumes."""

import os
import signal
import socket
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

from nets import train_dir
from nets_test import testing


def touch(folder, *names):
  for name in names:
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
      f.write('x')


def complete(step, shards=1):
  """The file names of a complete V2 checkpoint model.ckpt-<step>."""
  prefix = 'model.ckpt-%d' % step
  return [prefix + '.index', prefix + '.meta'] + [
      '%s.data-%05d-of-%05d' % (prefix, i, shards) for i in range(shards)]


def state(folder):
  with open(os.path.join(folder, 'checkpoint')) as f:
    return f.read()


class PrepareResumeTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp(dir=self.get_temp_dir())

  def write_state(self, newest, names):
    with open(os.path.join(self.dir, 'checkpoint'), 'w') as f:
      f.write('model_checkpoint_path: "%s"\n' % newest)
      for name in names:
        f.write('all_model_checkpoint_paths: "%s"\n' % name)

  def testKilledSaveIsSkippedAndRemoved(self):
    # What a save killed after its state write, or a half-merged one, leaves.
    touch(self.dir, *complete(10), *complete(20, shards=2))
    touch(self.dir, 'model.ckpt-30.data-00000-of-00001',
          'model.ckpt-30_temp/part-00000-of-00001.data-00000-of-00001.tmp')
    os.remove(os.path.join(self.dir, 'model.ckpt-20.data-00001-of-00002'))
    self.write_state('model.ckpt-30', ['model.ckpt-10', 'model.ckpt-20',
                                       'model.ckpt-30'])
    newest, skipped = train_dir.prepare_resume(self.dir)
    self.assertEqual(newest, os.path.join(self.dir, 'model.ckpt-10'))
    self.assertEqual(skipped, [('model.ckpt-20', '1 of 2 data files'),
                               ('model.ckpt-30', 'no model.ckpt-30.index')])
    self.assertEqual(sorted(os.listdir(self.dir)),
                     ['checkpoint'] + sorted(complete(10)))
    self.assertEqual(state(self.dir),
                     'model_checkpoint_path: "model.ckpt-10"\n'
                     'all_model_checkpoint_paths: "model.ckpt-10"\n')
    self.assertEqual(tf.train.latest_checkpoint(self.dir), newest)

  def testMovedFolderWithAbsolutePaths(self):
    touch(self.dir, *complete(1), *complete(2))
    old = '/somewhere/else/train'
    self.write_state(old + '/model.ckpt-2', [old + '/model.ckpt-1',
                                             old + '/model.ckpt-2'])
    newest, skipped = train_dir.prepare_resume(self.dir)
    self.assertEqual((newest, skipped),
                     (os.path.join(self.dir, 'model.ckpt-2'), []))
    self.assertEqual(state(self.dir),
                     'model_checkpoint_path: "model.ckpt-2"\n'
                     'all_model_checkpoint_paths: "model.ckpt-1"\n'
                     'all_model_checkpoint_paths: "model.ckpt-2"\n')

  def testNothingComplete(self):
    self.assertEqual(train_dir.prepare_resume(self.dir), (None, []))
    touch(self.dir, 'model.ckpt-0.data-00000-of-00001')
    self.write_state('model.ckpt-0', ['model.ckpt-0'])
    self.assertEqual(train_dir.prepare_resume(self.dir),
                     (None, [('model.ckpt-0', 'no model.ckpt-0.index')]))
    self.assertEqual(os.listdir(self.dir), [])
    self.assertEqual(train_dir.prepare_resume(os.path.join(self.dir, 'no')),
                     (None, []))

  def testStateFileNamingNoFilesWithoutOthers(self):
    touch(self.dir, *complete(3))
    self.write_state('model.ckpt-9', ['model.ckpt-9'])
    newest, skipped = train_dir.prepare_resume(self.dir)
    self.assertEqual(newest, os.path.join(self.dir, 'model.ckpt-3'))
    self.assertEqual(skipped, [('model.ckpt-9', 'no model.ckpt-9.index')])

  def testCheckpointStep(self):
    self.assertEqual(train_dir.checkpoint_step('/a/model.ckpt-120'), 120)
    self.assertEqual(train_dir.checkpoint_step('/a/model.ckpt'), -1)


class LockTest(tf.test.TestCase):

  def testSecondLockIsRefusedNamingTheHolder(self):
    folder = os.path.join(self.get_temp_dir(), 'locked')
    held = train_dir.lock(folder)
    try:
      # flock is per open file: a second open in this process conflicts too.
      with self.assertRaisesRegex(
          train_dir.TrainDirBusyError,
          r'^train_dir %s is in use by process %d on %s \(another '
          'training\); wait for it to end or give another --train_dir$' % (
              folder, os.getpid(), socket.gethostname())):
        train_dir.lock(folder)
    finally:
      held.release()
    train_dir.lock(folder).release()

  def testAKilledHolderDoesNotLeaveItStuck(self):
    folder = os.path.join(self.get_temp_dir(), 'killed')
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\n'
         'from nets import train_dir\n'
         'held = train_dir.lock(sys.argv[1]); print("locked", flush=True)\n'
         'time.sleep(600)', folder], cwd=testing.REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
      self.assertEqual(holder.stdout.readline(), 'locked\n')
      with self.assertRaisesRegex(train_dir.TrainDirBusyError,
                                  'process %d on' % holder.pid):
        train_dir.lock(folder)
    finally:
      holder.send_signal(signal.SIGKILL)
      holder.wait()
    train_dir.lock(folder).release()


class SaverTest(tf.test.TestCase):

  def testRefusesNonFiniteWeightsAndWritesRelativePaths(self):
    folder = os.path.join(self.get_temp_dir(), 'saver')
    os.makedirs(folder)
    with tf.Graph().as_default():
      weights = tf.Variable([1.0, 2.0], name='w')
      poison = weights.assign([1.0, np.nan])
      saver = train_dir.Saver()
      with tf.Session() as sess:
        sess.run(weights.initializer)
        saver.save(sess, os.path.join(folder, 'model.ckpt'), global_step=3)
        sess.run(poison)
        with self.assertRaisesRegex(train_dir.NonFiniteError,
                                    'the weights are not finite at global '
                                    'step 4'):
          saver.save(sess, os.path.join(folder, 'model.ckpt'),
                     global_step=np.int64(4))
    self.assertEqual(state(folder),
                     'model_checkpoint_path: "model.ckpt-3"\n'
                     'all_model_checkpoint_paths: "model.ckpt-3"\n')
    self.assertFalse(tf.io.gfile.glob(os.path.join(folder, 'model.ckpt-4*')))


if __name__ == '__main__':
  tf.test.main()
