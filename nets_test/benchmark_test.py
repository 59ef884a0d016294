"""Tests for benchmark.py and its harness (nets.benchmarking): the original
script's timing and output, the CLI, bad input, --optimize, --precision, --compare,
and the files a run writes (refused, reserved, whole, raced, interrupted).

Runs the harness in-process and benchmark.py as a subprocess on tiny
settings (batch 1-2, 75..107 pixels, 1-3 batches). Nothing here asserts a
speed.
"""

import collections
import concurrent.futures
import io
import json
import os
import re
import select
import signal
import socket
import statistics
import tempfile
import time
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf

from nets import cli
from nets import inference
from nets.benchmarking import compare
from nets.benchmarking import config as config_lib
from nets.benchmarking import devices
from nets.benchmarking import graphs
from nets.benchmarking import harness
from nets.benchmarking import network
from nets.benchmarking import records
from nets.benchmarking import runners as runners_lib
from nets.benchmarking import timing as timing_lib
from nets.benchmarking import weights as weights_lib
from nets_test import testing

Config = config_lib.Config
RunSettings = config_lib.RunSettings
BenchmarkError = config_lib.BenchmarkError

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
TABLE_ROW = re.compile(
    r'\| (\S+) \| (\d+\.\d{3}) \| (\d+\.\d{3}) \| (\d+\.\d) \| (\d+\.\d) '
    r'\| (\d+%|-) \| (\d+|-) \| (\d+\.\d\d)x '
    r'\| (reference|n/a|\d\.\de[-+]\d\d) \|$')
PRECISION_LINE = re.compile(
    r'%s: (fp16|bf16) logits vs float32 on the same weights and images: max '
    r'\|diff\| (\S+) of the largest logit \(tolerance (\S+)\)$' % TIMESTAMP)
TINY = ('--batch_size=1', '--image_size=75', '--num_batches=3',
        '--num_warmup_batches=1', '--display_every=1')
TINY_CONFIG = Config(batch_size=1, image_size=75)
TINY_STEPS = {'num_batches': 3, 'num_warmup_batches': 1, 'display_every': 1}
LOG_LINE = re.compile(r'[IW]\d{4} ')


_MODEL_FACTS = {}
_model_facts = weights_lib.model_facts


def shared_model_facts(num_classes, image_size):
  """weights_lib.model_facts, computed once per shape in this test process.

  Each computation builds the network (~4 CPU-s); the harness asks for the
  same shapes in many tests here (load_weights, run_compare).
  """
  key = (num_classes, image_size)
  if key not in _MODEL_FACTS:
    _MODEL_FACTS[key] = _model_facts(num_classes, image_size)
  shapes, flops = _MODEL_FACTS[key]
  return {name: list(shape) for name, shape in shapes.items()}, flops


_SHARED_MODEL_FACTS = mock.patch.object(weights_lib, 'model_facts',
                                        shared_model_facts)


def setUpModule():
  _SHARED_MODEL_FACTS.start()


def tearDownModule():
  _SHARED_MODEL_FACTS.stop()


_V1_CHECKPOINT = []


def v1_checkpoint():
  """(path, values) of a V1 checkpoint of 1001 classes, as slim released
  them; written once per test process (the tests only read it)."""
  if not _V1_CHECKPOINT:
    path = os.path.join(tempfile.mkdtemp(dir=tf.test.get_temp_dir()), 'v1',
                        'model.ckpt')
    _V1_CHECKPOINT.append((path, testing.write_checkpoint(
        path, num_classes=1001, image_size=299, version='V1', seed=3)))
  return _V1_CHECKPOINT[0]


def free_port():
  """A loopback port nobody listens on (for now)."""
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def run_harness(config=TINY_CONFIG, **settings):
  """harness.run in this process; returns (stdout lines, record)."""
  out = io.StringIO()
  record = harness.run(RunSettings(config=config, **settings), out)
  return out.getvalue().splitlines(), record


def run_cli(*args):
  """benchmark.py run as a user runs it (testing.tool_process)."""
  return testing.tool_process('benchmark.py', *args)


def run_cli_all(arg_lists, workers=2):
  """run_cli of each argument list, two at a time; results in their order."""
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    return list(pool.map(lambda args: run_cli(*args), arg_lists))


def error_lines(stderr):
  """stderr's lines but absl's log lines."""
  return [l for l in stderr.splitlines() if l.strip() and
          not LOG_LINE.match(l)]


def start_cli(*args, prelude='', fresh=False):
  """benchmark.py started as a user starts it (stdout and stderr piped)."""
  return testing.start_tool('benchmark.py', *args, prelude=prelude,
                            fresh=fresh)


def first_line(proc, timeout=testing.SUBPROCESS_TIMEOUT_S):
  """The first stdout line of a started benchmark.py (its first step)."""
  ready, _, _ = select.select([proc.stdout], [], [], timeout)
  line = proc.stdout.readline() if ready else ''
  if not line:
    proc.kill()
    raise AssertionError('no step line: %s' % proc.communicate()[1][-3000:])
  return line.rstrip('\n')


# A benchmark.py run (warm fork) that stops itself (SIGSTOP) before its
# second timed step: after it has claimed its files and printed step 0.
_STOP_BEFORE_THE_SECOND_STEP = """
import os, signal
from nets.benchmarking import timing
_time_steps = timing.time_steps
def _stopping(run_step, *args, **kwargs):
  calls = []
  def step():
    calls.append(1)
    if len(calls) == 3:  # The burn-in step, step 0, then this one.
      os.kill(os.getpid(), signal.SIGSTOP)
    return run_step()
  return _time_steps(step, *args, **kwargs)
timing.time_steps = _stopping
"""


