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
"""

import contextlib
import dataclasses
import functools
import math
import os
import re
import sys
import threading
import time

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import checkpoints
from nets import deployment as deployment_lib
from nets import inception_v3
from nets import input_pipeline
from nets import model_deploy
from nets import nets_factory
from nets import preprocessing_factory
from nets import train_dir as train_dir_lib

OPTIMIZERS = ('adadelta', 'adagrad', 'adam', 'ftrl', 'momentum', 'rmsprop',
              'sgd')
LEARNING_RATE_DECAY_TYPES = ('exponential', 'fixed', 'polynomial')
# Weight of the auxiliary head's loss (slim's train_image_classifier).
AUX_LOSS_WEIGHT = 0.4
# The scopes to exclude when fine-tuning on other classes.
HEADS = inception_v3.HEAD_SCOPES


def _check(condition, message, *args):
  if not condition:
    raise ValueError(message % args)


def split_scopes(scopes):
  """A tuple of scopes from a sequence or a comma-separated string."""
  if scopes is None:
    return None
  if isinstance(scopes, str):
    scopes = scopes.split(',')
  return tuple(s.strip() for s in scopes if s and s.strip())


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """What to train and how: slim's train_image_classifier flags.

  The field names are slim's flag names and the defaults slim's; see
  `nets.train_image_classifier --help` for what each does.
  """
  # The model and its input.
  model_name: str = 'inception_v3'
  preprocessing_name: str = None
  train_image_size: int = None
  labels_offset: int = 0
  num_readers: int = 4
  num_preprocessing_threads: int = 4
  batch_size: int = 32
  # Fine-tuning.
  checkpoint_path: str = None
  checkpoint_exclude_scopes: tuple = ()
  trainable_scopes: tuple = None
  ignore_missing_vars: bool = False
  freeze_batch_norm: bool = False
  # The loss.
  weight_decay: float = 0.00004
  label_smoothing: float = 0.0
  # The optimizer.
  optimizer: str = 'rmsprop'
  adadelta_rho: float = 0.95
  adagrad_initial_accumulator_value: float = 0.1
  adam_beta1: float = 0.9
  adam_beta2: float = 0.999
  opt_epsilon: float = 1.0
  ftrl_learning_rate_power: float = -0.5
  ftrl_initial_accumulator_value: float = 0.1
  ftrl_l1: float = 0.0
  ftrl_l2: float = 0.0
  momentum: float = 0.9
  rmsprop_momentum: float = 0.9
  rmsprop_decay: float = 0.9
  # The learning rate.
  learning_rate: float = 0.01
  learning_rate_decay_type: str = 'exponential'
  learning_rate_decay_factor: float = 0.94
  num_epochs_per_decay: float = 2.0
  end_learning_rate: float = 0.0001
  moving_average_decay: float = None
  # The loop.
  max_number_of_steps: int = None
  log_every_n_steps: int = 10
  save_interval_secs: int = 600
  save_summaries_secs: int = 600
  seed: int = None

  def __post_init__(self):
    for name in ('checkpoint_exclude_scopes', 'trainable_scopes'):
      scopes = split_scopes(getattr(self, name))
      object.__setattr__(self, name, scopes)
    _check(self.checkpoint_exclude_scopes is not None,
           'checkpoint_exclude_scopes must be a sequence, not None')
    _check(self.model_name in nets_factory.networks_map,
           'model_name must be one of %s, got %r',
           ', '.join(sorted(nets_factory.networks_map)), self.model_name)
    _check(self.optimizer in OPTIMIZERS, 'optimizer must be one of %s, got %r',
           ', '.join(OPTIMIZERS), self.optimizer)
    _check(self.learning_rate_decay_type in LEARNING_RATE_DECAY_TYPES,
           'learning_rate_decay_type must be one of %s, got %r',
           ', '.join(LEARNING_RATE_DECAY_TYPES),
           self.learning_rate_decay_type)
    for name, low in [('batch_size', 1), ('log_every_n_steps', 1),
                      ('save_interval_secs', 1), ('save_summaries_secs', 1),
                      ('num_readers', 1), ('num_preprocessing_threads', 1),
                      ('labels_offset', 0)]:
      value = getattr(self, name)
      _check(isinstance(value, int) and value >= low,
             '%s must be an integer >= %d, got %r', name, low, value)
    if self.train_image_size is not None:
      _check(self.train_image_size >= inception_v3.MIN_IMAGE_SIZE,
             'train_image_size must be >= %d, got %r',
             inception_v3.MIN_IMAGE_SIZE, self.train_image_size)
    if self.max_number_of_steps is not None:
      _check(self.max_number_of_steps >= 1,
             'max_number_of_steps must be >= 1, got %r',
             self.max_number_of_steps)
    _check(self.learning_rate > 0, 'learning_rate must be > 0, got %r',
           self.learning_rate)
    _check(0 <= self.label_smoothing < 1,
           'label_smoothing must be in [0, 1), got %r', self.label_smoothing)
    _check(self.weight_decay >= 0, 'weight_decay must be >= 0, got %r',
           self.weight_decay)
    _check(self.num_epochs_per_decay > 0,
           'num_epochs_per_decay must be > 0, got %r',
           self.num_epochs_per_decay)
    if self.moving_average_decay is not None:
      _check(0 < self.moving_average_decay < 1,
             'moving_average_decay must be in (0, 1), got %r',
             self.moving_average_decay)
    if self.trainable_scopes is not None:
      _check(self.trainable_scopes, 'trainable_scopes names no scope')
    if self.seed is not None:
      _check(isinstance(self.seed, int) and self.seed >= 0,
             'seed must be an integer >= 0, got %r', self.seed)

  @property
  def image_size(self):
    """The input size: train_image_size, else the network's default."""
    return (self.train_image_size or
            nets_factory.networks_map[self.model_name].default_image_size)


