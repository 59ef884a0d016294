"""Tests for benchmark.py: the seed's timing and output, the CLI, bad input.

Runs the benchmark in-process and as a subprocess on tiny settings (batch
1-2, 75..107 pixels, 1-3 batches). Nothing here asserts a speed.
"""

import collections
import contextlib
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf

import benchmark
from nets_test import testing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = benchmark.FLAGS

TIMESTAMP = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}'
STEP_LINE = re.compile(r'%s: step (\d+), duration = (\d+\.\d{3})$' % TIMESTAMP)
FINAL_LINE = re.compile(r'%s: (Forward|Forward-backward) across (\d+) steps, '
                        r'(\d+\.\d{3}) \+/- (\d+\.\d{3}) sec / batch$'
                        % TIMESTAMP)
SUMMARY_LINE = re.compile(
    r'%s: (\d+\.\d) images/sec \((\d+\.\d) per tower x (\d+)\), median '
    r'(\d+\.\d{3}), p90 (\d+\.\d{3}), p99 (\d+\.\d{3}) sec / batch, '
    r'peak RSS (\d+) MiB$' % TIMESTAMP)
ERROR_LINE = 'benchmark.py: error: '
TINY = ('--batch_size=1', '--image_size=75', '--num_batches=3',
        '--num_warmup_batches=1', '--display_every=1')


def free_port():
  """A loopback port nobody listens on (for now)."""
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def run_in_process(*args):
  """benchmark.run with these flags; returns (stdout lines, record)."""
  benchmark.parse_flags(['benchmark.py'] + list(args))
  out = io.StringIO()
  try:
    record = benchmark.run(out)
  finally:
    FLAGS.unparse_flags()
  return out.getvalue().splitlines(), record


def error_in_process(*args):
  """Parses and runs like the CLI; returns (exit status, stderr lines)."""
  err = io.StringIO()
  try:
    with contextlib.redirect_stderr(err):
      argv = benchmark.parse_flags(['benchmark.py'] + list(args))
      benchmark.main(argv)
  except SystemExit as e:
    return e.code, err.getvalue().splitlines()
  finally:
    FLAGS.unparse_flags()
  raise AssertionError('no error for %s' % (args,))


def run_cli(*args):
  """benchmark.py in a subprocess, with its own default log level."""
  env = dict(os.environ)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  return subprocess.run([sys.executable, 'benchmark.py'] + list(args),
                        cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=300)


def trace_ops_by_device(path):
  """{device name: Counter of op types} of a Chrome trace file."""
  with open(path) as f:
    trace = json.load(f)
  devices = {e['pid']: e['args']['name'] for e in trace['traceEvents']
             if e.get('name') == 'process_name'}
  ops = collections.defaultdict(collections.Counter)
  for event in trace['traceEvents']:
    if event.get('ph') == 'X' and 'op' in event.get('args', {}):
      ops[devices[event['pid']]][event['args']['op']] += 1
  return ops


def op_names(path):
  with open(path) as f:
    return {e['args'].get('name') for e in json.load(f)['traceEvents']
            if e.get('ph') == 'X'}


def has_op(counter, fragment):
  return any(fragment in op for op in counter)


class FakeClock(object):
  """time.perf_counter that each step advances by the next given duration."""

  def __init__(self, durations):
    self.now = 100.0
    self.durations = list(durations)
    self.steps = 0

  def __call__(self):
    return self.now

  def step(self):
    self.now += self.durations[self.steps]
    self.steps += 1


