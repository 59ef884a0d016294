"""The graphs a benchmark times, and the sessions they run in.

`build_model` builds one Config: random inputs, one tower per device (the
variables shared), and the op each step runs: the logits (forward, as the
seed), or one element of each tower-averaged gradient of slim's training
loss (forward-backward), or nets.inference's optimized graph, in float32 or
16 bits, on an input generated once. `start_session` opens, initializes and
restores it.
"""

import ctypes
import dataclasses

import tensorflow.compat.v1 as tf

from nets import inception_v3
from nets import inference
from nets.benchmarking import config as config_lib
from nets.benchmarking import network
from nets.benchmarking import weights as weights_lib

BenchmarkError = config_lib.BenchmarkError

# Weight of the auxiliary head's loss (slim's train_image_classifier).
AUX_LOSS_WEIGHT = 0.4


@dataclasses.dataclass
class Model:
  """A built configuration: its graph, the op timed each step, its set-up."""
  graph: tf.Graph
  fetch: object
  init_op: tf.Operation
  restore: object  # fn(session) or None
  images: list = dataclasses.field(default_factory=list)  # Each tower's input.


def _tower_loss(logits, end_points, num_classes, first_tower):
  """slim's training loss: cross-entropy, 0.4 x the aux head's, weight decay."""
  labels = tf.random_uniform([logits.shape[0]], maxval=num_classes,
                             dtype=tf.int32)
  onehot = tf.one_hot(labels, num_classes)
  loss = tf.losses.softmax_cross_entropy(onehot, logits, loss_collection=None)
  if 'AuxLogits' in end_points:
    loss += tf.losses.softmax_cross_entropy(
        onehot, end_points['AuxLogits'], weights=AUX_LOSS_WEIGHT,
        loss_collection=None)
  if first_tower:  # The variables, so their decay, exist once.
    loss += tf.add_n(tf.losses.get_regularization_losses())
  return loss


def _average(tower_grads):
  """Per-variable mean over the towers (data-parallel gradient)."""
  if len(tower_grads) == 1:
    return tower_grads[0]
  return [tf.add_n(list(grads)) / len(grads) for grads in zip(*tower_grads)]


def _needs_all(tensors):
  """A small fetch that needs every tensor computed: one element of each.

  A tf.group of the gradients does not do: Grappler prunes stateless ops
  whose outputs only feed control dependencies, so nothing would run.
  Fetching every gradient would time a host copy of the whole model.
  """
  return tf.stack([tf.reshape(t, [-1])[0] for t in tensors],
                  name='gradient_probe')


def check_buildable(config):
  """Raises BenchmarkError for a configuration the network cannot run."""
  if config.data_format != 'NHWC':
    raise BenchmarkError('--data_format=%s: not supported: the network is '
                         'NHWC-only (as slim\'s Inception V3 is)'
                         % config.data_format)
  if config.precision != 'fp32' and not config.optimize:
    raise BenchmarkError('--precision=%s: needs the optimized graph '
                         '(--optimize)' % config.precision)
  if config.optimize and config.mode != 'forward':
    raise BenchmarkError('--optimize: the optimized graph is for inference; '
                         'use --mode=forward')


