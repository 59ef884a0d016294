"""A trainer's --train_dir: who holds it, and which checkpoints it can resume.

  * `lock(train_dir)`: one trainer (one cluster's chief) per train_dir. The
    lock is an flock on `train_dir/lock`, held while the file is open, so a
    killed run never leaves it stuck; the file names the holder (pid, host).
  * `prepare_resume(train_dir)`: the newest complete checkpoint, skipping
    what a failed or killed save left (and removing it), and a `checkpoint`
    state file that names only complete checkpoints, by relative paths (a
    moved train_dir resumes; old absolute paths are read by base name).
  * `Saver`: a tf.train.Saver for the trainer's session that writes relative
    paths, refuses to save non-finite weights, and turns a failed write into
    one line naming the train_dir and the space a checkpoint needs, after
    removing what it had written.
"""

import errno
import fcntl
import glob
import numbers
import os
import re
import shutil
import socket

from google.protobuf import text_format
import tensorflow.compat.v1 as tf
from tensorflow.python.training import checkpoint_state_pb2  # pylint: disable=g-direct-tensorflow-import

from nets import cli

LOCK_FILENAME = 'lock'
STATE_FILENAME = 'checkpoint'  # tf.train.Saver's.
_DATA_FILE = re.compile(r'\.data-(\d+)-of-(\d+)$')


class TrainDirBusyError(ValueError):
  """Another trainer holds the train_dir."""


class CheckpointWriteError(ValueError):
  """A checkpoint could not be written (e.g. the disk is full)."""


class NonFiniteError(ValueError):
  """A loss or a weight is NaN or infinite; nothing is saved.

  Attributes:
    step: the global step.
    what: 'the loss' or 'the weights'.
    value: the loss (or None).
  """

  def __init__(self, step, what, value=None):
    super().__init__('%s %s not finite at global step %d' % (
        what, 'are' if what == 'the weights' else 'is', step))
    self.step, self.what, self.value = step, what, value


# --- The lock ------------------------------------------------------------------

class Lock(object):
  """An acquired train_dir lock; `release()` (or the process's end) frees it."""

  def __init__(self, path, file):
    self.path, self._file = path, file

  def release(self):
    if self._file is not None:
      self._file.close()  # Closing drops the flock.
      self._file = None


def holder():
  """'process <pid> on <host>': what a lock file says about its holder."""
  return 'process %d on %s' % (os.getpid(), socket.gethostname())


def lock(train_dir):
  """Locks train_dir for this process (creating the folder).

  Returns:
    A Lock.

  Raises:
    TrainDirBusyError: naming the process and host that hold it.
    OSError: when the lock file cannot be created.
  """
  os.makedirs(train_dir, exist_ok=True)
  path = os.path.join(train_dir, LOCK_FILENAME)
  file = open(path, 'a+')  # pylint: disable=consider-using-with
  try:
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError as e:
    if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
      file.close()
      raise
    file.seek(0)
    who = file.read().strip() or 'another process'
    file.close()
    raise TrainDirBusyError(
        'train_dir %s is in use by %s (another training); wait for it to '
        'end or give another --train_dir' % (train_dir, who)) from None
  file.seek(0)
  file.truncate()
  file.write(holder() + '\n')
  file.flush()
  return Lock(path, file)


# --- Checkpoints -----------------------------------------------------------------

def checkpoint_step(prefix):
  """The global step in a checkpoint's name (model.ckpt-<step>), or -1."""
  match = re.search(r'-(\d+)$', prefix)
  return int(match.group(1)) if match else -1


def missing_part(prefix):
  """What a V2 checkpoint lacks to be complete ('' when it is complete).

  A save writes the data files first and the index last (each under a
  temporary name, then renamed), so the index and every data shard it
  expects being there means the checkpoint is whole.
  """
  if not os.path.exists(prefix + '.index'):
    return 'no %s.index' % os.path.basename(prefix)
  shards = glob.glob(glob.escape(prefix) + '.data-*-of-*')
  counts = [_DATA_FILE.search(s) for s in shards]
  counts = [m for m in counts if m]
  if not counts:
    return 'no data files'
  expected = int(counts[0].group(2))
  if len({m.group(1) for m in counts}) != expected:
    return '%d of %d data files' % (len(counts), expected)
  return ''


def _state_paths(train_dir):
  """The checkpoints the state file names, as paths in train_dir.

  Relative paths are in train_dir; absolute ones are read by base name
  (the folder may have moved since they were written).
  """
  try:
    state = tf.train.get_checkpoint_state(train_dir)
  except (tf.errors.OpError, ValueError):  # A corrupt state file.
    state = None
  if state is None:
    return []
  names = list(state.all_model_checkpoint_paths)
  if state.model_checkpoint_path:
    names.append(state.model_checkpoint_path)
  paths = []
  for name in names:
    path = os.path.join(train_dir, os.path.basename(name))
    if path not in paths:
      paths.append(path)
  return paths


def _found_paths(train_dir, basename):
  """Checkpoints with any file in train_dir (complete or not)."""
  found = set()
  pattern = os.path.join(glob.escape(train_dir), glob.escape(basename) + '-*')
  for path in glob.glob(pattern):
    match = re.match(r'(.*-\d+)(\.index|\.data-\d+-of-\d+|\.meta)$', path)
    if match:
      found.add(match.group(1))
  return found