class SeedTimingTest(tf.test.TestCase):
  """time_steps and mean_and_sd against the seed's time_tensorflow_run."""

  def test_lines_and_numbers(self):
    warmup, timed = [7.0], [0.5, 1.25, 2.0, 0.25, 1.0]
    clock = FakeClock(warmup + timed)
    out = io.StringIO()
    with mock.patch.object(benchmark.time, 'perf_counter', clock):
      timing = benchmark.time_steps(clock.step, num_batches=5,
                                    num_warmup_batches=1, display_every=2,
                                    info_string='Forward', out=out)
    self.assertEqual(clock.steps, 6)
    self.assertEqual(timing.warmup_durations, warmup)
    self.assertEqual(timing.durations, timed)
    lines = out.getvalue().splitlines()
    self.assertLen(lines, 4)
    steps = [STEP_LINE.match(line).groups() for line in lines[:3]]
    self.assertEqual(steps, [('0', '0.500'), ('2', '2.000'), ('4', '1.000')])
    final = FINAL_LINE.match(lines[3]).groups()
    self.assertEqual(final, ('Forward', '5', '%.3f' % np.mean(timed),
                             '%.3f' % np.std(timed)))

  def test_default_spacing_is_the_seeds(self):
    # The seed prints when `not i % 10` for i counting the 10 burn-in steps.
    seed_steps = [i - 10 for i in range(10 + 25) if i >= 10 and not i % 10]
    clock = FakeClock([0.1] * 35)
    out = io.StringIO()
    with mock.patch.object(benchmark.time, 'perf_counter', clock):
      benchmark.time_steps(clock.step, num_batches=25, out=out,
                           info_string='Forward-backward')
    lines = out.getvalue().splitlines()
    self.assertEqual([int(STEP_LINE.match(l).group(1)) for l in lines[:-1]],
                     seed_steps)
    self.assertEqual(FINAL_LINE.match(lines[-1]).group(1, 2),
                     ('Forward-backward', '25'))

  def test_mean_and_population_sd(self):
    durations = [1.0, 2.0, 4.0, 8.0]
    mean, sd = benchmark.mean_and_sd(durations)
    self.assertAllClose([mean, sd], [np.mean(durations), np.std(durations)])

  def test_rounding_cannot_make_sd_fail(self):
    durations = [0.1] * 3
    n = len(durations)
    raw = sum(d * d for d in durations) / n - (sum(durations) / n)**2
    self.assertLess(raw, 0.0)  # The seed's math.sqrt would raise here.
    self.assertEqual(benchmark.mean_and_sd(durations)[1], 0.0)


class StatisticsTest(tf.test.TestCase):

  def test_percentiles_throughput_and_summary_line(self):
    durations = [d / 100.0 for d in np.random.RandomState(0).permutation(
        np.arange(1, 101))]
    mean, sd = float(np.mean(durations)), float(np.std(durations))
    timing = benchmark.Timing(durations, [], mean, sd)
    config = benchmark.Config(batch_size=4,
                              devices=('/device:CPU:0', '/device:CPU:1'))
    stats = benchmark.statistics(timing, config)
    quantiles = statistics.quantiles(durations, n=100, method='inclusive')
    self.assertAllClose(
        [stats['median_sec'], stats['p90_sec'], stats['p99_sec']],
        [statistics.median(durations), quantiles[89], quantiles[98]])
    self.assertAllClose(stats['images_per_sec'], 8 / 0.505)
    self.assertAllClose(stats['images_per_sec_per_tower'], 4 / 0.505)
    self.assertEqual(stats['num_towers'], 2)
    line = SUMMARY_LINE.match(benchmark.summary_line(stats)).groups()
    self.assertEqual(line[:6], ('15.8', '7.9', '2', '0.505', '0.901',
                                '0.990'))

  def test_peak_rss_is_the_kernels_high_water_mark(self):
    with open('/proc/self/status') as f:
      vm_hwm_kib = int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1))
    self.assertAllClose(benchmark.peak_rss_mib(), vm_hwm_kib / 1024.0,
                        rtol=0.05)


