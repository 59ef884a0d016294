r"""Times Inception V3 in graph mode: the seed's forward benchmark, and more.

With no flags it does what the seed's `time_tensorflow_run` did: batches of 32
random 299x299x3 images, `inception_v3(..., is_training=False)` under
`inception_v3_arg_scope()`, 1000 classes, 10 burn-in steps that are not
counted, then `--num_batches` timed `session.run(logits)` calls, printed in the
seed's format:

  2026-11-27 12:00:00.123456: step 0, duration = 1.372
  ...
  2026-11-27 12:02:17.000000: Forward across 100 steps, 1.370 +/- 0.012 sec / batch

followed by one summary line (images/sec, median/p90/p99 step time, peak
resident memory). The step lines and the two result lines go to stdout;
everything else is absl logging on stderr.

Usage:
  python benchmark.py --num_batches=100
  python benchmark.py --mode=forward-backward --batch_size=16 \
      --json_output=/tmp/run.json --trace_file=/tmp/step.trace.json
  python benchmark.py --num_devices=2                # two CPU towers
  python benchmark.py --target=grpc://host:2222      # a tf.distribute.Server
  python benchmark.py --checkpoint_path=inception_v3.ckpt --num_classes=1001
  python benchmark.py --optimize                     # nets.inference's graph
  python benchmark.py --precision=fp16 --device=/gpu:0
  python benchmark.py --compare=plain,optimized,keras,onnxruntime

--compare builds several configurations in one process, times them in
interleaved rounds (A B C, B C A, ...; --steps_per_turn steps per turn) so
that drift of the machine cancels, and prints a Markdown table: median and
p90 step time, images/sec, GFLOP/s, percent of an n x n float32 matmul timed
in the same rounds (the ceiling), peak memory of each configuration in a
process of its own, the ratio to the first configuration, and how far its
logits are from the plain graph's on the same weights and images.
Configurations:

  plain        this port's graph, exactly what the default benchmark times
  slim         tf_slim.nets.inception_v3 (tf-slim's own copy), same graph
  optimized    --optimize: nets.inference (BatchNorm folded, constant weights
               up to batch 16, trimmed Grappler), input generated once
  fp16, bf16   optimized in float16 / bfloat16 (reduced precision)
  xla          plain with XLA auto-clustering
  keras        tf.keras.applications.InceptionV3(weights=None), tf.function
  onnxruntime  the optimized graph converted by nets.to_onnx, onnxruntime
  openvino     the same ONNX model in OpenVINO (float32 inference precision)

onnxruntime and openvino are skipped, with a message, when not installed.
"""

import atexit
import ctypes
import dataclasses
import datetime
import importlib
import json
import math
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import warnings

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from nets import cli  # pylint: disable=g-import-not-at-top (no TF in it)

with cli.quiet_native_stderr():
  import numpy as np
  import tensorflow.compat.v1 as tf
  import tf_slim as slim
  from absl import app
  from absl import flags
  from absl import logging
  from tensorflow.python.client import timeline

  from nets import checkpoints
  from nets import inception_v3
  from nets import inference

FLAGS = flags.FLAGS
PROGRAM = 'benchmark.py'

COMPARE_NAMES = ('plain', 'slim', 'optimized', 'fp16', 'bf16', 'xla', 'keras',
                 'onnxruntime', 'openvino')

flags.DEFINE_enum('mode', 'forward', ['forward', 'forward-backward'],
                  'What one step runs: the forward pass (the seed), or the '
                  'gradients of the training loss w.r.t. all trainable '
                  'variables (is_training=True).')
flags.DEFINE_integer('batch_size', 32, 'Images per step and tower.',
                     lower_bound=1)
flags.DEFINE_integer('image_size', inception_v3.inception_v3.default_image_size,
                     'Height and width of the random input images.',
                     lower_bound=75)
flags.DEFINE_integer('num_batches', 100, 'Timed steps.', lower_bound=1)
flags.DEFINE_integer('num_warmup_batches', 10,
                     'Burn-in steps before timing (not counted).',
                     lower_bound=0)
flags.DEFINE_integer('display_every', 10,
                     'Print a step line every this many timed steps.',
                     lower_bound=1)
flags.DEFINE_integer('num_classes', 1000,
                     'Classifier width (1001 for the released slim '
                     'checkpoints).', lower_bound=1)
flags.DEFINE_string('json_output', None,
                    'Write the whole run (configuration, TF version, device, '
                    'every step duration, statistics) as JSON to this file.')
flags.DEFINE_string('checkpoint_path', None,
                    'Restore the weights from this slim checkpoint (V1 file, '
                    'V2 prefix or directory) before timing.')
flags.DEFINE_integer('num_intra_threads', 0,
                     'Threads inside one op; 0 = TensorFlow chooses.',
                     lower_bound=0)
flags.DEFINE_integer('num_inter_threads', 0,
                     'Ops run in parallel; 0 = TensorFlow chooses.',
                     lower_bound=0)
flags.DEFINE_bool('xla', False,
                  'Compile with XLA auto-clustering (global_jit_level ON_1).')
flags.DEFINE_enum('data_format', 'NHWC', ['NHWC', 'NCHW'],
                  'Activation layout. The network is NHWC-only (as slim\'s '
                  'Inception V3 is); NCHW is refused with an error.')
flags.DEFINE_string('device', None,
                    'Device of the (first) tower, e.g. /cpu:0 or /gpu:0. '
                    'Default: /gpu:0 when a GPU is visible, else /cpu:0.')
flags.DEFINE_integer('num_devices', 1,
                     'Data-parallel towers, one per device of --device\'s '
                     'type (CPU devices are created as needed), each on '
                     '--batch_size images, sharing the variables.',
                     lower_bound=1)
flags.DEFINE_string('target', '',
                    'Run the session against this TensorFlow server, e.g. '
                    'grpc://host:2222 (a tf.distribute.Server). Default: '
                    'in-process.')
