"""A fresh tmpfs on a folder for one process: a full disk or a read-only
folder on demand, that nobody else sees and that vanishes with the process.

`enter` gives the calling process a mount namespace of its own (for a user
who is not root, inside a user namespace in which it is root, as `unshare
-rm` does) and mounts the tmpfs there. The caller must be single-threaded
(the kernel refuses a new user namespace, or a new mount namespace, to a
process whose threads share its filesystem state): a fork's child is.

Run as a script, it mounts and then runs a command in its place:
`python small_disk.py [--size=256k | --read_only] FOLDER COMMAND...`; if it
cannot mount, it says why on stderr and exits with status 125.

Only the standard library: the tests' probe of whether this works here is
a new interpreter running this script.
"""

import ctypes
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1
CANNOT_MOUNT = 125  # The exit status when it cannot mount.

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]


def _check(result, what):
  if result != 0:
    errno = ctypes.get_errno()
    raise OSError(errno, '%s: %s' % (what, os.strerror(errno)))


def enter(directory, size='256k', read_only=False):
  """Mounts a tmpfs of `size` (or an empty read-only one) on `directory`,
  seen only by this process and its children from now on.

  Raises:
    OSError: the kernel refused (saying which step).
  """
  uid, gid = os.geteuid(), os.getegid()
  if uid == 0:
    _check(_libc.unshare(CLONE_NEWNS), 'unshare(CLONE_NEWNS)')
  else:
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS),
           'unshare(CLONE_NEWUSER | CLONE_NEWNS)')
    # Root in the new user namespace, as this user outside it.
    for name, text in (('setgroups', 'deny'), ('uid_map', '0 %d 1' % uid),
                       ('gid_map', '0 %d 1' % gid)):
      with open('/proc/self/' + name, 'w') as f:
        f.write(text)
  # The namespace's mounts stay in it (not propagated to the host's).
  _check(_libc.mount(None, b'/', None, MS_REC | MS_PRIVATE, None),
         'making / a private mount')
  _check(_libc.mount(b'tmpfs', os.fsencode(directory), b'tmpfs',
                     MS_RDONLY if read_only else 0,
                     None if read_only else b'size=' + size.encode()),
         'mounting a tmpfs on %s' % directory)


def die_with_parent():
  """This process is killed when its parent dies (a fork that mounted the
  disk and was killed on a timeout takes its tool with it)."""
  _check(_libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL)),
         'prctl(PR_SET_PDEATHSIG)')


def fill(directory, name='.filler'):
  """Fills the disk of `directory` with the file `name` (to no space left)."""
  fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT)
  try:
    while os.write(fd, bytes(65536)):
      pass
  except OSError:  # No space left on device.
    pass
  finally:
    os.close(fd)


def main(args):
  size, read_only = '256k', False
  if args[0] == '--read_only':
    read_only = True
    args = args[1:]
  elif args[0].startswith('--size='):
    size = args[0][len('--size='):]
    args = args[1:]
  directory, command = args[0], args[1:]
  try:
    enter(directory, size, read_only)
  except OSError as e:
    sys.stderr.write('small_disk: %s\n' % e)
    sys.exit(CANNOT_MOUNT)
  os.execvp(command[0], command)


if __name__ == '__main__':
  main(sys.argv[1:])