class DevicesTest(tf.test.TestCase):

  CPUS = ['/job:localhost/replica:0/task:0/device:CPU:0',
          '/job:localhost/replica:0/task:0/device:CPU:1']
  GPUS = ['/job:localhost/replica:0/task:0/device:GPU:0',
          '/job:localhost/replica:0/task:0/device:GPU:1']

  def test_default_is_gpu_when_there_is_one(self):
    self.assertEqual(benchmark.tower_devices(None, 1, self.CPUS[:1]),
                     ('/device:CPU:0',))
    self.assertEqual(benchmark.tower_devices(None, 1, self.CPUS + self.GPUS),
                     ('/device:GPU:0',))

  def test_towers_take_consecutive_devices(self):
    self.assertEqual(benchmark.tower_devices('/cpu:0', 2, self.CPUS),
                     ('/device:CPU:0', '/device:CPU:1'))
    self.assertEqual(benchmark.tower_devices('/gpu:1', 1, self.GPUS),
                     ('/device:GPU:1',))

  def test_unavailable_or_malformed_devices(self):
    cases = [('/cpu:1', 1, self.CPUS[:1], '--device=/cpu:1: not available'),
             ('/gpu:0', 3, self.GPUS,
              '--device=/gpu:0 --num_devices=3: not available'),
             ('/tpu:0', 1, self.CPUS, '--device=/tpu:0: expected'),
             ('cpu zero', 1, self.CPUS, '--device=cpu zero: expected')]
    for device, num, available, message in cases:
      with self.assertRaisesRegex(benchmark.BenchmarkError, re.escape(message)):
        benchmark.tower_devices(device, num, available)


class FilesAndTargetsTest(tf.test.TestCase):

  def test_write_atomically_touches_only_the_named_file(self):
    directory = self.get_temp_dir()
    path = os.path.join(directory, 'run.json')
    neighbour = os.path.join(directory, 'other.json')
    for name in (path, neighbour):
      with open(name, 'w') as f:
        f.write('old')
    benchmark.write_atomically(path, '{"new": 1}')
    with open(path) as f:
      self.assertEqual(f.read(), '{"new": 1}')
    with open(neighbour) as f:
      self.assertEqual(f.read(), 'old')
    self.assertCountEqual(os.listdir(directory), ['run.json', 'other.json'])

  def test_output_paths(self):
    missing = os.path.join(self.get_temp_dir(), 'no_such_dir', 'x.json')
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                'json_output=.*does not exist'):
      benchmark.check_output_path('json_output', missing)
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                'trace_file=.*is a directory'):
      benchmark.check_output_path('trace_file', self.get_temp_dir())

  def test_targets(self):
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                'target=localhost:1: expected grpc://'):
      benchmark.check_target('localhost:1')
    port = free_port()
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                'target=grpc://localhost:%d: cannot connect'
                                % port):
      benchmark.check_target('grpc://localhost:%d' % port)


class BuildTest(tf.test.TestCase):

  def test_aux_head_only_where_the_loss_needs_it_and_it_fits(self):
    def scopes(**kw):
      model = benchmark.build_model(benchmark.Config(batch_size=1, **kw))
      with model.graph.as_default():
        return {v.op.name.split('/')[1] for v in tf.global_variables()}
    self.assertIn('AuxLogits', scopes(mode='forward-backward', image_size=107))
    self.assertNotIn('AuxLogits',
                     scopes(mode='forward-backward', image_size=106))
    self.assertNotIn('AuxLogits', scopes(mode='forward', image_size=299))

  def test_nchw_is_refused(self):
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                '--data_format=NCHW: not supported'):
      benchmark.build_model(benchmark.Config(data_format='NCHW'))

  def test_checkpoint_weights_are_the_ones_timed(self):
    path = os.path.join(self.get_temp_dir(), 'v1', 'model.ckpt')
    values = testing.write_checkpoint(path, num_classes=1001, image_size=299,
                                      version='V1', seed=3)
    config = benchmark.Config(batch_size=1, image_size=75, num_classes=1001,
                              checkpoint_path=os.path.dirname(path))
    model = benchmark.build_model(config)
    with benchmark.start_session(model, config) as session:
      with model.graph.as_default():
        variables = {v.op.name: v for v in tf.global_variables()}
      for name in ('InceptionV3/Conv2d_1a_3x3/weights',
                   'InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/'
                   'moving_variance',
                   'InceptionV3/Logits/Conv2d_1c_1x1/biases'):
        self.assertAllEqual(session.run(variables[name]), values[name])


