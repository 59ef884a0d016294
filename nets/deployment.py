"""Where the parts of a training graph run: one machine or a TF cluster.

What research/slim's `deployment/model_deploy.py` decided about devices,
for a trainer built on TensorFlow's own distributed runtime (`nets.
model_deploy` builds the clones, their losses and gradients; a Deployment
is the config it is given):

  * clones (towers): `num_clones` copies of the network in one process, one
    per GPU (or per CPU device: /device:CPU:<i>), sharing the variables;
  * replicas: `worker_replicas` worker tasks of a cluster, the variables on
    `num_ps_tasks` parameter servers (`tf.train.replica_device_setter`,
    round robin), each worker reading its own shard of the data; updates
    asynchronous, or synchronous through `tf.train.SyncReplicasOptimizer`;
  * the chief (task 0) initializes the variables (from a checkpoint when
    fine-tuning), writes the checkpoints and the summaries.

TensorFlow's classic recipe starts one server per process: `start_server`
(a ps task then only serves until it is killed); a worker's session target
is its own server (or `--master`, when the servers run elsewhere).

  deployment = Deployment(num_clones=2)                   # one machine
  deployment = Deployment(task=1, worker_replicas=2, num_ps_tasks=1,
                          master=server.target, cluster=cluster)
  with deployment.device_scope():
    ...build, with clone_device(i) and variables_device()...
"""

import contextlib
import dataclasses

import tensorflow.compat.v1 as tf

PS_JOB = 'ps'
WORKER_JOB = 'worker'
JOB_NAMES = (PS_JOB, WORKER_JOB)


def _check(condition, message, *args):
  if not condition:
    raise ValueError(message % args)


def cluster_spec(ps_hosts, worker_hosts):
  """The tf.train.ClusterSpec of ps and worker host:port lists.

  Raises:
    ValueError: without workers, or for a host that is not host:port.
  """
  ps_hosts, worker_hosts = list(ps_hosts or ()), list(worker_hosts or ())
  _check(worker_hosts, 'worker_hosts must name at least one host:port')
  for host in ps_hosts + worker_hosts:
    name, _, port = host.rpartition(':')
    _check(name and port.isdigit(), 'hosts must be host:port, got %r', host)
  _check(len(set(ps_hosts + worker_hosts)) == len(ps_hosts + worker_hosts),
         'a host:port is listed twice in ps_hosts and worker_hosts')
  jobs = {WORKER_JOB: worker_hosts}
  if ps_hosts:
    jobs[PS_JOB] = ps_hosts
  return tf.train.ClusterSpec(jobs)


def start_server(cluster, job_name, task, num_cpus=1):
  """Starts this process's TensorFlow server: task `task` of `job_name`.

  Args:
    cluster: a tf.train.ClusterSpec (see `cluster_spec`).
    job_name: 'ps' or 'worker'.
    task: the task index in that job.
    num_cpus: CPU devices of the server (a worker's CPU clones).

  Returns:
    The started tf.distribute.Server (its `target` is the session target).

  Raises:
    ValueError: for an unknown job or a task the cluster does not have.
  """
  _check(job_name in JOB_NAMES, 'job_name must be one of %s, got %r',
         ', '.join(JOB_NAMES), job_name)
  jobs = cluster.as_dict()
  _check(job_name in jobs, 'the cluster has no %s job (give %s_hosts)',
         job_name, job_name)
  size = len(jobs[job_name])
  _check(0 <= task < size, 'task must be in [0, %d) for the %s job (%s), got '
         '%r', size, job_name, ','.join(jobs[job_name]), task)
  config = tf.ConfigProto()
  config.device_count['CPU'] = num_cpus
  try:
    return tf.distribute.Server(cluster, job_name=job_name, task_index=task,
                                config=config, start=True)
  except (tf.errors.OpError, RuntimeError) as e:
    message = getattr(e, 'message', None) or str(e)
    raise ValueError('cannot start the %s task %d server on %s: %s' % (
        job_name, task, jobs[job_name][task],
        message.strip().splitlines()[0])) from e


