"""The Flowers dataset (5 classes) as a slim dataset.

research/slim's `datasets/flowers.py`, so slim code runs unchanged after
`from datasets import flowers` becomes `from nets import flowers`. It reads
the TFRecords slim's `download_and_convert_flowers.py` writes
(`flowers_train_0000i-of-00005.tfrecord`, `flowers_validation_...`), or
the converted copy at download.tensorflow.org/data/flowers.tar.gz, with
the class names from `dataset_dir/labels.txt` when it is there.
"""

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import dataset_utils
from nets import slim_compat

slim_compat.apply()

_FILE_PATTERN = 'flowers_%s_*.tfrecord'

SPLITS_TO_SIZES = {'train': 3320, 'validation': 350}

_NUM_CLASSES = 5

_ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying size.',
    'label': 'A single integer between 0 and 4',
}


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """A slim Dataset of one split of the Flowers TFRecords.

  Args:
    split_name: 'train' or 'validation'.
    dataset_dir: the directory of the TFRecord files and labels.txt.
    file_pattern: the files' pattern with '%s' for the split name; default
      'flowers_%s_*.tfrecord'.
    reader: the TF reader class; default tf.TFRecordReader.

  Returns:
    A `slim.dataset.Dataset` with items 'image' (uint8 [h, w, 3]) and
    'label' (int64, 0..4), num_classes 5, and labels_to_names from
    labels.txt (None without it).

  Raises:
    ValueError: if split_name is not 'train' or 'validation', or
      file_pattern has no '%s'.
  """
  sources = dataset_utils.split_data_sources(
      split_name, dataset_dir, file_pattern, _FILE_PATTERN, SPLITS_TO_SIZES)
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
      # 0 as slim's tf.zeros([], tf.int64), but no tensor: the Dataset can
      # be made outside the graph that reads it.
      'image/class/label': tf.FixedLenFeature([], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image(),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
  }
  decoder = slim.tfexample_decoder.TFExampleDecoder(
      keys_to_features, items_to_handlers)

  labels_to_names = None
  if dataset_utils.has_labels(dataset_dir):
    labels_to_names = dataset_utils.read_label_file(dataset_dir)

  return slim.dataset.Dataset(
      data_sources=sources,
      reader=reader or tf.TFRecordReader,
      decoder=decoder,
      num_samples=SPLITS_TO_SIZES[split_name],
      items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
      num_classes=_NUM_CLASSES,
      labels_to_names=labels_to_names)
