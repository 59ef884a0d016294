"""slim's deployment/model_deploy: one model's clones on devices and replicas.

The API of research/slim's `deployment/model_deploy.py`, so a trainer
written on it runs after `from deployment import model_deploy` becomes
`from nets import model_deploy`:

  * `DeploymentConfig`: where the parts go. `num_clones` copies (clones) of
    the model per replica, on GPU i or on the CPU (`clone_on_cpu`); the
    variables on the CPU, or spread round robin over `num_ps_tasks`
    parameter servers; the inputs and the optimizer on the worker's CPU.
  * `create_clones(config, model_fn)`: calls `model_fn` once per clone, in
    the clone's name scope ('clone_<i>/' when there are several) and on its
    device, the variables created once and shared.
  * `optimize_clones(clones, optimizer)`: the loss of each clone (the
    LOSSES of its scope, divided by the number of clones, plus the
    regularization losses for the first clone only), their sum
    ('total_loss') and the gradients of the clones summed per variable.
  * `deploy(config, model_fn, optimizer=...)`: both, plus a train op that
    applies the gradients and runs the first clone's update ops (BatchNorm's
    moving statistics), and one summary op.

`config` may be any object with DeploymentConfig's `num_clones`,
`clone_scope`, `clone_device` and `variables_device`: `nets.training`
passes its `nets.deployment.Deployment` (a cluster's processes, its own
device rules).
"""

import collections

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import slim_compat

slim_compat.apply()

__all__ = ['create_clones', 'deploy', 'optimize_clones', 'DeployedModel',
           'DeploymentConfig', 'Clone']

# What create_clones made of one call of model_fn.
Clone = collections.namedtuple('Clone', [
    'outputs',  # What model_fn returned.
    'scope',  # Its name scope ('' for a single clone, else 'clone_<i>/').
    'device',  # The device it was built on.
])

# What deploy returns.
DeployedModel = collections.namedtuple('DeployedModel', [
    'train_op',  # The total loss, after every update (None without optimizer).
    'summary_op',  # The merged summaries (None when there are none).
    'total_loss',  # The clones' losses summed (regularization included).
    'clones',  # The Clones.
])

# The op types that create a variable (ref and resource variables).
_VARIABLE_OPS = ('Variable', 'VariableV2', 'VarHandleOp')


class _RoundRobinVariables(object):
  """A device function: each new variable on the next ps task, others left."""

  def __init__(self, job_device, num_tasks):
    self._job_device = job_device
    self._num_tasks = num_tasks
    self._next_task = 0

  def __call__(self, op):
    if op.device:
      return op.device
    node_def = op if isinstance(op, tf.NodeDef) else op.node_def
    if node_def.op not in _VARIABLE_OPS:
      return op.device
    task = self._next_task
    self._next_task = (task + 1) % self._num_tasks
    return '%s/task:%d/device:CPU:0' % (self._job_device, task)


def _check(condition, message):
  if not condition:
    raise ValueError(message)


