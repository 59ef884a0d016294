"""The configurations `--compare` can time: a registry of name -> builder.

Each entry of RUNNERS says how to build one configuration as a `Runner`
(fn() running one batch, fn(images) giving its logits) and what it needs:
the weights every graph shares, or the ONNX model. A new row of the table
is a new entry: a builder whose Runner's step runs what the row times (a
training step, say) and whose logits is None when there are no logits to
hold against the plain graph's.
"""

import dataclasses
import importlib

import tensorflow.compat.v1 as tf

from nets import cli
from nets import inference
from nets.benchmarking import config as config_lib
from nets.benchmarking import graphs
from nets.benchmarking import weights as weights_lib

BenchmarkError = config_lib.BenchmarkError


@dataclasses.dataclass
class Runner:
  """One configuration of a comparison, built and ready to time.

  Attributes:
    name: its --compare name.
    step: fn() running one batch.
    logits: fn(images) -> logits as np.ndarray, or None when it runs other
      weights than the rest (keras).
    close: fn() releasing it.
    precision: its compute precision (picks the logits tolerance).
    logits_tolerance: the logits tolerance when the precision's is not it
      (an int8 model's).
  """
  name: str
  step: object
  logits: object
  close: object
  precision: str = 'fp32'
  logits_tolerance: float = None


@dataclasses.dataclass(frozen=True)
class RunnerKind:
  """How to build one --compare configuration.

  Attributes:
    build: fn(name, config, weights, cache) -> Runner. config: the plain
      graph's Config; weights: the shared weights or None; cache: a dict
      the builders of one comparison share (the ONNX model).
    needs_weights: it runs the shared weights (else, without them, its own
      checkpoint or initializers).
    needs_onnx: it runs the ONNX model (the shared weights converted, unless
      an ONNX file is given).
  """
  build: object
  needs_weights: bool = False
  needs_onnx: bool = False


def _session_runner(name, config, weights):
  """A runner of one of this harness's own graphs (plain, optimized, ...)."""
  model = graphs.build_model(config, weights)
  session = graphs.start_session(model, config)
  images = model.images[0]
  return Runner(name, session.make_callable(model.fetch),
                lambda x: session.run(model.fetch, {images: x}),
                session.close, config.precision)


def _graph(**changes):
  """A builder of the plain graph's Config with these fields changed."""
  def build(name, config, weights, unused_cache):
    return _session_runner(name, dataclasses.replace(config, **changes),
                           weights)
  return build


def _keras_runner(name, config, unused_weights, unused_cache):
  """tf.keras.applications.InceptionV3 (random weights) under tf.function."""
  import tensorflow as tf2  # pylint: disable=g-import-not-at-top
  keras = tf2.keras
  with tf2.device(config.devices[0]):
    model = keras.applications.InceptionV3(
        weights=None, input_shape=(config.image_size, config.image_size, 3),
        classes=config.num_classes, classifier_activation=None)
    images = tf2.random.uniform(
        (config.batch_size, config.image_size, config.image_size, 3))
  forward = tf2.function(lambda x: model(x, training=False))
  return Runner(name, lambda: forward(images).numpy(), None,
                keras.backend.clear_session)


def _train_runner(name, config, weights, unused_cache):
  """This port's training step: gradients of slim's training loss."""
  runner = _session_runner(
      name, dataclasses.replace(config, mode='forward-backward'), weights)
  return dataclasses.replace(runner, logits=None)


def _keras_train_runner(name, config, unused_weights, unused_cache):
  """Keras InceptionV3's training step: a tf.function with a GradientTape.

  The gradients of the softmax cross-entropy of random labels (Keras'
  InceptionV3 has no aux head nor weight decay), BatchNorm in training
  mode; no optimizer update, as on this port's side.
  """
  import tensorflow as tf2  # pylint: disable=g-import-not-at-top
  keras = tf2.keras
  size = config.image_size
  with tf2.device(config.devices[0]):
    model = keras.applications.InceptionV3(
        weights=None, input_shape=(size, size, 3),
        classes=config.num_classes, classifier_activation=None)
    images = tf2.random.uniform((config.batch_size, size, size, 3))
    labels = tf2.random.uniform((config.batch_size,), maxval=config.num_classes,
                                dtype=tf2.int32)

  @tf2.function
  def step(x, y):
    with tf2.GradientTape() as tape:
      loss = tf2.reduce_mean(
          tf2.nn.sparse_softmax_cross_entropy_with_logits(
              y, model(x, training=True)))
    grads = tape.gradient(loss, model.trainable_variables)
    # One element of each gradient: the whole backward pass runs.
    return tf2.stack([tf2.reshape(g, [-1])[0] for g in grads])

  return Runner(name, lambda: step(images, labels).numpy(), None,
                keras.backend.clear_session)