flags.DEFINE_string('trace_file', None,
                    'Write a Chrome trace (chrome://tracing, Perfetto) of one '
                    'extra step, run after the timed ones, to this file.')

flags.DEFINE_bool('optimize', False,
                  'Time the optimized inference graph of nets.inference '
                  '(BatchNorm folded into the convolutions, constant weights '
                  'at batches up to 16, trimmed Grappler) on an input '
                  'generated once. Forward mode only.')
flags.DEFINE_enum('precision', 'fp32', list(inference.PRECISIONS),
                  'Compute precision. fp16 (GPUs) and bf16 (CPUs with AMX) '
                  'imply --optimize; their logits are then checked against '
                  'float32 on the same weights (tolerances: %s).' % ', '.join(
                      '%s %g' % item for item in
                      sorted(inference.TOLERANCES.items())))
flags.DEFINE_list('compare', [],
                  'Time these configurations side by side in one run, '
                  'interleaved, and print a table (see the module help): '
                  'any of %s, or "all".' % ', '.join(COMPARE_NAMES))
flags.DEFINE_integer('matmul_size', 4096,
                     'With --compare: n of the n x n float32 matmul timed in '
                     'the same rounds as the ceiling; 0: none.',
                     lower_bound=0)
flags.DEFINE_integer('steps_per_turn', 1,
                     'With --compare: steps each configuration runs before '
                     'the next one takes over (1: A B C A B C ...). More keep '
                     'its weights in the caches, as when it runs alone; '
                     'worth it for small batches.', lower_bound=1)
flags.DEFINE_string('onnx_model', None,
                    'With --compare: the ONNX file onnxruntime and openvino '
                    'run (input "input", output "logits"). Default: '
                    'nets.to_onnx\'s conversion of the optimized graph, made '
                    'in the run.')
flags.DEFINE_bool('compare_memory', True,
                  'With --compare: measure the peak memory of each '
                  'configuration in a short run of this script of its own.')

# The smallest input whose Mixed_6e map (>= 5x5) fits the auxiliary head's
# 5x5 VALID pool; below it the network is built without the head.
MIN_IMAGE_SIZE_WITH_AUX_HEAD = 107
# Weight of the auxiliary head's loss (slim's train_image_classifier).
AUX_LOSS_WEIGHT = 0.4
# How long the device listing may wait for a server (milliseconds).
DEVICE_LISTING_TIMEOUT_MS = 10000
CONNECT_TIMEOUT_S = 5.0


class BenchmarkError(Exception):
  """Bad input: printed as one line, exit status 1."""


@dataclasses.dataclass(frozen=True)
class Config:
  """One benchmarked configuration: the graph that is built and how it runs.

  Attributes:
    mode: 'forward' or 'forward-backward'.
    batch_size: images per step and tower.
    image_size: height and width of the input.
    num_classes: classifier width.
    devices: one tower per device, e.g. ('/device:CPU:0',).
    data_format: 'NHWC' (the only layout the network has).
    xla: whether the session auto-clusters with XLA.
    num_intra_threads: intra-op threads, 0 = TensorFlow's choice.
    num_inter_threads: inter-op threads, 0 = TensorFlow's choice.
    checkpoint_path: slim checkpoint restored after initialization, or None.
    network: 'port' (nets.inception_v3) or 'slim' (tf_slim.nets.inception_v3,
      tf-slim's own copy, for comparison).
    optimize: build nets.inference's optimized graph (forward only).
    precision: a key of nets.inference.PRECISIONS (not fp32: optimize).
  """
  mode: str = 'forward'
  batch_size: int = 32
  image_size: int = 299
  num_classes: int = 1000
  devices: tuple = ('/device:CPU:0',)
  data_format: str = 'NHWC'
  xla: bool = False
  num_intra_threads: int = 0
  num_inter_threads: int = 0
  checkpoint_path: str = None
  network: str = 'port'
  optimize: bool = False
  precision: str = 'fp32'

  @property
  def info_string(self):
    """The seed's label of the final line: 'Forward' or 'Forward-backward'."""
    return 'Forward' if self.mode == 'forward' else 'Forward-backward'

  @property
  def images_per_step(self):
    """Images one step processes, all towers together."""
    return self.batch_size * len(self.devices)

  def session_config(self):
    """The tf.ConfigProto this configuration runs under."""
    if self.optimize:
      config = inference.session_config(
          _device_type(self.devices[0]), self.num_intra_threads,
          self.num_inter_threads, self.batch_size)
    else:
      config = tf.ConfigProto(
          intra_op_parallelism_threads=self.num_intra_threads,
          inter_op_parallelism_threads=self.num_inter_threads)
    num_cpus = sum(1 for d in self.devices if _device_type(d) == 'CPU')
    if num_cpus > 1:
      config.device_count['CPU'] = num_cpus
    if self.xla:
      config.graph_options.optimizer_options.global_jit_level = (
          tf.OptimizerOptions.ON_1)
    return config


@dataclasses.dataclass
class Model:
  """A built configuration: its graph, the op timed each step, its set-up."""
  graph: tf.Graph
  fetch: object
  init_op: tf.Operation
  restore: object  # fn(session) or None
  images: list = dataclasses.field(default_factory=list)  # Each tower's input.


@dataclasses.dataclass
class Timing:
  """The seed's numbers for one timed run (seconds)."""
  durations: list
  warmup_durations: list
  mean: float
  sd: float


def _now():
  """The seed's timestamp (str(datetime.now())), always with microseconds."""
  return datetime.datetime.now().isoformat(' ', 'microseconds')


def _device_type(device):
  return tf.DeviceSpec.from_string(device).device_type


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


def _network(name):
  """(inception_v3 function, its arg_scope function) of Config.network."""
  if name == 'slim':
    upstream = importlib.import_module('tf_slim.nets.inception_v3')
    return upstream.inception_v3, upstream.inception_v3_arg_scope
  return inception_v3.inception_v3, inception_v3.inception_v3_arg_scope