class InProcessRunTest(tf.test.TestCase):

  def test_forward_record_and_trace(self):
    json_path = os.path.join(self.get_temp_dir(), 'run.json')
    trace_path = os.path.join(self.get_temp_dir(), 'step.trace.json')
    lines, record = run_in_process(*TINY, '--json_output=' + json_path,
                                   '--trace_file=' + trace_path)
    self.assertLen(lines, 5)
    self.assertEqual([STEP_LINE.match(l).group(1) for l in lines[:3]],
                     ['0', '1', '2'])
    durations = record['durations_sec']
    self.assertLen(durations, 3)
    self.assertLen(record['warmup_durations_sec'], 1)
    self.assertEqual(FINAL_LINE.match(lines[3]).groups(),
                     ('Forward', '3', '%.3f' % np.mean(durations),
                      '%.3f' % np.std(durations)))
    summary = SUMMARY_LINE.match(lines[4]).groups()
    self.assertEqual(summary[2:4], ('1', '%.3f' % np.median(durations)))

    with open(json_path) as f:
      self.assertEqual(json.load(f), json.loads(json.dumps(record)))
    self.assertEqual(record['tensorflow_version'], tf.__version__)
    self.assertEqual(record['info_string'], 'Forward')
    expected = {'mode': 'forward', 'batch_size': 1, 'image_size': 75,
                'num_classes': 1000, 'devices': ('/device:CPU:0',),
                'data_format': 'NHWC', 'xla': False}
    self.assertEqual({k: record['config'][k] for k in expected}, expected)
    self.assertEqual(record['flags']['num_batches'], 3)
    self.assertEqual(record['device']['towers'], ['/device:CPU:0'])
    self.assertAllClose(record['statistics']['mean_sec'], np.mean(durations))
    self.assertAllClose(record['statistics']['images_per_sec'],
                        1 / np.mean(durations))

    ops = trace_ops_by_device(trace_path)
    cpu0 = [d for d in ops if d.endswith('device:CPU:0 Compute')]
    self.assertLen(cpu0, 1)
    self.assertTrue(has_op(ops[cpu0[0]], 'Conv2D'))
    self.assertIn('InceptionV3/Logits/SpatialSqueeze', op_names(trace_path))

  def test_forward_backward_runs_the_backward_pass(self):
    trace_path = os.path.join(self.get_temp_dir(), 'fb.trace.json')
    lines, record = run_in_process(
        '--mode=forward-backward', '--batch_size=2', '--image_size=107',
        '--num_batches=2', '--num_warmup_batches=1',
        '--trace_file=' + trace_path)
    self.assertLen(lines, 3)  # step 0, the seed's line, the summary.
    self.assertEqual(FINAL_LINE.match(lines[1]).group(1, 2),
                     ('Forward-backward', '2'))
    self.assertEqual(record['config']['mode'], 'forward-backward')
    ops = collections.Counter()
    for counter in trace_ops_by_device(trace_path).values():
      ops.update(counter)
    self.assertTrue(has_op(ops, 'Conv2DBackpropFilter'))
    self.assertTrue(has_op(ops, 'FusedBatchNormGrad'))
    # The aux head's loss is part of the training loss, so of the gradients.
    self.assertTrue(any(n and n.startswith('gradients/InceptionV3/AuxLogits/')
                        for n in op_names(trace_path)))

  def test_two_cpu_towers(self):
    trace_path = os.path.join(self.get_temp_dir(), 'towers.trace.json')
    lines, record = run_in_process(
        '--num_devices=2', '--batch_size=1', '--image_size=75',
        '--num_batches=2', '--num_warmup_batches=1',
        '--trace_file=' + trace_path)
    self.assertEqual(record['device']['towers'],
                     ['/device:CPU:0', '/device:CPU:1'])
    stats = record['statistics']
    mean = np.mean(record['durations_sec'])
    self.assertAllClose([stats['images_per_sec_per_tower'],
                         stats['images_per_sec']], [1 / mean, 2 / mean])
    self.assertEqual(SUMMARY_LINE.match(lines[-1]).group(3), '2')
    ops = trace_ops_by_device(trace_path)
    for index in (0, 1):
      device = [d for d in ops if d.endswith('CPU:%d Compute' % index)]
      self.assertLen(device, 1)
      self.assertTrue(has_op(ops[device[0]], 'Conv2D'), device)

  def test_local_server_target(self):
    port = free_port()
    tf.distribute.Server(
        tf.train.ClusterSpec({'bench': ['localhost:%d' % port]}),
        job_name='bench', task_index=0)
    trace_path = os.path.join(self.get_temp_dir(), 'remote.trace.json')
    lines, record = run_in_process(
        '--target=grpc://localhost:%d' % port, '--batch_size=1',
        '--image_size=75', '--num_batches=2', '--num_warmup_batches=1',
        '--trace_file=' + trace_path)
    self.assertEqual(FINAL_LINE.match(lines[-2]).group(2), '2')
    self.assertEqual(record['flags']['target'], 'grpc://localhost:%d' % port)
    # The server's job name shows the steps ran there.
    self.assertEqual(record['device']['available'],
                     ['/job:bench/replica:0/task:0/device:CPU:0'])
    self.assertTrue(any(d.startswith('/job:bench/') and has_op(ops, 'Conv2D')
                        for d, ops in trace_ops_by_device(trace_path).items()))

  def test_checkpoint_run(self):
    path = os.path.join(self.get_temp_dir(), 'v2', 'model.ckpt-7')
    testing.write_checkpoint(path, num_classes=1001, image_size=299)
    lines, record = run_in_process(*TINY, '--num_classes=1001',
                                   '--checkpoint_path=' + path)
    self.assertEqual(FINAL_LINE.match(lines[-2]).group(2), '3')
    self.assertEqual(record['config']['checkpoint_path'], path)