# --- Learning rate and optimizer ----------------------------------------------

def decay_steps(num_samples_per_epoch, images_per_step, num_epochs_per_decay):
  """Global steps per learning-rate decay: slim's, at least 1.

  slim divides the epoch by the batch size (and, with sync_replicas, by
  replicas_to_aggregate): `images_per_step` is all the images one global
  step uses (batch x clones x aggregated replicas). slim ignored the clones.
  """
  return max(1, int(num_samples_per_epoch * num_epochs_per_decay /
                    images_per_step))


def learning_rate(config, global_step, steps_per_decay):
  """slim's learning rate: fixed, or decayed every `steps_per_decay` steps."""
  kind = config.learning_rate_decay_type
  if kind == 'exponential':
    return tf.train.exponential_decay(
        config.learning_rate, global_step, steps_per_decay,
        config.learning_rate_decay_factor, staircase=True,
        name='exponential_decay_learning_rate')
  if kind == 'fixed':
    return tf.constant(config.learning_rate, name='fixed_learning_rate')
  return tf.train.polynomial_decay(
      config.learning_rate, global_step, steps_per_decay,
      config.end_learning_rate, power=1.0, cycle=False,
      name='polynomial_decay_learning_rate')


def optimizer(config, rate):
  """slim's optimizer `config.optimizer` with its parameters."""
  c = config
  if c.optimizer == 'adadelta':
    return tf.train.AdadeltaOptimizer(rate, rho=c.adadelta_rho,
                                      epsilon=c.opt_epsilon)
  if c.optimizer == 'adagrad':
    return tf.train.AdagradOptimizer(
        rate, initial_accumulator_value=c.adagrad_initial_accumulator_value)
  if c.optimizer == 'adam':
    return tf.train.AdamOptimizer(rate, beta1=c.adam_beta1,
                                  beta2=c.adam_beta2, epsilon=c.opt_epsilon)
  if c.optimizer == 'ftrl':
    return tf.train.FtrlOptimizer(
        rate, learning_rate_power=c.ftrl_learning_rate_power,
        initial_accumulator_value=c.ftrl_initial_accumulator_value,
        l1_regularization_strength=c.ftrl_l1,
        l2_regularization_strength=c.ftrl_l2)
  if c.optimizer == 'momentum':
    return tf.train.MomentumOptimizer(rate, momentum=c.momentum,
                                      name='Momentum')
  if c.optimizer == 'rmsprop':
    return tf.train.RMSPropOptimizer(rate, decay=c.rmsprop_decay,
                                     momentum=c.rmsprop_momentum,
                                     epsilon=c.opt_epsilon)
  return tf.train.GradientDescentOptimizer(rate)


# --- Scopes --------------------------------------------------------------------

