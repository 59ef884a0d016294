"""Ctrl-C for a tool whose main thread may be blocked inside TensorFlow.

Python runs a signal handler only when the main thread runs Python code: a
main thread waiting in a session (for a chief that never comes, for a first
batch that never comes) or in a sleep while another thread took the signal
(gRPC's) would never see Ctrl-C. Here the signal only wakes a watcher thread
(`signal.set_wakeup_fd`), which acts at once, whatever the main thread does:

  * before `training()`: end with `<tool>: error: interrupted` and status
    130 (nothing to save yet);
  * once training: ask the loop to stop (`requested`; it saves a checkpoint
    and the tool ends with 130); a second Ctrl-C ends at once, unsaved.
"""

import os
import signal
import sys
import threading

from nets import cli


class CtrlC(object):
  """Watches for SIGINT from construction on (call it in the main thread)."""

  def __init__(self, out=None):
    self.requested = False
    self._training = False
    self._out = out
    self._read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    signal.signal(signal.SIGINT, lambda *unused: None)  # The watcher acts.
    threading.Thread(target=self._watch, name='ctrl-c-watcher',
                     daemon=True).start()

  def training(self):
    """From now on a first Ctrl-C asks the loop to stop (and save)."""
    self._training = True

  def should_stop(self):
    return self.requested

  def _watch(self):
    while True:
      for number in os.read(self._read, 64):
        if number == signal.SIGINT:
          self._interrupted()

  def _interrupted(self):
    if self._training and not self.requested:
      self.requested = True
      print('Ctrl-C: stopping after this step, then saving (Ctrl-C again '
            'stops at once, without saving)', file=self._out or sys.stdout,
            flush=True)
      return
    cli.fail('interrupted' + (' again: stopped without saving'
                              if self.requested else ''), 130,
             skip_exit_handlers=True)


def wait_forever():
  """Blocks the main thread until the process ends (Ctrl-C still works)."""
  threading.Event().wait()
