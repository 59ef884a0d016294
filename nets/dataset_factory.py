"""Slim datasets by name: `get_dataset('imagenet', 'train', dataset_dir)`.

research/slim's `datasets/dataset_factory.py`, so slim's train and eval
scripts run unchanged after `from datasets import dataset_factory` becomes
`from nets import dataset_factory`. A dataset is a module with slim's
`get_split(split_name, dataset_dir, file_pattern=None, reader=None)`; to
add one, add its module to `datasets_map`. 'custom' (`nets.custom`) is any
folder `nets.convert_images` wrote.
"""

from nets import custom
from nets import flowers
from nets import imagenet
from nets import slim_compat

slim_compat.apply()

datasets_map = {
    'custom': custom,
    'flowers': flowers,
    'imagenet': imagenet,
}


def get_dataset(name, split_name, dataset_dir, file_pattern=None, reader=None):
  """The slim Dataset of split `split_name` of dataset `name`.

  Args:
    name: a key of `datasets_map` ('custom', 'flowers', 'imagenet').
    split_name: the split, e.g. 'train' or 'validation'.
    dataset_dir: the directory of the dataset's files.
    file_pattern: the files' pattern with '%s' for the split name; None for
      the dataset's own.
    reader: the TF reader class; None for tf.TFRecordReader.

  Returns:
    A `slim.dataset.Dataset`.

  Raises:
    ValueError: if `name` is not a known dataset (or the dataset's
      get_split rejects the split or pattern).
  """
  if name not in datasets_map:
    raise ValueError('name %r is not a known dataset; the datasets are %s' % (
        name, ', '.join(sorted(datasets_map))))
  return datasets_map[name].get_split(split_name, dataset_dir, file_pattern,
                                      reader)