def variables_in_scopes(scopes, collection=tf.GraphKeys.TRAINABLE_VARIABLES):
  """The variables of `collection` under each scope, as slim selects them.

  slim's `tf.get_collection(collection, scope)`: a scope matches the start
  of a variable's name (as a regular expression).

  Raises:
    ValueError: naming the scopes that match no variable.
  """
  found, empty = [], []
  for scope in scopes:
    variables = tf.get_collection(collection, scope)
    if not variables:
      empty.append(scope)
    found.extend(v for v in variables if v not in found)
  return found, empty


def variables_to_train(trainable_scopes):
  """slim's variables to train: all trainable ones, or those of the scopes.

  Raises:
    ValueError: for a scope that matches no trainable variable.
  """
  if trainable_scopes is None:
    return tf.trainable_variables()
  found, empty = variables_in_scopes(trainable_scopes)
  _check(not empty, 'trainable_scopes: %s matches no trainable variable',
         ', '.join(empty))
  return found


def check_exclude_scopes(exclude_scopes, image_size):
  """Raises ValueError for an exclude scope that matches no model variable.

  They are prefixes of the variable names (as nets.checkpoints excludes
  them). The aux head's scope is accepted below the input size that builds
  the head (slim's usual exclusion list works at every size).
  """
  names = [v.op.name for v in slim.get_model_variables()]
  no_aux = not inception_v3.aux_logits_fit(image_size)
  for scope in exclude_scopes:
    if no_aux and scope.rstrip('/') == inception_v3.AUX_LOGITS_SCOPE:
      continue
    if not any(name.startswith(scope) for name in names):
      raise ValueError('checkpoint_exclude_scopes: %s matches no model '
                       'variable' % scope)


def batch_norm_training(config):
  """nets_factory's batch_norm_training for `config` (None: slim's).

  With freeze_batch_norm, a BatchNorm layer trains when its beta is a
  variable to train (under trainable_scopes, matched as slim matches them).
  """
  if not config.freeze_batch_norm or config.trainable_scopes is None:
    return None
  patterns = [re.compile(scope) for scope in config.trainable_scopes]
  return lambda scope: any(p.match(scope + '/beta:0') for p in patterns)


# --- The graph -----------------------------------------------------------------

@dataclasses.dataclass
class Training:
  """A built training graph.

  Attributes:
    train_op: slim's train tensor: the total loss, run after every update
      (gradients, BatchNorm statistics, moving averages).
    step: the global step read after the update.
    total_loss, learning_rate, global_step: tensors.
    variables_to_train: what the optimizer updates.
    end_points: the first clone's endpoints.
    moving_averages_init: op copying each variable into its EMA shadow (run
      after a fine-tuning restore), or None.
    hooks: session hooks the training needs (SyncReplicasOptimizer's).
    images_per_step: images one run of train_op uses in this process.
  """
  train_op: object
  step: object
  total_loss: object
  learning_rate: object
  global_step: object
  variables_to_train: list
  end_points: dict
  moving_averages_init: object
  hooks: list
  images_per_step: int


def add_losses(logits, end_points, labels, num_classes, label_smoothing):
  """slim's losses (in tf.GraphKeys.LOSSES): logits and 0.4 x aux logits."""
  onehot = tf.one_hot(labels, num_classes)
  if 'AuxLogits' in end_points:
    tf.losses.softmax_cross_entropy(
        onehot, end_points['AuxLogits'], weights=AUX_LOSS_WEIGHT,
        label_smoothing=label_smoothing, scope='aux_loss')
  tf.losses.softmax_cross_entropy(onehot, logits, weights=1.0,
                                  label_smoothing=label_smoothing)


def _add_summaries(end_points, clone_scope, rate, total_loss):
  """slim's summaries: activations, sparsity, losses, variables, rate."""
  for name, value in end_points.items():
    tf.summary.histogram('activations/' + name, value)
    tf.summary.scalar('sparsity/' + name, tf.nn.zero_fraction(value))
  for loss in tf.get_collection(tf.GraphKeys.LOSSES, clone_scope):
    tf.summary.scalar('losses/%s' % loss.op.name, loss)
  for variable in slim.get_model_variables():
    tf.summary.histogram(variable.op.name, variable)
  tf.summary.scalar('learning_rate', rate)
  tf.summary.scalar('total_loss', total_loss)


