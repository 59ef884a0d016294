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
"""

import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import resource
import socket
import sys
import tempfile
import time
import urllib.parse
import warnings

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


@contextlib.contextmanager
def _quiet_native_stderr():
  """Hides the C++ lines TensorFlow writes before its log level applies.

  TF 2.21 prints oneDNN/CUDA start-up notes from C++ whatever
  TF_CPP_MIN_LOG_LEVEL says. They are dropped unless TF_CPP_MIN_LOG_LEVEL=0
  (the user asked for them) or the wrapped code fails (then they are shown).
  """
  if os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0') == '0':
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as sink:
    os.dup2(sink.fileno(), 2)
    try:
      yield
    except BaseException:
      os.dup2(saved, 2)
      sink.seek(0)
      os.write(2, sink.read())
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)


with _quiet_native_stderr():
  import numpy as np
  import tensorflow.compat.v1 as tf
  import tf_slim as slim
  from absl import app
  from absl import flags
  from absl import logging
  from tensorflow.python.client import timeline

  from nets import checkpoints
  from nets import inception_v3

FLAGS = flags.FLAGS

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


def build_model(config):
  """Builds `config`'s graph: random inputs, the towers, the timed fetch.

  Forward fetches the logits (a list of them for several towers), like the
  seed; forward-backward fetches one element of each (tower-averaged)
  gradient, which needs the whole backward pass.

  Args:
    config: a Config.

  Returns:
    A Model.

  Raises:
    BenchmarkError: for a layout the network does not have, or a checkpoint
      that does not fit the model.
  """
  if config.data_format != 'NHWC':
    raise BenchmarkError('--data_format=%s: not supported: the network is '
                         'NHWC-only (as slim\'s Inception V3 is)'
                         % config.data_format)
  training = config.mode == 'forward-backward'
  graph = tf.Graph()
  with graph.as_default():
    tower_logits, tower_grads = [], []
    for i, device in enumerate(config.devices):
      with tf.device(device):
        images = tf.random_uniform(
            (config.batch_size, config.image_size, config.image_size, 3))
        with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
          logits, end_points = inception_v3.inception_v3(
              images, num_classes=config.num_classes, is_training=training,
              reuse=True if i else None,
              create_aux_logits=(
                  training and
                  config.image_size >= MIN_IMAGE_SIZE_WITH_AUX_HEAD))
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
    if config.checkpoint_path:
      restore = _checked(config.checkpoint_path, checkpoints.restore_fn,
                         config.checkpoint_path)
  return Model(graph, fetch, init_op, restore)


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
      logging.info('Restoring %s', config.checkpoint_path)
      with model.graph.as_default():  # The Saver works in its graph only.
        _checked(config.checkpoint_path, model.restore, session)
  except BaseException:
    session.close()
    raise
  return session


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
  """Peak resident memory of this process so far, MiB."""
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
  return {
      'benchmark': 'inception_v3',
      'info_string': config.info_string,
      'config': dataclasses.asdict(config),
      'flags': run_flags,
      'tensorflow_version': tf.__version__,
      'device': {
          'towers': list(config.devices),
          'available': available_devices,
          'hostname': platform.node(),
          'platform': platform.platform(),
          'processor': platform.processor(),
          'cpu_count': os.cpu_count(),
          'python': platform.python_version(),
      },
      'end_time': _now(),
      'warmup_durations_sec': timing.warmup_durations,
      'durations_sec': timing.durations,
      'statistics': stats,
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
      checkpoint_path=FLAGS.checkpoint_path)


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
  """
  logging.info('Building Inception V3 %s: batch %d, %dx%dx3, %d classes, %s, '
               'on %s%s', config.mode, config.batch_size, config.image_size,
               config.image_size, config.num_classes, config.data_format,
               ', '.join(config.devices), ' via ' + target if target else '')
  model = build_model(config)
  with start_session(model, config, target) as session:
    logging.info('Burn-in: %d steps (not counted), then %d timed steps',
                 num_warmup_batches, num_batches)
    timing = time_steps(lambda: session.run(model.fetch), num_batches,
                        num_warmup_batches, display_every, config.info_string,
                        out)
    stats = statistics(timing, config)
    print(summary_line(stats), file=out or sys.stdout, flush=True)
    if trace_file:
      write_trace(session, model.fetch, trace_file)
      logging.info('Wrote the trace of one step to %s', trace_file)
  return timing, stats


def run(out=None):
  """The benchmark the flags describe; returns its JSON record."""
  check_flags()
  if FLAGS.xla:
    enable_xla_on_cpu()
  available = list_devices(FLAGS.target, FLAGS.num_devices)
  config = config_from_flags(available)
  timing, stats = run_config(
      config, FLAGS.num_batches, FLAGS.num_warmup_batches, FLAGS.display_every,
      FLAGS.target, FLAGS.trace_file, out)
  module_flags = FLAGS.get_flags_for_module(sys.modules[__name__])
  record = run_record(config, timing, stats, available,
                      {f.name: f.value for f in module_flags})
  if FLAGS.json_output:
    write_atomically(FLAGS.json_output, json.dumps(record, indent=2) + '\n')
    logging.info('Wrote %s', FLAGS.json_output)
  return record


def fail(message, status=1):
  """Ends the program with one line on stderr."""
  sys.stderr.write('benchmark.py: error: %s\n' % message)
  sys.stderr.flush()
  sys.exit(status)


def parse_flags(argv):
  """absl's flag parsing, with a flag error as one line (no usage dump)."""
  try:
    argv = FLAGS(argv)
  except flags.Error as e:
    fail(str(e).strip().splitlines()[0].removeprefix('ERROR:: '))
  if FLAGS.xla:
    enable_xla_on_cpu()
  # TF's absl init callback counts the GPUs next, and CUDA prints errors on
  # a machine without one; count them here, quietly, so it is done once.
  with _quiet_native_stderr():
    tf.config.list_physical_devices('GPU')
  return argv


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
