"""slim's train_image_classifier as a library: the train op and the loop.

What research/slim's `train_image_classifier.py` builds, from parameters
instead of flags (`nets.train_image_classifier` is the command line):

  * the loss: softmax cross-entropy on the logits (label smoothing), 0.4 of
    it on the aux logits when the input is large enough for the aux head
    (107 pixels), plus the regularization losses (weight decay);
  * one of slim's seven optimizers with slim's defaults, a fixed,
    exponentially or polynomially decaying learning rate;
  * BatchNorm as slim has it: training mode everywhere, every layer's moving
    statistics updated with the train op (UPDATE_OPS). With
    `freeze_batch_norm`, BatchNorm outside `trainable_scopes` runs in
    inference mode instead: its moving statistics are used and left
    unchanged, as Keras fine-tunes a frozen base (better on small datasets);
  * `moving_average_decay`: an ExponentialMovingAverage of the model
    variables (trainable and moving statistics), saved in the checkpoint
    (`<name>/ExponentialMovingAverage`), for evaluation;
  * fine-tuning: the chief restores `checkpoint_path` but
    `checkpoint_exclude_scopes`; only `trainable_scopes` are trained;
  * clones and replicas: slim's model_deploy builds the clones (towers in
    one process), their loss and summed gradients; `nets.deployment` places
    them, and the workers of a TensorFlow cluster, synchronous or not;
  * the loop: a MonitoredTrainingSession that resumes from the newest
    checkpoint in train_dir (then checkpoint_path is not used), writes
    `model.ckpt-<step>` and slim's TensorBoard summaries there, stops
    exactly at global step `max_number_of_steps`, and on a stop request
    (Ctrl-C) saves a checkpoint of the step it reached.

  config = training.TrainConfig(checkpoint_path='inception_v3.ckpt',
                                checkpoint_exclude_scopes=training.HEADS,
                                trainable_scopes=['InceptionV3/Logits'],
                                max_number_of_steps=1000)
  result = training.train('/tmp/train', input_pipeline.ImageFolder(d), config)

This module composes them (`train`) and decides where training starts
(resume train_dir's newest checkpoint, or fine-tune from checkpoint_path);
the parts are modules of their own, their names re-exported here:
nets.training_config (TrainConfig), nets.training_graph (the train op),
nets.training_loop (the monitored session).
"""

import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import deployment as deployment_lib
from nets import input_pipeline
from nets import train_dir as train_dir_lib
from nets.training_config import check
from nets.training_config import HEADS
from nets.training_config import LEARNING_RATE_DECAY_TYPES
from nets.training_config import OPTIMIZERS
from nets.training_config import split_scopes
from nets.training_config import TrainConfig
from nets.training_graph import add_losses
from nets.training_graph import AUX_LOSS_WEIGHT
from nets.training_graph import batch_norm_training
from nets.training_graph import build_clones
from nets.training_graph import build_training
from nets.training_graph import check_exclude_scopes
from nets.training_graph import decay_steps
from nets.training_graph import input_batches
from nets.training_graph import learning_rate
from nets.training_graph import optimizer
from nets.training_graph import Training
from nets.training_graph import variables_in_scopes
from nets.training_graph import variables_to_train
from nets.training_loop import latest_checkpoint
from nets.training_loop import non_finite_error
from nets.training_loop import Result
from nets.training_loop import run
from nets.training_loop import say

__all__ = [
    'AUX_LOSS_WEIGHT', 'HEADS', 'LEARNING_RATE_DECAY_TYPES', 'OPTIMIZERS',
    'Result', 'TrainConfig', 'Training', 'add_losses', 'batch_norm_training',
    'build_clones', 'build_training', 'check_exclude_scopes',
    'check_resumable', 'check_source', 'decay_steps', 'fine_tune_init_fn',
    'input_batches', 'latest_checkpoint', 'learning_rate', 'non_finite_error',
    'optimizer', 'run', 'split_scopes', 'train', 'variables_in_scopes',
    'variables_to_train',
]


# --- Where training starts: fine-tuning or resuming ----------------------------

def fine_tune_init_fn(config, training, out=None):
  """The chief's init_fn(scaffold, session): restore config.checkpoint_path.

  Everything is checked now (nets.checkpoints.restore_fn): a checkpoint
  that does not fit is a CheckpointMismatchError with its hints (e.g.
  exclude the heads for another number of classes). The EMA shadows start
  at the restored values.

  Returns:
    fn(scaffold, session), or None without checkpoint_path.
  """
  if not config.checkpoint_path:
    return None
  restore = checkpoints.restore_fn(
      config.checkpoint_path, exclude_scopes=config.checkpoint_exclude_scopes,
      ignore_missing_vars=config.ignore_missing_vars)
  say(out, 'Fine-tuning from %s: %d variables restored%s' % (
      restore.checkpoint_path, len(restore.var_map),
      ', %s excluded' % ','.join(config.checkpoint_exclude_scopes)
      if config.checkpoint_exclude_scopes else ''))

  def init_fn(unused_scaffold, session):
    restore(session)
    if training.moving_averages_init is not None:
      session.run(training.moving_averages_init)

  return init_fn