def _check_images(images, num_clones):
  """Raises ValueError for a batch the clones cannot split or too small."""
  batch = images.shape[0]
  _check(batch is not None and batch % num_clones == 0,
         'images: the batch (%s) must split among num_clones=%d', batch,
         num_clones)
  image_size = int(images.shape[1])
  _check(image_size >= inception_v3.MIN_IMAGE_SIZE,
         'images must be at least %d pixels, got %d',
         inception_v3.MIN_IMAGE_SIZE, image_size)


def build_clones(images, labels, num_classes, config,
                 deployment=deployment_lib.Deployment(), network_fn=None):
  """slim's clones: the network on its share of the batch, with slim's losses.

  model_deploy.create_clones of a clone_fn as research/slim's trainer has
  it: each clone takes the next slice of `images` and `labels`, builds the
  network (the aux head from 107 pixels, the global pool above 362) and
  adds slim's losses (`add_losses`).

  Args:
    images: float32 [batch_size * num_clones, size, size, 3].
    labels: int [batch_size * num_clones].
    num_classes: the model's classes.
    config: a TrainConfig (the model, weight decay, label smoothing, frozen
      BatchNorm).
    deployment: where the clones go (a nets.deployment.Deployment, or a
      model_deploy.DeploymentConfig).
    network_fn: fn(images, create_aux_logits[, global_pool]) -> (logits,
      end_points); default config's network from nets_factory.

  Returns:
    The model_deploy Clones; each one's outputs are (logits, end_points).

  Raises:
    ValueError: for a batch that does not split among the clones or an
      input smaller than the network takes (before building).
  """
  _check_images(images, deployment.num_clones)
  image_size = int(images.shape[1])
  if network_fn is None:
    network_fn = nets_factory.get_network_fn(
        config.model_name, num_classes, weight_decay=config.weight_decay,
        is_training=True, batch_norm_training=batch_norm_training(config))
  options = {'create_aux_logits': inception_v3.aux_logits_fit(image_size)}
  if inception_v3.needs_global_pool(image_size):
    options['global_pool'] = True  # tf-slim's own network has no such flag.
  batches = iter(zip(tf.split(images, deployment.num_clones),
                     tf.split(labels, deployment.num_clones)))

  def clone_fn():
    clone_images, clone_labels = next(batches)
    logits, end_points = network_fn(clone_images, **options)
    add_losses(logits, end_points, clone_labels, num_classes,
               config.label_smoothing)
    return logits, end_points

  return model_deploy.create_clones(deployment, clone_fn)


def build_training(images, labels, num_classes, config,
                   num_samples_per_epoch,
                   deployment=deployment_lib.Deployment()):
  """Builds slim's training graph in the default graph.

  The clones (`build_clones`), their loss and summed gradients
  (model_deploy.optimize_clones), the optimizer's update, the first
  clone's BatchNorm updates and the moving averages in one train op.

  Args:
    images: float32 [batch_size * num_clones, size, size, 3] in [-1, 1]
      (split among the clones).
    labels: int [batch_size * num_clones] in [0, num_classes).
    num_classes: the model's classes.
    config: a TrainConfig.
    num_samples_per_epoch: the dataset's size (for the learning rate decay).
    deployment: a nets.deployment.Deployment.

  Returns:
    A Training.

  Raises:
    ValueError: for a batch that does not split among the clones, an input
      smaller than the network takes (before building), or (once the
      network is built) a trainable or exclude scope that matches no
      variable.
  """
  _check_images(images, deployment.num_clones)
  batch = images.shape[0]
  image_size = int(images.shape[1])
  num_clones = deployment.num_clones
  with deployment.device_scope():
    with tf.device(deployment.variables_device()):
      global_step = tf.train.get_or_create_global_step()
    clones = build_clones(images, labels, num_classes, config, deployment)
    first_clone = clones[0]
    var_list = variables_to_train(config.trainable_scopes)
    if config.checkpoint_path:
      check_exclude_scopes(config.checkpoint_exclude_scopes, image_size)
    # Before the optimizer's slots: only the network's updates.
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone.scope)

    averages, averaged = None, None
    if config.moving_average_decay:
      averaged = slim.get_model_variables()
      averages = tf.train.ExponentialMovingAverage(
          config.moving_average_decay, global_step)
    images_per_step = (batch // num_clones *
                       deployment.images_per_step_factor)
    with tf.device(deployment.variables_device()):
      rate = learning_rate(config, global_step, decay_steps(
          num_samples_per_epoch, images_per_step,
          config.num_epochs_per_decay))
      opt = optimizer(config, rate)
    hooks = []
    if deployment.sync_replicas:
      opt = tf.train.SyncReplicasOptimizer(
          opt, replicas_to_aggregate=deployment.replicas_to_aggregate,
          total_num_replicas=deployment.worker_replicas,
          variable_averages=averages, variables_to_average=averaged)

    # 'Losses/total_loss': the summary keeps the tag 'total_loss'.
    with tf.name_scope('Losses'):
      total_loss, grads_and_vars = model_deploy.optimize_clones(
          clones, opt, var_list=var_list)
    grad_updates = opt.apply_gradients(grads_and_vars,
                                       global_step=global_step)
    updates = [grad_updates] + update_ops
    moving_averages_init = None
    if averages is not None:
      if not deployment.sync_replicas:  # Else the chief's sync applies it.
        with tf.control_dependencies(updates):
          updates = [averages.apply(averaged)]
      moving_averages_init = tf.group(
          [averages.average(v).assign(v) for v in averaged],
          name='moving_averages_init')
    with tf.control_dependencies(updates):
      train_op = tf.identity(total_loss, name='train_op')
      step = tf.identity(global_step.read_value(), name='step_after_update')
    if deployment.sync_replicas:
      hooks.append(opt.make_session_run_hook(deployment.is_chief))
    first_end_points = first_clone.outputs[1]
    _add_summaries(first_end_points, first_clone.scope, rate, total_loss)
  return Training(
      train_op=train_op, step=step, total_loss=total_loss,
      learning_rate=rate, global_step=global_step,
      variables_to_train=var_list, end_points=first_end_points,
      moving_averages_init=moving_averages_init, hooks=hooks,
      images_per_step=batch)


