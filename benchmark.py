r"""Times Inception V3 in graph mode: the original script's benchmark, and more.

The original script is the TensorFlow book code this project started from
(an Inception V3 written with tf.contrib.slim, timed by its
`time_tensorflow_run`). With no flags this does what it did: batches of 32
random 299x299x3 images, `inception_v3(..., is_training=False)` under
`inception_v3_arg_scope()`, 1000 classes, 10 burn-in steps that are not
counted, then `--num_batches` timed `session.run(logits)` calls, printed in
its format:

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
  tflite       the optimized graph converted by nets.to_tflite (float32), in
               the TensorFlow Lite interpreter on the same threads
  tflite_int8  the same, int8 (w8a8) calibrated on random images: for timing
               only (calibrate on real images with nets.to_tflite)

onnxruntime and openvino are skipped, with a message, when not installed.
"""

import os
import sys

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

from absl import flags
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import inference
from nets import outputs
from nets.benchmarking import config as config_lib
from nets.benchmarking import devices
from nets.benchmarking import harness
from nets.benchmarking import runners
from nets.benchmarking import weights as weights_lib

FLAGS = flags.FLAGS
PROGRAM = 'benchmark.py'

BenchmarkError = config_lib.BenchmarkError


def define_flags():
  """Defines benchmark.py's flags (the shared ones through nets.cli)."""
  flags.DEFINE_enum('mode', 'forward', ['forward', 'forward-backward'],
                    'What one step runs: the forward pass (as the original '
                    'script), or the '
                    'gradients of the training loss w.r.t. all trainable '
                    'variables (is_training=True).')
  flags.DEFINE_integer('batch_size', 32, 'Images per step and tower.',
                       lower_bound=1)
  cli.define_shared_flags('image_size')
  flags.DEFINE_integer('num_batches', 100, 'Timed steps.', lower_bound=1)
  flags.DEFINE_integer('num_warmup_batches', 10,
                       'Burn-in steps before timing (not counted).',
                       lower_bound=0)
  flags.DEFINE_integer('display_every', 10,
                       'Print a step line every this many timed steps.',
                       lower_bound=1)
  cli.define_shared_flags('num_classes', num_classes=1000)
  cli.define_shared_flags('json_output', notes={
      'json_output': 'The record: configuration, TF version, device, every '
                     'step duration, statistics.'})
  cli.define_shared_flags('checkpoint_path')
  flags.DEFINE_integer('num_intra_threads', 0,
                       'Threads inside one op; 0 = TensorFlow chooses.',
                       lower_bound=0)
  flags.DEFINE_integer('num_inter_threads', 0,
                       'Ops run in parallel; 0 = TensorFlow chooses.',
                       lower_bound=0)
  flags.DEFINE_bool('xla', False,
                    'Compile with XLA auto-clustering (global_jit_level '
                    'ON_1).')
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
  cli.define_path('trace_file', None,
                  'Write a Chrome trace (chrome://tracing, Perfetto) of '
                  'one extra step, run after the timed ones, to this '
                  'file.')
  cli.define_shared_flags('optimize', notes={
      'optimize': 'Timed with trimmed Grappler on an input generated once '
                  '(weights constants at batches up to 16). Forward mode '
                  'only.'})
  flags.DEFINE_enum('precision', 'fp32', list(inference.PRECISIONS),
                    'Compute precision. fp16 (GPUs) and bf16 (CPUs with AMX) '
                    'imply --optimize; their logits are then checked against '
                    'float32 on the same weights (tolerances: %s).' %
                    ', '.join('%s %g' % item for item in
                              sorted(inference.TOLERANCES.items())))
  flags.DEFINE_list('compare', [],
                    'Time these configurations side by side in one run, '
                    'interleaved, and print a table (see the module help): '
                    'any of %s, or "all" (all but the training steps %s).' % (
                        ', '.join(runners.COMPARE_NAMES +
                                  runners.TRAINING_NAMES),
                        ' and '.join(runners.TRAINING_NAMES)))
  flags.DEFINE_integer('matmul_size', 4096,
                       'With --compare: n of the n x n float32 matmul timed '
                       'in the same rounds as the ceiling; 0: none.',
                       lower_bound=0)
  flags.DEFINE_integer('steps_per_turn', 1,
                       'With --compare: steps each configuration runs before '
                       'the next one takes over (1: A B C A B C ...). More '
                       'keep its weights in the caches, as when it runs '
                       'alone; worth it for small batches.', lower_bound=1)
  cli.define_path('onnx_model', None,
                  'With --compare: the ONNX file onnxruntime and '
                  'openvino run (input "input", output "logits"). '
                  'Default: nets.to_onnx\'s conversion of the optimized '
                  'graph, made in the run.')
  flags.DEFINE_bool('compare_memory', True,
                    'With --compare: measure the peak memory of each '
                    'configuration in a short run of this script of its '
                    'own.')
  cli.define_shared_flags('overwrite')


