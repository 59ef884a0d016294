"""The JSON record of a run, the environment it ran in, and its size.

A record holds the configuration, the flags it was run with, TensorFlow's
version, the devices and machine, every step's duration and the
statistics (or, for --compare, every configuration's). `json_size` and
`trace_size` are generous estimates of the files a run writes, so that
their space can be claimed before the run (`nets.outputs.reserve`).
"""

import dataclasses
import json
import os
import platform

import tensorflow.compat.v1 as tf

from nets.benchmarking import timing as timing_lib

# Everything but the step durations: configuration, flags, devices, each
# configuration's statistics, the table and its notes (a few KiB in
# practice).
RECORD_FIXED_BYTES = 64 * 1024
# One duration in a list: indentation, up to 24 characters, comma, newline
# (about 30 in practice).
RECORD_BYTES_PER_STEP = 64
# A Chrome trace of one step and tower, in bytes: about 0.6 MB forward and
# 2 MB forward-backward at any input size (one event per op).
TRACE_BYTES_PER_TOWER = {'forward': 4 << 20, 'forward-backward': 16 << 20}


def cpu_name():
  """The CPU's model name (/proc/cpuinfo), else platform.processor()."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def record_header(config, available_devices, flags):
  """What every JSON record starts with: configuration and environment.

  Args:
    config: the Config timed (the plain graph's for --compare).
    available_devices: device names the session saw.
    flags: {flag name: value} of the command line, or None.
  """
  return {
      'benchmark': 'inception_v3',
      'config': dataclasses.asdict(config),
      'flags': dict(flags or {}),
      'tensorflow_version': tf.__version__,
      'device': {
          'towers': list(config.devices),
          'available': list(available_devices),
          'hostname': platform.node(),
          'platform': platform.platform(),
          'processor': platform.processor(),
          'cpu': cpu_name(),
          'cpu_count': os.cpu_count(),
          'python': platform.python_version(),
      },
      'end_time': timing_lib.now(),
  }


def run_record(config, timing, stats, available_devices, flags):
  """The JSON record of one configuration's run: header, every step."""
  record = record_header(config, available_devices, flags)
  record.update({
      'info_string': config.info_string,
      'warmup_durations_sec': timing.warmup_durations,
      'durations_sec': timing.durations,
      'statistics': stats,
  })
  return record


def to_json(record):
  """The text of the --json_output file."""
  return json.dumps(record, indent=2) + '\n'


def json_size(settings):
  """Bytes to claim for the JSON record of a RunSettings (an upper bound)."""
  timed_runs = 1
  if settings.compare:
    timed_runs = len(settings.compare) + (1 if settings.matmul_size else 0)
  steps = settings.num_batches + settings.num_warmup_batches
  return RECORD_FIXED_BYTES + RECORD_BYTES_PER_STEP * steps * timed_runs


def trace_size(config):
  """Bytes to claim for the Chrome trace of one step of a Config."""
  return TRACE_BYTES_PER_TOWER[config.mode] * len(config.devices)
