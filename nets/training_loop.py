"""slim's training loop: a monitored session from step to checkpoint.

Runs a built Training (nets.training_graph) until max_number_of_steps or a
stop request: resumes from train_dir's newest checkpoint, writes
`model.ckpt-<step>` and the summaries there (the chief), logs the loss and
speed, and stops at the first non-finite loss.
"""

import contextlib
import dataclasses
import math
import os
import sys
import threading
import time

import tensorflow.compat.v1 as tf

from nets import deployment as deployment_lib
from nets import train_dir as train_dir_lib


def latest_checkpoint(train_dir):
  """The checkpoint a run in train_dir resumes from, or None."""
  return tf.train.latest_checkpoint(train_dir) if train_dir else None


@dataclasses.dataclass
class Result:
  """What a training run did.

  Attributes:
    global_step: the global step it stopped at.
    checkpoint: the newest checkpoint in train_dir (the chief's), or None.
    interrupted: whether it stopped on a stop request (Ctrl-C).
    resumed_from: the checkpoint it resumed from, or None.
    losses: [(global step, total loss)] of every step run.
  """
  global_step: int
  checkpoint: str
  interrupted: bool
  resumed_from: str
  losses: list


class _StopAtStepHook(tf.train.StopAtStepHook):
  """StopAtStepHook that also runs no step when it is already reached."""

  def after_create_session(self, session, coord):
    super().after_create_session(session, coord)
    if session.run(self._global_step_tensor) >= self._last_step:
      coord.request_stop()


_QUEUE_RUNNER_THREAD = 'QueueRunnerThread-'  # tf.train.QueueRunner's names.


@contextlib.contextmanager
def _queue_runners_end_quietly():
  """Yields an Event to set once training is over; then queue runners end quietly.

  SyncReplicasOptimizer's chief queue runner can still be inside a
  session.run when the monitored session closes; its thread then fails on
  the closed session and Python prints a traceback, often cut short by the
  process's exit. Once the training is over that failure means nothing, so
  it is dropped, and the threads are joined so that nothing prints later.
  Errors before the Event is set print as usual.
  """
  default = threading.excepthook
  over = threading.Event()

  def hook(args):
    if not (over.is_set() and args.thread is not None and
            args.thread.name.startswith(_QUEUE_RUNNER_THREAD)):
      default(args)

  threading.excepthook = hook
  try:
    yield over
  finally:
    if over.is_set():
      for thread in threading.enumerate():
        if thread.name.startswith(_QUEUE_RUNNER_THREAD):
          thread.join(timeout=10)
    threading.excepthook = default


def say(out, line):
  """Prints a progress line to `out` (default sys.stdout), at once."""
  print(line, file=out or sys.stdout, flush=True)


def run(training, train_dir, config, deployment=deployment_lib.Deployment(),
        init_fn=None, out=None, should_stop=None, started=None,
        connecting=None):
  """Runs the training loop until max_number_of_steps or a stop request.

  Stops at the first non-finite loss, saving nothing more (see
  `non_finite_error`).

  Args:
    training: a Training (see build_training), in the default graph.
    train_dir: where the chief writes checkpoints and summaries (and
      resumes from).
    config: the TrainConfig (the loop's fields).
    deployment: the Deployment (session target, chief).
    init_fn: fn(scaffold, session) run by the chief when there is no
      checkpoint to resume from (see fine_tune_init_fn).
    out: where progress lines go (default sys.stdout).
    should_stop: fn() -> bool asked after every step; True stops the loop
      (the chief then saves a checkpoint).
    started: fn() called once the session is ready, before the first step.
    connecting: fn() called as the session is being created (a cluster
      worker then waits for its ps tasks and its chief).

  Returns:
    A Result.

  Raises:
    ValueError: a non-finite loss or weights, a checkpoint that cannot be
      written (train_dir.CheckpointWriteError).
  """
  hooks = list(training.hooks)
  if config.max_number_of_steps:
    hooks.append(_StopAtStepHook(last_step=config.max_number_of_steps))
  chief = deployment.is_chief
  scaffold = tf.train.Scaffold(
      init_fn=init_fn, saver=train_dir_lib.Saver() if chief else None)
  losses, interrupted = [], False
  every = config.log_every_n_steps
  if connecting:
    connecting()
  try:
    with _queue_runners_end_quietly() as over, \
         tf.train.MonitoredTrainingSession(
        master=deployment.master, is_chief=chief,
        checkpoint_dir=train_dir if chief else None, scaffold=scaffold,
        hooks=hooks, save_checkpoint_secs=config.save_interval_secs,
        save_summaries_secs=config.save_summaries_secs,
        save_summaries_steps=None, config=deployment.session_config(),
        stop_grace_period_secs=10, log_step_count_steps=None) as session:
      step = session.run_step_fn(
          lambda step_context: step_context.session.run(training.global_step))
      if started:
        started()
      logged_time, logged_step, runs = time.time(), step, 0
      while not session.should_stop():
        if should_stop and should_stop():
          interrupted = True
          break
        loss, step = session.run([training.train_op, training.step])
        if not math.isfinite(loss):
          raise train_dir_lib.NonFiniteError(int(step), 'the loss', loss)
        losses.append((int(step), float(loss)))
        runs += 1
        if step // every > logged_step // every:
          now = time.time()
          per_step = (now - logged_time) / runs  # This process's steps.
          say(out, 'global step %d: loss = %.4f (%.3f sec/step, %.1f '
               'images/s)' % (step, loss, per_step,
                              training.images_per_step / per_step))
          logged_time, logged_step, runs = now, step, 0
      over.set()
  except train_dir_lib.NonFiniteError as e:
    raise non_finite_error(e, config, train_dir if chief else None) from None
  checkpoint = latest_checkpoint(train_dir) if chief else None
  return Result(int(step), checkpoint, interrupted, None, losses)


def non_finite_error(error, config, train_dir):
  """The ValueError of a NaN or infinite loss (or weights): step and cause.

  slim's create_train_op checks the total loss's numerics for the same
  reason: a too high learning rate makes the weights overflow, and
  training on would only write checkpoints of NaN.
  """
  what = error.what
  if error.value is not None:
    what = '%s is %s' % (what, error.value)
  else:
    what += ' are not finite'
  if train_dir is None:
    kept = 'the chief saves the checkpoints'
  else:
    newest = latest_checkpoint(train_dir)
    kept = ('the newest checkpoint, %s, is the last finite one' %
            os.path.basename(newest) if newest else 'no checkpoint saved')
  return ValueError(
      '%s at global step %d: learning_rate %g is likely too high (try a '
      'smaller one); stopped without saving: %s' % (
          what, error.step, config.learning_rate, kept))