def wait_until_stopped(pid, timeout=testing.SUBPROCESS_TIMEOUT_S):
  """Waits until process `pid` is stopped (state T in /proc/pid/stat)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    try:
      with open('/proc/%d/stat' % pid) as f:
        state = f.read().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
      state = 'X'
    if state in ('T', 't'):
      return
    if state in ('Z', 'X'):
      raise AssertionError('process %d ended before it stopped itself' % pid)
    time.sleep(0.01)
  raise AssertionError('process %d did not stop itself' % pid)


def leftovers(directory):
  return sorted(n for n in os.listdir(directory) if '.partial-' in n)


def usual_file_mode():
  umask = os.umask(0)
  os.umask(umask)
  return 0o666 & ~umask


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
  """time_steps and mean_and_sd against the original script's
  time_tensorflow_run."""

  def testLinesAndNumbers(self):
    warmup, timed = [7.0], [0.5, 1.25, 2.0, 0.25, 1.0]
    clock = FakeClock(warmup + timed)
    out = io.StringIO()
    with mock.patch.object(timing_lib.time, 'perf_counter', clock):
      timing = timing_lib.time_steps(clock.step, num_batches=5,
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

  def testDefaultSpacingIsTheSeeds(self):
    # The original script prints when `not i % 10` for i counting the 10
    # burn-in steps.
    seed_steps = [i - 10 for i in range(10 + 25) if i >= 10 and not i % 10]
    clock = FakeClock([0.1] * 35)
    out = io.StringIO()
    with mock.patch.object(timing_lib.time, 'perf_counter', clock):
      timing_lib.time_steps(clock.step, num_batches=25, out=out,
                           info_string='Forward-backward')
    lines = out.getvalue().splitlines()
    self.assertEqual([int(STEP_LINE.match(l).group(1)) for l in lines[:-1]],
                     seed_steps)
    self.assertEqual(FINAL_LINE.match(lines[-1]).group(1, 2),
                     ('Forward-backward', '25'))

  def testMeanAndPopulationSd(self):
    durations = [1.0, 2.0, 4.0, 8.0]
    mean, sd = timing_lib.mean_and_sd(durations)
    self.assertAllClose([mean, sd], [np.mean(durations), np.std(durations)])

  def testRoundingCannotMakeSdFail(self):
    durations = [0.1] * 3
    n = len(durations)
    raw = sum(d * d for d in durations) / n - (sum(durations) / n)**2
    self.assertLess(raw, 0.0)  # The original's math.sqrt would raise here.
    self.assertEqual(timing_lib.mean_and_sd(durations)[1], 0.0)


class StatisticsTest(tf.test.TestCase):

  def testPercentilesThroughputAndSummaryLine(self):
    durations = [d / 100.0 for d in np.random.RandomState(0).permutation(
        np.arange(1, 101))]
    mean, sd = float(np.mean(durations)), float(np.std(durations))
    timing = timing_lib.Timing(durations, [], mean, sd)
    config = Config(batch_size=4,
                              devices=('/device:CPU:0', '/device:CPU:1'))
    stats = timing_lib.statistics(timing, config)
    quantiles = statistics.quantiles(durations, n=100, method='inclusive')
    self.assertAllClose(
        [stats['median_sec'], stats['p90_sec'], stats['p99_sec']],
        [statistics.median(durations), quantiles[89], quantiles[98]])
    self.assertAllClose(stats['images_per_sec'], 8 / 0.505)
    self.assertAllClose(stats['images_per_sec_per_tower'], 4 / 0.505)
    self.assertEqual(stats['num_towers'], 2)
    line = SUMMARY_LINE.match(timing_lib.summary_line(stats)).groups()
    self.assertEqual(line[:6], ('15.8', '7.9', '2', '0.505', '0.901',
                                '0.990'))

  def testPeakRssIsTheKernelsHighWaterMark(self):
    with open('/proc/self/status') as f:
      vm_hwm_kib = int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1))
    self.assertAllClose(timing_lib.peak_rss_mib(), vm_hwm_kib / 1024.0,
                        rtol=0.05)


class DevicesTest(tf.test.TestCase):

  CPUS = ['/job:localhost/replica:0/task:0/device:CPU:0',
          '/job:localhost/replica:0/task:0/device:CPU:1']
  GPUS = ['/job:localhost/replica:0/task:0/device:GPU:0',
          '/job:localhost/replica:0/task:0/device:GPU:1']

  def testDefaultIsGpuWhenThereIsOne(self):
    self.assertEqual(devices.tower_devices(None, 1, self.CPUS[:1]),
                     ('/device:CPU:0',))
    self.assertEqual(devices.tower_devices(None, 1, self.CPUS + self.GPUS),
                     ('/device:GPU:0',))

  def testTowersTakeConsecutiveDevices(self):
    self.assertEqual(devices.tower_devices('/cpu:0', 2, self.CPUS),
                     ('/device:CPU:0', '/device:CPU:1'))
    self.assertEqual(devices.tower_devices('/gpu:1', 1, self.GPUS),
                     ('/device:GPU:1',))

  def testUnavailableOrMalformedDevices(self):
    cases = [('/cpu:1', 1, self.CPUS[:1], '--device=/cpu:1: not available'),
             ('/gpu:0', 3, self.GPUS,
              '--device=/gpu:0 --num_devices=3: not available'),
             ('/tpu:0', 1, self.CPUS, '--device=/tpu:0: expected'),
             ('cpu zero', 1, self.CPUS, '--device=cpu zero: expected')]
    for device, num, available, message in cases:
      with self.assertRaisesRegex(BenchmarkError, re.escape(message)):
        devices.tower_devices(device, num, available)


class TargetsTest(tf.test.TestCase):

  def testTargets(self):
    with self.assertRaisesRegex(BenchmarkError,
                                'target=localhost:1: expected grpc://'):
      devices.check_target('localhost:1')
    port = free_port()
    with self.assertRaisesRegex(BenchmarkError,
                                'target=grpc://localhost:%d: cannot connect'
                                % port):
      devices.check_target('grpc://localhost:%d' % port)


def variable_scopes(model):
  """The scopes just below InceptionV3/ of a built Model's variables."""
  with model.graph.as_default():
    return {v.op.name.split('/')[1] for v in tf.global_variables()}


