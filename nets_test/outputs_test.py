"""Tests of nets.outputs: no output overwritten, raced, left half-written."""

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

from nets import outputs
from nets_test import testing


def _leftovers(directory):
  return sorted(n for n in os.listdir(directory) if '.partial-' in n)


class OutputsTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.path = os.path.join(self.dir, 'out.json')

  def testWriteFileNewWithTheUsualMode(self):
    old = os.umask(0o027)
    try:
      outputs.write_file(self.path, 'hello')
    finally:
      os.umask(old)
    with open(self.path) as f:
      self.assertEqual(f.read(), 'hello')
    self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)
    self.assertEqual(_leftovers(self.dir), [])

  def testExistingFileIsRefusedWithoutOverwrite(self):
    outputs.write_file(self.path, b'mine')
    with self.assertRaisesRegex(outputs.OutputError,
                                r'out\.json exists \(a file\); pass '
                                r'--overwrite to replace it'):
      outputs.write_file(self.path, b'new')
    with open(self.path, 'rb') as f:
      self.assertEqual(f.read(), b'mine')
    outputs.write_file(self.path, b'new', overwrite=True)
    with open(self.path, 'rb') as f:
      self.assertEqual(f.read(), b'new')
    self.assertEqual(_leftovers(self.dir), [])

  def testFileThatAppearsMeanwhileIsKept(self):
    with self.assertRaisesRegex(outputs.OutputError,
                                'appeared while this ran.*--overwrite'):
      with outputs.staged(self.path) as temp:
        with open(temp, 'w') as f:
          f.write('ours')
        with open(self.path, 'w') as f:  # Another run, or the user.
          f.write('theirs')
    with open(self.path) as f:
      self.assertEqual(f.read(), 'theirs')
    self.assertEqual(_leftovers(self.dir), [])

  def testFolderThatAppearsMeanwhileIsKept(self):
    target = os.path.join(self.dir, 'model')
    with self.assertRaisesRegex(outputs.OutputError, 'appeared while'):
      with outputs.staged(target, directory=True) as temp:
        open(os.path.join(temp, 'ours'), 'w').close()
        os.mkdir(target)
        open(os.path.join(target, 'theirs'), 'w').close()
    self.assertEqual(os.listdir(target), ['theirs'])
    self.assertEqual(_leftovers(self.dir), [])

  def testEmptyFolderIsFreeAndOverwriteReplacesAFullOne(self):
    target = os.path.join(self.dir, 'model')
    os.mkdir(target)
    with outputs.staged(target, directory=True) as temp:
      open(os.path.join(temp, 'a'), 'w').close()
    self.assertEqual(os.listdir(target), ['a'])
    with self.assertRaisesRegex(outputs.OutputError, 'non-empty directory'):
      outputs.check(target, directory=True)
    with outputs.staged(target, overwrite=True, directory=True) as temp:
      open(os.path.join(temp, 'b'), 'w').close()
    self.assertEqual(os.listdir(target), ['b'])
    self.assertEqual(sorted(os.listdir(self.dir)), ['model'])

  def testFailureInsideLeavesNothingAndKeepsTheOld(self):
    outputs.write_file(self.path, 'old')
    with self.assertRaises(KeyboardInterrupt):
      with outputs.staged(self.path, overwrite=True) as temp:
        with open(temp, 'w') as f:
          f.write('half')
        raise KeyboardInterrupt()
    with open(self.path) as f:
      self.assertEqual(f.read(), 'old')
    self.assertEqual(_leftovers(self.dir), [])

  def testWrongKindsAndMissingFolder(self):
    with self.assertRaisesRegex(outputs.OutputError, 'is a directory'):
      outputs.check(self.dir)
    missing = os.path.join(self.dir, 'no', 'such', 'out.json')
    with self.assertRaisesRegex(outputs.OutputError,
                                'directory .*no/such does not exist'):
      outputs.check(missing, create_parent=False)
    outputs.write_file(missing, 'made')  # create_parent=True by default
    self.assertTrue(os.path.isfile(missing))

  def testStaleTemporariesOfGoneRunsAreRemoved(self):
    # A finished child process's pid is one that is surely gone.
    child = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                           capture_output=True, text=True, check=True)
    gone_pid = int(child.stdout)
    host = outputs._host_tag()  # pylint: disable=protected-access
    stale_dir = os.path.join(self.dir, '.model.partial-%s-%d-0123abcd' %
                             (host, gone_pid))
    os.makedirs(os.path.join(stale_dir, 'variables'))
    live = os.path.join(self.dir, '.model.partial-%s-%d-89abcdef' %
                        (host, os.getpid()))
    open(live, 'w').close()
    other = os.path.join(self.dir, '.other.partial-%s-%d-0123abcd' %
                         (host, gone_pid))
    open(other, 'w').close()
    outputs.check(os.path.join(self.dir, 'model'), directory=True)
    self.assertFalse(os.path.exists(stale_dir))
    self.assertTrue(os.path.exists(live))  # Its writer still runs.
    self.assertTrue(os.path.exists(other))  # Another output's.

  def testReservedFileIsWrittenAtTheEnd(self):
    with outputs.reserve(self.path, size=1 << 20) as reserved:
      self.assertFalse(os.path.exists(self.path))
      self.assertEqual(len(_leftovers(self.dir)), 1)
      reserved.write('{"a": 1}\n')
    with open(self.path) as f:
      self.assertEqual(f.read(), '{"a": 1}\n')
    self.assertEqual(_leftovers(self.dir), [])
    with outputs.reserve(os.path.join(self.dir, 'unused.json')):
      pass  # Not written: nothing is.
    self.assertEqual(sorted(os.listdir(self.dir)), ['out.json'])


