"""One road from a checkpoint to Inception V3 running for inference.

Every tool, the benchmark's forward graphs and its FLOP count build the
network to run through `build`, with the same options: a checkpoint (a path
or a `checkpoints.Checkpoint`, opened once) or weights in NumPy, the number
of classes, `optimize` (nets.folded: BatchNorm folded into the
convolutions, constant weights at small batches), `precision` (with
optimize) and `moving_average_decay`. The input size rules live here, in
`nets_factory.build_for_inference`: no auxiliary head, global pooling above
362 pixels, so every size from 75 up gives [batch, classes] logits.

  checkpoint = checkpoints.load_checkpoint('inception_v3.ckpt')
  model = inference.build(images, checkpoint, optimize=True)
  with tf.Session(config=model.session_config) as sess:
    model.initialize(sess)
    probabilities = sess.run(model.probabilities)

`frozen_graph_def` is the frozen GraphDef (placeholder `input`), `predict`
the NumPy outputs for NumPy images. The other names are kept for callers of
earlier versions.
"""

import collections
import functools

import numpy as np
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import folded
from nets import inception_v3
from nets import nets_factory

PRECISIONS = folded.PRECISIONS
# Largest |logits - plain graph's float32 logits| allowed, relative to the
# largest |plain logit| (at least 1); see `logits_error`. fp32: rounding of
# the folded kernels and another summation order (measured ~2e-6). float16
# keeps 11 significant bits and bfloat16 8: over 95 layers the rounding
# reached 1.3e-3 and 9.2e-3 of the logits' range (random weights, 75 to 299
# pixels); the tolerances leave a margin of 5x or more.
TOLERANCES = {'fp32': 1e-4, 'fp16': 1e-2, 'bf16': 5e-2}
# The network's first variable: the one a missing-EMA error names.
_FIRST_WEIGHTS = '%s/%s/weights' % (inception_v3.SCOPE,
                                    inception_v3.ENDPOINTS[0])

Model = collections.namedtuple('Model', [
    'logits', 'probabilities', 'end_points', 'initialize', 'session_config',
    'num_classes'])
Model.__doc__ = """What `build` made: the network's outputs and how to run it.

logits: float32 [batch, num_classes] (the pooled features for 0 classes);
probabilities: the softmax (None for 0 classes); end_points: the network's;
initialize: fn(session) that restores, loads or initializes the weights,
once; session_config: tf.ConfigProto to run under, or None (TensorFlow's
defaults); num_classes: the classifier's width."""


def logits_error(logits, reference):
  """max |logits - reference| / max(1, max |reference|), as TOLERANCES bound."""
  reference = np.asarray(reference, np.float64)
  scale = max(1.0, float(np.abs(reference).max()))
  return float(np.abs(np.asarray(logits, np.float64) - reference).max()) / scale


def build(images, checkpoint=None, num_classes=None, optimize=False,
          precision='fp32', moving_average_decay=None, weights=None,
          batch_size=None, network_fn=None, **kwargs):
  """Inception V3 for inference on `images`, in the default graph.

  Args:
    images: float32 [batch, height, width, 3] in [-1, 1].
    checkpoint: a checkpoint path or a `checkpoints.Checkpoint`, checked
      against the model now (`checkpoints.restore_fn`'s errors); or None.
    num_classes: classifier width; default: the checkpoint's (0: no logits
      layer, the pooled features).
    optimize: the BatchNorm-folded graph (nets.folded) instead of slim's.
    precision: a key of PRECISIONS; other than 'fp32' needs optimize.
    moving_average_decay: use the checkpoint's EMA shadows.
    weights: {variable name: np.ndarray} to run on instead of a checkpoint
      (e.g. synthetic ones); with neither, the variables' initializers.
    batch_size: images per run, if the images' shape does not say.
    network_fn: builds the plain graph (default: nets_factory's
      inception_v3; the benchmark passes tf-slim's own to compare).
    **kwargs: more arguments of the network (reuse, scope).

  Returns:
    A Model.

  Raises:
    ValueError: a bad precision, or nothing to get the classes from.
    checkpoints.CheckpointError: missing, unreadable or mismatching
      checkpoint.
  """
  if precision not in PRECISIONS:
    raise ValueError('precision must be one of %s, got %r.' %
                     (', '.join(PRECISIONS), precision))
  if precision != 'fp32' and not optimize:
    raise ValueError('precision %s needs optimize.' % precision)
  if checkpoint is not None:
    checkpoint = checkpoints.load_checkpoint(checkpoint)
    num_classes = checkpoint.classes(num_classes)
    # Before the build (seconds of CPU); restore_fn would find it after.
    checkpoints.check_moving_averages(checkpoint, moving_average_decay,
                                      _FIRST_WEIGHTS)
  elif num_classes is None:
    raise ValueError('num_classes is needed without a checkpoint.')
  if batch_size is None:
    batch_size = tf.compat.dimension_value(images.shape[0])
  if optimize:
    if weights is None:
      if checkpoint is None:
        raise ValueError('optimize needs a checkpoint or weights.')
      weights = _model_weights(checkpoint, num_classes, moving_average_decay)
    model = folded.OptimizedModel(
        images, weights, num_classes, precision,
        constant_weights=folded.use_constants(batch_size), **kwargs)
    return _model(model.logits, model.end_points, model.initialize,
                  folded.session_config(batch_size=batch_size), num_classes)
  logits, end_points = nets_factory.build_for_inference(
      images, num_classes, network_fn=network_fn, **kwargs)
  if weights is not None:
    initialize = _feeding_loader(tf.global_variables(), weights)
  elif checkpoint is not None:
    initialize = checkpoints.restore_fn(
        checkpoint, moving_average_decay=moving_average_decay)
  else:
    initialize = _initializer(tf.global_variables())
  return _model(logits, end_points, initialize, None, num_classes)