def _check_buildable(config):
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
    weights: {variable name: np.ndarray} (see `load_weights`). Required by
      the optimized graph; the plain graph loads them into its variables
      instead of the checkpoint or the initializers.

  Returns:
    A Model.

  Raises:
    BenchmarkError: for a layout the network does not have, a mode the
      graph does not have, or a checkpoint that does not fit the model.
  """
  _check_buildable(config)
  if config.optimize:
    return _build_optimized(config, weights)
  network, arg_scope = _network(config.network)
  training = config.mode == 'forward-backward'
  graph = tf.Graph()
  with graph.as_default():
    tower_images, tower_logits, tower_grads = [], [], []
    for i, device in enumerate(config.devices):
      with tf.device(device):
        images = tf.random_uniform(
            (config.batch_size, config.image_size, config.image_size, 3))
        with slim.arg_scope(arg_scope()):
          logits, end_points = network(
              images, num_classes=config.num_classes, is_training=training,
              reuse=True if i else None,
              create_aux_logits=(
                  training and
                  config.image_size >= MIN_IMAGE_SIZE_WITH_AUX_HEAD))
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
      restore = _loader(tf.global_variables(), weights)
    elif config.checkpoint_path:
      restore = _checkpoint_restorer(config.checkpoint_path)
  return Model(graph, fetch, init_op, restore, tower_images)


def _build_optimized(config, weights):
  """The optimized graph (nets.inference) on a fixed input per tower."""
  if weights is None:
    raise ValueError('The optimized graph needs the weights.')
  shape = (config.batch_size, config.image_size, config.image_size, 3)
  constant_weights = inference.use_constants(config.batch_size)
  graph = tf.Graph()
  with graph.as_default():
    tower_images, tower_logits, models, stored = [], [], [], []
    for i, device in enumerate(config.devices):
      with tf.device(device):
        # Generated once; read (not regenerated) every step.
        stored.append(tf.Variable(tf.random_uniform(shape), trainable=False,
                                  name='images'))
        images = tf.identity(stored[-1], name='input')
        model = inference.OptimizedModel(
            images, weights, config.num_classes, config.precision,
            constant_weights=constant_weights, reuse=True if i else None)
      tower_images.append(images)
      tower_logits.append(model.logits)
      models.append(model)
    fetch = tower_logits[0] if len(tower_logits) == 1 else tower_logits
    init_op = tf.variables_initializer(stored)  # The weights: restore().

  def restore(session):
    for model in models:
      model.initialize(session)

  return Model(graph, fetch, init_op, restore, tower_images)


def _loader(variables, weights):
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


def _checkpoint_restorer(checkpoint_path):
  """fn(session) restoring the default graph's model from the checkpoint."""
  restore = _checked(checkpoint_path, checkpoints.restore_fn, checkpoint_path)

  def restorer(session):
    logging.info('Restoring %s', checkpoint_path)
    _checked(checkpoint_path, restore, session)

  return restorer


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
    logits, _ = checkpoints.build_inference_model(images, num_classes)
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
    weights, _ = _checked(config.checkpoint_path, inference.read_weights,
                          config.checkpoint_path, config.num_classes)
    return weights
  if shapes is None:
    shapes, _ = model_facts(config.num_classes, config.image_size)
  return synthetic_weights(shapes)


def _checked(checkpoint_path, fn, *args):
  """Calls fn(*args), turning a checkpoint that does not fit into one line."""
  try:
    return fn(*args)
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


def mean_and_sd(durations):
  """The seed's mean and population standard deviation (sum, sum of squares).

  The variance is clamped at 0: rounding can make it slightly negative.
  """
  n = len(durations)
  mean = sum(durations) / n
  variance = sum(d * d for d in durations) / n - mean * mean
  return mean, math.sqrt(max(variance, 0.0))


def time_steps(run_step, num_batches, num_warmup_batches=10, display_every=10,
               info_string='Forward', out=None):
  """The seed's time_tensorflow_run: burn-in, timed steps, the seed's lines.

  Args:
    run_step: callable running one step (e.g. a session.run of the fetch).
    num_batches: timed steps.
    num_warmup_batches: burn-in steps first, not counted.
    display_every: print a step line every this many timed steps.
    info_string: label of the final line ('Forward', 'Forward-backward').
    out: stream for the lines (default sys.stdout).

  Returns:
    A Timing.
  """
  out = out or sys.stdout
  durations, warmup = [], []
  for i in range(num_warmup_batches + num_batches):
    start = time.perf_counter()
    run_step()
    duration = time.perf_counter() - start
    if i < num_warmup_batches:
      warmup.append(duration)
      continue
    step = i - num_warmup_batches
    if step % display_every == 0:
      print('%s: step %d, duration = %.3f' % (_now(), step, duration),
            file=out, flush=True)
    durations.append(duration)
  mean, sd = mean_and_sd(durations)
  print('%s: %s across %d steps, %.3f +/- %.3f sec / batch' %
        (_now(), info_string, num_batches, mean, sd), file=out, flush=True)
  return Timing(durations, warmup, mean, sd)


def peak_rss_mib():
  """Peak resident memory of this process so far, MiB.

  Linux's VmHWM where there is one: getrusage's ru_maxrss also counts the
  parent a process was started from (it survives fork and exec), which
  would give every --compare memory run its parent's peak.
  """
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return peak / (2.0**20 if sys.platform == 'darwin' else 2.0**10)


def statistics(timing, config):
  """Summary numbers of a Timing: the seed's, percentiles, throughput."""
  median, p90, p99 = np.percentile(timing.durations, [50, 90, 99])
  per_tower = config.batch_size / timing.mean
  return {
      'mean_sec': timing.mean,
      'sd_sec': timing.sd,
      'median_sec': float(median),
      'p90_sec': float(p90),
      'p99_sec': float(p99),
      'min_sec': min(timing.durations),
      'max_sec': max(timing.durations),
      'images_per_sec': config.images_per_step / timing.mean,
      'images_per_sec_per_tower': per_tower,
      'num_towers': len(config.devices),
      'peak_rss_mib': peak_rss_mib(),
  }