class DeploymentConfig(object):
  """Where a deployed model's clones, variables, inputs and optimizer go.

  slim's arguments and defaults:
    num_clones: clones of the model in each replica.
    clone_on_cpu: put every clone on the CPU instead of GPU <i>.
    replica_id: this replica's index (0: the chief).
    num_replicas: replicas (worker tasks) training together.
    num_ps_tasks: parameter server tasks holding the variables (0: none,
      the variables stay with the worker).
    worker_job_name, ps_job_name: the cluster's job names.

  Raises:
    ValueError: replicas without parameter servers, an empty job name when
      there are parameter servers, or replica_id >= num_replicas.
  """

  def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0,
               num_replicas=1, num_ps_tasks=0, worker_job_name='worker',
               ps_job_name='ps'):
    _check(num_replicas == 1 or num_ps_tasks >= 1,
           'num_ps_tasks must be positive when num_replicas > 1, got %r'
           % (num_ps_tasks,))
    if num_replicas > 1 or num_ps_tasks > 0:
      _check(worker_job_name, 'worker_job_name must name the worker job '
             'when there are replicas or parameter servers')
      _check(ps_job_name, 'ps_job_name must name the parameter server job '
             'when there are replicas or parameter servers')
    _check(replica_id < num_replicas,
           'replica_id must be less than num_replicas=%d, got %r'
           % (num_replicas, replica_id))
    self._num_clones = num_clones
    self._clone_on_cpu = clone_on_cpu
    self._replica_id = replica_id
    self._num_replicas = num_replicas
    self._num_ps_tasks = num_ps_tasks
    clustered = num_ps_tasks > 0
    self._ps_device = '/job:' + ps_job_name if clustered else ''
    self._worker_device = '/job:' + worker_job_name if clustered else ''

  @property
  def num_clones(self):
    return self._num_clones

  @property
  def clone_on_cpu(self):
    return self._clone_on_cpu

  @property
  def replica_id(self):
    return self._replica_id

  @property
  def num_replicas(self):
    return self._num_replicas

  @property
  def num_ps_tasks(self):
    return self._num_ps_tasks

  @property
  def ps_device(self):
    return self._ps_device

  @property
  def worker_device(self):
    return self._worker_device

  def caching_device(self):
    """Where variables read on a worker are cached: beside their reader.

    A function keeping each read where it is built when there are parameter
    servers (so a worker reads a remote variable once per step), else None.
    """
    if self._num_ps_tasks > 0:
      return lambda op: op.device
    return None

  def _check_clone_index(self, clone_index):
    _check(0 <= clone_index < self._num_clones,
           'clone_index must be in [0, num_clones=%d), got %r'
           % (self._num_clones, clone_index))

  def clone_device(self, clone_index):
    """The device of clone `clone_index`: GPU <index>, or the CPU."""
    self._check_clone_index(clone_index)
    if self._clone_on_cpu:
      return self._worker_device + '/device:CPU:0'
    return self._worker_device + '/device:GPU:%d' % clone_index

  def clone_scope(self, clone_index):
    """The name scope of clone `clone_index`: '' alone, else 'clone_<i>'."""
    self._check_clone_index(clone_index)
    return 'clone_%d' % clone_index if self._num_clones > 1 else ''

  def optimizer_device(self):
    """The device of the optimizer (gradient sums, updates): the CPU."""
    return self._worker_device + '/device:CPU:0'

  def inputs_device(self):
    """The device of the input pipeline: the worker's CPU."""
    return self._worker_device + '/device:CPU:0'

  def variables_device(self):
    """Where variables go: the CPU, or a function spreading them on the ps."""
    if not self._num_ps_tasks:
      return '/device:CPU:0'
    return _RoundRobinVariables(self._ps_device, self._num_ps_tasks)


def create_clones(config, model_fn, args=None, kwargs=None):
  """Calls `model_fn(*args, **kwargs)` once per clone of `config`.

  Each call runs in the clone's name scope and on its device, the variables
  (slim.variable, slim.model_variable) on `config.variables_device()` and
  reused by every clone after the first. The losses model_fn adds to
  tf.GraphKeys.LOSSES (and its summaries and update ops) are then found by
  the clone's scope.

  Returns:
    A list of Clone(outputs, scope, device).
  """
  args = args or []
  kwargs = kwargs or {}
  clones = []
  with slim.arg_scope([slim.model_variable, slim.variable],
                      device=config.variables_device()):
    for i in range(config.num_clones):
      with tf.name_scope(config.clone_scope(i)) as scope:
        device = config.clone_device(i)
        with tf.device(device):
          with tf.variable_scope(tf.get_variable_scope(),
                                 reuse=True if i > 0 else None):
            outputs = model_fn(*args, **kwargs)
        clones.append(Clone(outputs, scope, device))
  return clones