def input_batches(source, config, deployment=deployment_lib.Deployment(),
                  seed=None):
  """Training batches of `source`, this worker's shard, for all its clones.

  Images are preprocessed by `config`'s preprocessing for training, inside
  tf.data (so without its summaries); slim's final image summary
  ('final_distorted_image') is written from the batch instead.

  Args:
    source: a slim Dataset or an input_pipeline.ImageFolder.
    config: a TrainConfig.
    deployment: a Deployment (shards, clones, the input device).
    seed: seed of the shuffles (None: random); given, the batches repeat
      exactly (input_pipeline's `repeatable`), with the graph's seed set.

  Returns:
    (images [batch_size * num_clones, size, size, 3], labels).
  """
  preprocess = preprocessing_factory.get_preprocessing(
      config.preprocessing_name or config.model_name, is_training=True)
  preprocess = functools.partial(preprocess, add_image_summaries=False)
  repeatable = seed is not None
  with tf.device(deployment.inputs_device()):
    examples = input_pipeline.examples(
        source, training=True, num_readers=config.num_readers, seed=seed,
        num_shards=deployment.worker_replicas, shard_index=deployment.task,
        repeatable=repeatable)
    images, labels = input_pipeline.batches(
        examples, preprocess, config.image_size,
        config.batch_size * deployment.num_clones, training=True,
        labels_offset=config.labels_offset,
        num_threads=config.num_preprocessing_threads, repeatable=repeatable)
    tf.summary.image('final_distorted_image', (images + 1.0) / 2.0)
  return images, labels


# --- Checkpoints ---------------------------------------------------------------

def latest_checkpoint(train_dir):
  """The checkpoint a run in train_dir resumes from, or None."""
  return tf.train.latest_checkpoint(train_dir) if train_dir else None


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
  _say(out, 'Fine-tuning from %s: %d variables restored%s' % (
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


# --- The loop ------------------------------------------------------------------

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


def _say(out, line):
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
          _say(out, 'global step %d: loss = %.4f (%.3f sec/step, %.1f '
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
  _check(num_classes >= 1, 'labels_offset=%d leaves no classes of the %d',
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
          _say(out, 'Skipped %s: incomplete (%s), removed' % (name, missing))
      if resume:
        check_resumable(resume)
        _say(out, 'Resuming from %s (global step %s)%s' % (
            resume, resume.rsplit('-', 1)[-1],
            '; checkpoint_path is not used' if config.checkpoint_path
            else ''))
      elif deployment.is_chief:
        init_fn = fine_tune_init_fn(config, training, out)
      _say(out, 'Training %d of %d trainable variables%s, %d images per '
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
        _say(out, 'Note: BatchNorm trains on batch statistics (slim\'s '
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
    _say(out, '%s at global step %d: %s' % (
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