def _frozen_optimized(config, weights, cache=None):
  """The optimized float32 frozen GraphDef, built once per comparison (the
  ONNX and TensorFlow Lite rows convert the same graph)."""
  if cache is None:
    cache = {}
  if 'frozen_optimized' not in cache:
    cache['frozen_optimized'] = inference.frozen_graph_def(
        num_classes=config.num_classes, image_size=config.image_size,
        optimize=True, weights=weights)
  return cache['frozen_optimized']


def onnx_model(config, weights, cache=None):
  """The optimized float32 graph as ONNX bytes (nets.to_onnx).

  Raises:
    cli.MissingDependencyError: without tf2onnx.
  """
  cli.require('tf2onnx', 'pip install tf2onnx')
  to_onnx = importlib.import_module('nets.to_onnx')
  graph_def = _frozen_optimized(config, weights, cache)
  with cli.quiet_native_stderr():
    return to_onnx.to_onnx(graph_def).SerializeToString()


def _cached_onnx(config, weights, cache):
  if 'onnx' not in cache:
    cache['onnx'] = onnx_model(config, weights, cache)
  return cache['onnx']


def _onnxruntime_runner(name, config, weights, cache):
  """The ONNX model under onnxruntime's CPU provider."""
  onnxruntime = cli.require('onnxruntime', 'pip install onnxruntime')
  model = _cached_onnx(config, weights, cache)
  options = onnxruntime.SessionOptions()
  # Its threads would otherwise spin after each run, slowing the next
  # configuration of the round.
  options.add_session_config_entry('session.intra_op.allow_spinning', '0')
  options.add_session_config_entry('session.inter_op.allow_spinning', '0')
  try:
    session = onnxruntime.InferenceSession(
        model, options, providers=['CPUExecutionProvider'])
  except Exception as e:  # pylint: disable=broad-except
    raise BenchmarkError('onnxruntime cannot load the ONNX model: %s' %
                         str(e).strip().splitlines()[0])
  images = weights_lib.fixed_images(config, seed=1)

  def logits(x):
    return session.run(['logits'], {'input': x})[0]

  return Runner(name, lambda: logits(images), logits, lambda: None)


def _openvino_runner(name, config, weights, cache):
  """The ONNX model in OpenVINO on the CPU, at float32 precision.

  OpenVINO computes in bfloat16 by default on CPUs that have it (AMX):
  faster, but logits ~1e-2 off. INFERENCE_PRECISION_HINT f32 keeps float32.
  """
  openvino = cli.require('openvino', 'pip install openvino')
  model = _cached_onnx(config, weights, cache)
  core = openvino.Core()
  compiled = core.compile_model(
      core.read_model(model=model, weights=b''), 'CPU',
      {'INFERENCE_PRECISION_HINT': 'f32'})
  request = compiled.create_infer_request()
  images = weights_lib.fixed_images(config, seed=1)

  def logits(x):
    return compiled(x)[compiled.output('logits')]

  return Runner(name, lambda: request.infer({0: images}), logits,
                lambda: None)


# int8 rows calibrate on this many random images: timing only.
TFLITE_CALIBRATION_IMAGES = 10


def tflite_model(config, weights, quantize='none', cache=None):
  """The optimized float32 graph as a TensorFlow Lite model (bytes).

  nets.to_tflite's conversion; int8 is calibrated on random images, which
  times it right and makes a model no one should deploy.
  """
  to_tflite = importlib.import_module('nets.to_tflite')
  graph_def = _frozen_optimized(config, weights, cache)
  calibration = None
  if quantize == 'int8':
    calibration = weights_lib.fixed_images(dataclasses.replace(
        config, batch_size=TFLITE_CALIBRATION_IMAGES), seed=2)
  return to_tflite.convert(graph_def, quantize, calibration)


