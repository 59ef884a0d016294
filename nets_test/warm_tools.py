"""Runs the tools in forks of one interpreter that has imported TensorFlow.

A tool run as `python -m nets.X` spends about 2.8 s of CPU importing
TensorFlow before it reads its flags; the suite runs the tools a few hundred
times. Here a server process (one per test process) imports TensorFlow,
tf-slim and the network once; each run is a fork of it that runs the tool
as `__main__`, exactly as `python -c 'import runpy; ...run_module(tool)'`
does: its own process, pid, exit status, signals, stdout and stderr, its
own flags, its own exit handlers. What it does not repeat is the import, so
runs that test the start-up itself (TensorFlow's native lines before the
flags are parsed, environment variables read at import) need a new
interpreter: `testing.run_tool(..., fresh=True)` or `env=...`.

The server is single-threaded (fork-safe): it reads one request line, forks,
answers with the child's pid, waits for it, answers with its exit status.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading

# What the tools import (the rest is cheap).
PRELOADED = ('tensorflow.compat.v1', 'tf_slim', 'nets.inception_v3',
             'nets.checkpoints', 'nets.nets_factory', 'nets.inference',
             'nets.input_pipeline', 'nets.preprocessing_factory')


def _serve():
  """The server's loop; returns the request in each child, exits in the server."""
  import importlib  # pylint: disable=g-import-not-at-top
  # As every tool's cli.quiet_start_up() sets it before importing TensorFlow
  # (TensorFlow reads it once); the children start without it, as a user's.
  os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
  for name in PRELOADED:
    importlib.import_module(name)
  del os.environ['TF_CPP_MIN_LOG_LEVEL']
  for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
      return request
    print(json.dumps({'pid': pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({'status': os.waitstatus_to_exitcode(status)}),
          flush=True)
  sys.exit(0)


def _run_in_child(request):
  """Becomes `python -c ...` running the tool: fds, argv, prelude, __main__."""
  import runpy  # pylint: disable=g-import-not-at-top
  devnull = os.open(os.devnull, os.O_RDONLY)
  os.dup2(devnull, 0)
  os.close(devnull)
  for fd, path in ((1, request['stdout']), (2, request['stderr'])):
    out = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(out, fd)
    os.close(out)
  tool = request['tool']
  sys.argv = [tool] + request['args']
  # As testing.run_tool's `python -c 'import runpy, sys\n<prelude>...'`.
  exec('import runpy, sys\n' + request['prelude'], {'__name__': '__prelude__'})  # pylint: disable=exec-used
  if tool.endswith('.py'):
    runpy.run_path(tool, run_name='__main__')
  else:
    # A tool that is also a library (nets.checkpoints) may be preloaded; as
    # in a new interpreter, its __main__ must not find itself imported.
    sys.modules.pop(tool, None)
    runpy.run_module(tool, run_name='__main__', alter_sys=True)


class Server(object):
  """The client side: one server process, runs one tool at a time."""

  def __init__(self, cwd, env):
    self._lock = threading.Lock()
    self._proc = subprocess.Popen(
        [sys.executable, '-m', 'nets_test.warm_tools'], cwd=cwd, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)

  def _answer(self, key):
    line = self._proc.stdout.readline()
    if not line:
      raise RuntimeError('the warm tool server died (exit status %s)' %
                         self._proc.poll())
    return json.loads(line)[key]

  def run(self, tool, args, prelude='', timeout=None):
    """subprocess.CompletedProcess of the tool, as subprocess.run gives it."""
    with self._lock, tempfile.TemporaryDirectory() as work:
      paths = {k: os.path.join(work, k) for k in ('stdout', 'stderr')}
      for path in paths.values():
        open(path, 'w').close()
      request = dict(paths, tool=tool, args=list(args), prelude=prelude)
      self._proc.stdin.write(json.dumps(request) + '\n')
      self._proc.stdin.flush()
      pid = self._answer('pid')
      timed_out = threading.Event()

      def kill():
        timed_out.set()
        os.kill(pid, 9)

      timer = threading.Timer(timeout, kill) if timeout else None
      if timer:
        timer.start()
      try:
        status = self._answer('status')
      finally:
        if timer:
          timer.cancel()
      with open(paths['stdout']) as f:
        stdout = f.read()
      with open(paths['stderr']) as f:
        stderr = f.read()
    command = [tool] + list(args)
    if timed_out.is_set():
      raise subprocess.TimeoutExpired(command, timeout, stdout, stderr)
    return subprocess.CompletedProcess(command, status, stdout, stderr)

  def close(self):
    self._proc.stdin.close()
    self._proc.wait()


if __name__ == '__main__':
  _run_in_child(_serve())
