"""The command-line tools' contract, in one place.

Every tool (`python -m nets.X`, `benchmark.py`): absl flags, defined by a
public `define_flags()` passed to `run`, the shared ones (`checkpoint_path`,
`num_classes`, `image_size`, `moving_average_decay`, `overwrite`,
`optimize`, `json_output`, `output`) spelled once here; `--help` exits 0
with only the help; bad input is one line `<tool>: error: <what>` and exit
status 1 (130 on Ctrl-C), never a traceback; stray positional arguments are
refused unless the tool takes some; an optional package that is missing
says how to install it.

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
import functools
import importlib
import os
import re
import signal
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
  # Ctrl-C while TensorFlow loads: one line, not an import traceback.
  signal.signal(signal.SIGINT, lambda *_: fail('interrupted', 130))
  # Output piped into `head`: end quietly, as other Unix tools do.
  signal.signal(signal.SIGPIPE, signal.SIG_DFL)
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
def quiet_native_stderr(show_on_error=True):
  """Hides native stderr inside the block.

  Args:
    show_on_error: replay what was hidden if the block raises (for errors
      whose explanation is in the native lines); False drops it always (for
      errors the caller reports itself, e.g. libjpeg's warnings).
  """
  if _logs_wanted() or _hidden is not None:
    yield
    return
  hidden = _hide_stderr()
  try:
    yield
  except BaseException:
    _restore_stderr(hidden, show=show_on_error)
    raise
  _restore_stderr(hidden, show=False)


def fail(message, status=1, program=None, skip_exit_handlers=False):
  """Ends the program with one line on stderr: `<program>: error: <message>`.

  Args:
    message: what went wrong, one line.
    status: the exit status.
    program: the name the line starts with; default: the running script's.
    skip_exit_handlers: end at once (os._exit), for a library whose
      clean-up at exit would fail (HDF5 after a failed write crashes there).
  """
  release()
  sys.stderr.write('%s: error: %s\n' % (program or _program_name(), message))
  sys.stderr.flush()
  if skip_exit_handlers:
    sys.stdout.flush()
    os._exit(status)  # pylint: disable=protected-access
  sys.exit(status)


def _program_name():
  """'nets.classify' for `python -m nets.classify`, 'benchmark.py' for a script."""
  path = getattr(sys.modules.get('__main__'), '__file__', None) or sys.argv[0]
  name = os.path.basename(path)
  if os.path.basename(os.path.dirname(os.path.abspath(path))) == 'nets':
    return 'nets.' + os.path.splitext(name)[0]
  return name


# Lines of TensorFlow error messages that say where, not what.
_TF_NOISE = ('Graph execution error', 'Detected at node', 'Node:',
             'Original stack trace', 'Restoring from checkpoint failed',
             'Unsuccessful TensorSliceReader', 'File ', '[[', 'Instructions')


# What tf.data puts before the reason of an error in a map function, and
# what an assertion puts around its message.
_TF_DATA_PREFIX = re.compile(r'^Error in user-defined function passed to .*? '
                             r'transformation with iterator: [\w:]+: ')
_ASSERTION = re.compile(r'^assertion failed: \[(.*)\]$')


def reason(error):
  """The informative first line of an error (TensorFlow's included)."""
  message = getattr(error, 'message', None) or str(error)
  for line in message.splitlines():
    line = line.strip()
    if line and not line.startswith(_TF_NOISE):
      line = _TF_DATA_PREFIX.sub('', line)
      return _ASSERTION.sub(r'\1', line)
  return message.strip().splitlines()[0] if message.strip() else repr(error)


class MissingDependencyError(ValueError):
  """An optional package a feature needs is not installed."""


def require(module, install):
  """Imports an optional package, or says how to install it.

  Args:
    module: the module to import, e.g. 'tf2onnx'.
    install: the command that installs it, e.g. "pip install -e '.[onnx]'".

  Raises:
    MissingDependencyError: if it cannot be imported.
  """
  try:
    with quiet_native_stderr():
      return importlib.import_module(module)
  except ImportError as e:
    raise MissingDependencyError('%s is not installed (%s): %s' % (
        module, reason(e), install)) from e


# --- Shared flags ---------------------------------------------------------------

def define_path(name, default, help_text, **kwargs):
  """flags.DEFINE_string for a file or folder, with `~` expanded.

  The shell expands `~` only at the start of a word, so `--image_dir=~/x`
  reaches the tool as it is; every path flag is defined here to mean what
  the user meant.
  """
  from absl import flags  # pylint: disable=g-import-not-at-top

  class PathParser(flags.ArgumentParser):

    def parse(self, argument):
      return (os.path.expanduser(argument) if isinstance(argument, str)
              else argument)

    def flag_type(self):
      return 'string'

  flags.DEFINE(PathParser(), name, default, help_text,
               serializer=flags.ArgumentSerializer(), **kwargs)


def define_shared_flags(*names, required=(), notes=None, **defaults):
  """Defines the flags several tools share, with one help text each.

  Args:
    *names: any of 'checkpoint_path', 'num_classes', 'image_size',
      'moving_average_decay', 'overwrite', 'optimize', 'json_output',
      'output'.
    required: those of `names` the tool cannot run without.
    notes: {name: what only this tool adds to the shared help}, e.g.
      {'output': 'ONNX, e.g. model.onnx.'}.
    **defaults: a default other than the usual one, e.g. num_classes=1000.
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  from nets import inception_v3  # pylint: disable=g-import-not-at-top
  flags.disclaim_key_flags()  # They are the calling tool's: in its --help.
  helps = {
      'checkpoint_path': 'Slim Inception V3 checkpoint: a V1 file, a V2 '
                         'prefix, or a directory (its latest checkpoint).',
      'num_classes': 'Classes of the model (1001 for the released slim '
                     'checkpoints)%s.',
      'image_size': 'Input height and width, at least %d.' %
                    inception_v3.MIN_IMAGE_SIZE,
      'moving_average_decay': "Use the weights' ExponentialMovingAverage "
                              "shadows (as slim's eval does), e.g. 0.9999.",
      'overwrite': 'Replace existing outputs.',
      'optimize': "Use nets.inference's optimized graph: BatchNorm folded "
                  'into the convolutions, the weights constants at small '
                  'batches.',
      'json_output': "Write the run's record as JSON to this file.",
      'output': 'The file to write.',
  }
  integer = flags.DEFINE_integer
  definers = {
      'checkpoint_path': define_path,
      'num_classes': functools.partial(integer, lower_bound=1),
      'image_size': functools.partial(
          integer, lower_bound=inception_v3.MIN_IMAGE_SIZE),
      'moving_average_decay': flags.DEFINE_float,
      'overwrite': flags.DEFINE_boolean,
      'optimize': flags.DEFINE_boolean,
      'json_output': define_path,
      'output': define_path,
  }
  usual = {'checkpoint_path': None, 'num_classes': None,
           'image_size': inception_v3.inception_v3.default_image_size,
           'moving_average_decay': None, 'overwrite': False,
           'optimize': False, 'json_output': None, 'output': None}
  notes = notes or {}
  unknown = (set(names) - set(definers) |
             (set(defaults) | set(notes)) - set(names))
  if unknown:
    raise ValueError('define_shared_flags: unknown or undeclared flags %s' %
                     ', '.join(sorted(unknown)))
  for name in names:
    default = defaults.get(name, usual[name])
    text = helps[name] + (' ' + notes[name] if name in notes else '')
    if name == 'num_classes':
      text %= '' if default else "; default: the checkpoint's"
    definers[name](name, default, text)
  if required:
    flags.mark_flags_as_required(list(required))


# --- Parsing and running ----------------------------------------------------------

_HELP_FLAGS = ('--help', '-help', '--helpfull', '-helpfull', '--helpshort',
               '-helpshort', '--helpxml', '-helpxml', '-h', '-?')


def _asked_for_help(argv):
  return any(arg in _HELP_FLAGS for arg in argv[1:])


def parse_flags(argv, on_parsed=None, program=None):
  """absl flag parsing: a flag error as one line, --help as exit status 0.

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
    fail(reason(e).removeprefix('ERROR:: '), program=program)
  except SystemExit as e:  # absl's help flags print the help, then exit 1.
    if e.code and _asked_for_help(argv):
      release()
      sys.exit(0)
    raise
  if on_parsed is not None:
    on_parsed()
  # absl's TensorFlow init callback counts the GPUs next, and CUDA complains
  # on a machine without one: count them here, quietly, once.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with quiet_native_stderr():
    tf.config.list_physical_devices('GPU')
  release()
  return argv


def run(main, define_flags=None, errors=(ValueError, OSError),
        positional_args=False, program=None, on_parsed=None):
  """Runs `main(argv)` as a command: absl flags, quiet logs, one-line errors.

  Args:
    main: function(argv) -> exit status (None means 0).
    define_flags: optional function that defines the tool's absl flags.
    errors: exception types reported as one line and exit status 1.
    positional_args: whether the tool takes arguments besides flags (else
      any is refused).
    program: the name errors start with; default: the running script's.
    on_parsed: optional fn() run once the flags are parsed (see
      `parse_flags`).
  """
  import warnings  # pylint: disable=g-import-not-at-top
  from absl import app  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  warnings.filterwarnings('ignore')
  tf.get_logger().setLevel('ERROR')  # tf.compat.v1 deprecation notes
  if define_flags is not None:
    define_flags()

  def checked_main(argv):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if len(argv) > 1 and not positional_args:
      fail('unexpected arguments: %s' % ' '.join(argv[1:]), program=program)
    try:
      status = main(argv)
    except errors + (tf.errors.OpError,) as e:
      fail(reason(e), program=program)
    except KeyboardInterrupt:
      fail('interrupted', 130, program=program)
    sys.exit(status or 0)

  app.run(checked_main,
          flags_parser=lambda argv: parse_flags(argv, on_parsed, program))