def _tflite(quantize):
  """A builder of the TensorFlow Lite model's runner, on the same threads."""
  def build(name, config, weights, cache):
    to_tflite = importlib.import_module('nets.to_tflite')
    key = 'tflite_' + quantize
    if key not in cache:
      cache[key] = tflite_model(config, weights, quantize, cache)
    model = to_tflite.TfliteModel(model_content=cache[key],
                                  num_threads=config.num_intra_threads or None)
    images = weights_lib.fixed_images(config, seed=1)
    model.run(images)  # Sized for the batch once.

    def logits(x):
      return model.run(x)[0]

    return Runner(name, lambda: model.run(images), logits, lambda: None,
                  logits_tolerance=(to_tflite.QUANTIZED_LOGITS_TOLERANCE
                                    if quantize in to_tflite.QUANTIZED
                                    else None))
  return build


# Table order of --compare=all.
RUNNERS = {
    'plain': RunnerKind(_graph()),
    'slim': RunnerKind(_graph(network='slim')),
    'optimized': RunnerKind(_graph(optimize=True), needs_weights=True),
    'fp16': RunnerKind(_graph(optimize=True, precision='fp16'),
                       needs_weights=True),
    'bf16': RunnerKind(_graph(optimize=True, precision='bf16'),
                       needs_weights=True),
    'xla': RunnerKind(_graph(xla=True)),
    'keras': RunnerKind(_keras_runner),
    'onnxruntime': RunnerKind(_onnxruntime_runner, needs_onnx=True),
    'openvino': RunnerKind(_openvino_runner, needs_onnx=True),
    'tflite': RunnerKind(_tflite('none'), needs_weights=True),
    'tflite_int8': RunnerKind(_tflite('int8'), needs_weights=True),
}
COMPARE_NAMES = tuple(RUNNERS)
# Training steps, not in --compare=all (inference): --compare=train,keras_train.
RUNNERS.update({
    'train': RunnerKind(_train_runner),
    'keras_train': RunnerKind(_keras_train_runner),
})
TRAINING_NAMES = ('train', 'keras_train')


def expand_names(names):
  """The --compare list, 'all' expanded, checked.

  Raises:
    BenchmarkError: for an unknown or repeated name.
  """
  names = list(COMPARE_NAMES) if list(names) == ['all'] else list(names)
  for name in names:
    if name not in RUNNERS:
      raise BenchmarkError('--compare: unknown configuration %r (known: %s, '
                           'all)' % (name, ', '.join(COMPARE_NAMES +
                                                     TRAINING_NAMES)))
    if names.count(name) > 1:
      raise BenchmarkError('--compare: %s is listed twice' % name)
  return names


def needs_weights(names, have_onnx=False):
  """Whether a comparison of `names` alone needs the shared weights."""
  return any(RUNNERS[n].needs_weights or
             (RUNNERS[n].needs_onnx and not have_onnx) for n in names)


def make_runner(name, config, weights, cache):
  """Builds the runner of one --compare name.

  Args:
    name: a key of RUNNERS.
    config: the Config of the plain graph (batch, size, classes, device).
    weights: the weights every graph but keras runs on, or None (plain,
      slim and xla then keep their checkpoint or initializers).
    cache: dict shared by the calls (the ONNX model of both ONNX runners).

  Raises:
    cli.MissingDependencyError: when a package it needs is not installed.
  """
  return RUNNERS[name].build(name, config, weights, cache)


def matmul_runner(config, n):
  """The ceiling: an n x n float32 matmul on the plain graph's threads."""
  plain = dataclasses.replace(config, optimize=False, precision='fp32')
  graph = tf.Graph()
  with graph.as_default(), tf.device(config.devices[0]):
    a = tf.Variable(tf.random_uniform((n, n)), name='a')
    b = tf.Variable(tf.random_uniform((n, n)), name='b')
    product = tf.matmul(a, b)
    init_op = tf.global_variables_initializer()
  session = tf.Session(graph=graph, config=plain.session_config())
  session.run(init_op)
  return Runner('matmul', session.make_callable(product.op), None,
                session.close)