class BuildTest(tf.test.TestCase):

  def testAuxHeadOnlyWhereTheLossNeedsItAndItFits(self):
    # Where it is (forward-backward from 107 pixels): HarnessRunTest.
    # testForwardBackwardRunsTheBackwardPass sees its gradients run at 107;
    # too large for it (400): testLargeInputsPoolGlobally.
    model = graphs.build_model(Config(mode='forward-backward', batch_size=1,
                                      image_size=106))
    self.assertNotIn('AuxLogits', variable_scopes(model))
    # Forward builds inference.build's graph, whose variables model_facts
    # lists (built once per process here: shared_model_facts): none of the
    # aux head's at 299, where the loss would have it.
    shapes, _ = weights_lib.model_facts(1000, 299)
    self.assertIn('InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/weights',
                  shapes)
    self.assertFalse([n for n in shapes if '/AuxLogits/' in n])

  def testLargeInputsPoolGlobally(self):
    for mode in ('forward', 'forward-backward'):
      model = graphs.build_model(Config(mode=mode, batch_size=1,
                                        image_size=400, num_classes=10))
      pools = [op.name for op in model.graph.get_operations()
               if op.name.startswith('InceptionV3/Logits/GlobalPool')]
      self.assertTrue(pools, mode)
      if mode == 'forward':
        self.assertEqual(model.fetch.shape.as_list(), [1, 10])
      else:  # No aux head: its logits would not be 1x1 there.
        self.assertNotIn('AuxLogits', variable_scopes(model))

  def testTrainingTowersAreTheTrainersClones(self):
    towers = ('/device:CPU:0', '/device:CPU:1')
    model = graphs.build_model(Config(mode='forward-backward', batch_size=1,
                                      image_size=75, num_classes=10,
                                      devices=towers))
    graph = model.graph
    for i, device in enumerate(towers):
      conv = graph.get_operation_by_name(
          'clone_%d/InceptionV3/Logits/Conv2d_1c_1x1/Conv2D' % i)
      self.assertEqual(conv.device, device)
      self.assertEqual(conv.inputs[0].shape[0], 1)
      graph.get_operation_by_name('clone_%d/scaled_clone_loss' % i)
    self.assertEqual(model.loss.op.name, 'total_loss')
    with graph.as_default():
      for variable in tf.global_variables():  # Where the trainer keeps them.
        self.assertEqual(variable.device, '/device:CPU:0')
    self.assertEqual(model.fetch.shape.as_list(), [190])  # A gradient each.

  def testNchwIsRefused(self):
    with self.assertRaisesRegex(BenchmarkError,
                                '--data_format=NCHW: not supported'):
      graphs.build_model(Config(data_format='NCHW'))

  def testCheckpointWeightsAreTheOnesTimed(self):
    path, values = v1_checkpoint()
    config = Config(batch_size=1, image_size=75, num_classes=1001,
                              checkpoint_path=os.path.dirname(path))
    model = graphs.build_model(config)
    with graphs.start_session(model, config) as session:
      with model.graph.as_default():
        variables = {v.op.name: v for v in tf.global_variables()}
      for name in ('InceptionV3/Conv2d_1a_3x3/weights',
                   'InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/'
                   'moving_variance',
                   'InceptionV3/Logits/Conv2d_1c_1x1/biases'):
        self.assertAllEqual(session.run(variables[name]), values[name])


class HarnessRunTest(tf.test.TestCase):
  """harness.run on the configurations the flags describe."""

  def testForwardBackwardRunsTheBackwardPass(self):
    trace_path = os.path.join(self.get_temp_dir(), 'fb.trace.json')
    config = Config(mode='forward-backward', batch_size=2, image_size=107)
    lines, record = run_harness(config, num_batches=2, num_warmup_batches=1,
                                trace_file=trace_path)
    self.assertLen(lines, 3)  # step 0, the original script's line, the summary.
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
    # Its disk space was claimed generously enough.
    self.assertLess(os.path.getsize(trace_path), records.trace_size(config))

  def testTwoCpuTowers(self):
    trace_path = os.path.join(self.get_temp_dir(), 'towers.trace.json')
    config = Config(batch_size=1, image_size=75,
                    devices=('/device:CPU:0', '/device:CPU:1'))
    lines, record = run_harness(config, num_batches=2, num_warmup_batches=1,
                                trace_file=trace_path)
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
    self.assertLess(os.path.getsize(trace_path), records.trace_size(config))

  def testCheckpointRun(self):
    path = os.path.join(self.get_temp_dir(), 'v2', 'model.ckpt-7')
    testing.write_checkpoint(path, num_classes=1001, image_size=299)
    config = Config(batch_size=1, image_size=75, num_classes=1001,
                    checkpoint_path=path)
    lines, record = run_harness(config, **TINY_STEPS)
    self.assertEqual(FINAL_LINE.match(lines[-2]).group(2), '3')
    self.assertEqual(record['config']['checkpoint_path'], path)

  def testRecordSizeIsWithinTheReservation(self):
    # The longest durations JSON writes (17 significant digits, exponent),
    # on many devices.
    settings = RunSettings(num_batches=1000, num_warmup_batches=100)
    steps = [1.2345678901234567e-05] * settings.num_batches
    stats = {k: 1.2345678901234567e-05 for k in (
        'mean_sec', 'sd_sec', 'median_sec', 'p90_sec', 'p99_sec', 'min_sec',
        'max_sec', 'images_per_sec', 'images_per_sec_per_tower',
        'peak_rss_mib')}
    record = records.run_record(
        settings.config,
        timing_lib.Timing(steps, steps[:settings.num_warmup_batches], 1, 1),
        stats, ['/job:localhost/replica:0/task:0/device:CPU:%d' % i
                for i in range(64)],
        {'flag_%d' % i: '/a/long/path/' * 8 for i in range(30)})
    size = len(records.to_json(record).encode())
    self.assertLess(size, records.json_size(settings))
    self.assertGreater(size, records.json_size(settings) / 4)  # Not absurd.


class BadInputTest(tf.test.TestCase):
  """Every bad flag: one line naming it, exit status 1, no traceback."""

  def assertOneLineErrors(self, cases):
    """Runs benchmark.py on each (args, *fragments); returns stderr lines."""
    results = run_cli_all([args for args, *_ in cases])
    all_lines = []
    for (args, *fragments), result in zip(cases, results):
      lines = [l for l in result.stderr.splitlines() if l.strip()]
      self.assertEqual(result.returncode, 1, (args, result.stderr))
      self.assertEqual(result.stdout, '', args)
      self.assertTrue(lines[-1].startswith(ERROR_LINE), lines)
      for fragment in fragments:
        self.assertIn(fragment, lines[-1])
      self.assertEqual(sum(l.startswith(ERROR_LINE) for l in lines), 1)
      self.assertFalse(any('Traceback' in l for l in lines))
      all_lines.append(lines)
    return all_lines

  def assertOneLineError(self, args, *fragments):
    return self.assertOneLineErrors([(args, *fragments)])[0]

  def testFlagValues(self):
    cases = [
        (['--batch_size=0'], 'flag --batch_size=0'),
        (['--image_size=74'], 'flag --image_size=74'),
        (['--num_batches=-1'], 'flag --num_batches=-1'),
        (['--num_warmup_batches=-1'], 'flag --num_warmup_batches=-1'),
        (['--num_devices=0'], 'flag --num_devices=0'),
        (['--mode=backward'], 'flag --mode=backward'),
        (['--data_format=NCWH'], 'flag --data_format=NCWH'),
        (['--batch_size=two'], 'flag --batch_size=two'),
        (['--no_such_flag'], "'no_such_flag'"),
        (['extra'], 'unexpected arguments: extra')]
    for lines in self.assertOneLineErrors(cases):
      self.assertLen(lines, 1)

  def testFiles(self):
    missing_dir = os.path.join(self.get_temp_dir(), 'no_such_dir')
    self.assertOneLineErrors([
        (['--json_output=%s/r.json' % missing_dir],
         '--json_output=', 'does not exist'),
        (['--trace_file=%s/t.json' % missing_dir],
         '--trace_file=', 'does not exist'),
        (['--checkpoint_path=%s/model.ckpt' % missing_dir],
         '--checkpoint_path=', 'No checkpoint at'),
        # What FilesAndTargetsTest.testOutputPaths asked of
        # check_output_path, now of the command.
        (['--trace_file=' + self.get_temp_dir()],
         '--trace_file=', 'is a directory')])

  def testDevicesAndTargets(self):
    self.assertOneLineErrors([
        (['--data_format=NCHW'], '--data_format=NCHW: not supported on CPU'),
        (['--device=/cpu:5'], '--device=/cpu:5', 'not available'),
        (['--target=grpc://localhost:%d' % free_port()], '--target=',
         'cannot connect')])

  def testCompareAndOptimizeFlags(self):
    missing = os.path.join(self.get_temp_dir(), 'missing.onnx')
    self.assertOneLineErrors([
        (['--compare=plain,fast'], "--compare: unknown configuration 'fast'"),
        (['--compare=plain,plain'], '--compare: plain is listed twice'),
        (['--compare=plain', '--mode=forward-backward'],
         '--compare: cannot be combined with --mode'),
        (['--compare=plain', '--optimize'],
         '--compare: cannot be combined with --optimize'),
        (['--compare=plain', '--num_devices=2'],
         '--compare: cannot be combined with --num_devices'),
        (['--optimize', '--mode=forward-backward'],
         '--optimize: the optimized graph is for inference'),
        (['--precision=fp8'], 'flag --precision=fp8'),
        (['--compare=plain', '--onnx_model=' + missing],
         '--onnx_model=%s: no such file' % missing)])

  def testCheckpointThatDoesNotFit(self):
    path, _ = v1_checkpoint()
    self.assertOneLineError(
        [*TINY, '--checkpoint_path=' + path], '--checkpoint_path=' + path,
        'InceptionV3/Logits/Conv2d_1c_1x1/weights: [1, 1, 2048, 1000] vs '
        '[1, 1, 2048, 1001]', 'InceptionV3/Logits/Conv2d_1c_1x1/biases')


