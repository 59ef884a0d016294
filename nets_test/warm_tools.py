"""Runs the tools in forks of one interpreter that has imported TensorFlow.

A tool run as `python -m nets.X` spends about 3-5 s of CPU importing
TensorFlow before it reads its flags; the suite runs the tools a few hundred
times. Here a server process (one per test process) imports TensorFlow,
tf-slim and the network once, and builds the network once; each run is a
fork of it that runs the tool as `__main__`, exactly as `python -c 'import
runpy; ...run_module(tool)'` does: its own process, pid, exit status,
signals, stdout and stderr, its own flags, its own exit handlers. What it
does not repeat is the import (nor the first build's one-time costs), so
runs that test the start-up itself (TensorFlow's native lines before the
flags are parsed, environment variables read at import) need a new
interpreter: `testing.run_tool(..., fresh=True)` or `env=...`.

The server is single-threaded (fork-safe): it reads one request line, forks,
answers with the child's pid, waits for it, answers with its exit status.
A started run (`Server.start`, as subprocess.Popen) is not waited for: its
stdout and stderr are FIFOs the test reads as the tool writes, and its exit
status is asked for later (`{"wait": pid}`), so several can run at once.

A run may have a small disk (`small_disk.enter`: a fresh tmpfs on a folder,
for full-disk and read-only-folder tests): the fork mounts it in a mount
namespace of its own and forks again; the tool runs in that second child,
and the first one, once the tool has exited, lists what the tmpfs holds or
copies it out (it vanishes with them) and exits as the tool did.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from nets_test import small_disk

# What the tools import (the rest is cheap).
PRELOADED = ('tensorflow.compat.v1', 'tf_slim', 'nets.inception_v3',
             'nets.checkpoints', 'nets.nets_factory', 'nets.inference',
             'nets.input_pipeline', 'nets.preprocessing_factory')


def _serve():
  """The server's loop; returns the request in each child, exits in the server."""
  import gc  # pylint: disable=g-import-not-at-top
  import importlib  # pylint: disable=g-import-not-at-top
  # As every tool's cli.quiet_start_up() sets it before importing TensorFlow
  # (TensorFlow reads it once); the children start without it, as a user's.
  os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
  for name in PRELOADED:
    importlib.import_module(name)
  # One network build before any fork: each run inherits what a process's
  # first build initializes (~0.3 s of CPU a run), and the list of the
  # released model's variables the optimized tools check against.
  sys.modules['nets.inference']._model_variables(  # pylint: disable=protected-access
      sys.modules['nets.inception_v3'].RELEASED_NUM_CLASSES)
  del os.environ['TF_CPP_MIN_LOG_LEVEL']
  # What the server holds (TensorFlow's modules) is out of the collector's
  # reach in the children (gc.freeze, as Python's docs advise before a
  # fork without exec): otherwise each child's collections, and the one at
  # its exit, write to every object, copying the whole inherited heap page
  # by page, about 0.7 CPU-s a run (0.85 -> 0.15 for a --help). The children
  # run and exit as before: their own objects are collected, their exit
  # handlers run.
  gc.freeze()
  for line in sys.stdin:
    request = json.loads(line)
    if 'wait' in request:  # A started run's status, or None if it runs on.
      pid, status = os.waitpid(request['wait'], os.WNOHANG)
      print(json.dumps({'status': os.waitstatus_to_exitcode(status)
                                  if pid else None}), flush=True)
      continue
    pid = os.fork()
    if pid == 0:
      return request
    print(json.dumps({'pid': pid}), flush=True)
    if request.get('started'):
      continue
    _, status = os.waitpid(pid, 0)
    print(json.dumps({'status': os.waitstatus_to_exitcode(status)}),
          flush=True)
  sys.exit(0)


def _run_in_child(request):
  """Becomes `python -c ...` running the tool: fds, argv, prelude, __main__."""
  import runpy  # pylint: disable=g-import-not-at-top
  # Ctrl-C as a user's shell leaves it to Python (a test runner's worker may
  # ignore SIGINT, and that would be inherited).
  signal.signal(signal.SIGINT, signal.default_int_handler)
  devnull = os.open(os.devnull, os.O_RDONLY)
  os.dup2(devnull, 0)
  os.close(devnull)
  for fd, path in ((1, request['stdout']), (2, request['stderr'])):
    out = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(out, fd)
    os.close(out)
  if request.get('small_disk'):
    _on_small_disk(**request['small_disk'])
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