class BadInputTest(tf.test.TestCase):
  """Every bad flag: one line naming it, exit status 1, no traceback."""

  def assertOneLineError(self, args, *fragments):
    status, lines = error_in_process(*args)
    self.assertEqual(status, 1)
    self.assertTrue(lines[-1].startswith(ERROR_LINE), lines)
    for fragment in fragments:
      self.assertIn(fragment, lines[-1])
    self.assertEqual(sum(l.startswith(ERROR_LINE) for l in lines), 1)
    self.assertFalse(any('Traceback' in l for l in lines))
    return lines

  def test_flag_values(self):
    for args, fragment in [
        (['--batch_size=0'], 'flag --batch_size=0'),
        (['--image_size=74'], 'flag --image_size=74'),
        (['--num_batches=-1'], 'flag --num_batches=-1'),
        (['--num_warmup_batches=-1'], 'flag --num_warmup_batches=-1'),
        (['--num_devices=0'], 'flag --num_devices=0'),
        (['--mode=backward'], 'flag --mode=backward'),
        (['--data_format=NCWH'], 'flag --data_format=NCWH'),
        (['--batch_size=two'], 'flag --batch_size=two'),
        (['--no_such_flag'], "'no_such_flag'"),
        (['extra'], 'unexpected arguments: extra')]:
      self.assertEqual(len(self.assertOneLineError(args, fragment)), 1)

  def test_files(self):
    missing_dir = os.path.join(self.get_temp_dir(), 'no_such_dir')
    self.assertOneLineError(['--json_output=%s/r.json' % missing_dir],
                            '--json_output=', 'does not exist')
    self.assertOneLineError(['--trace_file=%s/t.json' % missing_dir],
                            '--trace_file=', 'does not exist')
    self.assertOneLineError(['--checkpoint_path=%s/model.ckpt' % missing_dir],
                            '--checkpoint_path=', 'No checkpoint at')

  def test_devices_and_targets(self):
    self.assertOneLineError(['--data_format=NCHW'],
                            '--data_format=NCHW: not supported on CPU')
    self.assertOneLineError(['--device=/cpu:5'], '--device=/cpu:5',
                            'not available')
    self.assertOneLineError(['--target=grpc://localhost:%d' % free_port()],
                            '--target=', 'cannot connect')

  def test_checkpoint_that_does_not_fit(self):
    path = os.path.join(self.get_temp_dir(), 'ckpt1001', 'model.ckpt')
    testing.write_checkpoint(path, num_classes=1001, image_size=299,
                             version='V1')
    self.assertOneLineError(
        [*TINY, '--checkpoint_path=' + path], '--checkpoint_path=' + path,
        'InceptionV3/Logits/Conv2d_1c_1x1/weights: [1, 1, 2048, 1000] vs '
        '[1, 1, 2048, 1001]', 'InceptionV3/Logits/Conv2d_1c_1x1/biases')