class CommandLineTest(tf.test.TestCase):
  """benchmark.py as the user runs it."""

  def testLocalServerTarget(self):
    port = free_port()
    tf.distribute.Server(
        tf.train.ClusterSpec({'bench': ['localhost:%d' % port]}),
        job_name='bench', task_index=0)
    trace_path = os.path.join(self.get_temp_dir(), 'remote.trace.json')
    json_path = os.path.join(self.get_temp_dir(), 'remote.json')
    result = run_cli(
        '--target=grpc://localhost:%d' % port, '--batch_size=1',
        '--image_size=75', '--num_batches=2', '--num_warmup_batches=1',
        '--trace_file=' + trace_path, '--json_output=' + json_path)
    self.assertEqual(result.returncode, 0, result.stderr)
    lines = result.stdout.splitlines()
    with open(json_path) as f:
      record = json.load(f)
    self.assertEqual(FINAL_LINE.match(lines[-2]).group(2), '2')
    self.assertEqual(record['flags']['target'], 'grpc://localhost:%d' % port)
    # The server's job name shows the steps ran there.
    self.assertEqual(record['device']['available'],
                     ['/job:bench/replica:0/task:0/device:CPU:0'])
    self.assertTrue(any(d.startswith('/job:bench/') and has_op(ops, 'Conv2D')
                        for d, ops in trace_ops_by_device(trace_path).items()))

  def testForwardRunsLinesRecordAndTrace(self):
    json_path = os.path.join(self.get_temp_dir(), 'run.json')
    trace_path = os.path.join(self.get_temp_dir(), 'step.trace.json')
    # A new interpreter, so TensorFlow's start-up is part of what is checked.
    result = testing.tool_process('benchmark.py', *TINY,
                                  '--json_output=' + json_path,
                                  '--trace_file=' + trace_path, fresh=True)
    self.assertEqual(result.returncode, 0, result.stderr)
    # The seed's format on stdout, the progress on stderr.
    lines = result.stdout.splitlines()
    with open(json_path) as f:
      record = json.load(f)
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
    errors = result.stderr.splitlines()
    self.assertIn('Building Inception V3 forward', errors[0])
    self.assertIn('/device:CPU:0', errors[0])
    # No C++ start-up noise (oneDNN, CUDA) and no Python warnings.
    self.assertFalse([l for l in errors if not re.match(r'[IW]\d{4} ', l)],
                     errors)

    # The record.
    self.assertEqual(record['tensorflow_version'], tf.__version__)
    self.assertEqual(record['info_string'], 'Forward')
    expected = {'mode': 'forward', 'batch_size': 1, 'image_size': 75,
                'num_classes': 1000, 'devices': ['/device:CPU:0'],
                'data_format': 'NHWC', 'xla': False}
    self.assertEqual({k: record['config'][k] for k in expected}, expected)
    self.assertEqual(record['flags']['num_batches'], 3)
    self.assertEqual(record['device']['towers'], ['/device:CPU:0'])
    self.assertAllClose(record['statistics']['mean_sec'], np.mean(durations))
    self.assertAllClose(record['statistics']['images_per_sec'],
                        1 / np.mean(durations))
    # Every flag is in the record: benchmark.py's own and the shared ones.
    help_text = run_cli('--help').stdout
    defined = re.findall(r'^  --(?:\[no\])?(\w+):', help_text, re.M)
    self.assertCountEqual(record['flags'], defined)
    self.assertEqual(
        [record['flags'][name] for name in (
            'image_size', 'num_classes', 'checkpoint_path', 'overwrite')],
        [75, 1000, None, False])

    # The trace.
    ops = trace_ops_by_device(trace_path)
    cpu0 = [d for d in ops if d.endswith('device:CPU:0 Compute')]
    self.assertLen(cpu0, 1)
    self.assertTrue(has_op(ops[cpu0[0]], 'Conv2D'))
    self.assertIn('InceptionV3/Logits/SpatialSqueeze', op_names(trace_path))

  def testXlaClustersTheGraph(self):
    trace_path = os.path.join(self.get_temp_dir(), 'xla.trace.json')
    result = run_cli('--xla', '--batch_size=1', '--image_size=75',
                     '--num_batches=1', '--num_warmup_batches=0',
                     '--trace_file=' + trace_path)
    self.assertEqual(result.returncode, 0, result.stderr)
    ops = collections.Counter()
    for counter in trace_ops_by_device(trace_path).values():
      ops.update(counter)
    self.assertTrue(has_op(ops, '_XlaRun'), ops)

  def testErrorsAreOneLine(self):
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

  def testHelpfullListsTheFlags(self):
    result = run_cli('--helpfull')
    for flag in ('--num_batches', '--mode', '--num_devices', '--target',
                 '--trace_file', '--json_output', '--flagfile'):
      self.assertIn(flag, result.stdout)

  def testHelpExitsZeroWithOnlyTheHelp(self):
    result = run_cli('--help')
    self.assertEqual((result.returncode, result.stderr), (0, ''))
    self.assertTrue(result.stdout.startswith(
        'Times Inception V3 in graph mode'), result.stdout[:200])
    # The flags shared with the other tools (nets.cli) are listed too.
    for flag in ('--num_batches', '--compare', '--image_size',
                 '--num_classes', '--checkpoint_path', '--[no]overwrite',
                 '--steps_per_turn', '--[no]compare_memory', '--matmul_size',
                 '--onnx_model'):
      self.assertIn('\n  %s:' % flag, result.stdout)