def _remove_checkpoint(prefix):
  for path in glob.glob(glob.escape(prefix) + '.*'):
    if re.search(r'\.(index|meta|data-\d+-of-\d+)$', path):
      os.remove(path)


def remove_unfinished(prefix):
  """Removes what a failed save of `prefix` left: its temporary folder, and
  its files unless they make a complete checkpoint."""
  for temp in glob.glob(glob.escape(prefix) + '_temp*'):
    shutil.rmtree(temp, ignore_errors=True)
  if missing_part(prefix):
    _remove_checkpoint(prefix)


def prepare_resume(train_dir, basename='model.ckpt'):
  """The checkpoint to resume from, after tidying what failed saves left.

  Removes the `<basename>-N_temp` folders and incomplete checkpoints of
  killed or failed saves, and rewrites the state file to name only complete
  checkpoints, by relative paths. Call it holding the lock.

  Returns:
    (the newest complete checkpoint or None, [(skipped checkpoint's name,
    what it lacks)] of newer ones that are incomplete).
  """
  if not os.path.isdir(train_dir):
    return None, []
  for temp in glob.glob(os.path.join(glob.escape(train_dir),
                                     glob.escape(basename) + '-*_temp*')):
    shutil.rmtree(temp, ignore_errors=True)
  listed = _state_paths(train_dir)
  candidates = set(listed) | _found_paths(train_dir, basename)
  complete, skipped = [], []
  for prefix in sorted(candidates, key=checkpoint_step):
    missing = missing_part(prefix)
    if missing:
      skipped.append((os.path.basename(prefix), missing))
      _remove_checkpoint(prefix)
    else:
      complete.append(prefix)
  newest = complete[-1] if complete else None
  if newest is not None:
    skipped = [(name, missing) for name, missing in skipped
               if checkpoint_step(name) > checkpoint_step(newest)]
    kept = [p for p in complete if p in listed] or [newest]
    if newest not in kept:
      kept.append(newest)
    write_state(train_dir, newest, kept)
  elif listed:
    os.remove(os.path.join(train_dir, STATE_FILENAME))
  return newest, skipped


def write_state(train_dir, newest, all_paths):
  """Writes the state file naming checkpoints of train_dir by base name.

  Written whole or not at all (a temporary file renamed over it).
  """
  state = checkpoint_state_pb2.CheckpointState(
      model_checkpoint_path=os.path.basename(newest),
      all_model_checkpoint_paths=[os.path.basename(p) for p in all_paths])
  path = os.path.join(train_dir, STATE_FILENAME)
  temp = '%s.tmp%d' % (path, os.getpid())
  with open(temp, 'w') as f:
    f.write(text_format.MessageToString(state))
  os.replace(temp, path)


def _variable_bytes(variables):
  return sum(v.shape.num_elements() * v.dtype.base_dtype.size
             for v in variables if v.shape.is_fully_defined())


def _megabytes(count):
  return '%.1f MB' % (count / 1e6)


class Saver(tf.train.Saver):
  """The trainer's Saver: relative paths, finite weights, clean failures.

  A save whose weights are not all finite raises NonFiniteError instead;
  a save that fails (a full disk, a folder gone) removes its temporary
  folder and partial files and raises CheckpointWriteError naming the
  folder and the space a checkpoint takes. The state file then still names
  the newest complete checkpoint.
  """

  def __init__(self, **kwargs):
    kwargs.setdefault('sharded', True)
    kwargs.setdefault('allow_empty', True)
    kwargs['save_relative_paths'] = True
    super().__init__(**kwargs)
    floats = [v for v in tf.global_variables() if v.dtype.base_dtype in
              (tf.float16, tf.bfloat16, tf.float32, tf.float64)]
    self._bytes = _variable_bytes(tf.global_variables())
    self._all_finite = None
    if floats:
      with tf.name_scope('all_weights_finite'):
        self._all_finite = tf.reduce_all(tf.stack(
            [tf.reduce_all(tf.is_finite(v)) for v in floats]))

  def save(self, sess, save_path, global_step=None, **kwargs):
    step = global_step
    if step is not None:
      step = int(step if isinstance(step, numbers.Integral) else
                 sess.run(step))
    if self._all_finite is not None and not sess.run(self._all_finite):
      raise NonFiniteError(step, 'the weights')
    try:
      return super().save(sess, save_path, step, **kwargs)
    except (tf.errors.OpError, OSError) as e:
      prefix = save_path if step is None else '%s-%d' % (save_path, step)
      remove_unfinished(prefix)
      folder = os.path.dirname(prefix) or '.'
      try:
        free = ', %s free' % _megabytes(shutil.disk_usage(folder).free)
      except OSError:
        free = ''
      why = cli.reason(e).rsplit('; ', 1)[-1]  # Not TF's temporary file.
      raise CheckpointWriteError(
          'cannot save checkpoint %s in %s: %s (a checkpoint takes about %s%s)'
          % (os.path.basename(prefix), folder, why,
             _megabytes(self._bytes), free)) from e
