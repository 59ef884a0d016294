"""The data flags slim's eval and train scripts share, and what they name.

  dataset_flags.define_flags(split='validation')   # in a tool's define_flags
  source = dataset_flags.source_from_flags()       # after parsing
  preprocess_fn = dataset_flags.preprocessing_fn(is_training=False)

Flags (slim's names): --dataset_name, --dataset_split_name, --dataset_dir,
--labels_offset, --preprocessing_name, --num_preprocessing_threads,
--model_name; and --image_dir (not slim's): a folder of class subfolders
read as it is, instead of TFRecords.
"""

from absl import flags

from nets import cli

FLAGS = flags.FLAGS


def define_flags(split):
  """Defines the shared data flags, with `split` as the default split."""
  from nets import dataset_factory  # pylint: disable=g-import-not-at-top
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  flags.disclaim_key_flags()  # They are the calling tool's: in its --help.
  flags.DEFINE_enum('dataset_name', 'imagenet',
                    sorted(dataset_factory.datasets_map),
                    'The slim dataset in --dataset_dir.')
  flags.DEFINE_string('dataset_split_name', split, 'Its split.')
  cli.define_path('dataset_dir', None,
                  'The folder of the dataset\'s TFRecord files.')
  cli.define_path('image_dir', None,
                  'Instead of --dataset_dir: a folder of class subfolders '
                  '(image_dir/<class>/<image>), labels in sorted folder '
                  'order.')
  flags.DEFINE_integer('labels_offset', 0,
                       'Subtracted from every label: the model has the '
                       "dataset's classes minus this (1 for a 1000-class "
                       "checkpoint on slim's 1001-label ImageNet).",
                       lower_bound=0)
  flags.DEFINE_enum('model_name', 'inception_v3',
                    sorted(nets_factory.networks_map), 'The network.')
  flags.DEFINE_string('preprocessing_name', None,
                      'The preprocessing; default: --model_name\'s.')
  flags.DEFINE_integer('num_preprocessing_threads', 4,
                       'Images decoded and preprocessed at once.',
                       lower_bound=1)


def source_from_flags():
  """The slim Dataset or ImageFolder the flags name, checked to have files.

  Raises:
    ValueError: neither or both of --dataset_dir and --image_dir, an unknown
      split, no files, an empty or missing folder.
  """
  from nets import dataset_factory  # pylint: disable=g-import-not-at-top
  from nets import input_pipeline  # pylint: disable=g-import-not-at-top
  if bool(FLAGS.dataset_dir) == bool(FLAGS.image_dir):
    raise ValueError('give --dataset_dir (slim TFRecords) or --image_dir (a '
                     'folder of class subfolders), not %s' % (
                         'both' if FLAGS.dataset_dir else 'neither'))
  if FLAGS.image_dir:
    return input_pipeline.ImageFolder(FLAGS.image_dir)
  source = dataset_factory.get_dataset(
      FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
  input_pipeline.data_files(source)  # Fails now, not after the build.
  return source


def preprocessing_fn(is_training):
  """The preprocessing of --preprocessing_name (else --model_name)."""
  from nets import preprocessing_factory  # pylint: disable=g-import-not-at-top
  return preprocessing_factory.get_preprocessing(
      FLAGS.preprocessing_name or FLAGS.model_name, is_training=is_training)