@dataclasses.dataclass(frozen=True)
class Deployment:
  """Clones, replicas and parameter servers of one training process.

  Attributes:
    num_clones: towers in this process, one per device.
    clone_on_cpu: put the clones on CPU devices (/device:CPU:i) even when
      GPUs are there; by default they go on GPUs when this machine has
      num_clones of them.
    task: this worker's index; task 0 is the chief.
    worker_replicas: worker tasks training together.
    num_ps_tasks: parameter server tasks holding the variables (0: the
      variables stay with the worker).
    master: session target: '' (in-process) or grpc://host:port.
    sync_replicas: aggregate the workers' gradients synchronously
      (tf.train.SyncReplicasOptimizer) instead of applying each at once.
    replicas_to_aggregate: gradients averaged into one update when
      synchronous.
    cluster: the tf.train.ClusterSpec when known (it limits what a worker's
      session waits for to the ps tasks and itself).
  """
  num_clones: int = 1
  clone_on_cpu: bool = False
  task: int = 0
  worker_replicas: int = 1
  num_ps_tasks: int = 0
  master: str = ''
  sync_replicas: bool = False
  replicas_to_aggregate: int = 1
  cluster: object = None

  def __post_init__(self):
    for name in ('num_clones', 'worker_replicas', 'replicas_to_aggregate'):
      value = getattr(self, name)
      _check(isinstance(value, int) and value >= 1,
             '%s must be an integer >= 1, got %r', name, value)
    _check(isinstance(self.num_ps_tasks, int) and self.num_ps_tasks >= 0,
           'num_ps_tasks must be an integer >= 0, got %r', self.num_ps_tasks)
    _check(isinstance(self.task, int) and
           0 <= self.task < self.worker_replicas,
           'task must be in [0, worker_replicas=%d), got %r',
           self.worker_replicas, self.task)
    _check(self.worker_replicas == 1 or self.num_ps_tasks,
           'worker_replicas=%d needs parameter servers (num_ps_tasks >= 1) '
           'to share the variables', self.worker_replicas)
    _check(not (self.num_ps_tasks and not self.master),
           'num_ps_tasks=%d needs a cluster: a master (grpc://host:port) or '
           "this process's own server", self.num_ps_tasks)

  @property
  def is_chief(self):
    """Task 0: initializes, restores, checkpoints and writes summaries."""
    return self.task == 0

  @property
  def distributed(self):
    return self.num_ps_tasks > 0

  @property
  def worker_device(self):
    """This worker's device prefix ('' on one machine)."""
    return ('/job:%s/task:%d' % (WORKER_JOB, self.task)
            if self.distributed else '')

  def clone_device_type(self):
    """'GPU' when the clones go on GPUs, else 'CPU'."""
    if self.clone_on_cpu:
      return 'CPU'
    gpus = len(tf.config.list_physical_devices('GPU'))
    return 'GPU' if gpus >= self.num_clones else 'CPU'

  def clone_scope(self, index):
    """Name scope of clone `index`: '' alone, else 'clone_<index>'."""
    return 'clone_%d' % index if self.num_clones > 1 else ''

  def clone_device(self, index):
    """Device of clone `index` ('' for a single clone: TensorFlow places)."""
    if self.num_clones == 1:
      return self.worker_device
    return '%s/device:%s:%d' % (self.worker_device, self.clone_device_type(),
                                index)

  def variables_device(self):
    """Device (or device function) the variables are created with.

    On a cluster, the ps tasks' (a replica_device_setter: it wins over the
    clone's worker device around the network). With several clones on one
    machine, this worker's CPU, as model_deploy keeps them, not the first
    clone's GPU; '' for a single clone.
    """
    if self.distributed:
      return self._ps_device_setter()
    if self.num_clones == 1:
      return ''
    return '/device:CPU:0'

  def _ps_device_setter(self):
    return tf.train.replica_device_setter(
        ps_tasks=self.num_ps_tasks, worker_device=self.worker_device,
        cluster=self.cluster)

  def inputs_device(self):
    """Device of the input pipeline: this worker's CPU."""
    return self.worker_device + '/device:CPU:0'

  @contextlib.contextmanager
  def device_scope(self):
    """Everything built inside: variables on the ps tasks, the rest here."""
    if not self.distributed:
      yield
      return
    with tf.device(self._ps_device_setter()):
      yield

  @property
  def images_per_step_factor(self):
    """Clone batches per global step: clones x aggregated replicas."""
    return self.num_clones * (self.replicas_to_aggregate
                              if self.sync_replicas else 1)

  def session_config(self):
    """The ConfigProto of this worker's session."""
    # Soft placement: ops without a GPU kernel (summaries, the int64 step)
    # stay on the CPU next to GPU clones.
    config = tf.ConfigProto(allow_soft_placement=True)
    if not self.distributed and self.num_clones > 1 and (
        self.clone_device_type() == 'CPU'):
      config.device_count['CPU'] = self.num_clones
    if self.distributed:
      config.device_filters.extend(['/job:%s' % PS_JOB, self.worker_device])
    return config