class FakeRunner(object):
  """A --compare runner that records when it ran."""

  def __init__(self, name, log):
    self.name, self.log = name, log
    self.logits, self.precision = None, 'fp32'

  def step(self):
    self.log.append(self.name)

  def close(self):
    self.log.append('close ' + self.name)


class CompareUnitsTest(tf.test.TestCase):
  """The pieces of --compare, on made-up numbers."""

  def testRoundsRotateAfterEachOnesBurnIn(self):
    log = []
    runners = [FakeRunner(n, log) for n in 'ABC']
    timings = compare.time_interleaved(runners, num_batches=4,
                                         num_warmup_batches=2)
    self.assertEqual(''.join(log), 'AABBCC' + 'ABC' + 'BCA' + 'CAB' + 'ABC')
    for timing in timings:
      self.assertLen(timing.durations, 4)
      self.assertLen(timing.warmup_durations, 2)
      self.assertAllClose([timing.mean, timing.sd],
                          [np.mean(timing.durations),
                           np.std(timing.durations)])
    del log[:]
    timings = compare.time_interleaved(runners[:2], num_batches=3,
                                         num_warmup_batches=1,
                                         steps_per_turn=2)
    self.assertEqual(''.join(log), 'AB' + 'AABB' + 'BA')
    self.assertEqual([len(t.durations) for t in timings], [3, 3])

  def testRowsAndTable(self):
    config = Config(batch_size=4, image_size=299)
    log = []
    runners = [FakeRunner(n, log) for n in ('plain', 'optimized', 'keras')]
    durations = [[2.0, 1.0, 3.0], [1.5, 0.5, 1.0], [4.0, 4.0, 4.0]]
    timings = [timing_lib.Timing(d, [], *timing_lib.mean_and_sd(d))
               for d in durations]
    errors = {'plain': (0.0, 1e-4), 'optimized': (3.25e-6, 1e-4)}
    rows = compare.comparison_rows(
        runners, timings, config, flops=10e9, ceiling=80.0,
        memory={'plain': 1200.4, 'optimized': 1100.6}, errors=errors)
    # Medians 2.0, 1.0, 4.0 s for 4 images of 10 GFLOP.
    self.assertAllClose([r['gflops_per_sec'] for r in rows], [20, 40, 10])
    self.assertAllClose([r['percent_of_ceiling'] for r in rows],
                        [25, 50, 12.5])
    self.assertAllClose([r['time_ratio'] for r in rows], [1.0, 0.5, 2.0])
    self.assertAllClose([r['statistics']['images_per_sec'] for r in rows],
                        [2.0, 4.0, 1.0])
    self.assertIsNone(rows[2]['peak_rss_mib'])
    self.assertNotIn('peak_rss_mib', rows[0]['statistics'])
    lines = compare.comparison_table(rows, 'plain').splitlines()
    self.assertEqual(lines[0], (
        '| configuration | median s | p90 s | images/s | GFLOP/s | % of '
        'ceiling | peak RSS MiB | time vs plain | logits vs plain |'))
    self.assertEqual(lines[1], '|---|---|---|---|---|---|---|---|---|')
    self.assertEqual(
        [TABLE_ROW.match(line).groups() for line in lines[2:]],
        [('plain', '2.000', '2.800', '2.0', '20.0', '25%', '1200', '1.00',
          'reference'),
         ('optimized', '1.000', '1.400', '4.0', '40.0', '50%', '1101', '0.50',
          '3.2e-06'),
         ('keras', '4.000', '4.000', '1.0', '10.0', '12%', '-', '2.00',
          'n/a')])
    rows[1]['logits_error'] = 2e-4
    self.assertIn('| 2.0e-04 (over 0.0001!) |',
                  compare.comparison_table(rows, 'plain'))

  def testFlopsAreTheConvolutionsAndPoolsOfTheLogitsPath(self):
    shapes, flops = weights_lib.model_facts(1000, 299)
    # Independently: 2 x multiply-adds of every convolution, plus one per
    # pooled input element, from the shapes of a freshly built graph.
    with tf.Graph().as_default() as graph:
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      testing.build_classifier(images, num_classes=1000,
                               create_aux_logits=False)
      expected = 0
      for op in graph.get_operations():
        if op.type == 'Conv2D':
          out = op.outputs[0].shape.as_list()
          kh, kw, cin, _ = op.inputs[1].shape.as_list()
          expected += 2 * np.prod(out[1:]) * kh * kw * cin
        elif op.type in ('MaxPool', 'AvgPool'):
          _, kh, kw, _ = op.get_attr('ksize')
          expected += np.prod(op.outputs[0].shape.as_list()[1:]) * kh * kw
    self.assertAllClose(flops, expected, rtol=1e-6)
    # The 11.57 GFLOP per 299x299 image, within its rounding of BN.
    self.assertAllClose(flops, 11.57e9, rtol=0.015)
    self.assertEqual(len(shapes), 378)  # 388 minus the aux head's 10.
    self.assertEqual(shapes['InceptionV3/Logits/Conv2d_1c_1x1/weights'],
                     [1, 1, 2048, 1000])

  def testSyntheticWeightsHaveATrainedNetworksScale(self):
    shapes = {'s/Conv/weights': [3, 3, 64, 96],
              's/Conv/BatchNorm/beta': [96],
              's/Conv/BatchNorm/moving_mean': [96],
              's/Conv/BatchNorm/moving_variance': [96],
              's/Logits/Conv2d_1c_1x1/weights': [1, 1, 2048, 10],
              's/Logits/Conv2d_1c_1x1/biases': [10]}
    weights = weights_lib.synthetic_weights(shapes, seed=3)
    self.assertEqual({k: list(v.shape) for k, v in weights.items()}, shapes)
    self.assertTrue(all(v.dtype == np.float32 for v in weights.values()))
    self.assertAllClose(np.std(weights['s/Conv/weights']),
                        np.sqrt(2.0 / (3 * 3 * 64)), rtol=0.05)
    self.assertAllClose(np.std(weights['s/Logits/Conv2d_1c_1x1/weights']),
                        np.sqrt(1.0 / 2048), rtol=0.05)
    variance = weights['s/Conv/BatchNorm/moving_variance']
    self.assertTrue(np.all((variance >= 0.5) & (variance <= 1.5)))
    for name in ('s/Conv/BatchNorm/beta', 's/Logits/Conv2d_1c_1x1/biases'):
      self.assertTrue(np.all(weights[name] != 0), name)
    again = weights_lib.synthetic_weights(shapes, seed=3)
    self.assertAllEqual(again['s/Conv/weights'], weights['s/Conv/weights'])


