"""ImageNet (ILSVRC-2012) as a slim dataset, and its class names offline.

research/slim's `datasets/imagenet.py`, so slim code runs unchanged after
`from datasets import imagenet` becomes `from nets import imagenet`:

- `create_readable_names_for_imagenet_labels()` returns slim's
  {0: 'background', 1: 'tench, Tinca tinca', ..., 1000: ...}. Slim
  downloads two files from GitHub for it; here the names come from
  `nets/data/imagenet_synsets.txt`, shipped with the package (its header
  says where it came from).
- `get_split(split_name, dataset_dir)` describes the TFRecords slim's
  ImageNet converter writes (`train-*-of-*`, `validation-*-of-*`) as a
  `slim.dataset.Dataset`: 1001 classes, labels 1..1000 with 0 for
  background, bounding boxes included.

Like slim's, `get_split` reads no data: it only looks for a labels file in
`dataset_dir` (slim's export script passes an empty one). Unlike slim's, it
never writes that file: without it, the shipped names are used.
"""

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import dataset_utils
from nets import labels
from nets import slim_compat

slim_compat.apply()

# The data file, relative to the `nets` package (nets.labels reads it).
SYNSETS_FILE = labels.SYNSETS_FILE

_FILE_PATTERN = '%s-*'

_SPLITS_TO_SIZES = {
    'train': 1281167,
    'validation': 50000,
}

_ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying height and width.',
    'label': 'The label id of the image, integer between 0 and 999',
    'label_text': 'The text of the label.',
    'object/bbox': 'A list of bounding boxes.',
    'object/label': 'A list of labels, one per each object.',
}

_NUM_CLASSES = labels.IMAGENET_CLASSES + 1

# If False, get_split leaves the dataset's labels_to_names None (as slim's).
LOAD_READABLE_NAMES = True


synsets_and_names = labels.synsets_and_names


def create_readable_names_for_imagenet_labels():
  """{label: names} of slim's 1001 ImageNet labels, without a download.

  Returns:
    A new dict: 0 -> 'background', and 1..1000 -> the WordNet lemmas of the
    synsets in sorted order, joined by ', ' (1: 'tench, Tinca tinca',
    1000: 'toilet tissue, toilet paper, bathroom tissue').
  """
  labels_to_names = {0: labels.BACKGROUND}
  for label, (_, names) in enumerate(synsets_and_names(), 1):
    labels_to_names[label] = names
  return labels_to_names


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """A slim Dataset of one split of slim-format ImageNet TFRecords.

  Args:
    split_name: 'train' or 'validation'.
    dataset_dir: the directory of the TFRecord files (and of an optional
      labels.txt, which replaces the shipped names).
    file_pattern: the files' pattern with '%s' for the split name; default
      '%s-*'.
    reader: the TF reader class; default tf.TFRecordReader.

  Returns:
    A `slim.dataset.Dataset` with items 'image' (uint8 [h, w, 3]), 'label'
    (int64, 1..1000), 'label_text', 'object/bbox' (float32 [n, 4] as
    ymin, xmin, ymax, xmax) and 'object/label' (int64 [n]), num_classes 1001
    and labels_to_names.

  Raises:
    ValueError: if split_name is not 'train' or 'validation', or
      file_pattern has no '%s'.
  """
  sources = dataset_utils.split_data_sources(
      split_name, dataset_dir, file_pattern, _FILE_PATTERN, _SPLITS_TO_SIZES)
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='jpeg'),
      'image/class/label': tf.FixedLenFeature(
          [], dtype=tf.int64, default_value=-1),
      'image/class/text': tf.FixedLenFeature(
          [], dtype=tf.string, default_value=''),
      'image/object/bbox/xmin': tf.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/ymin': tf.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/xmax': tf.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/ymax': tf.VarLenFeature(dtype=tf.float32),
      'image/object/class/label': tf.VarLenFeature(dtype=tf.int64),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image('image/encoded', 'image/format'),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
      'label_text': slim.tfexample_decoder.Tensor('image/class/text'),
      'object/bbox': slim.tfexample_decoder.BoundingBox(
          ['ymin', 'xmin', 'ymax', 'xmax'], 'image/object/bbox/'),
      'object/label': slim.tfexample_decoder.Tensor(
          'image/object/class/label'),
  }
  decoder = slim.tfexample_decoder.TFExampleDecoder(
      keys_to_features, items_to_handlers)

  labels_to_names = None
  if LOAD_READABLE_NAMES:
    if dataset_utils.has_labels(dataset_dir):
      labels_to_names = dataset_utils.read_label_file(dataset_dir)
    else:
      labels_to_names = create_readable_names_for_imagenet_labels()

  return slim.dataset.Dataset(
      data_sources=sources,
      reader=reader or tf.TFRecordReader,
      decoder=decoder,
      num_samples=_SPLITS_TO_SIZES[split_name],
      items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
      num_classes=_NUM_CLASSES,
      labels_to_names=labels_to_names)
