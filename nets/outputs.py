"""Writing a tool's outputs: never over what the user has, never half-written.

Every tool that writes a file or a folder goes through here:

  path = outputs.check(path, overwrite)            # up front, before slow work
  outputs.write_file(path, data, overwrite)        # small files, atomically
  with outputs.staged(path, overwrite, directory=True) as temp:
    ...build the folder (or file) at `temp`...     # moved into place at the end
  with outputs.reserve(path, overwrite, size) as reserved:  # space now,
    ...long run...; reserved.write(data)                   # data at the end

What each guarantees:
  * Outputs are built under a temporary name next to the target (same file
    system) and moved into place by one rename, so a killed or failed run
    leaves no partial output, and an existing one stays as it was.
  * Without `overwrite`, the final move itself refuses a target that
    appeared while the tool ran (another run, or the user): a file is linked
    into place (link(2) fails on an existing name) and a folder renamed
    (rename(2) fails on a non-empty folder). An empty folder counts as free.
  * Temporaries are named `.<name>.partial-<host>-<pid>-<random>`; those
    left by a run that was killed (its process is gone) are removed by the
    next run writing the same target.
  * A write that fails for a reason the user can act on (disk full,
    read-only file system, no permission) raises one OutputError naming the
    user's path, not the temporary one.
  * Files get the usual mode (0666 minus the umask), as open() gives them.
"""

import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import uuid

_REASONS = {
    errno.ENOSPC: 'no space left on device',
    errno.EDQUOT: 'disk quota exceeded',
    errno.EROFS: 'read-only file system',
    errno.EACCES: 'permission denied',
    errno.EPERM: 'permission denied',
    errno.EFBIG: 'file too large',
}
# How libraries that do not raise OSError (TensorFlow, h5py) word them.
_REASON_TEXTS = {os.strerror(code).lower(): reason
                 for code, reason in _REASONS.items()}
_REASON_TEXTS['resource exhausted'] = 'no space left on device'


class OutputError(ValueError):
  """An output that may not or cannot be written; the message is one line."""


def _host_tag():
  return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _temporary_name(path, suffix=''):
  directory, name = os.path.split(path)
  return os.path.join(directory, '.%s.partial-%s-%d-%s%s' % (
      name, _host_tag(), os.getpid(), uuid.uuid4().hex[:8], suffix))


def _process_is_gone(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  except OSError:  # It exists but is not ours.
    return False
  return False


def remove_stale_temporaries(path):
  """Removes temporaries of `path` whose writer (on this host) is gone.

  Returns:
    The paths removed.
  """
  directory, name = os.path.split(os.path.abspath(path))
  pattern = re.compile(r'^\.%s\.partial-%s-(\d+)-[0-9a-f]{8}' % (
      re.escape(name), _host_tag()))
  removed = []
  try:
    entries = os.listdir(directory)
  except OSError:
    return removed
  for entry in entries:
    match = pattern.match(entry)
    if not match or not _process_is_gone(int(match.group(1))):
      continue
    full = os.path.join(directory, entry)
    try:
      if os.path.isdir(full) and not os.path.islink(full):
        shutil.rmtree(full)
      else:
        os.remove(full)
      removed.append(full)
    except OSError:
      pass
  return removed


def _is_empty_dir(path):
  return (os.path.isdir(path) and not os.path.islink(path) and
          not os.listdir(path))


def _existing_ancestor(directory):
  while not os.path.lexists(directory):
    parent = os.path.dirname(directory)
    if parent == directory:
      break
    directory = parent
  return directory


def _check_parent_writable(path, directory, create_parent):
  """The folder `path` goes in exists (or can be made) and takes new files."""
  parent = os.path.dirname(path)
  if not os.path.isdir(parent):
    if not create_parent or not os.path.isdir(_existing_ancestor(parent)):
      raise OutputError('cannot write %s: directory %s does not exist' %
                        (path, parent))
    probe_in = _existing_ancestor(parent)
  else:
    probe_in = parent
  try:  # os.access says yes to root on a read-only file system: try it.
    probe = _temporary_name(os.path.join(probe_in, 'probe'))
    with open(probe, 'wb'):
      pass
    os.remove(probe)
  except OSError as e:
    raise OutputError('cannot write %s in %s: %s' % (
        'the folder' if directory else 'the file', probe_in,
        _REASONS.get(e.errno, e.strerror or str(e)))) from e


def check(path, overwrite=False, directory=False, create_parent=True):
  """Checks that `path` may be written, before any slow work.

  Args:
    path: the output the user named.
    overwrite: whether an existing output may be replaced.
    directory: whether the output is a folder (an existing empty folder
      counts as free) or a file.
    create_parent: whether a missing parent folder will be created.

  Returns:
    The absolute path.

  Raises:
    OutputError: if the output exists (without overwrite), is of the other
      kind, or its folder is missing or does not take new files.
  """
  if not path:
    raise OutputError('no output path given')
  path = os.path.abspath(os.path.expanduser(path))
  if os.path.isdir(path) and not os.path.islink(path) and not directory:
    raise OutputError('%s is a directory; give a file name' % path)
  if os.path.lexists(path) and not (directory and _is_empty_dir(path)):
    if not overwrite:
      what = 'a non-empty directory' if os.path.isdir(path) else 'a file'
      raise OutputError('%s exists (%s); pass --overwrite to replace it' %
                        (path, what))
  _check_parent_writable(path, directory, create_parent)
  remove_stale_temporaries(path)
  return path


def check_free_space(path, size):
  """Fails now, rather than half-way, when `size` bytes will not fit.

  Raises:
    OutputError: if the file system of `path` has less than `size` free.
  """
  directory = _existing_ancestor(os.path.dirname(os.path.abspath(path)))
  free = shutil.disk_usage(directory).free
  if free < size:
    raise OutputError('cannot write %s: it needs about %.1f MB and only %.1f '
                      'MB are free on its disk' % (path, size / 1e6,
                                                   free / 1e6))


def _reason(error):
  """What the user can act on in a failed write, or None."""
  code = getattr(error, 'errno', None)
  if code in _REASONS:
    return _REASONS[code]
  text = str(getattr(error, 'message', None) or error).lower()
  for known, reason in _REASON_TEXTS.items():
    if known in text:
      return reason
  return None


def _commit(temp, path, overwrite, directory):
  """Moves `temp` to `path`; without overwrite, refuses a target that exists."""
  if overwrite:
    if directory and os.path.lexists(path) and not _is_empty_dir(path):
      old = _temporary_name(path, '.old')
      os.rename(path, old)
      try:
        os.rename(temp, path)
      except BaseException:
        os.rename(old, path)
        raise
      if os.path.isdir(old) and not os.path.islink(old):
        shutil.rmtree(old, ignore_errors=True)
      else:
        os.remove(old)
    else:
      os.replace(temp, path)
    return
  appeared = OutputError('%s appeared while this ran (another run?); it was '
                         'left as it is: pass --overwrite to replace it' % path)
  if directory:
    try:
      os.rename(temp, path)  # Fails on a non-empty folder or a file.
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as e:
      raise appeared from e
    except OSError as e:
      if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
        raise appeared from e
      raise
    return
  try:
    os.link(temp, path)  # Fails if the name exists.
  except FileExistsError as e:
    raise appeared from e
  except OSError as e:
    if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV,
                       errno.EMLINK):
      raise
    if os.path.lexists(path):  # No hard links here: check, then rename.
      raise appeared from e
    os.rename(temp, path)
    return
  os.remove(temp)


