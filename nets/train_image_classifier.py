r"""Trains or fine-tunes slim's Inception V3: slim's train_image_classifier.

The command line of `nets.training` (which see), with research/slim's
flags. Fine-tuning the released checkpoint on a converted folder of one's
own classes (nets.convert_images), only the new logits trained:

  python -m nets.train_image_classifier --train_dir=/tmp/train \
      --dataset_name=custom --dataset_dir=/data/converted \
      --checkpoint_path=inception_v3.ckpt \
      --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
      --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
      --freeze_batch_norm --max_number_of_steps=1000

A second run with the same --train_dir resumes from its newest complete
checkpoint; while a run lasts, the train_dir is locked (a second trainer is
refused). Ctrl-C saves a checkpoint and exits with status 130 (a second
Ctrl-C stops at once); a NaN or infinite loss stops the run (status 1)
before anything non-finite is saved. --seed makes a run repeatable.

On a TensorFlow cluster every process runs this command with the same
--ps_hosts and --worker_hosts and its own --job_name and --task; a ps task
serves the variables until it is killed, task 0 of the workers is the chief.
"""

import dataclasses
import socket
import threading

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

# pylint: disable=g-import-not-at-top
from absl import flags

FLAGS = flags.FLAGS


def _split_hosts(hosts):
  return [h.strip() for h in (hosts or '').split(',') if h.strip()]


def deployment_from_flags():
  """(Deployment, server or None) of the flags; starts this task's server.

  Returns (None, server) for a ps task: it only serves.

  Raises:
    ValueError: inconsistent cluster flags, a server that cannot start.
  """
  from nets import deployment as deployment_lib
  f = FLAGS
  server, master, cluster = None, f.master, None
  worker_replicas, num_ps_tasks = f.worker_replicas, f.num_ps_tasks
  if f.job_name:
    if f.master:
      raise ValueError('give --master (servers run elsewhere) or --job_name '
                       '(start this task\'s server), not both')
    ps_hosts, worker_hosts = _split_hosts(f.ps_hosts), _split_hosts(
        f.worker_hosts)
    cluster = deployment_lib.cluster_spec(ps_hosts, worker_hosts)
    num_cpus = f.num_clones if f.clone_on_cpu else 1
    server = deployment_lib.start_server(cluster, f.job_name, f.task,
                                         num_cpus=num_cpus)
    if f.job_name == deployment_lib.PS_JOB:
      return None, server
    master = server.target
    worker_replicas, num_ps_tasks = len(worker_hosts), len(ps_hosts)
  elif f.ps_hosts or f.worker_hosts:
    raise ValueError('--ps_hosts and --worker_hosts need --job_name')
  deployment = deployment_lib.Deployment(
      num_clones=f.num_clones, clone_on_cpu=f.clone_on_cpu, task=f.task,
      worker_replicas=worker_replicas, num_ps_tasks=num_ps_tasks,
      master=master, sync_replicas=f.sync_replicas,
      replicas_to_aggregate=f.replicas_to_aggregate or worker_replicas,
      cluster=cluster)
  return deployment, server


def config_from_flags():
  """The nets.training.TrainConfig of the flags (its fields are flags)."""
  from nets import training
  names = [field.name for field in dataclasses.fields(training.TrainConfig)]
  return training.TrainConfig(**{name: FLAGS[name].value for name in names})


def _reachable(host_port, timeout=1.0):
  host, _, port = host_port.rpartition(':')
  try:
    socket.create_connection((host.strip('[]'), int(port)), timeout).close()
    return True
  except (OSError, ValueError):
    return False


def waiting_for(cluster, task, reachable=_reachable):
  """What worker `task` of `cluster` ({job: [host:port]}) waits for.

  The ps tasks that do not answer yet; else, for a worker other than the
  chief, the chief (worker task 0), which initializes the variables.
  """
  from nets import deployment as deployment_lib
  ps_hosts = cluster.get(deployment_lib.PS_JOB, [])
  missing = ['ps task %d (%s)' % (i, host) for i, host in enumerate(ps_hosts)
             if not reachable(host)]
  if missing:
    return ', '.join(missing) + ' to start'
  if task == 0:
    return 'its session on the ps tasks (variables initialized or restored)'
  chief = cluster[deployment_lib.WORKER_JOB][0]
  return 'the chief (worker task 0, %s) to %sinitialize the variables' % (
      chief, '' if reachable(chief) else 'start and ')


