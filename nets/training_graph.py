"""slim's training graph: clones, losses, optimizer, moving averages.

What research/slim's train_image_classifier builds before its loop, from a
TrainConfig: the input batches, model_deploy's clones of the network with
slim's losses (softmax cross-entropy, 0.4 of it on the aux logits, weight
decay), one of slim's optimizers and learning rates, the BatchNorm updates
and the ExponentialMovingAverage, in one train op (`build_training`).
"""

import dataclasses
import functools
import re

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import deployment as deployment_lib
from nets import inception_v3
from nets import input_pipeline
from nets import model_deploy
from nets import nets_factory
from nets import preprocessing_factory
from nets.training_config import check

# Weight of the auxiliary head's loss (slim's train_image_classifier).
AUX_LOSS_WEIGHT = 0.4


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
  check(not empty, 'trainable_scopes: %s matches no trainable variable',
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
  check(batch is not None and batch % num_clones == 0,
         'images: the batch (%s) must split among num_clones=%d', batch,
         num_clones)
  image_size = int(images.shape[1])
  check(image_size >= inception_v3.MIN_IMAGE_SIZE,
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