def _on_small_disk(directory, size='256k', read_only=False, full=False,
                   after=None, copy=None):
  """Mounts the run's small disk, forks: returns in the child, which runs
  the tool; here, waits for it, then does what the tmpfs must be read for
  before it vanishes, and exits with the tool's exit status.

  Args:
    directory: where the tmpfs is mounted.
    size: its size (e.g. '2m').
    read_only: an empty read-only tmpfs instead.
    full: fill it first (a file `.filler` takes all of it).
    after: a path outside it: what it holds once the tool has exited is
      listed there, one name a line.
    copy: (folder in it, path outside it): the folder copied out then.
  """
  try:
    small_disk.enter(directory, size, read_only)
    if full:
      small_disk.fill(directory)
  except OSError as e:
    os.write(2, ('small disk: %s\n' % e).encode())
    os._exit(small_disk.CANNOT_MOUNT)
  parent = os.getpid()
  pid = os.fork()
  if pid == 0:
    # The tool dies with this process (killed on a timeout, say).
    small_disk.die_with_parent()
    if os.getppid() != parent:
      os._exit(1)
    return
  _, status = os.waitpid(pid, 0)
  try:
    if after:
      with open(after, 'w') as f:
        f.writelines(name + '\n' for name in sorted(os.listdir(directory)))
    if copy:
      shutil.copytree(*copy, symlinks=True)
  except OSError as e:
    os.write(2, ('small disk: after the run: %s\n' % e).encode())
    os._exit(small_disk.CANNOT_MOUNT)
  code = os.waitstatus_to_exitcode(status)
  if code < 0:  # Killed by a signal: so is this process.
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
    code = 128 - code
  os._exit(code)


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

  def run(self, tool, args, prelude='', timeout=None, disk=None):
    """subprocess.CompletedProcess of the tool, as subprocess.run gives it.

    disk: a dict of `_on_small_disk`'s arguments: the tool runs with a
    fresh tmpfs mounted on its `directory`.
    """
    with self._lock, tempfile.TemporaryDirectory() as work:
      paths = {k: os.path.join(work, k) for k in ('stdout', 'stderr')}
      for path in paths.values():
        open(path, 'w').close()
      request = dict(paths, tool=tool, args=list(args), prelude=prelude,
                     small_disk=disk)
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

  def start(self, tool, args, prelude=''):
    """The tool started, as subprocess.Popen(..., stdout=PIPE, stderr=PIPE,
    text=True) starts it: a `StartedTool`."""
    work = tempfile.mkdtemp()
    paths = {k: os.path.join(work, k) for k in ('stdout', 'stderr')}
    for path in paths.values():
      os.mkfifo(path)
    with self._lock:
      self._request(dict(paths, tool=tool, args=list(args), prelude=prelude,
                         started=True))
      pid = self._answer('pid')
    # The child opens them for writing in this order, right after the fork.
    files = [open(paths[k]) for k in ('stdout', 'stderr')]
    shutil.rmtree(work)
    return StartedTool(self, pid, [tool] + list(args), *files)

  def _request(self, request):
    self._proc.stdin.write(json.dumps(request) + '\n')
    self._proc.stdin.flush()

  def poll(self, pid):
    """A started run's exit status, None while it runs (reaps it once)."""
    with self._lock:
      self._request({'wait': pid})
      return self._answer('status')

  def close(self):
    self._proc.stdin.close()
    self._proc.wait()


class StartedTool(object):
  """What tests use of subprocess.Popen, for a run started by the server."""

  def __init__(self, server, pid, args, stdout, stderr):
    self._server = server
    self.pid = pid
    self.args = args
    self.stdout = stdout
    self.stderr = stderr
    self.returncode = None

  def poll(self):
    if self.returncode is None:
      self.returncode = self._server.poll(self.pid)
    return self.returncode

  def wait(self, timeout=None):
    deadline = None if timeout is None else time.monotonic() + timeout
    while self.poll() is None:
      if deadline is not None and time.monotonic() > deadline:
        raise subprocess.TimeoutExpired(self.args, timeout)
      time.sleep(0.02)
    return self.returncode

  def send_signal(self, sig):
    if self.returncode is None:  # Not reaped: the pid is still its own.
      os.kill(self.pid, sig)

  def terminate(self):
    self.send_signal(signal.SIGTERM)

  def kill(self):
    self.send_signal(signal.SIGKILL)

  def communicate(self, timeout=None):
    """(stdout, stderr) read to the end, once the tool has exited."""
    deadline = None if timeout is None else time.monotonic() + timeout
    texts = {}

    def read(f):
      texts[f] = f.read() if not f.closed else ''

    readers = [threading.Thread(target=read, args=(f,), daemon=True)
               for f in (self.stdout, self.stderr)]
    for reader in readers:
      reader.start()
    for reader in readers:
      reader.join(None if deadline is None else
                  max(0.0, deadline - time.monotonic()))
      if reader.is_alive():
        raise subprocess.TimeoutExpired(self.args, timeout)
    self.wait(None if deadline is None else
              max(0.0, deadline - time.monotonic()))
    self.stdout.close()
    self.stderr.close()
    return texts[self.stdout], texts[self.stderr]


if __name__ == '__main__':
  _run_in_child(_serve())