def _model(logits, end_points, initialize, config, num_classes):
  return Model(logits, end_points.get('Predictions'), end_points, initialize,
               config, num_classes)


def _model_weights(checkpoint, num_classes, moving_average_decay):
  """{variable name: np.ndarray} of the model in `checkpoint`, read lazily.

  The checkpoint is checked against the model as `checkpoints.restore_fn`
  does (same errors and hints).
  """
  _, var_map = checkpoints.checked_var_map(
      checkpoint, list(_model_variables(num_classes)),
      moving_average_decay=moving_average_decay)
  return checkpoint.weights(
      {var.op.name: name for name, var in var_map.items()})


@functools.lru_cache(maxsize=8)
def _model_variables(num_classes):
  """The model variables of `build`'s network, built once per process.

  Their names, shapes and dtypes are all the checks and the optimized
  graph need; building the network costs seconds of CPU, and the benchmark
  asks for the same model in every row. The graph is finalized.
  """
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, None, None, 3])
    nets_factory.build_for_inference(images, num_classes)
    variables = tuple(tf.model_variables())
  graph.finalize()
  return variables


def _initializer(variables):
  """fn(session) running the variables' initializers (made when called)."""

  def initialize(session):
    with session.graph.as_default():
      session.run(tf.variables_initializer(variables))

  return initialize


def _feeding_loader(variables, weights):
  """fn(session) setting `variables` to `weights` in one run.

  Each initializer is run with its initial value fed, so the values never
  become graph constants.
  """
  runs = [v for v in variables if v.op.name in weights]
  ops = [v.initializer for v in runs]
  feeds = {v.initializer.inputs[1]: weights[v.op.name] for v in runs}

  def load(session):
    session.run(ops, feeds)
    feeds.clear()  # Lets the caller free the weights.

  return load


def frozen_graph_def(checkpoint=None, num_classes=None, image_size=299,
                     moving_average_decay=None, optimize=False, weights=None):
  """The frozen GraphDef of `build`'s model, as slim's freeze_graph makes it.

  With optimize, the weights are read one at a time, folded and copied in:
  no session, no variables. Otherwise the model is restored in a session
  and its variables frozen (peak memory about three times the weights).

  Args:
    checkpoint, num_classes, moving_average_decay, optimize, weights: see
      `build`.
    image_size: height and width of the input.

  Returns:
    tf.GraphDef with placeholder inception_v3.INPUT_NAME (float32 [None,
    size, size, 3], in [-1, 1]) and outputs inception_v3.LOGITS_OP and
    inception_v3.PREDICTIONS_OP.

  Raises:
    checkpoints.CheckpointError: missing, unreadable or mismatching
      checkpoint.
  """
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, image_size, image_size, 3],
                            name=inception_v3.INPUT_NAME)
    model = build(images, checkpoint, num_classes, optimize,
                  moving_average_decay=moving_average_decay, weights=weights)
    if not tf.global_variables():  # Constant weights: nothing to restore.
      return graph.as_graph_def()
    with tf.Session(graph=graph) as sess:
      model.initialize(sess)
      return freeze(sess)


