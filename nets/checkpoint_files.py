"""Finding a checkpoint on disk and opening a reader on it.

A checkpoint path may be a V1 single file (the released slim checkpoints,
e.g. `inception_v3.ckpt`), a V2 prefix (`model.ckpt-1000` for
`model.ckpt-1000.index` + `.data-*`), one of the V2 files, or a directory
(its latest checkpoint). Every error raised here is a `CheckpointError` (a
ValueError) whose first line is a one-line summary, fit for a command line.
`nets.checkpoints` re-exports all of it; use that module.
"""

import os
import re

import tensorflow.compat.v1 as tf

from nets import cli

# Files in a directory that can be a V1 checkpoint: `x.ckpt`, `x.ckpt-123`.
_V1_NAME = re.compile(r'\.ckpt(-\d+)?$')
_V2_DATA = re.compile(r'\.data-\d+-of-\d+$')


class CheckpointError(ValueError):
  """A checkpoint that cannot be used; str() = summary line + details."""

  def __init__(self, summary, details=''):
    self.summary = summary
    self.details = details
    super().__init__(summary + ('\n' + details if details else ''))


class CheckpointNotFoundError(CheckpointError):
  """No checkpoint at the given path."""


class CheckpointReadError(CheckpointError):
  """The file exists but is not a readable checkpoint (corrupt, truncated)."""


class CheckpointMismatchError(CheckpointError):
  """Model variables missing from the checkpoint or with another shape.

  Attributes:
    missing: list of (checkpoint name, model shape).
    mismatched: list of (checkpoint name, model shape, checkpoint shape); a
      dtype mismatch is listed with the dtypes in place of the shapes.
    hints: list of (short, long) explanations of the probable cause.
  """

  def __init__(self, summary, details, missing, mismatched, hints):
    super().__init__(summary, details)
    self.missing = missing
    self.mismatched = mismatched
    self.hints = hints


class MovingAveragesNotFoundError(CheckpointError):
  """moving_average_decay was given but the checkpoint has no EMA shadows."""


# --- Finding and reading checkpoints -----------------------------------------

def _v1_candidates(directory):
  """V1 files and V2 prefixes in `directory`, newest first."""
  found = []
  for name in tf.io.gfile.listdir(directory):
    full = os.path.join(directory, name)
    if name.endswith('.index'):
      found.append((full, full[:-len('.index')]))
    elif _V1_NAME.search(name) and not tf.io.gfile.isdir(full):
      found.append((full, full))
  found.sort(key=lambda f: (tf.io.gfile.stat(f[0]).mtime_nsec, f[1]),
             reverse=True)
  return [prefix for _, prefix in found]


def _is_checkpoint(prefix):
  """Whether a V2 prefix (its .index) or a V1 file exists at `prefix`."""
  return (tf.io.gfile.exists(prefix + '.index') or
          (tf.io.gfile.exists(prefix) and not tf.io.gfile.isdir(prefix)))


def _latest_in_state_file(directory):
  """The latest checkpoint of `directory`'s `checkpoint` file, or None.

  Unlike tf.train.latest_checkpoint, a stale entry is an error that names
  it (and TensorFlow logs nothing).

  Raises:
    CheckpointNotFoundError: the state file names a checkpoint that is gone.
    CheckpointReadError: the state file cannot be parsed.
  """
  state_file = os.path.join(directory, 'checkpoint')
  if not tf.io.gfile.exists(state_file):
    return None
  try:
    state = tf.train.get_checkpoint_state(directory)
  except Exception as e:  # pylint: disable=broad-except (text_format errors)
    raise CheckpointReadError('Cannot read the checkpoint state file %s (%s).'
                              % (state_file, cli.reason(e))) from e
  if state is None or not state.model_checkpoint_path:
    return None
  latest = state.model_checkpoint_path
  if not os.path.isabs(latest):
    latest = os.path.join(directory, latest)
  if not _is_checkpoint(latest):
    raise CheckpointNotFoundError(
        'The checkpoint state file %s names %s, which does not exist '
        '(deleted?): pass a checkpoint file or prefix, or fix the state file.'
        % (state_file, state.model_checkpoint_path))
  return latest