def recorded_flags():
  """{name: value} of benchmark.py's flags, in definition order (the record's)."""
  ours = {f.name for f in FLAGS.get_key_flags_for_module(sys.argv[0])}
  return {name: FLAGS[name].value for name in FLAGS if name in ours}


def check_output_path(flag, path):
  """A file the user names must be new (or --overwrite) and writable there."""
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
  try:
    outputs.check(path, FLAGS.overwrite, create_parent=False)
  except outputs.OutputError as e:
    raise BenchmarkError('--%s=%s: %s' % (flag, path, e)) from e


def check_flags():
  """The checks absl's per-flag bounds cannot do (files, combinations)."""
  check_output_path('json_output', FLAGS.json_output)
  check_output_path('trace_file', FLAGS.trace_file)
  if (FLAGS.json_output and FLAGS.trace_file and
      os.path.abspath(FLAGS.json_output) == os.path.abspath(FLAGS.trace_file)):
    raise BenchmarkError('--trace_file=%s: same file as --json_output' %
                         FLAGS.trace_file)
  if FLAGS.checkpoint_path is not None:  # Before the build, which is slow.
    weights_lib.checked(FLAGS.checkpoint_path,
                        checkpoints.resolve_checkpoint_path,
                        FLAGS.checkpoint_path)
  devices.check_target(FLAGS.target)
  if FLAGS.onnx_model is not None and not os.path.isfile(FLAGS.onnx_model):
    raise BenchmarkError('--onnx_model=%s: no such file' % FLAGS.onnx_model)
  if FLAGS.compare:
    runners.expand_names(FLAGS.compare)  # Raises for a bad list.
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


def config_from_flags(available):
  """The Config the flags ask for, checked against the available devices."""
  towers = devices.tower_devices(FLAGS.device, FLAGS.num_devices, available)
  if FLAGS.data_format == 'NCHW':
    if config_lib.device_type(towers[0]) == 'CPU':
      raise BenchmarkError('--data_format=NCHW: not supported on CPU (%s); '
                           'use NHWC' % towers[0])
    raise BenchmarkError('--data_format=NCHW: not supported: the network is '
                         'NHWC-only (as slim\'s Inception V3 is)')
  return config_lib.Config(
      mode=FLAGS.mode, batch_size=FLAGS.batch_size,
      image_size=FLAGS.image_size, num_classes=FLAGS.num_classes,
      devices=towers, data_format=FLAGS.data_format, xla=FLAGS.xla,
      num_intra_threads=FLAGS.num_intra_threads,
      num_inter_threads=FLAGS.num_inter_threads,
      checkpoint_path=FLAGS.checkpoint_path,
      optimize=FLAGS.optimize or FLAGS.precision != 'fp32',
      precision=FLAGS.precision)


def settings_from_flags(config):
  """The RunSettings the flags ask for, around `config`."""
  return config_lib.RunSettings(
      config=config, num_batches=FLAGS.num_batches,
      num_warmup_batches=FLAGS.num_warmup_batches,
      display_every=FLAGS.display_every, target=FLAGS.target,
      trace_file=FLAGS.trace_file, json_output=FLAGS.json_output,
      overwrite=FLAGS.overwrite,
      compare=tuple(runners.expand_names(FLAGS.compare)),
      matmul_size=FLAGS.matmul_size, steps_per_turn=FLAGS.steps_per_turn,
      onnx_model=FLAGS.onnx_model, compare_memory=FLAGS.compare_memory,
      # The memory probe runs this script, as a user would.
      memory_probe_command=(sys.executable, os.path.abspath(__file__)))


def _enable_xla_if_asked():
  """XLA's CPU flag, set before TensorFlow sets up its devices."""
  if FLAGS.xla or 'xla' in FLAGS.compare or FLAGS.compare == ['all']:
    devices.enable_xla_on_cpu()


def main(argv):
  del argv  # cli.run refuses positional arguments.
  check_flags()
  available = devices.list_devices(FLAGS.target, FLAGS.num_devices)
  settings = settings_from_flags(config_from_flags(available))
  try:
    harness.run(settings, available_devices=available,
                flags=recorded_flags())
  except tf.errors.OpError as e:
    raise BenchmarkError('TensorFlow: %s' % cli.reason(e)) from e


if __name__ == '__main__':
  cli.run(main, define_flags, program=PROGRAM,
          on_parsed=_enable_xla_if_asked)