def summary_line(stats):
  """The line printed after the seed's: throughput, percentiles, memory."""
  return ('%s: %.1f images/sec (%.1f per tower x %d), median %.3f, p90 %.3f, '
          'p99 %.3f sec / batch, peak RSS %.0f MiB' % (
              _now(), stats['images_per_sec'],
              stats['images_per_sec_per_tower'], stats['num_towers'],
              stats['median_sec'], stats['p90_sec'], stats['p99_sec'],
              stats['peak_rss_mib']))


def write_trace(session, fetch, path):
  """Runs one traced step and writes its Chrome trace to `path`."""
  run_metadata = tf.RunMetadata()
  session.run(fetch,
              options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
              run_metadata=run_metadata)
  trace = timeline.Timeline(run_metadata.step_stats)
  write_atomically(path, trace.generate_chrome_trace_format())


def write_atomically(path, text):
  """Writes `text` to `path` via a temporary file in the same directory."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-',
                             suffix='-' + os.path.basename(path))
  try:
    with os.fdopen(fd, 'w') as f:
      f.write(text)
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise


def run_record(config, timing, stats, available_devices, run_flags):
  """The JSON record of one run: configuration, environment, every step."""
  record = _record_header(config, available_devices, run_flags)
  record.update({
      'info_string': config.info_string,
      'warmup_durations_sec': timing.warmup_durations,
      'durations_sec': timing.durations,
      'statistics': stats,
  })
  return record


def _record_header(config, available_devices, run_flags):
  """What every JSON record starts with: configuration and environment."""
  return {
      'benchmark': 'inception_v3',
      'config': dataclasses.asdict(config),
      'flags': run_flags,
      'tensorflow_version': tf.__version__,
      'device': {
          'towers': list(config.devices),
          'available': available_devices,
          'hostname': platform.node(),
          'platform': platform.platform(),
          'processor': platform.processor(),
          'cpu': _cpu_name(),
          'cpu_count': os.cpu_count(),
          'python': platform.python_version(),
      },
      'end_time': _now(),
  }


def check_output_path(flag, path):
  """A file the user names must be writable where they named it."""
  if path is None:
    return
  directory = os.path.dirname(os.path.abspath(path))
  if not path or os.path.isdir(path):
    raise BenchmarkError('--%s=%s: is a directory, not a file' % (flag, path))
  if not os.path.isdir(directory):
    raise BenchmarkError('--%s=%s: directory %s does not exist' %
                         (flag, path, directory))
  if not os.access(directory, os.W_OK):
    raise BenchmarkError('--%s=%s: directory %s is not writable' %
                         (flag, path, directory))


def check_target(target):
  """Fails fast when `target` (grpc://host:port) does not accept connections."""
  if not target:
    return
  parsed = urllib.parse.urlparse(target)
  try:
    port = parsed.port
  except ValueError:
    port = None
  if parsed.scheme != 'grpc' or not parsed.hostname or not port:
    raise BenchmarkError('--target=%s: expected grpc://host:port' % target)
  try:
    socket.create_connection((parsed.hostname, port),
                             timeout=CONNECT_TIMEOUT_S).close()
  except OSError as e:
    raise BenchmarkError('--target=%s: cannot connect: %s' %
                         (target, e.strerror or e))


def list_devices(target, num_cpus):
  """Names of the devices a session on `target` sees (num_cpus CPUs locally)."""
  config = tf.ConfigProto(operation_timeout_in_ms=DEVICE_LISTING_TIMEOUT_MS)
  config.device_count['CPU'] = num_cpus
  try:
    with tf.Session(target, graph=tf.Graph(), config=config) as session:
      return [d.name for d in session.list_devices()]
  except tf.errors.OpError as e:
    raise BenchmarkError('--target=%s: no TensorFlow server answered: %s' %
                         (target, e.message.strip().splitlines()[0]))


def tower_devices(device, num_devices, available):
  """The towers' devices: --device and the next ones of its type.

  Args:
    device: --device (None = /gpu:0 when a GPU is available, else /cpu:0).
    num_devices: number of towers.
    available: device names of the session (from list_devices).

  Returns:
    A tuple of num_devices canonical device names ('/device:CPU:0').

  Raises:
    BenchmarkError: when a device is malformed or not available.
  """
  indices = {}
  for name in available:
    spec = tf.DeviceSpec.from_string(name)
    indices.setdefault(spec.device_type, set()).add(spec.device_index)
  if device is None:
    device = '/gpu:0' if 'GPU' in indices else '/cpu:0'
  try:
    spec = tf.DeviceSpec.from_string(device)
  except ValueError:
    spec = None
  if spec is None or spec.device_type not in ('CPU', 'GPU'):
    raise BenchmarkError('--device=%s: expected /cpu:N or /gpu:N' % device)
  first = spec.device_index or 0
  wanted = range(first, first + num_devices)
  have = indices.get(spec.device_type, set())
  if not set(wanted) <= have:
    flag = '--device=%s' % device
    if num_devices > 1:
      flag += ' --num_devices=%d' % num_devices
    raise BenchmarkError('%s: not available (devices: %s)' % (
        flag, ', '.join(sorted('/%s:%d' % (t.lower(), i)
                               for t, ids in indices.items() for i in ids))))
  return tuple('/device:%s:%d' % (spec.device_type, i) for i in wanted)


def config_from_flags(available):
  """The Config the flags ask for, checked against the available devices."""
  devices = tower_devices(FLAGS.device, FLAGS.num_devices, available)
  if FLAGS.data_format == 'NCHW':
    if _device_type(devices[0]) == 'CPU':
      raise BenchmarkError('--data_format=NCHW: not supported on CPU (%s); '
                           'use NHWC' % devices[0])
    raise BenchmarkError('--data_format=NCHW: not supported: the network is '
                         'NHWC-only (as slim\'s Inception V3 is)')
  return Config(
      mode=FLAGS.mode, batch_size=FLAGS.batch_size,
      image_size=FLAGS.image_size, num_classes=FLAGS.num_classes,
      devices=devices, data_format=FLAGS.data_format, xla=FLAGS.xla,
      num_intra_threads=FLAGS.num_intra_threads,
      num_inter_threads=FLAGS.num_inter_threads,
      checkpoint_path=FLAGS.checkpoint_path,
      optimize=FLAGS.optimize or FLAGS.precision != 'fp32',
      precision=FLAGS.precision)


def check_flags():
  """The checks absl's per-flag bounds cannot do (files, combinations)."""
  check_output_path('json_output', FLAGS.json_output)
  check_output_path('trace_file', FLAGS.trace_file)
  if (FLAGS.json_output and FLAGS.trace_file and
      os.path.abspath(FLAGS.json_output) == os.path.abspath(FLAGS.trace_file)):
    raise BenchmarkError('--trace_file=%s: same file as --json_output' %
                         FLAGS.trace_file)
  if FLAGS.checkpoint_path is not None:  # Before the build, which is slow.
    _checked(FLAGS.checkpoint_path, checkpoints.resolve_checkpoint_path,
             FLAGS.checkpoint_path)
  check_target(FLAGS.target)
  if FLAGS.onnx_model is not None and not os.path.isfile(FLAGS.onnx_model):
    raise BenchmarkError('--onnx_model=%s: no such file' % FLAGS.onnx_model)
  if FLAGS.compare:
    compare_names()  # Raises for a bad list.
    for flag, is_set in [('mode', FLAGS.mode != 'forward'),
                         ('num_devices', FLAGS.num_devices != 1),
                         ('target', bool(FLAGS.target)),
                         ('trace_file', FLAGS.trace_file is not None),
                         ('optimize', FLAGS.optimize),
                         ('precision', FLAGS.precision != 'fp32'),
                         ('xla', FLAGS.xla)]:
      if is_set:
        raise BenchmarkError(
            '--compare: cannot be combined with --%s (it times forward '
            'passes of its named configurations on one local device)' % flag)


def compare_names():
  """The --compare list, 'all' expanded, checked.

  Raises:
    BenchmarkError: for an unknown or repeated name.
  """
  names = list(COMPARE_NAMES) if FLAGS.compare == ['all'] else FLAGS.compare
  for name in names:
    if name not in COMPARE_NAMES:
      raise BenchmarkError('--compare: unknown configuration %r (known: %s, '
                           'all)' % (name, ', '.join(COMPARE_NAMES)))
    if names.count(name) > 1:
      raise BenchmarkError('--compare: %s is listed twice' % name)
  return names


def enable_xla_on_cpu():
  """Lets XLA auto-clustering take CPU ops, which it skips by default.

  TensorFlow reads TF_XLA_FLAGS once per process, when it first sets up its
  devices, so this works only before that (parse_flags calls it in time).
  """
  xla_flags = os.environ.get('TF_XLA_FLAGS', '')
  if '--tf_xla_cpu_global_jit' not in xla_flags:
    os.environ['TF_XLA_FLAGS'] = (
        xla_flags + ' --tf_xla_cpu_global_jit').strip()


def run_config(config, num_batches, num_warmup_batches=10, display_every=10,
               target='', trace_file=None, out=None):
  """Builds and times one configuration, printing the seed's lines.

  Args:
    config: a Config.
    num_batches, num_warmup_batches, display_every: as for time_steps.
    target: session target ('' = in-process, or grpc://host:port).
    trace_file: if set, write a Chrome trace of one extra step there.
    out: stream for the step and result lines (default sys.stdout).

  Returns:
    (Timing, statistics dict).

  Raises:
    BenchmarkError: see `build_model`; for a reduced precision, also when
      its logits are not within nets.inference.TOLERANCES of float32.
  """
  out = out or sys.stdout
  logging.info('Building Inception V3 %s%s: batch %d, %dx%dx3, %d classes, '
               '%s, on %s%s', config.mode,
               ' (optimized, %s)' % config.precision if config.optimize else '',
               config.batch_size, config.image_size, config.image_size,
               config.num_classes, config.data_format,
               ', '.join(config.devices), ' via ' + target if target else '')
  weights = load_weights(config) if config.optimize else None
  model = build_model(config, weights)
  if config.precision == 'fp32':
    weights = None  # The graph holds them now.
  with start_session(model, config, target) as session:
    logging.info('Burn-in: %d steps (not counted), then %d timed steps',
                 num_warmup_batches, num_batches)
    timing = time_steps(session.make_callable(model.fetch), num_batches,
                        num_warmup_batches, display_every, config.info_string,
                        out)
    stats = statistics(timing, config)
    print(summary_line(stats), file=out, flush=True)
    if trace_file:
      write_trace(session, model.fetch, trace_file)
      logging.info('Wrote the trace of one step to %s', trace_file)
    if config.precision != 'fp32':
      images = _fixed_images(config)
      logits = session.run(model.fetch, {model.images[0]: images})
      print(check_precision(config, weights, images, logits), file=out,
            flush=True)
  return timing, stats


def _fixed_images(config, seed=0):
  """One batch of uniform [-1, 1) images, the same in every configuration."""
  shape = (config.batch_size, config.image_size, config.image_size, 3)
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def check_precision(config, weights, images, logits):
  """Checks reduced-precision logits against float32 on the same weights.

  Returns:
    The line saying how far they are.

  Raises:
    BenchmarkError: if they differ by more than the precision's tolerance.
  """
  reference_config = dataclasses.replace(config, precision='fp32')
  reference = build_model(reference_config, weights)
  with start_session(reference, reference_config) as session:
    expected = session.run(reference.fetch, {reference.images[0]: images})
  error = inference.logits_error(logits, expected)
  tolerance = inference.TOLERANCES[config.precision]
  if not error <= tolerance:
    raise BenchmarkError(
        '--precision=%s: logits differ from float32 by %.2g of the largest '
        'logit (tolerance %g)' % (config.precision, error, tolerance))
  return ('%s: %s logits vs float32 on the same weights and images: max '
          '|diff| %.2g of the largest logit (tolerance %g)' % (
              _now(), config.precision, error, tolerance))


# --- Side by side (--compare) ------------------------------------------------


class Unavailable(Exception):
  """A configuration this machine cannot run (a package is not installed)."""


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
  """
  name: str
  step: object
  logits: object
  close: object
  precision: str = 'fp32'


def _optional(module, install):
  """Imports an optional package, or raises Unavailable saying how to get it."""
  try:
    with cli.quiet_native_stderr():
      return importlib.import_module(module)
  except ImportError:
    raise Unavailable('%s is not installed (%s)' % (module, install))


def _session_runner(name, config, weights):
  """A runner of one of this script's own graphs (plain, optimized, ...)."""
  model = build_model(config, weights)
  session = start_session(model, config)
  images = model.images[0]
  return Runner(name, session.make_callable(model.fetch),
                lambda x: session.run(model.fetch, {images: x}),
                session.close, config.precision)


def _keras_runner(config):
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
  return Runner('keras', lambda: forward(images).numpy(), None,
                keras.backend.clear_session)


def _onnx_model(config, weights):
  """The optimized float32 graph as ONNX bytes (nets.to_onnx)."""
  _optional('tf2onnx', 'pip install tf2onnx')
  to_onnx = importlib.import_module('nets.to_onnx')
  graph_def = inference.graph_def_from_weights(weights, config.num_classes,
                                               config.image_size)
  with cli.quiet_native_stderr():
    return to_onnx.to_onnx(graph_def).SerializeToString()


def _onnxruntime_runner(config, onnx_model):
  """The ONNX model under onnxruntime's CPU provider."""
  onnxruntime = _optional('onnxruntime', 'pip install onnxruntime')
  options = onnxruntime.SessionOptions()
  # Its threads would otherwise spin after each run, slowing the next
  # configuration of the round.
  options.add_session_config_entry('session.intra_op.allow_spinning', '0')
  options.add_session_config_entry('session.inter_op.allow_spinning', '0')
  try:
    session = onnxruntime.InferenceSession(
        onnx_model, options, providers=['CPUExecutionProvider'])
  except Exception as e:  # pylint: disable=broad-except
    raise BenchmarkError('onnxruntime cannot load the ONNX model: %s' %
                         str(e).strip().splitlines()[0])
  images = _fixed_images(config, seed=1)

  def logits(x):
    return session.run(['logits'], {'input': x})[0]

  return Runner('onnxruntime', lambda: logits(images), logits, lambda: None)


def _openvino_runner(config, onnx_model):
  """The ONNX model in OpenVINO on the CPU, at float32 precision.

  OpenVINO computes in bfloat16 by default on CPUs that have it (AMX):
  faster, but logits ~1e-2 off. INFERENCE_PRECISION_HINT f32 keeps float32.
  """
  openvino = _optional('openvino', 'pip install openvino')
  core = openvino.Core()
  compiled = core.compile_model(
      core.read_model(model=onnx_model, weights=b''), 'CPU',
      {'INFERENCE_PRECISION_HINT': 'f32'})
  request = compiled.create_infer_request()
  images = _fixed_images(config, seed=1)

  def logits(x):
    return compiled(x)[compiled.output('logits')]

  return Runner('openvino', lambda: request.infer({0: images}), logits,
                lambda: None)


def _matmul_runner(config, n):
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


def make_runner(name, config, weights, cache):
  """Builds the runner of one --compare name.

  Args:
    name: one of COMPARE_NAMES.
    config: the Config of the plain graph (batch, size, classes, device).
    weights: the weights every graph but keras runs on, or None (plain,
      slim and xla then keep their checkpoint or initializers).
    cache: dict shared by the calls (the ONNX model of both ONNX runners).

  Raises:
    Unavailable: when a package it needs is not installed.
  """
  variants = {
      'plain': {}, 'slim': {'network': 'slim'}, 'xla': {'xla': True},
      'optimized': {'optimize': True},
      'fp16': {'optimize': True, 'precision': 'fp16'},
      'bf16': {'optimize': True, 'precision': 'bf16'}}
  if name in variants:
    return _session_runner(
        name, dataclasses.replace(config, **variants[name]), weights)
  if name == 'keras':
    return _keras_runner(config)
  if 'onnx' not in cache:
    cache['onnx'] = _onnx_model(config, weights)
  if name == 'onnxruntime':
    return _onnxruntime_runner(config, cache['onnx'])
  return _openvino_runner(config, cache['onnx'])


def _needs_weights(names, have_onnx=False):
  """Whether a comparison of `names` alone needs load_weights."""
  own = ('plain', 'slim', 'xla', 'keras')
  if have_onnx:
    own += ('onnxruntime', 'openvino')
  return any(n not in own for n in names)


def time_interleaved(runners, num_batches, num_warmup_batches=10,
                     display_every=10, steps_per_turn=1):
  """Times the runners in rounds: A B C, then B C A, then C A B, ...

  Every runner first runs its burn-in steps; then each round gives every
  runner a turn of `steps_per_turn` steps, the order rotating so that none
  always follows another, until each has run `num_batches` timed steps.

  Returns:
    A Timing per runner, in their order.
  """
  for runner in runners:
    logging.info('Burn-in of %s: %d steps', runner.name, num_warmup_batches)
  warmup = [[_timed(r.step) for _ in range(num_warmup_batches)]
            for r in runners]
  durations = [[] for _ in runners]
  count = len(runners)
  rounds = -(-num_batches // steps_per_turn)
  for i in range(rounds):
    steps = min(steps_per_turn, num_batches - i * steps_per_turn)
    for k in [(i + j) % count for j in range(count)]:
      durations[k].extend(_timed(runners[k].step) for _ in range(steps))
    if i % display_every == 0 or i == rounds - 1:
      logging.info('Round %d of %d: %s', i + 1, rounds, ', '.join(
          '%s %.3f' % (r.name, d[-1]) for r, d in zip(runners, durations)))
  return [Timing(d, w, *mean_and_sd(d)) for d, w in zip(durations, warmup)]


def _timed(fn):
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def peak_memory_of(name, config, onnx_model=None, timeout_s=1800):
  """Peak RSS (MiB) of `name` alone: a short --compare=name run of its own.

  Returns:
    (MiB or None, the reason when None).
  """
  with tempfile.TemporaryDirectory() as tmp:
    json_path = os.path.join(tmp, 'run.json')
    args = [sys.executable, os.path.abspath(__file__), '--compare=' + name,
            '--batch_size=%d' % config.batch_size,
            '--image_size=%d' % config.image_size,
            '--num_classes=%d' % config.num_classes,
            '--device=' + config.devices[0], '--num_batches=2',
            '--num_warmup_batches=1', '--matmul_size=0',
            '--nocompare_memory', '--json_output=' + json_path,
            '--num_intra_threads=%d' % config.num_intra_threads,
            '--num_inter_threads=%d' % config.num_inter_threads]
    if config.checkpoint_path:
      args.append('--checkpoint_path=' + config.checkpoint_path)
    if onnx_model:
      args.append('--onnx_model=' + onnx_model)
    try:
      result = subprocess.run(args, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
      return None, 'timed out'
    if result.returncode:
      lines = result.stderr.strip().splitlines()
      return None, lines[-1] if lines else 'exit status %d' % (
          result.returncode)
    with open(json_path) as f:
      record = json.load(f)
  return record['configurations'][0]['peak_rss_mib'], None


def _reference_name(names):
  """The configuration the others' logits are compared with: plain, else slim."""
  return next((name for name in ('plain', 'slim') if name in names), None)


def check_logits(runners, config):
  """Logits error of each runner against the plain (else slim) graph's.

  Returns:
    {name: (error, tolerance)}; the reference has (0.0, tolerance), runners
    without comparable logits are absent.
  """
  name = _reference_name([r.name for r in runners])
  if name is None:
    return {}
  images = _fixed_images(config)
  expected = next(r for r in runners if r.name == name).logits(images)
  errors = {}
  for runner in runners:
    if runner.logits is not None:
      errors[runner.name] = (
          inference.logits_error(runner.logits(images), expected),
          inference.TOLERANCES[runner.precision])
  return errors


def comparison_rows(runners, timings, config, flops, ceiling, memory,
                    errors):
  """One dict of table numbers per runner."""
  rows = []
  for runner, timing in zip(runners, timings):
    stats = statistics(timing, config)
    stats.pop('peak_rss_mib')  # All configurations together: not theirs.
    gflops = flops * config.images_per_step / stats['median_sec'] / 1e9
    rows.append({
        'name': runner.name, 'statistics': stats,
        'durations_sec': timing.durations,
        'warmup_durations_sec': timing.warmup_durations,
        'gflops_per_sec': gflops,
        'percent_of_ceiling': 100.0 * gflops / ceiling if ceiling else None,
        'peak_rss_mib': memory.get(runner.name),
        'logits_error': errors.get(runner.name, (None, None))[0],
        'logits_tolerance': errors.get(runner.name, (None, None))[1],
    })
  first = rows[0]['statistics']['median_sec']
  for row in rows:
    row['time_ratio'] = row['statistics']['median_sec'] / first
  return rows


def _cell(value, fmt, missing='-'):
  return missing if value is None else fmt % value


def comparison_table(rows, reference_name):
  """The Markdown table of comparison_rows."""
  lines = [
      '| configuration | median s | p90 s | images/s | GFLOP/s | %% of ceiling'
      ' | peak RSS MiB | time vs %s | logits vs %s |' % (
          rows[0]['name'], reference_name or '-'),
      '|---|---|---|---|---|---|---|---|---|']
  for row in rows:
    stats = row['statistics']
    if row['name'] == reference_name:
      logits = 'reference'
    elif row['logits_error'] is None:
      logits = 'n/a'
    else:
      logits = '%.1e%s' % (row['logits_error'],
                           '' if row['logits_error'] <= row['logits_tolerance']
                           else ' (over %g!)' % row['logits_tolerance'])
    lines.append('| %s | %.3f | %.3f | %.1f | %.1f | %s | %s | %.2fx | %s |'
                 % (row['name'], stats['median_sec'], stats['p90_sec'],
                    stats['images_per_sec'], row['gflops_per_sec'],
                    _cell(row['percent_of_ceiling'], '%.0f%%'),
                    _cell(row['peak_rss_mib'], '%.0f'), row['time_ratio'],
                    logits))
  return '\n'.join(lines)


def run_compare(config, names, num_batches, num_warmup_batches=10,
                display_every=10, matmul_size=4096, measure_memory=True,
                onnx_model=None, steps_per_turn=1, out=None):
  """Builds the named configurations, times them interleaved, prints a table.

  Args:
    config: the Config of the plain graph (batch, size, classes, device,
      threads, checkpoint).
    names: --compare names, in table order (ratios are to the first).
    num_batches: timed steps of each configuration.
    num_warmup_batches: burn-in steps of each configuration.
    display_every: log a round every this many.
    matmul_size: n of the matmul ceiling; 0: none.
    measure_memory: measure each one's peak memory in a process of its own.
    onnx_model: ONNX file for onnxruntime and openvino; None: convert the
      optimized graph.
    steps_per_turn: see time_interleaved.
    out: stream for the table (default sys.stdout).

  Returns:
    The JSON record of the comparison.
  """
  out = out or sys.stdout
  shapes, flops = model_facts(config.num_classes, config.image_size)
  cache = {}
  if onnx_model:
    with open(onnx_model, 'rb') as f:
      cache['onnx'] = f.read()
  weights = None
  if len(names) > 1 or _needs_weights(names, 'onnx' in cache):
    weights = load_weights(config, shapes)  # The same for all.
  runners, skipped, matmul = [], {}, []
  try:
    for name in names:
      logging.info('Building %s', name)
      try:
        runners.append(make_runner(name, config, weights, cache))
      except Unavailable as e:
        skipped[name] = str(e)
        logging.warning('Skipping %s: %s', name, e)
    weights = None
    if measure_memory and 'onnx' in cache and not onnx_model:
      onnx_model = _temporary_file(cache['onnx'], '.onnx')
    cache.clear()
    if not runners:
      raise BenchmarkError('--compare=%s: nothing can run here (%s)' % (
          ','.join(names), '; '.join(skipped.values())))
    if matmul_size:
      matmul.append(_matmul_runner(config, matmul_size))
    timings = time_interleaved(runners + matmul, num_batches,
                               num_warmup_batches, display_every,
                               steps_per_turn)
    errors = check_logits(runners, config)
    process_peak = peak_rss_mib()
  finally:
    for runner in runners + matmul:
      runner.close()
  ceiling_timing = timings.pop() if matmul else None
  ceiling = None
  if ceiling_timing:
    ceiling = 2.0 * matmul_size**3 / np.median(ceiling_timing.durations) / 1e9
  memory = {}
  if measure_memory:
    for runner in runners:
      logging.info('Measuring the peak memory of %s alone', runner.name)
      memory[runner.name], reason = peak_memory_of(runner.name, config,
                                                   onnx_model)
      if reason:
        logging.warning('No peak memory for %s: %s', runner.name, reason)
  elif len(runners) == 1:
    memory[runners[0].name] = process_peak
  rows = comparison_rows(runners, timings, config, flops, ceiling, memory,
                         errors)
  table = comparison_table(rows, _reference_name([r['name'] for r in rows]))
  notes = _comparison_notes(config, flops, ceiling, matmul_size,
                            ceiling_timing, num_batches, num_warmup_batches,
                            steps_per_turn, skipped)
  print(table + '\n\n' + '\n'.join(notes), file=out, flush=True)
  return {
      'configurations': rows, 'skipped': skipped,
      'flops_per_image': flops,
      'ceiling': {'matmul_size': matmul_size, 'gflops_per_sec': ceiling,
                  'durations_sec': (ceiling_timing.durations
                                    if ceiling_timing else None)},
      'table': table, 'notes': notes,
  }


def _temporary_file(data, suffix):
  """Writes `data` to a new temporary file, deleted when the program ends."""
  fd, path = tempfile.mkstemp(suffix=suffix)
  with os.fdopen(fd, 'wb') as f:
    f.write(data)
  atexit.register(os.unlink, path)
  return path


def _comparison_notes(config, flops, ceiling, matmul_size, ceiling_timing,
                      num_batches, num_warmup_batches, steps_per_turn,
                      skipped):
  """The lines under the table: what was measured, how, on what."""
  notes = []
  if ceiling:
    notes.append('Ceiling: %dx%d float32 matmul in the same rounds, median '
                 '%.3f s = %.1f GFLOP/s.' % (
                     matmul_size, matmul_size,
                     np.median(ceiling_timing.durations), ceiling))
  notes.append(
      'Work: %.2f GFLOP per %dx%d image (convolutions and pools on the '
      'logits path, counted from the graph). Batch %d, %d classes; %d '
      'timed steps of each configuration, %s, after %d burn-in steps; peak '
      'RSS of each configuration alone in a process of its own.' % (
          flops / 1e9, config.image_size, config.image_size,
          config.batch_size, config.num_classes, num_batches,
          'interleaved one by one' if steps_per_turn == 1 else
          'interleaved in turns of %d' % steps_per_turn,
          num_warmup_batches))
  notes.append('TensorFlow %s, %s, %d CPUs, %s.' % (
      tf.__version__, _cpu_name(), os.cpu_count(), config.devices[0]))
  for name, reason in skipped.items():
    notes.append('Skipped %s: %s.' % (name, reason))
  return notes


def _cpu_name():
  """The CPU's model name (/proc/cpuinfo), else platform.processor()."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def run(out=None):
  """The benchmark the flags describe; returns its JSON record."""
  check_flags()
  if FLAGS.xla:
    enable_xla_on_cpu()
  available = list_devices(FLAGS.target, FLAGS.num_devices)
  config = config_from_flags(available)
  module_flags = FLAGS.get_flags_for_module(sys.modules[__name__])
  run_flags = {f.name: f.value for f in module_flags}
  if FLAGS.compare:
    record = _record_header(config, available, run_flags)
    record.update(run_compare(
        config, compare_names(), FLAGS.num_batches, FLAGS.num_warmup_batches,
        FLAGS.display_every, FLAGS.matmul_size, FLAGS.compare_memory,
        FLAGS.onnx_model, FLAGS.steps_per_turn, out))
  else:
    timing, stats = run_config(
        config, FLAGS.num_batches, FLAGS.num_warmup_batches,
        FLAGS.display_every, FLAGS.target, FLAGS.trace_file, out)
    record = run_record(config, timing, stats, available, run_flags)
  if FLAGS.json_output:
    write_atomically(FLAGS.json_output, json.dumps(record, indent=2) + '\n')
    logging.info('Wrote %s', FLAGS.json_output)
  return record


def fail(message, status=1):
  """Ends the program with one `benchmark.py: error: ...` line on stderr."""
  cli.fail(message, status, program=PROGRAM)


def _enable_xla_if_asked():
  if FLAGS.xla or 'xla' in FLAGS.compare or FLAGS.compare == ['all']:
    enable_xla_on_cpu()


def parse_flags(argv):
  """absl's flag parsing, with a flag error as one line (no usage dump)."""
  return cli.parse_flags(argv, on_parsed=_enable_xla_if_asked,
                         program=PROGRAM)


def main(argv):
  if len(argv) > 1:
    fail('unexpected arguments: %s' % ' '.join(argv[1:]))
  warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')
  tf.get_logger().setLevel('ERROR')  # tf.compat.v1 deprecation notes.
  try:
    run()
  except BenchmarkError as e:
    fail(str(e))
  except tf.errors.OpError as e:
    fail('TensorFlow: %s' % e.message.strip().splitlines()[0])
  except KeyboardInterrupt:
    fail('interrupted', 130)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
