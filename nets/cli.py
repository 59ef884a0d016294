"""What the command-line tools share: a quiet start-up and one-line errors.

TensorFlow 2.21 writes C++ start-up lines to stderr (oneDNN and CUDA notes,
"All log messages before absl::InitializeLog()", a cuInit error on machines
without a GPU) whatever TF_CPP_MIN_LOG_LEVEL says. A tool that promises one
error line cannot let them through, so:

  from nets import cli
  if __name__ == '__main__':
    cli.quiet_start_up()      # before TensorFlow is imported
  import tensorflow ...
  ...
  if __name__ == '__main__':
    cli.run(main, define_flags)

hides native stderr from the TensorFlow import until the flags are parsed.
Should the program die before that, what was hidden is shown after all (the
traceback with it). TF_CPP_MIN_LOG_LEVEL=0 (asking for the logs) shows all.
"""

import atexit
import contextlib
import os
import sys
import tempfile

_hidden = None  # (saved stderr fd, capture file) while stderr is hidden.


def _logs_wanted():
  return os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0') == '0'


def _hide_stderr():
  sys.stderr.flush()
  saved = os.dup(2)
  capture = tempfile.TemporaryFile()
  os.dup2(capture.fileno(), 2)
  return saved, capture


def _restore_stderr(hidden, show):
  saved, capture = hidden
  sys.stderr.flush()
  os.dup2(saved, 2)
  os.close(saved)
  if show:
    capture.seek(0)
    os.write(2, capture.read())
  capture.close()


def quiet_start_up():
  """Sets TF_CPP_MIN_LOG_LEVEL=2 (unless set) and hides stderr until `release()`."""
  global _hidden
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if _hidden is None and not _logs_wanted():
    _hidden = _hide_stderr()
    atexit.register(release, show=True)  # died early: show everything


def release(show=False):
  """Shows stderr again; `show` replays what was hidden."""
  global _hidden
  if _hidden is not None:
    hidden, _hidden = _hidden, None
    _restore_stderr(hidden, show)


@contextlib.contextmanager
def quiet_native_stderr():
  """Hides native stderr inside the block unless it raises (then shows it)."""
  if _logs_wanted() or _hidden is not None:
    yield
    return
  hidden = _hide_stderr()
  try:
    yield
  except BaseException:
    _restore_stderr(hidden, show=True)
    raise
  _restore_stderr(hidden, show=False)


def fail(message, status=1, program=None):
  """Ends the program with one line on stderr: `<program>: error: <message>`."""
  release()
  sys.stderr.write('%s: error: %s\n' % (program or _program_name(), message))
  sys.stderr.flush()
  sys.exit(status)


def _program_name():
  """'nets.classify' for `python -m nets.classify`, 'benchmark.py' for a script."""
  path = getattr(sys.modules.get('__main__'), '__file__', None) or sys.argv[0]
  name = os.path.basename(path)
  if os.path.basename(os.path.dirname(os.path.abspath(path))) == 'nets':
    return 'nets.' + os.path.splitext(name)[0]
  return name


def first_line(error):
  return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)


def parse_flags(argv, on_parsed=None, program=None):
  """absl flag parsing with a flag error as one line (no usage dump).

  Args:
    argv: the command line.
    on_parsed: optional fn() run once the flags are parsed, before
      TensorFlow looks for devices (e.g. to set XLA's environment).
    program: the name errors start with; default: the running script's.
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    fail(first_line(e).removeprefix('ERROR:: '), program=program)
  if on_parsed is not None:
    on_parsed()
  # absl's TensorFlow init callback counts the GPUs next, and CUDA complains
  # on a machine without one: count them here, quietly, once.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with quiet_native_stderr():
    tf.config.list_physical_devices('GPU')
  release()
  return argv


def run(main, define_flags=None, errors=(ValueError, OSError)):
  """Runs `main(argv)` as a command: absl flags, quiet logs, one-line errors.

  Args:
    main: function(argv) -> exit status (None means 0).
    define_flags: optional function that defines the tool's absl flags.
    errors: exception types reported as one line and exit status 1.
  """
  import warnings  # pylint: disable=g-import-not-at-top
  from absl import app  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  warnings.filterwarnings('ignore')
  tf.get_logger().setLevel('ERROR')  # tf.compat.v1 deprecation notes
  if define_flags is not None:
    define_flags()

  def checked_main(argv):
    try:
      status = main(argv)
    except errors as e:
      fail(first_line(e))
    except KeyboardInterrupt:
      fail('interrupted', 130)
    sys.exit(status or 0)

  app.run(checked_main, flags_parser=parse_flags)
