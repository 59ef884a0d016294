"""slim's train_image_classifier settings, as a frozen TrainConfig.

The field names are slim's flag names and the defaults slim's; checked when
made (a ValueError naming the field), before any graph is built. No flags
here: `nets.train_image_classifier` makes its flags from these fields.
"""

import dataclasses

from nets import inception_v3
from nets import nets_factory

OPTIMIZERS = ('adadelta', 'adagrad', 'adam', 'ftrl', 'momentum', 'rmsprop',
              'sgd')
LEARNING_RATE_DECAY_TYPES = ('exponential', 'fixed', 'polynomial')
# The scopes to exclude when fine-tuning on other classes.
HEADS = inception_v3.HEAD_SCOPES


def check(condition, message, *args):
  """Raises ValueError(message % args) unless `condition`."""
  if not condition:
    raise ValueError(message % args)


def split_scopes(scopes):
  """A tuple of scopes from a sequence or a comma-separated string."""
  if scopes is None:
    return None
  if isinstance(scopes, str):
    scopes = scopes.split(',')
  return tuple(s.strip() for s in scopes if s and s.strip())


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """What to train and how: slim's train_image_classifier flags.

  The field names are slim's flag names and the defaults slim's; see
  `nets.train_image_classifier --help` for what each does.
  """
  # The model and its input.
  model_name: str = 'inception_v3'
  preprocessing_name: str = None
  train_image_size: int = None
  labels_offset: int = 0
  num_readers: int = 4
  num_preprocessing_threads: int = 4
  batch_size: int = 32
  # Fine-tuning.
  checkpoint_path: str = None
  checkpoint_exclude_scopes: tuple = ()
  trainable_scopes: tuple = None
  ignore_missing_vars: bool = False
  freeze_batch_norm: bool = False
  # The loss.
  weight_decay: float = 0.00004
  label_smoothing: float = 0.0
  # The optimizer.
  optimizer: str = 'rmsprop'
  adadelta_rho: float = 0.95
  adagrad_initial_accumulator_value: float = 0.1
  adam_beta1: float = 0.9
  adam_beta2: float = 0.999
  opt_epsilon: float = 1.0
  ftrl_learning_rate_power: float = -0.5
  ftrl_initial_accumulator_value: float = 0.1
  ftrl_l1: float = 0.0
  ftrl_l2: float = 0.0
  momentum: float = 0.9
  rmsprop_momentum: float = 0.9
  rmsprop_decay: float = 0.9
  # The learning rate.
  learning_rate: float = 0.01
  learning_rate_decay_type: str = 'exponential'
  learning_rate_decay_factor: float = 0.94
  num_epochs_per_decay: float = 2.0
  end_learning_rate: float = 0.0001
  moving_average_decay: float = None
  # The loop.
  max_number_of_steps: int = None
  log_every_n_steps: int = 10
  save_interval_secs: int = 600
  save_summaries_secs: int = 600
  seed: int = None

  def __post_init__(self):
    for name in ('checkpoint_exclude_scopes', 'trainable_scopes'):
      scopes = split_scopes(getattr(self, name))
      object.__setattr__(self, name, scopes)
    check(self.checkpoint_exclude_scopes is not None,
           'checkpoint_exclude_scopes must be a sequence, not None')
    check(self.model_name in nets_factory.networks_map,
           'model_name must be one of %s, got %r',
           ', '.join(sorted(nets_factory.networks_map)), self.model_name)
    check(self.optimizer in OPTIMIZERS, 'optimizer must be one of %s, got %r',
           ', '.join(OPTIMIZERS), self.optimizer)
    check(self.learning_rate_decay_type in LEARNING_RATE_DECAY_TYPES,
           'learning_rate_decay_type must be one of %s, got %r',
           ', '.join(LEARNING_RATE_DECAY_TYPES),
           self.learning_rate_decay_type)
    for name, low in [('batch_size', 1), ('log_every_n_steps', 1),
                      ('save_interval_secs', 1), ('save_summaries_secs', 1),
                      ('num_readers', 1), ('num_preprocessing_threads', 1),
                      ('labels_offset', 0)]:
      value = getattr(self, name)
      check(isinstance(value, int) and value >= low,
             '%s must be an integer >= %d, got %r', name, low, value)
    if self.train_image_size is not None:
      check(self.train_image_size >= inception_v3.MIN_IMAGE_SIZE,
             'train_image_size must be >= %d, got %r',
             inception_v3.MIN_IMAGE_SIZE, self.train_image_size)
    if self.max_number_of_steps is not None:
      check(self.max_number_of_steps >= 1,
             'max_number_of_steps must be >= 1, got %r',
             self.max_number_of_steps)
    check(self.learning_rate > 0, 'learning_rate must be > 0, got %r',
           self.learning_rate)
    check(0 <= self.label_smoothing < 1,
           'label_smoothing must be in [0, 1), got %r', self.label_smoothing)
    check(self.weight_decay >= 0, 'weight_decay must be >= 0, got %r',
           self.weight_decay)
    check(self.num_epochs_per_decay > 0,
           'num_epochs_per_decay must be > 0, got %r',
           self.num_epochs_per_decay)
    if self.moving_average_decay is not None:
      check(0 < self.moving_average_decay < 1,
             'moving_average_decay must be in (0, 1), got %r',
             self.moving_average_decay)
    if self.trainable_scopes is not None:
      check(self.trainable_scopes, 'trainable_scopes names no scope')
    if self.seed is not None:
      check(isinstance(self.seed, int) and self.seed >= 0,
             'seed must be an integer >= 0, got %r', self.seed)

  @property
  def image_size(self):
    """The input size: train_image_size, else the network's default."""
    return (self.train_image_size or
            nets_factory.networks_map[self.model_name].default_image_size)
