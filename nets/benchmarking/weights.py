"""The weights the timed graphs run on, and what the model is made of.

`model_facts` counts the variables and FLOPs of the inference graph;
`load_weights` gives a checkpoint's weights or, without one,
`synthetic_weights` of a trained network's scale; `checkpoint_restorer` and
`feeding_loader` put them into a session. A checkpoint that does not fit
the model is one BenchmarkError line naming the first mismatches.
"""

from absl import logging
import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import checkpoints
from nets import inference
from nets.benchmarking import config as config_lib
from nets.benchmarking import network

BenchmarkError = config_lib.BenchmarkError


def model_facts(num_classes, image_size):
  """Variable shapes and FLOPs per image of the inference graph.

  The FLOPs are TensorFlow's own counts (those of tf.profiler) of the ops on
  the path from the image to the logits: convolutions (2 x multiply-adds)
  and pools; BatchNorm and ReLU have no count.

  Returns:
    ({variable name: shape}, float FLOPs per image).
  """
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [1, image_size, image_size, 3])
    logits = inference.build(
        images, num_classes=num_classes,
        network_fn=network.network_fn('port', num_classes)).logits
    shapes = {v.op.name: v.shape.as_list() for v in slim.get_model_variables()}
    logits_path = tf.graph_util.extract_sub_graph(graph.as_graph_def(),
                                                  [logits.op.name])
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(logits_path, name='')
    options = tf.profiler.ProfileOptionBuilder.float_operation()
    options['output'] = 'none'
    flops = tf.profiler.profile(graph, options=options).total_float_ops
  return shapes, float(flops)


def synthetic_weights(shapes, seed=0):
  """Random weights of a trained network's scale, for runs without a checkpoint.

  Kernels are He-scaled (activations neither vanish nor overflow: no
  denormals, no infinities), BatchNorm statistics and biases are non-zero
  (TensorFlow removes an all-zero bias, which would change the graph timed).

  Args:
    shapes: {variable name: shape} (see `model_facts`).
    seed: seed of the values.

  Returns:
    {variable name: float32 np.ndarray}.
  """
  rng = np.random.default_rng(seed)
  weights = {}
  for name in sorted(shapes):
    shape = shapes[name]
    leaf = name.rsplit('/', 1)[1]
    if leaf == 'weights':
      gain = 1.0 if '/Logits/' in name else 2.0  # ReLU follows, or not.
      value = rng.standard_normal(shape, dtype=np.float32)
      value *= np.sqrt(gain / np.prod(shape[:-1]))
    elif leaf == 'moving_variance':
      value = rng.uniform(0.5, 1.5, shape)
    elif leaf == 'gamma':
      value = rng.uniform(0.8, 1.2, shape)
    else:  # beta, moving_mean, biases.
      value = 0.1 * rng.standard_normal(shape)
    weights[name] = value.astype(np.float32)
  return weights


def load_weights(config, shapes=None):
  """The weights a configuration runs on (the optimized graph, --compare).

  Args:
    config: a Config.
    shapes: {variable name: shape} when already known (see `model_facts`).

  Returns:
    {variable name: np.ndarray}: the checkpoint's, else `synthetic_weights`.

  Raises:
    BenchmarkError: for a checkpoint that does not fit the model.
  """
  if config.checkpoint_path:
    weights, _ = checked(config.checkpoint_path, inference.read_weights,
                         open_checkpoint(config.checkpoint_path),
                         config.num_classes)
    return weights
  if shapes is None:
    shapes, _ = model_facts(config.num_classes, config.image_size)
  return synthetic_weights(shapes)


def fixed_images(config, seed=0):
  """One batch of uniform [-1, 1) images, the same in every configuration."""
  shape = (config.batch_size, config.image_size, config.image_size, 3)
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def open_checkpoint(checkpoint_path):
  """The checkpoints.Checkpoint at the path, opened once per process.

  Raises:
    BenchmarkError: for a missing or unreadable checkpoint.
  """
  if checkpoint_path not in _OPENED:
    _OPENED[checkpoint_path] = checked(
        checkpoint_path, checkpoints.load_checkpoint, checkpoint_path)
  return _OPENED[checkpoint_path]


_OPENED = {}


def checked(checkpoint_path, fn, *args, **kwargs):
  """fn(*args, **kwargs), a checkpoint that does not fit as one BenchmarkError.

  Raises:
    BenchmarkError: '--checkpoint_path=PATH: <reason>' (for a mismatch,
      with the first mismatching variables).
  """
  try:
    return fn(*args, **kwargs)
  except (ValueError, OSError, tf.errors.OpError) as e:
    message = getattr(e, 'message', None) or str(e)
    message = message.strip().splitlines()[0]
    if isinstance(e, checkpoints.CheckpointMismatchError):
      message += ' ' + _first_names(e)
    raise BenchmarkError('--checkpoint_path=%s: %s' % (checkpoint_path,
                                                       message))


def _first_names(error, limit=3):
  """'(name: model vs checkpoint shape, ..., N more)' of a mismatch error."""
  found = ['%s: %s vs %s' % m for m in error.mismatched]
  found += ['%s: missing' % name for name, _ in error.missing]
  more = len(found) - limit
  return '(%s%s)' % ('; '.join(found[:limit]),
                     '; %d more' % more if more > 0 else '')


def feeding_loader(variables, weights):
  """fn(session) setting `variables` to `weights` in one run (no constants)."""
  return inference._feeding_loader(variables, weights)  # pylint: disable=protected-access


def checkpoint_restorer(checkpoint_path):
  """fn(session) restoring the default graph's model from the checkpoint.

  Raises:
    BenchmarkError: (also from the function) for a checkpoint that does not
      fit the model.
  """
  restore = checked(checkpoint_path, checkpoints.restore_fn,
                    open_checkpoint(checkpoint_path))

  def restorer(session):
    logging.info('Restoring %s', checkpoint_path)
    checked(checkpoint_path, restore, session)

  return restorer