def _clone_loss(clone, num_clones, regularization_losses):
  """One clone's loss: its LOSSES / num_clones, + the regularization losses.

  Returns None when the clone has neither. The loss summaries are built off
  the clone's device (summaries have no GPU kernels).
  """
  parts = []
  clone_loss = regularization_loss = None
  with tf.device(clone.device):
    losses = tf.get_collection(tf.GraphKeys.LOSSES, clone.scope)
    if losses:
      clone_loss = tf.add_n(losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.div(clone_loss, float(num_clones),
                            name='scaled_clone_loss')
      parts.append(clone_loss)
    if regularization_losses:
      regularization_loss = tf.add_n(regularization_losses,
                                     name='regularization_loss')
      parts.append(regularization_loss)
    total = tf.add_n(parts) if parts else None
  if clone_loss is not None:
    tf.summary.scalar('/'.join(filter(None, [
        'Losses', clone.scope.rstrip('/'), 'clone_loss'])), clone_loss)
  if regularization_loss is not None:
    tf.summary.scalar('Losses/regularization_loss', regularization_loss)
  return total


def _clone_losses(clones, regularization_losses, then=None):
  """Each clone's loss, in its name scope; then(clone, loss) there too.

  The regularization losses go to the first clone only: the variables, so
  their decay, exist once.
  """
  losses = []
  for clone in clones:
    with tf.name_scope(clone.scope):
      loss = _clone_loss(clone, len(clones), regularization_losses)
      if loss is not None:
        losses.append(loss)
        if then:
          then(clone, loss)
    regularization_losses = None
  return losses


def _sum_clones_gradients(clone_grads):
  """Per variable, the sum of the clones' gradients (None ones dropped).

  The clones' losses are already divided by their number, so the sum is
  the gradient of the mean.
  """
  summed = []
  for pairs in zip(*clone_grads):
    var = pairs[0][1]
    grads = [g for g, v in pairs if g is not None]
    if len(grads) > 1:
      summed.append((tf.add_n(grads, name=var.op.name + '/sum_grads'), var))
    elif grads:
      summed.append((grads[0], var))
  return summed


def optimize_clones(clones, optimizer, regularization_losses=None,
                    **kwargs):
  """The clones' total loss and their gradients, summed per variable.

  Args:
    clones: the Clones of create_clones.
    optimizer: the tf.train.Optimizer whose compute_gradients is used (on
      each clone's device).
    regularization_losses: added to the first clone's loss; None: the
      REGULARIZATION_LOSSES collection; [] for none.
    **kwargs: more keyword arguments of compute_gradients (e.g. var_list,
      as slim's train_image_classifier passes it).

  Returns:
    (total_loss, [(gradient, variable)]): the sum of the clones' losses
    (named 'total_loss'), and the clones' gradients summed.
  """
  if regularization_losses is None:
    regularization_losses = tf.get_collection(
        tf.GraphKeys.REGULARIZATION_LOSSES)
  clone_grads = []

  def gradients(clone, loss):
    with tf.device(clone.device):
      clone_grads.append(optimizer.compute_gradients(loss, **kwargs))

  losses = _clone_losses(clones, regularization_losses, gradients)
  total_loss = tf.add_n(losses, name='total_loss')
  return total_loss, _sum_clones_gradients(clone_grads)


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None,
           summarize_gradients=False):
  """Builds `model_fn`'s clones and, with an optimizer, their train op.

  Args:
    config: a DeploymentConfig.
    model_fn: called as model_fn(*args, **kwargs) once per clone.
    args, kwargs: its arguments.
    optimizer: a tf.train.Optimizer; None builds the losses only (for an
      evaluation).
    summarize_gradients: add histograms of the gradients and their norms.

  Returns:
    A DeployedModel. Its train_op (with an optimizer) is the total loss
    after the gradients are applied (the global step incremented) and the
    first clone's update ops ran; its summary_op merges the summaries that
    existed before, the first clone's and the total loss's.
  """
  summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
  clones = create_clones(config, model_fn, args, kwargs)
  first_clone = clones[0]
  # The first clone's updates (BatchNorm's moving statistics): the clones
  # would all update the same variables.
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone.scope)
  train_op = total_loss = None
  with tf.device(config.optimizer_device()):
    if optimizer:
      with tf.device(config.variables_device()):
        global_step = tf.train.get_or_create_global_step()
      total_loss, grads_and_vars = optimize_clones(clones, optimizer)
      if grads_and_vars:
        if summarize_gradients:
          summaries |= set(slim.learning.add_gradients_summaries(
              grads_and_vars))
        update_ops.append(optimizer.apply_gradients(
            grads_and_vars, global_step=global_step))
        with tf.control_dependencies([tf.group(*update_ops)]):
          train_op = tf.identity(total_loss, name='train_op')
    else:
      losses = _clone_losses(clones, tf.get_collection(
          tf.GraphKeys.REGULARIZATION_LOSSES))
      if losses:
        total_loss = tf.add_n(losses, name='total_loss')
    summaries |= set(tf.get_collection(tf.GraphKeys.SUMMARIES,
                                       first_clone.scope))
    if total_loss is not None:
      summaries.add(tf.summary.scalar('total_loss', total_loss))
    summary_op = None
    if summaries:
      summary_op = tf.summary.merge(list(summaries), name='summary_op')
  return DeployedModel(train_op, summary_op, total_loss, clones)
