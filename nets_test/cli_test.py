"""Tests of nets.cli: start-up noise hidden, shown again when the tool dies early."""

import textwrap
import unittest

from nets_test import testing


def _run(body, log_level=None):
  env = testing.user_env()
  if log_level is not None:
    env['TF_CPP_MIN_LOG_LEVEL'] = log_level
  script = 'import os, sys\nfrom nets import cli\n' + textwrap.dedent(body)
  proc = testing.run_python(['-c', script], env=env)
  return proc.returncode, proc.stderr


class QuietStartUpTest(unittest.TestCase):

  def testNoiseBeforeReleaseIsDropped(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        os.write(2, b'native start-up noise\\n')
        cli.release()
        os.write(2, b'after release\\n')
        """)
    self.assertEqual(rc, 0)
    self.assertEqual(stderr, 'after release\n')

  def testDyingBeforeReleaseShowsEverything(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        os.write(2, b'native start-up noise\\n')
        raise ImportError('broken install')
        """)
    self.assertEqual(rc, 1)
    self.assertIn('native start-up noise', stderr)
    self.assertIn('ImportError: broken install', stderr)

  def testLogLevelZeroShowsEverything(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        os.write(2, b'native start-up noise\\n')
        cli.release()
        """, log_level='0')
    self.assertEqual(rc, 0)
    self.assertEqual(stderr, 'native start-up noise\n')

  def testFailIsOneLineWithTheProgramName(self):
    rc, stderr = _run("""
        sys.argv[0] = '/somewhere/nets/classify.py'
        sys.modules['__main__'].__file__ = sys.argv[0]
        cli.quiet_start_up()
        os.write(2, b'noise\\n')
        cli.fail('--top_k must be positive')
        """)
    self.assertEqual(rc, 1)
    self.assertEqual(stderr, 'nets.classify: error: --top_k must be positive\n')

  def testFlagErrorsAreOneLine(self):
    rc, stderr = _run("""
        from absl import flags
        cli.quiet_start_up()
        def define():
          flags.DEFINE_integer('count', 1, 'How many.', lower_bound=1)
        sys.argv[1:] = ['--count=0']
        cli.run(lambda argv: 0, define)
        """)
    self.assertEqual(rc, 1)
    self.assertEqual(stderr.count('\n'), 1, stderr)
    self.assertIn('error: flag --count=0', stderr)

  def testErrorsFromMainAreOneLine(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        def main(argv):
          raise ValueError('No checkpoint at /x.\\nDetails on more lines.')
        cli.run(main)
        """)
    self.assertEqual(rc, 1)
    self.assertTrue(stderr.endswith('error: No checkpoint at /x.\n'), stderr)
    self.assertEqual(stderr.count('\n'), 1, stderr)


if __name__ == '__main__':
  unittest.main()