@testing.needs_tmpfs
class FullAndReadOnlyDiskTest(unittest.TestCase):
  """Real ENOSPC and EROFS from a tmpfs mounted for the test."""

  def _run(self, body, read_only=False, size='64k'):
    mount = tempfile.mkdtemp()
    script = 'import os, sys\nfrom nets import outputs\nD = %r\n' % mount
    script += textwrap.dedent(body)
    command = testing.in_small_filesystem(
        mount, [sys.executable, '-c', script], size=size, read_only=read_only)
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=testing.REPO_ROOT, timeout=120)
    self.assertEqual(result.returncode, 0, result.stderr)
    return result.stdout

  def testDiskFullWhileWriting(self):
    out = self._run("""
        try:
          outputs.write_file(os.path.join(D, 'big.bin'), b'x' * 500000)
        except outputs.OutputError as e:
          print('ERROR', e)
        print('LEFT', os.listdir(D))
        """)
    self.assertRegex(out, r'ERROR cannot write /\S+/big\.bin: no space left '
                     r'on device \(nothing was written\)\n')
    self.assertIn('LEFT []', out)

  def testReservationFailsAtTheStart(self):
    out = self._run("""
        try:
          outputs.reserve(os.path.join(D, 'run.json'), size=1 << 20)
        except outputs.OutputError as e:
          print('ERROR', e)
        print('LEFT', os.listdir(D))
        """)
    self.assertRegex(out, r'ERROR cannot write /\S+/run\.json: no space left '
                     r'on device')
    self.assertIn('LEFT []', out)

  def testReadOnlyFolderNamesTheUsersFolder(self):
    out = self._run("""
        try:
          outputs.check(os.path.join(D, 'model'), directory=True)
        except outputs.OutputError as e:
          print('ERROR', e)
        """, read_only=True)
    line = out.split('ERROR ', 1)[1].strip()
    self.assertRegex(line, r'^cannot write the folder in /\S+: read-only '
                     r'file system$')
    self.assertNotIn('.partial-', line)


if __name__ == '__main__':
  unittest.main()
