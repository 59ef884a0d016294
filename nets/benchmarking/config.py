"""What a benchmark run is, as data: the configuration timed and the run.

`Config` is one configuration of the network: the graph that is built and
the session it runs in. `RunSettings` is what a run does with it: how many
steps, which files it writes, which configurations it compares.
`benchmark.py` builds both from its flags; a program can build them itself:

  settings = config.RunSettings(config.Config(batch_size=1, image_size=75),
                                num_batches=3)
  record = harness.run(settings)
"""

import dataclasses

import tensorflow.compat.v1 as tf

from nets import inception_v3
from nets import inference


class BenchmarkError(ValueError):
  """Bad input: printed as one line, exit status 1."""


def device_type(device):
  """'CPU' or 'GPU' (or another type) of a device name."""
  return tf.DeviceSpec.from_string(device).device_type


def _check_at_least(owner, **values_and_bounds):
  for name, (value, bound) in values_and_bounds.items():
    if value < bound:
      raise ValueError('%s.%s must be >= %d, got %r' % (owner, name, bound,
                                                         value))


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

  def __post_init__(self):
    _check_at_least('Config', batch_size=(self.batch_size, 1),
                    image_size=(self.image_size, inception_v3.MIN_IMAGE_SIZE),
                    num_classes=(self.num_classes, 1),
                    num_intra_threads=(self.num_intra_threads, 0),
                    num_inter_threads=(self.num_inter_threads, 0))
    if self.mode not in ('forward', 'forward-backward'):
      raise ValueError("Config.mode must be 'forward' or 'forward-backward', "
                       'got %r' % self.mode)
    if not self.devices:
      raise ValueError('Config.devices must name at least one device')
    if self.network not in ('port', 'slim'):
      raise ValueError("Config.network must be 'port' or 'slim', got %r" %
                       self.network)
    if self.precision not in inference.PRECISIONS:
      raise ValueError('Config.precision must be one of %s, got %r' % (
          ', '.join(inference.PRECISIONS), self.precision))

  @property
  def info_string(self):
    """The final line's label, as the original script's: 'Forward' or
    'Forward-backward'."""
    return 'Forward' if self.mode == 'forward' else 'Forward-backward'

  @property
  def images_per_step(self):
    """Images one step processes, all towers together."""
    return self.batch_size * len(self.devices)

  def session_config(self):
    """The tf.ConfigProto this configuration runs under."""
    if self.optimize:
      config = inference.session_config(
          device_type(self.devices[0]), self.num_intra_threads,
          self.num_inter_threads, self.batch_size)
    else:
      config = tf.ConfigProto(
          intra_op_parallelism_threads=self.num_intra_threads,
          inter_op_parallelism_threads=self.num_inter_threads)
    num_cpus = sum(1 for d in self.devices if device_type(d) == 'CPU')
    if num_cpus > 1:
      config.device_count['CPU'] = num_cpus
    if self.xla:
      config.graph_options.optimizer_options.global_jit_level = (
          tf.OptimizerOptions.ON_1)
    return config


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """What one run does with a Config: steps, outputs, a comparison.

  Attributes:
    config: the Config timed (with `compare`: the plain graph's, whose
      batch, size, classes, device, threads and checkpoint all share).
    num_batches: timed steps (of each configuration).
    num_warmup_batches: burn-in steps before timing, not counted.
    display_every: print a step line (log a round) every this many.
    target: session target: '' (in-process) or grpc://host:port.
    trace_file: write a Chrome trace of one extra step to this file.
    json_output: write the run's record as JSON to this file.
    overwrite: whether those files may replace existing ones.
    compare: names of `runners.RUNNERS` to time side by side, in table
      order; empty: time `config` alone.
    matmul_size: with `compare`, n of the n x n matmul ceiling; 0: none.
    steps_per_turn: with `compare`, steps of each turn.
    onnx_model: with `compare`, the ONNX file the ONNX runners run; None:
      the optimized graph converted in the run.
    compare_memory: with `compare`, measure each configuration's peak
      memory in a process of its own.
    memory_probe_command: the command (argv list) that runs benchmark.py,
      e.g. [sys.executable, '/path/benchmark.py']; the memory probe adds
      benchmark.py's flags for one short run of one configuration.
  """
  config: Config = Config()
  num_batches: int = 100
  num_warmup_batches: int = 10
  display_every: int = 10
  target: str = ''
  trace_file: str = None
  json_output: str = None
  overwrite: bool = False
  compare: tuple = ()
  matmul_size: int = 4096
  steps_per_turn: int = 1
  onnx_model: str = None
  compare_memory: bool = True
  memory_probe_command: tuple = None

  def __post_init__(self):
    _check_at_least('RunSettings', num_batches=(self.num_batches, 1),
                    num_warmup_batches=(self.num_warmup_batches, 0),
                    display_every=(self.display_every, 1),
                    matmul_size=(self.matmul_size, 0),
                    steps_per_turn=(self.steps_per_turn, 1))
    if self.compare and self.compare_memory and not self.memory_probe_command:
      raise ValueError('RunSettings.memory_probe_command is needed with '
                       'compare_memory (the command that runs benchmark.py)')