class _WaitingLines(object):
  """Says every `every` seconds what a cluster worker waits for, from
  `start()` (its session is being created) until `stop()` (it is ready)."""

  def __init__(self, cluster, task, every):
    self._done = threading.Event()
    self._cluster, self._task, self._every = cluster, task, every

  def start(self):
    threading.Thread(target=self._say, name='waiting-lines',
                     daemon=True).start()

  def _say(self):
    while not self._done.wait(self._every):
      print('worker task %d: waiting for %s (Ctrl-C stops)' % (
          self._task, waiting_for(self._cluster, self._task)), flush=True)

  def stop(self):
    self._done.set()


# Seconds between a waiting worker's lines.
WAITING_LINE_SECS = 5


def main(argv):
  del argv  # Unused.
  from nets import dataset_flags
  from nets import interrupts
  from nets import training
  ctrl_c = interrupts.CtrlC()  # Before the server: Ctrl-C works from now.
  config = config_from_flags()
  deployment, server = deployment_from_flags()
  if server is not None:
    print('%s task %d: TensorFlow serves on every interface at port %s, '
          'with no authentication: keep the cluster on a private network' % (
              FLAGS.job_name, FLAGS.task, server.target.rsplit(':', 1)[-1]),
          flush=True)
  if deployment is None:
    print('ps task %d serving on %s until killed' % (
        FLAGS.task, server.target), flush=True)
    interrupts.wait_forever()
  if not FLAGS.train_dir:
    raise ValueError('--train_dir is required (checkpoints and summaries go '
                     'there)')
  source = dataset_flags.source_from_flags()
  waiting = None
  if deployment.cluster is not None:
    waiting = _WaitingLines(deployment.cluster.as_dict(), deployment.task,
                            WAITING_LINE_SECS)

  def started():
    if waiting is not None:
      waiting.stop()
    ctrl_c.training()

  result = training.train(FLAGS.train_dir, source, config, deployment,
                          should_stop=ctrl_c.should_stop, started=started,
                          connecting=waiting and waiting.start)
  if result.interrupted:
    cli.fail('interrupted at global step %d; %s' % (
        result.global_step, 'saved %s' % result.checkpoint
        if result.checkpoint else 'the chief saves the checkpoints'), 130)
  return 0