def check_resumable(checkpoint_path):
  """Raises CheckpointMismatchError unless it restores every variable.

  A train_dir holding another model's training (other classes, another
  image size's aux head) fails here, before the session.
  """
  shapes = checkpoints.checkpoint_shapes(checkpoint_path)
  var_map = {v.op.name: v for v in tf.global_variables()}
  missing, mismatched = checkpoints.compare(var_map, shapes)
  if missing or mismatched:
    error = checkpoints.mismatch_error(checkpoint_path, var_map, missing,
                                       mismatched, shapes)
    error.summary = ('train_dir holds another training (use a new '
                     'train_dir): ' + error.summary)
    error.args = (error.summary + '\n' + error.details,)
    raise error


def train(train_dir, source, config, deployment=deployment_lib.Deployment(),
          out=None, should_stop=None, seed=None, started=None,
          connecting=None):
  """slim's train_image_classifier: builds the graph and trains.

  The chief locks train_dir for the run (train_dir.lock: a second trainer
  is refused) and resumes from its newest complete checkpoint, removing
  what failed or killed saves left (train_dir.prepare_resume).

  Args:
    train_dir: checkpoints and summaries (the chief's); a run resumes from
      its newest checkpoint, and then does not restore checkpoint_path.
    source: a slim Dataset or an input_pipeline.ImageFolder.
    config: a TrainConfig.
    deployment: a Deployment (one machine by default).
    out: where progress and notes go (default sys.stdout).
    should_stop: fn() -> bool asked after every step (see `run`).
    seed: overrides config.seed.
    started, connecting: fn()s called once the session is ready and as it
      is being created (see `run`).

  Returns:
    A Result.

  Raises:
    ValueError: bad settings, a source without examples, a scope that
      matches nothing, labels_offset leaving no classes, a train_dir in use
      (train_dir.TrainDirBusyError), a non-finite loss, a failed checkpoint
      write; checkpoints.CheckpointError for a checkpoint that cannot be
      restored (with its hints).
  """
  check_source(source)
  num_classes = source.num_classes - config.labels_offset
  check(num_classes >= 1, 'labels_offset=%d leaves no classes of the %d',
         config.labels_offset, source.num_classes)
  seed = config.seed if seed is None else seed
  lock = None
  try:
    with tf.Graph().as_default():
      if seed is not None:
        tf.set_random_seed(seed)
      images, labels = input_batches(source, config, deployment, seed)
      training = build_training(images, labels, num_classes, config,
                                source.num_samples, deployment)
      resume, init_fn = None, None
      if deployment.is_chief:
        lock = train_dir_lib.lock(train_dir)
        resume, skipped = train_dir_lib.prepare_resume(train_dir)
        for name, missing in skipped:
          say(out, 'Skipped %s: incomplete (%s), removed' % (name, missing))
      if resume:
        check_resumable(resume)
        say(out, 'Resuming from %s (global step %s)%s' % (
            resume, resume.rsplit('-', 1)[-1],
            '; checkpoint_path is not used' if config.checkpoint_path
            else ''))
      elif deployment.is_chief:
        init_fn = fine_tune_init_fn(config, training, out)
      say(out, 'Training %d of %d trainable variables%s, %d images per '
           'step%s%s' % (
               len(training.variables_to_train),
               len(tf.trainable_variables()),
               ' to global step %d' % config.max_number_of_steps
               if config.max_number_of_steps else '',
               training.images_per_step,
               '; BatchNorm outside trainable_scopes in inference mode'
               if batch_norm_training(config) else '',
               '; seed %d' % seed if seed is not None else ''))
      if config.trainable_scopes is not None and not config.freeze_batch_norm:
        say(out, 'Note: BatchNorm trains on batch statistics (slim\'s '
             'default) and evaluates with the moving ones, which few steps '
             'hardly move: fine-tuning only some scopes, --freeze_batch_norm '
             'trains them on the features evaluation gives them')
      result = run(training, train_dir, config, deployment, init_fn, out,
                   should_stop, started, connecting)
  finally:
    if lock is not None:
      lock.release()
  result.resumed_from = resume
  if deployment.is_chief and result.checkpoint:
    say(out, '%s at global step %d: %s' % (
        'Interrupted' if result.interrupted else 'Stopped',
        result.global_step, result.checkpoint))
  return result


def check_source(source):
  """Raises ValueError for a source without examples (training would wait
  forever for its first batch)."""
  if source.num_samples:
    return
  if isinstance(source, input_pipeline.ImageFolder):
    where = source.image_dir
  else:
    where = source.data_sources
    where = where if isinstance(where, str) else ', '.join(where)
  raise ValueError('no examples to train on: %s has none (use another '
                   'split or dataset)' % where)
