"""The graphs a benchmark times, and the sessions they run in.

`build_model` builds one Config: random inputs, one tower per device (the
variables shared), and the op each step runs: the logits (forward, as the
seed), or one element of each gradient of the trainer's loss (forward-
backward: nets.training's clones and model_deploy's summed gradients, the
graph `nets.train_image_classifier` trains, without the update), or
nets.inference's optimized graph, in float32 or 16 bits, on an input
generated once. `start_session` opens, initializes and
restores it.
"""

import ctypes
import dataclasses

import tensorflow.compat.v1 as tf

from nets import deployment
from nets import inference
from nets import model_deploy
from nets import training
from nets.benchmarking import config as config_lib
from nets.benchmarking import network
from nets.benchmarking import weights as weights_lib

BenchmarkError = config_lib.BenchmarkError


@dataclasses.dataclass
class Model:
  """A built configuration: its graph, the op timed each step, its set-up."""
  graph: tf.Graph
  fetch: object
  init_op: tf.Operation
  restore: object  # fn(session) or None
  images: list = dataclasses.field(default_factory=list)  # Each tower's input.
  labels: object = None  # Forward-backward: the labels of the whole batch.
  loss: object = None  # Forward-backward: the trainer's total loss.


@dataclasses.dataclass(frozen=True)
class _Towers(deployment.Deployment):
  """The trainer's deployment, its clones on the benchmark's devices."""
  devices: tuple = ()

  def clone_device(self, index):
    return self.devices[index]


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
  return _build_training(config, weights)


def _build_training(config, weights):
  """The trainer's clones, loss and gradients, without the update.

  nets.training's clones (model_deploy, one per device, slim's losses with
  slim's default weight decay) and model_deploy's summed gradients, on a
  random batch; the fetch is one element of each gradient.
  """
  train_config = training.TrainConfig()
  network_fn = None  # The trainer's own: nets_factory's.
  if config.network != 'port':
    network_fn = network.network_fn(config.network, config.num_classes,
                                    is_training=True,
                                    weight_decay=train_config.weight_decay)
  towers = _Towers(num_clones=len(config.devices),
                   devices=tuple(config.devices))
  batch = config.batch_size * len(config.devices)
  graph = tf.Graph()
  with graph.as_default():
    with tf.device(config.devices[0]):
      images = tf.random_uniform(
          (batch, config.image_size, config.image_size, 3))
      labels = tf.random_uniform([batch], maxval=config.num_classes,
                                 dtype=tf.int32)
    clones = training.build_clones(images, labels, config.num_classes,
                                   train_config, towers, network_fn)
    # Only its compute_gradients is used: no slots, no update.
    optimizer = training.optimizer(train_config, train_config.learning_rate)
    loss, grads_and_vars = model_deploy.optimize_clones(clones, optimizer)
    fetch = _needs_all([g for g, _ in grads_and_vars])
  return _with_weights(Model(graph, fetch, None, None, [images], labels,
                             loss), config, weights)


def _with_weights(model, config, weights):
  """`model` with its initializer and the restore of the weights to time."""
  with model.graph.as_default():
    model.init_op = tf.global_variables_initializer()
    if weights is not None:
      model.restore = weights_lib.feeding_loader(tf.global_variables(),
                                                 weights)
    elif config.checkpoint_path:
      model.restore = weights_lib.checkpoint_restorer(config.checkpoint_path)
  return model


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