def define_flags():
  """slim's train_image_classifier flags (those that apply here)."""
  from nets import dataset_flags
  from nets import deployment as deployment_lib
  from nets import inception_v3
  from nets import training
  d = training.TrainConfig()
  cli.define_shared_flags('checkpoint_path', 'moving_average_decay')
  dataset_flags.define_flags(split='train')
  cli.define_path('train_dir', None,
                  'Where checkpoints (model.ckpt-<step>) and TensorBoard '
                  'summaries are written; a run resumes from its newest '
                  'checkpoint.')
  # Fine-tuning.
  flags.DEFINE_string('checkpoint_exclude_scopes', '',
                      'Comma-separated variable scopes not restored from '
                      '--checkpoint_path, e.g. InceptionV3/Logits,'
                      'InceptionV3/AuxLogits for other classes.')
  flags.DEFINE_string('trainable_scopes', None,
                      'Comma-separated variable scopes to train; default: '
                      'every trainable variable.')
  flags.DEFINE_boolean('ignore_missing_vars', False,
                       'Skip variables that --checkpoint_path lacks.')
  flags.DEFINE_boolean('freeze_batch_norm', False,
                       'BatchNorm outside --trainable_scopes in inference '
                       'mode (moving statistics used and unchanged, beta '
                       'not trained), as Keras fine-tunes a frozen base; '
                       "default slim's: training mode everywhere.")
  # The loss.
  flags.DEFINE_float('weight_decay', d.weight_decay,
                     'L2 coefficient of the weights.', lower_bound=0.0)
  flags.DEFINE_float('label_smoothing', d.label_smoothing,
                     'Label smoothing of the cross-entropy.',
                     lower_bound=0.0, upper_bound=1.0)
  # The optimizer.
  flags.DEFINE_enum('optimizer', d.optimizer, training.OPTIMIZERS,
                    'The optimizer.')
  flags.DEFINE_float('adadelta_rho', d.adadelta_rho, 'Adadelta decay rate.')
  flags.DEFINE_float('adagrad_initial_accumulator_value',
                     d.adagrad_initial_accumulator_value,
                     'Adagrad accumulators\' starting value.')
  flags.DEFINE_float('adam_beta1', d.adam_beta1, 'Adam: first moment decay.')
  flags.DEFINE_float('adam_beta2', d.adam_beta2, 'Adam: second moment decay.')
  flags.DEFINE_float('opt_epsilon', d.opt_epsilon,
                     'Epsilon of adadelta, adam and rmsprop.')
  flags.DEFINE_float('ftrl_learning_rate_power', d.ftrl_learning_rate_power,
                     'FTRL learning rate power.')
  flags.DEFINE_float('ftrl_initial_accumulator_value',
                     d.ftrl_initial_accumulator_value,
                     'FTRL accumulators\' starting value.')
  flags.DEFINE_float('ftrl_l1', d.ftrl_l1, 'FTRL L1 regularization.')
  flags.DEFINE_float('ftrl_l2', d.ftrl_l2, 'FTRL L2 regularization.')
  flags.DEFINE_float('momentum', d.momentum, 'Momentum of the momentum '
                     'optimizer.')
  flags.DEFINE_float('rmsprop_momentum', d.rmsprop_momentum,
                     'Momentum of RMSProp.')
  flags.DEFINE_float('rmsprop_decay', d.rmsprop_decay, 'Decay of RMSProp.')
  # The learning rate.
  flags.DEFINE_float('learning_rate', d.learning_rate,
                     'Initial learning rate.')
  flags.DEFINE_enum('learning_rate_decay_type', d.learning_rate_decay_type,
                    training.LEARNING_RATE_DECAY_TYPES,
                    'How the learning rate decays (every '
                    '--num_epochs_per_decay epochs).')
  flags.DEFINE_float('learning_rate_decay_factor',
                     d.learning_rate_decay_factor,
                     'Exponential decay factor.')
  flags.DEFINE_float('num_epochs_per_decay', d.num_epochs_per_decay,
                     'Epochs between decays (polynomial: to '
                     '--end_learning_rate).')
  flags.DEFINE_float('end_learning_rate', d.end_learning_rate,
                     'The polynomial decay\'s final learning rate.')
  # Input and loop.
  flags.DEFINE_integer('batch_size', d.batch_size,
                       'Images per step per clone.', lower_bound=1)
  flags.DEFINE_integer('train_image_size', None,
                       "Input height and width; default the network's "
                       '(299). The aux head is trained from %d pixels on.'
                       % inception_v3.MIN_IMAGE_SIZE_WITH_AUX_LOGITS,
                       lower_bound=inception_v3.MIN_IMAGE_SIZE)
  flags.DEFINE_integer('num_readers', d.num_readers,
                       'TFRecord files read at once.', lower_bound=1)
  flags.DEFINE_integer('max_number_of_steps', None,
                       'Stop at this global step; default: never.',
                       lower_bound=1)
  flags.DEFINE_integer('log_every_n_steps', d.log_every_n_steps,
                       'Steps between progress lines.', lower_bound=1)
  flags.DEFINE_integer('save_interval_secs', d.save_interval_secs,
                       'Seconds between checkpoints.', lower_bound=1)
  flags.DEFINE_integer('save_summaries_secs', d.save_summaries_secs,
                       'Seconds between summaries.', lower_bound=1)
  flags.DEFINE_integer('seed', None,
                       'Seed of the initial weights, the input order and the '
                       'random preprocessing, so that a run repeats (images '
                       'are then preprocessed one at a time); default: '
                       'random.', lower_bound=0)
  # Clones and the cluster.
  flags.DEFINE_integer('num_clones', 1,
                       'Towers in this process, one per GPU (or CPU '
                       'device with --clone_on_cpu), gradients averaged.',
                       lower_bound=1)
  flags.DEFINE_boolean('clone_on_cpu', False,
                       'Put the clones on CPU devices.')
  flags.DEFINE_string('master', '',
                      'Session target grpc://host:port when the servers '
                      'run elsewhere (with --task, --worker_replicas, '
                      '--num_ps_tasks).')
  flags.DEFINE_enum('job_name', None, deployment_lib.JOB_NAMES,
                    "Start this process's server as this job of the "
                    'cluster --ps_hosts, --worker_hosts.')
  flags.DEFINE_string('ps_hosts', '',
                      'Comma-separated host:port of the ps tasks.')
  flags.DEFINE_string('worker_hosts', '',
                      'Comma-separated host:port of the worker tasks.')
  flags.DEFINE_integer('task', 0, 'Task index in its job; worker 0 is the '
                       'chief.', lower_bound=0)
  flags.DEFINE_integer('num_ps_tasks', 0,
                       'Parameter servers (with --master).', lower_bound=0)
  flags.DEFINE_integer('worker_replicas', 1,
                       'Worker tasks (with --master).', lower_bound=1)
  flags.DEFINE_boolean('sync_replicas', False,
                       'Aggregate the workers\' gradients synchronously '
                       '(SyncReplicasOptimizer).')
  flags.DEFINE_integer('replicas_to_aggregate', None,
                       'Gradients aggregated per update with '
                       '--sync_replicas; default: all workers.',
                       lower_bound=1)


if __name__ == '__main__':
  cli.run(main, define_flags)