def build_model(config, weights=None):
  """Builds `config`'s graph: random inputs, the towers, the timed fetch.

  Forward fetches the logits (a list of them for several towers), like the
  seed; forward-backward fetches one element of each (tower-averaged)
  gradient, which needs the whole backward pass.

  Args:
    config: a Config.
    weights: {variable name: np.ndarray} (see `weights.load_weights`).
      Required by the optimized graph; the plain graph loads them into its
      variables instead of the checkpoint or the initializers.

  Returns:
    A Model.

  Raises:
    BenchmarkError: for a layout the network does not have, a mode the
      graph does not have, or a checkpoint that does not fit the model.
  """
  check_buildable(config)
  if config.mode == 'forward':
    return _build_forward(config, weights)
  training = config.mode == 'forward-backward'
  build = network.network_fn(config.network, config.num_classes,
                             is_training=training)
  graph = tf.Graph()
  with graph.as_default():
    tower_images, tower_logits, tower_grads = [], [], []
    for i, device in enumerate(config.devices):
      with tf.device(device):
        images = tf.random_uniform(
            (config.batch_size, config.image_size, config.image_size, 3))
        options = {}
        if inception_v3.needs_global_pool(config.image_size):
          options['global_pool'] = True  # tf-slim's own network lacks it.
        logits, end_points = build(
            images, reuse=True if i else None,
            create_aux_logits=(
                training and inception_v3.aux_logits_fit(config.image_size)),
            **options)
        tower_images.append(images)
        tower_logits.append(logits)
        if training:
          loss = _tower_loss(logits, end_points, config.num_classes, i == 0)
          tower_grads.append(tf.gradients(loss, tf.trainable_variables()))
    if training:
      fetch = _needs_all(_average(tower_grads))
    else:
      fetch = tower_logits[0] if len(tower_logits) == 1 else tower_logits
    init_op = tf.global_variables_initializer()
    restore = None
    if weights is not None:
      restore = weights_lib.feeding_loader(tf.global_variables(), weights)
    elif config.checkpoint_path:
      restore = weights_lib.checkpoint_restorer(config.checkpoint_path)
  return Model(graph, fetch, init_op, restore, tower_images)


def _build_forward(config, weights):
  """The inference graph of `inference.build`, one tower per device.

  The plain graph generates its input every step, as the seed did; the
  optimized one generates it once and reads it every step.
  """
  shape = (config.batch_size, config.image_size, config.image_size, 3)
  checkpoint = None
  if weights is None and config.checkpoint_path:
    checkpoint = weights_lib.open_checkpoint(config.checkpoint_path)
  graph = tf.Graph()
  with graph.as_default():
    tower_images, tower_logits, stored, models = [], [], [], []
    for i, device in enumerate(config.devices):
      with tf.device(device):
        if config.optimize:
          stored.append(tf.Variable(tf.random_uniform(shape),
                                    trainable=False, name='images'))
          images = tf.identity(stored[-1], name='input')
        else:
          images = tf.random_uniform(shape)
        models.append(_checked(
            config, inference.build, images, checkpoint, config.num_classes,
            config.optimize, config.precision, weights=weights,
            reuse=True if i else None,
            network_fn=network.network_fn(config.network,
                                          config.num_classes)))
      tower_images.append(images)
      tower_logits.append(models[-1].logits)
    fetch = tower_logits[0] if len(tower_logits) == 1 else tower_logits
    init_op = tf.variables_initializer(stored)  # The weights: restore().

  def restore(session):
    for model in models:  # Shared variables are set once per tower.
      _checked(config, model.initialize, session)

  return Model(graph, fetch, init_op, restore, tower_images)


def _checked(config, fn, *args, **kwargs):
  """fn(*args, **kwargs); with a checkpoint, its errors as BenchmarkError."""
  if not config.checkpoint_path:
    return fn(*args, **kwargs)
  return weights_lib.checked(config.checkpoint_path, fn, *args, **kwargs)


def start_session(model, config, target=''):
  """Opens a session on `model`, initializes it and restores the checkpoint."""
  session = tf.Session(target, graph=model.graph,
                       config=config.session_config())
  try:
    session.run(model.init_op)
    if model.restore:
      with model.graph.as_default():  # The Saver works in its graph only.
        model.restore(session)
      model.restore = None  # Lets go of weights it may hold.
  except BaseException:
    session.close()
    raise
  release_free_memory()
  return session


def release_free_memory():
  """Returns the C heap's free pages to the OS (glibc's malloc_trim).

  Building and loading a graph frees a lot (NumPy weights, GraphDef
  copies) that glibc keeps mapped; TensorFlow then takes fresh pages for the
  activations, so the peak would count both. A no-op without glibc.
  """
  try:
    ctypes.CDLL(None).malloc_trim(0)
  except (AttributeError, OSError):
    pass