class OptimizeTest(tf.test.TestCase):
  """--optimize and --precision: what they build, run and check."""

  def testOptimizedLogitsAreThePlainGraphs(self):
    shapes, _ = weights_lib.model_facts(1000, 75)
    weights = weights_lib.synthetic_weights(shapes)
    largest = inference.MAX_BATCH_FOR_CONSTANTS
    images = np.random.RandomState(0).uniform(
        -1, 1, (largest + 1, 75, 75, 3)).astype(np.float32)

    def logits_and_variables(batch, optimize):
      config = Config(batch_size=batch, image_size=75, optimize=optimize)
      model = graphs.build_model(config, weights)
      with model.graph.as_default():
        num_variables = len(tf.global_variables())
      with graphs.start_session(model, config) as session:
        return (session.run(model.fetch, {model.images[0]: images[:batch]}),
                num_variables)

    # The plain graph once, on every image: each image's logits do not
    # depend on the others (BatchNorm in inference mode).
    plain, num_plain = logits_and_variables(largest + 1, False)
    self.assertEqual(num_plain, 378)
    for batch in (2, largest + 1):  # Constant weights, then variables.
      optimized, num_optimized = logits_and_variables(batch, True)
      self.assertLess(inference.logits_error(optimized, plain[:batch]),
                      1e-4, batch)
      # Optimized: the images, plus 95 folded kernels and their biases when
      # the weights are not constants.
      self.assertEqual(num_optimized, 1 if batch <= largest else 1 + 190)

  def testOptimizedRunAndItsTrace(self):
    trace_path = os.path.join(self.get_temp_dir(), 'optimized.trace.json')
    lines, record = run_harness(Config(batch_size=1, image_size=75,
                                       optimize=True),
                                trace_file=trace_path, **TINY_STEPS)
    self.assertLen(lines, 5)
    self.assertEqual(FINAL_LINE.match(lines[3]).group(1, 2), ('Forward', '3'))
    self.assertRegex(lines[4], SUMMARY_LINE)
    self.assertEqual(record['config']['optimize'], True)
    self.assertEqual(record['config']['precision'], 'fp32')
    ops = collections.Counter()
    for counter in trace_ops_by_device(trace_path).values():
      ops.update(counter)
    self.assertTrue(has_op(ops, 'FusedConv2D'), ops)
    for unfused in ('FusedBatchNorm', 'RandomUniform'):
      self.assertFalse(has_op(ops, unfused), (unfused, ops))
    # The only unfused ReLUs: the 9 that follow their pool branch's pool.
    self.assertEqual(sum(n for op, n in ops.items() if op.endswith('Relu')),
                     9, ops)

  def testFp16ChecksItsLogitsAgainstFp32(self):
    checks = []  # The arguments of the run's check, to check again below.
    check_precision = harness.check_precision

    def recorded(*args):
      checks.append(args)
      return check_precision(*args)

    with mock.patch.object(harness, 'check_precision', recorded):
      lines, record = run_harness(
          Config(batch_size=1, image_size=75, optimize=True,
                 precision='fp16'),
          num_batches=1, num_warmup_batches=0)
    self.assertLen(lines, 4)
    self.assertRegex(lines[2], SUMMARY_LINE)
    precision, error, tolerance = PRECISION_LINE.match(lines[3]).groups()
    self.assertEqual((precision, float(tolerance)), ('fp16', 1e-2))
    self.assertGreater(float(error), 1e-5)  # Computed in float16...
    self.assertLess(float(error), 1e-2)  # ...within the tolerance.
    self.assertEqual(record['config']['optimize'], True)
    # Beyond the tolerance, the run fails with one BenchmarkError (the
    # command's one error line: BadInputTest.testCheckpointThatDoesNotFit).
    self.assertLen(checks, 1)
    with mock.patch.dict(inference.TOLERANCES, {'fp16': 1e-7}):
      with self.assertRaisesRegex(
          BenchmarkError, r'^--precision=fp16: logits differ from float32 '
          r'by \S+ of the largest logit \(tolerance 1e-07\)$'):
        harness.check_precision(*checks[0])