def resolve_checkpoint_path(path):
  """The V1 file or V2 prefix that `path` names.

  Args:
    path: a V1 checkpoint file, a V2 prefix, a V2 `.index`/`.data-*` file, or
      a directory: its `checkpoint` state file's latest checkpoint, else the
      newest `*.ckpt`, `*.ckpt-N` or `*.index` checkpoint in it.

  Returns:
    The path to pass to a checkpoint reader or `Saver.restore`.

  Raises:
    CheckpointNotFoundError: if there is no checkpoint there.
  """
  if not path:
    raise CheckpointNotFoundError('No checkpoint path given.')
  path = os.path.expanduser(path)
  if tf.io.gfile.isdir(path):
    latest = _latest_in_state_file(path)
    if latest:
      return latest
    candidates = _v1_candidates(path)
    if not candidates:
      raise CheckpointNotFoundError(
          'No checkpoint in directory %s.' % path,
          'Expected a `checkpoint` state file, a V1 checkpoint file (*.ckpt) '
          'or a V2 checkpoint (*.index with *.data-*).')
    return candidates[0]
  if tf.io.gfile.exists(path + '.index'):
    return path
  if path.endswith('.index') and tf.io.gfile.exists(path):
    return path[:-len('.index')]
  if _V2_DATA.search(path) and tf.io.gfile.exists(path):
    return _V2_DATA.sub('', path)
  if tf.io.gfile.exists(path):
    return path
  raise CheckpointNotFoundError(
      'No checkpoint at %s: no such file, V2 prefix (%s.index) or directory.'
      % (path, path))


def checkpoint_format(resolved_path):
  """'V2' when `resolved_path` is a V2 prefix, else 'V1'."""
  return 'V2' if tf.io.gfile.exists(resolved_path + '.index') else 'V1'


def read_error(path, error):
  """The CheckpointReadError of an unreadable checkpoint at `path`."""
  return CheckpointReadError(
      'Cannot read checkpoint %s: corrupt, truncated or not a TensorFlow '
      'checkpoint (%s).' % (path, cli.reason(error)))


def open_checkpoint(path):
  """Resolves `path` and opens a reader on it.

  Returns:
    (resolved path, tf.train.CheckpointReader).

  Raises:
    CheckpointNotFoundError: if there is no checkpoint at `path`.
    CheckpointReadError: if the file is not a readable checkpoint.
  """
  resolved = resolve_checkpoint_path(path)
  missing = _missing_data_files(resolved)
  if missing:
    raise CheckpointReadError(
        'Checkpoint %s has its index (%s.index) but not its data: %s is '
        'missing.' % (resolved, os.path.basename(resolved),
                      ', '.join(os.path.basename(m) for m in missing)))
  try:
    return resolved, tf.train.load_checkpoint(resolved)
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise read_error(resolved, e) from e


def _missing_data_files(prefix):
  """The `.data-K-of-N` files of a V2 checkpoint that are not there."""
  if not tf.io.gfile.exists(prefix + '.index'):
    return []
  present = tf.io.gfile.glob(prefix + '.data-*-of-*')
  counts = {int(m.group(1)) for m in map(re.compile(
      r'\.data-\d+-of-(\d+)$').search, present) if m} or {1}
  expected = ['%s.data-%05d-of-%05d' % (prefix, k, n)
              for n in sorted(counts) for k in range(n)]
  return [name for name in expected if name not in present]


def read_tensor(reader, name, path):
  """reader.get_tensor(name), a truncated or corrupt file as one error.

  Raises:
    CheckpointReadError: if the tensor cannot be read.
  """
  try:
    return reader.get_tensor(name)
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise CheckpointReadError(
        'Cannot read checkpoint %s: %s is truncated or corrupt (%s).' %
        (path, name, cli.reason(e))) from e