def freeze(session):
  """The session's graph from its input to the logits and predictions, with
  the variables' values in the session as constants (slim's freeze_graph).

  The graph may hold more (nets.export's bytes signature): only what the
  two outputs need is kept, and the function library only if that uses it.

  Raises:
    ValueError: the session's graph has no such outputs.
  """
  outputs = [inception_v3.LOGITS_OP, inception_v3.PREDICTIONS_OP]
  for name in outputs:
    try:
      session.graph.get_operation_by_name(name)
    except KeyError:
      raise ValueError('session: its graph has no %s (freeze takes a session '
                       "of nets.inference.build's model)" % name) from None
  frozen = tf.graph_util.convert_variables_to_constants(
      session, session.graph.as_graph_def(), outputs)
  ops = {node.op for node in frozen.node}
  if not any(f.signature.name in ops for f in frozen.library.function):
    frozen.ClearField('library')
  return frozen


def predict(checkpoint, images, num_classes=None, moving_average_decay=None,
            optimize=False, weights=None, batch_size=None):
  """[logits, probabilities] of `build`'s model on NumPy `images`.

  Args:
    checkpoint, num_classes, moving_average_decay, optimize, weights: see
      `build` (for 0 classes: [pooled features]).
    images: float32 [batch, height, width, 3] in [-1, 1].
    batch_size: run this many images at a time (default: all at once).

  Returns:
    A list of np.ndarray.
  """
  with tf.Graph().as_default() as graph:
    inputs = tf.placeholder(tf.float32, images.shape if batch_size is None
                            else (None,) + tuple(images.shape[1:]))
    model = build(inputs, checkpoint, num_classes, optimize,
                  moving_average_decay=moving_average_decay, weights=weights)
    fetches = [model.logits] + ([model.probabilities]
                                if model.probabilities is not None else [])
    with tf.Session(graph=graph, config=model.session_config) as sess:
      model.initialize(sess)
      step = batch_size or len(images)
      parts = [sess.run(fetches, {inputs: images[i:i + step]})
               for i in range(0, len(images), step)]
  return [np.concatenate([part[k] for part in parts])
          for k in range(len(fetches))]


# --- Names of earlier versions ------------------------------------------------

MAX_BATCH_FOR_CONSTANTS = folded.MAX_BATCH_FOR_CONSTANTS
FOLDED_SCOPE = folded.FOLDED_SCOPE
OptimizedModel = folded.OptimizedModel
batch_norm_epsilon = folded.batch_norm_epsilon
fold_batch_norm = folded.fold_batch_norm
use_constants = folded.use_constants
single_image_threads = folded.single_image_threads
session_config = folded.session_config


def build_optimized_model(images, weights, num_classes, precision='fp32',
                          **kwargs):
  """(logits, end_points) of the folded model with constant weights."""
  model = folded.OptimizedModel(images, weights, num_classes, precision,
                                constant_weights=True, **kwargs)
  return model.logits, model.end_points


def CheckpointWeights(reader, names, path):  # pylint: disable=invalid-name
  """{variable name: np.ndarray} read when looked up (`Checkpoint.weights`)."""
  return checkpoints.Checkpoint(path, reader).weights(names)


def checkpoint_weights(checkpoint_path, num_classes=None,
                       moving_average_decay=None):
  """(the model's weights, read lazily, checked; num_classes)."""
  checkpoint = checkpoints.load_checkpoint(checkpoint_path)
  num_classes = checkpoint.classes(num_classes)
  return (_model_weights(checkpoint, num_classes, moving_average_decay),
          num_classes)


def read_weights(checkpoint_path, num_classes=None, moving_average_decay=None):
  """({variable name: np.ndarray}, num_classes) of the model, checked."""
  weights, num_classes = checkpoint_weights(checkpoint_path, num_classes,
                                            moving_average_decay)
  return dict(weights), num_classes


def graph_def_from_weights(weights, num_classes, image_size=299):
  """`frozen_graph_def` of the optimized float32 model on these weights."""
  return frozen_graph_def(None, num_classes, image_size, optimize=True,
                          weights=weights)


def optimized_graph_def(checkpoint_path, num_classes=None, image_size=299,
                        moving_average_decay=None):
  """`frozen_graph_def` of the optimized model on a checkpoint's weights."""
  return frozen_graph_def(checkpoint_path, num_classes, image_size,
                          moving_average_decay, optimize=True)