class CompareTest(tf.test.TestCase):

  def testEveryConfigurationSideBySide(self):
    json_path = os.path.join(self.get_temp_dir(), 'compare.json')
    original = cli.require

    def no_openvino(module, install):
      if module == 'openvino':
        raise cli.MissingDependencyError('openvino is not installed (%s)' %
                                         install)
      return original(module, install)

    settings = dict(compare=tuple(runners_lib.expand_names(['all'])),
                    num_batches=2, num_warmup_batches=1, matmul_size=256,
                    compare_memory=False, json_output=json_path)
    with mock.patch.object(cli, 'require', no_openvino):
      lines, record = run_harness(TINY_CONFIG, **settings)
    names = [n for n in runners_lib.COMPARE_NAMES if n != 'openvino']
    rows = {m.group(1): m.groups() for m in map(TABLE_ROW.match, lines) if m}
    self.assertEqual(list(rows), names)
    self.assertEqual(rows['plain'][7:], ('1.00', 'reference'))
    self.assertEqual(rows['keras'][8], 'n/a')
    for name in names:
      self.assertNotEqual(rows[name][5], '-')  # % of the ceiling.
      self.assertEqual(rows[name][6], '-')  # No memory runs.
    by_name = {r['name']: r for r in record['configurations']}
    for name in ('slim', 'optimized', 'xla', 'onnxruntime', 'fp16', 'bf16',
                 'tflite', 'tflite_int8'):
      self.assertLessEqual(by_name[name]['logits_error'],
                           by_name[name]['logits_tolerance'], name)
    self.assertEqual(by_name['bf16']['logits_tolerance'], 5e-2)
    self.assertEqual(by_name['tflite']['logits_tolerance'], 1e-4)
    self.assertEqual(by_name['tflite_int8']['logits_tolerance'], 0.25)
    # The same graph: equal logits, up to how oneDNN splits a convolution's
    # sums over threads, which can change from run to run when other
    # configurations share the process (seen: 0, 8.3e-7 on AVX2, 1.05e-6 on
    # AVX-512); another graph or other weights would be off by far more.
    self.assertLessEqual(by_name['slim']['logits_error'], 1e-5)
    self.assertLen(by_name['keras']['durations_sec'], 2)
    self.assertEqual(record['skipped'],
                     {'openvino': 'openvino is not installed (pip install '
                                  'openvino)'})
    self.assertIn('Skipped openvino: openvino is not installed', lines[-1])
    ceiling = record['ceiling']
    self.assertAllClose(ceiling['gflops_per_sec'],
                        2 * 256**3 / np.median(ceiling['durations_sec']) / 1e9)
    self.assertTrue(lines[len(names) + 3].startswith(
        'Ceiling: 256x256 float32 matmul in the same rounds'))
    with open(json_path) as f:
      self.assertEqual(json.load(f)['table'], record['table'])
    self.assertLess(os.path.getsize(json_path),
                    records.json_size(RunSettings(**settings)))

  def testEachConfigurationsMemoryInAProcessOfItsOwn(self):
    json_path = os.path.join(self.get_temp_dir(), 'memory.json')
    result = run_cli('--compare=plain', '--batch_size=1', '--image_size=75',
                     '--num_batches=1', '--num_warmup_batches=0',
                     '--matmul_size=0', '--json_output=' + json_path)
    self.assertEqual(result.returncode, 0, result.stderr)
    row = TABLE_ROW.match(result.stdout.splitlines()[2]).groups()
    with open(json_path) as f:
      record = json.load(f)
    peak = record['configurations'][0]['peak_rss_mib']
    self.assertEqual(row[6], '%.0f' % peak)
    # The child's own peak: more than TensorFlow alone, less than this
    # test process's, whose peak the child would inherit from ru_maxrss.
    self.assertGreater(peak, 300)
    self.assertIsNone(record['ceiling']['gflops_per_sec'])
    self.assertIn('Measuring the peak memory of plain alone', result.stderr)


class SettingsAndRegistryTest(tf.test.TestCase):
  """The harness's data: settings checked, runners looked up by name."""

  def testSettingsAreChecked(self):
    for make, message in [
        (lambda: Config(batch_size=0), 'Config.batch_size must be >= 1, got 0'),
        (lambda: Config(image_size=74),
         'Config.image_size must be >= 75, got 74'),
        (lambda: Config(mode='backward'), 'Config.mode must be'),
        (lambda: Config(precision='fp8'), 'Config.precision must be one of'),
        (lambda: RunSettings(num_batches=0),
         'RunSettings.num_batches must be >= 1, got 0'),
        (lambda: RunSettings(compare=('plain',)),
         'RunSettings.memory_probe_command is needed with compare_memory'),
        (lambda: network.network_fn('keras', 10), 'network must be one of')]:
      with self.assertRaisesRegex(ValueError, re.escape(message)):
        make()

  def testNamesAndWhatTheyNeed(self):
    self.assertEqual(runners_lib.expand_names(['all']),
                     list(runners_lib.COMPARE_NAMES))
    self.assertEqual(runners_lib.COMPARE_NAMES, (
        'plain', 'slim', 'optimized', 'fp16', 'bf16', 'xla', 'keras',
        'onnxruntime', 'openvino', 'tflite', 'tflite_int8'))
    with self.assertRaisesRegex(BenchmarkError, 'unknown configuration'):
      runners_lib.expand_names(['plain', 'fast'])
    with self.assertRaisesRegex(BenchmarkError, 'plain is listed twice'):
      runners_lib.expand_names(['plain', 'plain'])
    # Their own checkpoint or initializers, or the shared weights.
    self.assertFalse(runners_lib.needs_weights(['plain', 'slim', 'xla',
                                                'keras']))
    for name in ('optimized', 'fp16', 'bf16', 'onnxruntime', 'openvino',
                 'tflite', 'tflite_int8'):
      self.assertTrue(runners_lib.needs_weights([name]), name)
    self.assertFalse(runners_lib.needs_weights(['onnxruntime'],
                                               have_onnx=True))

  def testANewRowIsANewRegistryEntry(self):
    log = []

    def build(name, config, weights, cache):
      self.assertEqual((config.batch_size, weights, cache), (1, None, {}))
      return FakeRunner(name, log)

    settings = RunSettings(config=TINY_CONFIG, compare=('made_up',),
                           num_batches=2, num_warmup_batches=1,
                           matmul_size=0, compare_memory=False)
    out = io.StringIO()
    with mock.patch.dict(runners_lib.RUNNERS,
                         {'made_up': runners_lib.RunnerKind(build)}):
      result = compare.run_compare(settings, out)
    self.assertEqual(log, ['made_up'] * 3 + ['close made_up'])
    rows = [TABLE_ROW.match(l) for l in out.getvalue().splitlines()]
    self.assertEqual([m.group(1) for m in rows if m], ['made_up'])
    self.assertEqual(result['configurations'][0]['name'], 'made_up')


