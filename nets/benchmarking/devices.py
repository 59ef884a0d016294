"""The devices a benchmark runs on: what a session sees, the towers' devices.

Also the checks and settings that must come before TensorFlow sets up its
devices: whether a --target server answers, and XLA's CPU auto-clustering.
"""

import os
import socket
import urllib.parse

import tensorflow.compat.v1 as tf

from nets.benchmarking import config as config_lib

# How long the device listing may wait for a server (milliseconds).
DEVICE_LISTING_TIMEOUT_MS = 10000
CONNECT_TIMEOUT_S = 5.0

BenchmarkError = config_lib.BenchmarkError


def check_target(target):
  """Fails fast when `target` (grpc://host:port) does not accept connections.

  Raises:
    BenchmarkError: for a malformed target or one nobody listens on.
  """
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
  """Names of the devices a session on `target` sees (num_cpus CPUs locally).

  Raises:
    BenchmarkError: when no server answers on `target`.
  """
  config = tf.ConfigProto(operation_timeout_in_ms=DEVICE_LISTING_TIMEOUT_MS)
  config.device_count['CPU'] = num_cpus
  try:
    with tf.Session(target, graph=tf.Graph(), config=config) as session:
      return [d.name for d in session.list_devices()]
  except tf.errors.OpError as e:
    raise BenchmarkError('--target=%s: no TensorFlow server answered: %s' %
                         (target, e.message.strip().splitlines()[0]))


def tower_devices(device, num_devices, available):
  """The towers' devices: `device` and the next ones of its type.

  Args:
    device: the first tower's device (None = /gpu:0 when a GPU is
      available, else /cpu:0).
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


def enable_xla_on_cpu():
  """Lets XLA auto-clustering take CPU ops, which it skips by default.

  TensorFlow reads TF_XLA_FLAGS once per process, when it first sets up its
  devices, so this works only before that (benchmark.py calls it as soon as
  its flags are parsed).
  """
  xla_flags = os.environ.get('TF_XLA_FLAGS', '')
  if '--tf_xla_cpu_global_jit' not in xla_flags:
    os.environ['TF_XLA_FLAGS'] = (
        xla_flags + ' --tf_xla_cpu_global_jit').strip()