def _usual_file_mode():
  umask = os.umask(0)
  os.umask(umask)
  return 0o666 & ~umask


def _remove(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    os.remove(path)


@contextlib.contextmanager
def staged(path, overwrite=False, directory=False, suffix='',
           create_parent=True):
  """Yields a temporary path to build the output at; moves it into place.

  Args:
    path: the output the user named.
    overwrite: replace an existing output (only once the new one is whole).
    directory: the output is a folder (created empty at the temporary path)
      rather than a file (not created: the caller's writer makes it).
    suffix: ending of the temporary name (for writers that check it, e.g.
      Keras' '.weights.h5').
    create_parent: create a missing parent folder.

  Raises:
    OutputError: see `check`; also when writing fails for a reason the user
      can act on, or the target appeared meanwhile (without overwrite).
  """
  path = check(path, overwrite, directory, create_parent)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  temp = _temporary_name(path, suffix)
  if directory:
    os.mkdir(temp)
  try:
    yield temp
    if not os.path.lexists(temp):
      raise OutputError('nothing was written to %s' % path)
    if not directory:
      os.chmod(temp, _usual_file_mode())
    _commit(temp, path, overwrite, directory)
  except OutputError:
    _remove(temp)
    raise
  except BaseException as e:
    _remove(temp)
    reason = _reason(e) if isinstance(e, Exception) else None
    if reason:
      raise OutputError('cannot write %s: %s (nothing was written)' %
                        (path, reason)) from e
    raise


def write_file(path, data, overwrite=False, create_parent=True):
  """Writes `data` (bytes or str) to the file `path`, atomically."""
  with staged(path, overwrite, create_parent=create_parent) as temp:
    with open(temp, 'wb' if isinstance(data, bytes) else 'w') as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())


class Reserved(object):
  """A file whose disk space is claimed now and whose content comes later.

  A long run that writes its results at the end would lose them to a full
  disk; a reservation fails at the start instead.
  """

  def __init__(self, path, overwrite=False, size=0, create_parent=True):
    self.path = check(path, overwrite, False, create_parent)
    self._overwrite = overwrite
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self._temp = _temporary_name(self.path)
    try:
      fd = os.open(self._temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
      try:
        if size:
          try:
            os.posix_fallocate(fd, 0, size)
          except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
              raise
      finally:
        os.close(fd)
    except OSError as e:
      self.discard()
      raise OutputError('cannot write %s: %s' % (
          self.path, _reason(e) or e.strerror)) from e

  def write(self, data):
    """Writes `data` (bytes or str) into the reserved file and commits it."""
    if isinstance(data, str):
      data = data.encode('utf-8')
    try:
      with open(self._temp, 'r+b') as f:
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
      os.chmod(self._temp, _usual_file_mode())
      _commit(self._temp, self.path, self._overwrite, directory=False)
    except OutputError:
      self.discard()
      raise
    except OSError as e:
      self.discard()
      raise OutputError('cannot write %s: %s (nothing was written)' % (
          self.path, _reason(e) or e.strerror)) from e

  def discard(self):
    """Removes the reservation (nothing is written)."""
    if os.path.lexists(self._temp):
      os.remove(self._temp)

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.discard()  # Not written by then: nothing is.


def reserve(path, overwrite=False, size=0, create_parent=True):
  """Claims `size` bytes for the file `path` now (see `Reserved`)."""
  return Reserved(path, overwrite, size, create_parent)