class OutputFilesTest(tf.test.TestCase):
  """--json_output and --trace_file: never over a file, whole or not at all."""

  def testExistingFilesAreKeptWithoutOverwrite(self):
    directory = tempfile.mkdtemp(dir=self.get_temp_dir())
    json_path = os.path.join(directory, 'run.json')
    trace_path = os.path.join(directory, 'step.trace.json')
    neighbour = os.path.join(directory, 'other.json')
    for name in (json_path, trace_path, neighbour):
      with open(name, 'w') as f:
        f.write('old')
    refused = run_cli_all([(*TINY, '--json_output=' + json_path),
                           (*TINY, '--trace_file=' + trace_path)])
    for result, flag, path in zip(refused, ('json_output', 'trace_file'),
                                  (json_path, trace_path)):
      self.assertEqual(result.returncode, 1, result.stderr)
      self.assertEqual(result.stdout, '')  # Refused before any timing.
      self.assertEqual(error_lines(result.stderr), [
          '%s--%s=%s: %s exists (a file); pass --overwrite to replace it'
          % (ERROR_LINE, flag, path, path)])
      with open(path) as f:
        self.assertEqual(f.read(), 'old')
    # With --overwrite both are replaced, whole, with the usual mode, and
    # nothing else in the folder is touched.
    result = run_cli(*TINY, '--json_output=' + json_path,
                     '--trace_file=' + trace_path, '--overwrite')
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(json_path) as f:
      self.assertLen(json.load(f)['durations_sec'], 3)
    self.assertTrue(any(has_op(ops, 'Conv2D')
                        for ops in trace_ops_by_device(trace_path).values()))
    with open(neighbour) as f:
      self.assertEqual(f.read(), 'old')
    self.assertCountEqual(os.listdir(directory),
                          ['run.json', 'step.trace.json', 'other.json'])
    for path in (json_path, trace_path):
      self.assertEqual(os.stat(path).st_mode & 0o777, usual_file_mode(), path)

  def testTwoRunsOnOneFileNeitherCorruptsTheOther(self):
    directory = tempfile.mkdtemp(dir=self.get_temp_dir())
    path = os.path.join(directory, 'run.json')
    for overwrite in ([], ['--overwrite']):
      # The first run claims the file, prints its first step and stops
      # itself (SIGSTOP) before its second; the second runs from start to
      # end meanwhile; then the first is continued and ends. Each writes
      # its own number of steps (4 and 3), so the file says whose it is.
      first = start_cli(*TINY[:2], '--num_batches=4',
                        '--num_warmup_batches=1', '--display_every=1',
                        '--json_output=' + path, *overwrite,
                        prelude=_STOP_BEFORE_THE_SECOND_STEP)
      try:
        self.assertRegex(first_line(first), STEP_LINE)
        wait_until_stopped(first.pid)
        second = run_cli(*TINY, '--json_output=' + path, *overwrite)
      finally:
        first.send_signal(signal.SIGCONT)
        _, first_err = first.communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
      self.assertEqual(second.returncode, 0, second.stderr)
      with open(path) as f:
        steps = len(json.load(f)['durations_sec'])
      if overwrite:  # The last one to end replaced it.
        self.assertEqual(first.returncode, 0, first_err)
        self.assertEqual(steps, 4)
      else:  # The first is refused at its final move; the second's stays.
        self.assertEqual(first.returncode, 1)
        self.assertEqual(error_lines(first_err), [
            '%s%s appeared while this ran (another run?); it was left as it '
            'is: pass --overwrite to replace it' % (ERROR_LINE, path)])
        self.assertEqual(steps, 3)
      self.assertEqual(os.listdir(directory), ['run.json'])


class InterruptTest(tf.test.TestCase):
  """Ctrl-C: exit status 130, one line, nothing half-written left."""

  def testCtrlCWhileTiming(self):
    directory = tempfile.mkdtemp(dir=self.get_temp_dir())
    proc = start_cli('--batch_size=1', '--image_size=75',
                     '--num_batches=100000', '--num_warmup_batches=1',
                     '--display_every=1',
                     '--json_output=%s/run.json' % directory,
                     '--trace_file=%s/step.trace.json' % directory,
                     fresh=True)  # Ctrl-C: as a user's process, not a fork's.
    try:
      self.assertRegex(first_line(proc), STEP_LINE)
      # Both files' space is claimed before the timing starts.
      self.assertLen(leftovers(directory), 2)
      proc.send_signal(signal.SIGINT)
      _, err = proc.communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
    finally:
      if proc.poll() is None:
        proc.kill()
    self.assertEqual(proc.returncode, 130)
    self.assertEqual(error_lines(err), [ERROR_LINE + 'interrupted'])
    self.assertEqual(os.listdir(directory), [])

  def testCtrlCWhileStarting(self):
    proc = start_cli(*TINY, fresh=True)
    time.sleep(1.0)  # Loading TensorFlow takes longer than that.
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=testing.SUBPROCESS_TIMEOUT_S)
    self.assertEqual((proc.returncode, out), (130, ''), err)
    self.assertEqual(err, ERROR_LINE + 'interrupted\n')


# The prelude of benchmark.py on a small disk (given its folder): fill()
# fills the disk up with a file of its own.
_IN_TMPFS = """
from nets_test import small_disk

def fill():
  small_disk.fill(%r, 'filler')

"""

# A reservation that claims no space, then the disk fills up: the record
# no longer fits at the end of the run.
_FILL_AFTER_RESERVING_NOTHING = """
from nets import outputs
_reserve = outputs.reserve
def _reserve_nothing_then_fill(path, overwrite=False, size=0,
                               create_parent=True):
  reserved = _reserve(path, overwrite, 0, create_parent)
  fill()
  return reserved
outputs.reserve = _reserve_nothing_then_fill
"""


@testing.needs_tmpfs
class FullDiskTest(tf.test.TestCase):
  """A real full disk (a small tmpfs): one line, nothing left, no traceback."""

  def run_in_tmpfs(self, size, *args, prelude=''):
    """(exit status, stdout lines, error lines, what the disk holds after
    the run, where it was mounted) of benchmark.py on a small disk."""
    mount = tempfile.mkdtemp(dir=self.get_temp_dir())
    status, stdout, stderr = testing.run_tool_on_small_disk(
        'benchmark.py', mount, *[arg.replace('MOUNT', mount) for arg in args],
        size=size, prelude=_IN_TMPFS % mount + prelude)
    with open(mount + '.after') as f:
      left = f.read().split()
    return (status, stdout.splitlines(), error_lines('\n'.join(stderr)), left,
            mount)

  def testFullDiskFailsBeforeTiming(self):
    json_flag = '--json_output=MOUNT/run.json'
    trace_flag = '--trace_file=MOUNT/step.trace.json'
    for size, flags, prelude, name, left in [
        # A disk full from the start.
        ('1m', [json_flag], 'fill()', 'run.json', ['filler']),
        # Room for the record, not for the trace: the record's claim is
        # given back too.
        ('1m', [json_flag, trace_flag], '', 'step.trace.json', [])]:
      status, lines, errors, files, mount = self.run_in_tmpfs(
          size, *TINY, *flags, prelude=prelude)
      self.assertEqual(status, 1, errors)
      self.assertEqual(lines, [], name)  # Nothing was timed.
      self.assertEqual(errors, ['%scannot write %s/%s: no space left on '
                                'device' % (ERROR_LINE, mount, name)])
      self.assertEqual(files, left)

  def testNoRoomAtTheEndIsOneLine(self):
    status, lines, errors, files, mount = self.run_in_tmpfs(
        '1m', *TINY, '--json_output=MOUNT/run.json',
        prelude=_FILL_AFTER_RESERVING_NOTHING)
    self.assertEqual(status, 1, errors)
    self.assertLen(lines, 5)  # The whole run...
    self.assertRegex(lines[-1], SUMMARY_LINE)
    self.assertEqual(errors, ['%scannot write %s/run.json: no space left on '
                              'device (nothing was written)' % (ERROR_LINE,
                                                                mount)])
    self.assertEqual(files, ['filler'])  # ...but no partial record.


if __name__ == '__main__':
  tf.test.main()