class CommandLineTest(tf.test.TestCase):
  """benchmark.py as the user runs it."""

  def test_seed_format_on_stdout_and_progress_on_stderr(self):
    json_path = os.path.join(self.get_temp_dir(), 'cli.json')
    result = run_cli(*TINY, '--json_output=' + json_path)
    self.assertEqual(result.returncode, 0, result.stderr)
    lines = result.stdout.splitlines()
    self.assertLen(lines, 5)
    for line in lines[:3]:
      self.assertRegex(line, STEP_LINE)
    self.assertRegex(lines[3], FINAL_LINE)
    self.assertRegex(lines[4], SUMMARY_LINE)
    errors = result.stderr.splitlines()
    self.assertIn('Building Inception V3 forward', errors[0])
    self.assertIn('/device:CPU:0', errors[0])
    # No C++ start-up noise (oneDNN, CUDA) and no Python warnings.
    self.assertFalse([l for l in errors if not re.match(r'[IW]\d{4} ', l)],
                     errors)
    with open(json_path) as f:
      self.assertLen(json.load(f)['durations_sec'], 3)

  def test_xla_clusters_the_graph(self):
    trace_path = os.path.join(self.get_temp_dir(), 'xla.trace.json')
    result = run_cli('--xla', '--batch_size=1', '--image_size=75',
                     '--num_batches=1', '--num_warmup_batches=0',
                     '--trace_file=' + trace_path)
    self.assertEqual(result.returncode, 0, result.stderr)
    ops = collections.Counter()
    for counter in trace_ops_by_device(trace_path).values():
      ops.update(counter)
    self.assertTrue(has_op(ops, '_XlaRun'), ops)

  def test_errors_are_one_line(self):
    flagfile = os.path.join(self.get_temp_dir(), 'bad.flags')
    with open(flagfile, 'w') as f:
      f.write('--image_size=299\n--batch_size=0\n')
    for args, message in [
        (['--flagfile=' + flagfile], 'flag --batch_size=0'),
        (['--data_format=NCHW'], '--data_format=NCHW: not supported on CPU')]:
      result = run_cli(*args)
      self.assertEqual(result.returncode, 1)
      self.assertEqual(result.stdout, '')
      self.assertEqual(result.stderr.splitlines(),
                       [result.stderr.splitlines()[0]])
      self.assertIn(ERROR_LINE, result.stderr)
      self.assertIn(message, result.stderr)

  def test_helpfull_lists_the_flags(self):
    result = run_cli('--helpfull')
    for flag in ('--num_batches', '--mode', '--num_devices', '--target',
                 '--trace_file', '--json_output', '--flagfile'):
      self.assertIn(flag, result.stdout)


if __name__ == '__main__':
  tf.test.main()
