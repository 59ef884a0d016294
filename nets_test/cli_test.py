"""Tests of nets.cli: start-up noise hidden, shown again when the tool dies early."""

import glob
import os
import signal
import tempfile
import textwrap
import unittest

from nets_test import testing


def _script_process(script, log_level=None):
  """`python script.py` (a fork of the warm interpreter unless log_level)."""
  with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
    f.write(script)
  try:
    env = None
    if log_level is not None:  # Read at start-up: a new interpreter.
      env = testing.user_env(TF_CPP_MIN_LOG_LEVEL=log_level)
    return testing.tool_process(f.name, env=env)
  finally:
    os.remove(f.name)


def _run(body, log_level=None):
  script = 'import os, sys\nfrom nets import cli\n' + textwrap.dedent(body)
  proc = _script_process(script, log_level)
  return proc.returncode, proc.stderr


class QuietStartUpTest(unittest.TestCase):
  """nets.cli's functions in a script (run like the tools, in a warm fork)."""

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

  def testHelpExitsZeroWithOnlyTheHelp(self):
    for flag in ('--help', '--helpfull'):
      rc, stderr = _run("""
          \"\"\"The tool's docstring.\"\"\"
          from absl import flags
          cli.quiet_start_up()
          os.write(2, b'native start-up noise\\n')
          def define():
            flags.DEFINE_integer('count', 1, 'How many.')
          sys.argv[1:] = [%r]
          cli.run(lambda argv: 0, define)
          """ % flag)
      self.assertEqual((rc, stderr), (0, ''), flag)

  def testSharedFlagsAreTheToolsOwnInItsHelp(self):
    script = textwrap.dedent("""
        import sys
        from absl import flags
        from nets import cli
        cli.quiet_start_up()
        def define():
          cli.define_shared_flags('checkpoint_path', 'overwrite')
          flags.DEFINE_integer('count', 1, 'How many.')
        sys.argv[1:] = ['--help']
        cli.run(lambda argv: 0, define)
        """)
    proc = _script_process(script)
    self.assertEqual((proc.returncode, proc.stderr), (0, ''))
    for flag in ('--checkpoint_path', '--[no]overwrite', '--count'):
      self.assertIn(flag, proc.stdout)
    self.assertNotIn('nets.cli', proc.stdout)

  def testStrayArgumentsAreRefusedUnlessTaken(self):
    body = """
        cli.quiet_start_up()
        sys.argv[1:] = ['stray']
        cli.run(lambda argv: print('ARGS', argv[1:]), positional_args=%s)
        """
    rc, stderr = _run(body % False)
    self.assertEqual(rc, 1)
    self.assertRegex(stderr, r'^\S+: error: unexpected arguments: stray\n$')
    rc, stderr = _run(body % True)
    self.assertEqual((rc, stderr), (0, ''))

  def testOnParsedRunsOnceAfterParsingBeforeMain(self):
    rc, stderr = _run("""
        from absl import flags
        cli.quiet_start_up()
        seen = []
        def define():
          flags.DEFINE_integer('count', 1, 'How many.')
        def on_parsed():
          seen.append(flags.FLAGS.count)
        def main(argv):
          return 0 if seen == [3] else 5
        sys.argv[1:] = ['--count=3']
        cli.run(main, define, on_parsed=on_parsed)
        """)
    self.assertEqual((rc, stderr), (0, ''))

  def testSharedFlagsHaveTheirUsualDefaults(self):
    rc, stderr = _run("""
        from absl import flags
        cli.quiet_start_up()
        def define():
          cli.define_shared_flags('checkpoint_path', 'num_classes',
                                  'image_size', 'overwrite', num_classes=1000)
        def main(argv):
          f = flags.FLAGS
          values = (f.checkpoint_path, f.num_classes, f.image_size,
                    f.overwrite)
          return 0 if values == (None, 1000, 299, False) else 5
        cli.run(main, define)
        """)
    self.assertEqual((rc, stderr), (0, ''))

  def testSharedFlagsOptimizeJsonOutputAndOutput(self):
    """Their usual defaults, `~` expanded in paths, a tool's note in its help."""
    script = textwrap.dedent("""
        import os, sys
        from absl import flags
        from nets import cli
        cli.quiet_start_up()
        def define():
          cli.define_shared_flags('optimize', 'json_output', 'output',
                                  notes={'output': 'An ONNX model.'})
        def main(argv):
          f = flags.FLAGS
          home = os.path.expanduser('~')
          values = (f.optimize, f.json_output, f.output)
          return 0 if values == (False, os.path.join(home, 'r.json'),
                                 None) else 5
        cli.run(main, define)
        """)
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
      f.write(script)
    try:
      ran = testing.tool_process(f.name, '--json_output=~/r.json')
      helped = testing.tool_process(f.name, '--help')
    finally:
      os.remove(f.name)
    self.assertEqual((ran.returncode, ran.stderr), (0, ''))
    self.assertEqual((helped.returncode, helped.stderr), (0, ''))
    self.assertIn('--output: The file to write. An ONNX model.',
                  helped.stdout)
    self.assertIn('--[no]optimize:', helped.stdout)
    self.assertIn('--json_output:', helped.stdout)

  def testSharedFlagsRefuseUnknownNamesAndStrayNotes(self):
    rc, stderr = _run("""
        from absl import flags
        cli.quiet_start_up()
        errors = []
        for args, kwargs in [(('bogus',), {}),
                             (('optimize',), {'overwrite': True}),
                             (('optimize',), {'notes': {'output': 'x'}})]:
          try:
            cli.define_shared_flags(*args, **kwargs)
          except ValueError as e:
            errors.append(str(e))
        sys.exit(0 if errors == [
            'define_shared_flags: unknown or undeclared flags bogus',
            'define_shared_flags: unknown or undeclared flags overwrite',
            'define_shared_flags: unknown or undeclared flags output',
        ] else 5)
        """)
    self.assertEqual((rc, stderr), (0, ''))

  def testMissingOptionalPackageSaysHowToInstallIt(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        def main(argv):
          cli.require('no_such_package_here', "pip install -e '.[onnx]'")
        cli.run(main)
        """)
    self.assertEqual(rc, 1)
    self.assertRegex(stderr, r"error: no_such_package_here is not installed "
                     r"\(.*\): pip install -e '\.\[onnx\]'\n$")

  def testTensorFlowErrorsAreTheirInformativeLine(self):
    rc, stderr = _run("""
        cli.quiet_start_up()
        def main(argv):
          import tensorflow as tf
          raise tf.errors.NotFoundError(
              None, None, 'Graph execution error:\\n\\nDetected at node x\\n'
              'Key foo not found in checkpoint\\n[[node x]]')
        cli.run(main)
        """)
    self.assertEqual(rc, 1)
    self.assertTrue(stderr.endswith('error: Key foo not found in checkpoint\n'),
                    stderr)
    self.assertEqual(stderr.count('\n'), 1, stderr)

  def testCtrlCIsOneLineAndStatus130(self):
    rc, stderr = _run("""
        import signal
        cli.quiet_start_up()
        def main(argv):
          os.kill(os.getpid(), signal.SIGINT)
        cli.run(main)
        """)
    self.assertEqual(rc, 130)
    self.assertRegex(stderr, r'^\S+: error: interrupted\n$')


def _tools():
  """Every tool: the modules of nets/ that run cli.run, and benchmark.py."""
  tools = ['benchmark.py']
  for path in sorted(glob.glob(os.path.join(testing.REPO_ROOT, 'nets',
                                            '*.py'))):
    with open(path) as f:
      if '\n  cli.run(' in f.read():
        tools.append('nets.' + os.path.basename(path)[:-len('.py')])
  return tools


class StartedToolTest(unittest.TestCase):
  """testing.start_tool's warm runs act as subprocess.Popen's."""

  def testStreamsTakesSignalsAndReportsSeveralAtOnce(self):
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
      f.write(textwrap.dedent("""
          import sys, time
          print('ready', sys.argv[1:], flush=True)
          try:
            time.sleep(300)
          except KeyboardInterrupt:
            sys.stderr.write('interrupted\\n')
            sys.exit(130)
          """))
    try:
      first = testing.start_tool(f.name, 'a')
      second = testing.start_tool(f.name, 'b')
      self.assertEqual(first.stdout.readline(), "ready ['a']\n")
      self.assertEqual(second.stdout.readline(), "ready ['b']\n")
    finally:
      os.remove(f.name)
    self.assertIsNone(first.poll())
    first.send_signal(signal.SIGINT)
    self.assertEqual(first.communicate(timeout=60), ('', 'interrupted\n'))
    self.assertEqual(first.returncode, 130)
    self.assertIsNone(second.poll())
    second.kill()
    self.assertEqual(second.wait(timeout=60), -signal.SIGKILL)
    self.assertEqual(second.communicate(timeout=60), ('', ''))


class ToolsStartUpTest(unittest.TestCase):
  """Each real tool from a new interpreter: TensorFlow's import stays quiet.

  The other tests run the tools in forks of a warm interpreter
  (nets_test/warm_tools.py), which has imported TensorFlow already.
  """

  def testBadFlagIsTheOnlyLine(self):
    tools = _tools()
    self.assertIn('nets.classify', tools)
    for tool in tools:
      rc, out, err = testing.run_tool(tool, '--no_such_flag', fresh=True)
      self.assertEqual((rc, out), (1, ''), tool)
      self.assertEqual(err, ['%s: error: Unknown command line flag '
                             "'no_such_flag'" % tool], tool)


if __name__ == '__main__':
  unittest.main()
