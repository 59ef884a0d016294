"""Your own images as a slim dataset: a folder `nets.convert_images` wrote.

The folder holds slim-format TFRecord shards (`custom_train_00000-of-00005
.tfrecord`, `custom_validation_...`), slim's `labels.txt` (`0:daisy` lines)
and `metadata.json`, which says what slim's dataset modules hard-code:

  {"name": "custom", "file_pattern": "custom_%s_*.tfrecord",
   "num_classes": 3, "splits_to_sizes": {"train": 540, "validation": 60}}

(plus, for the record, how the converter made it). So any converted folder
reads as slim's Flowers does:

  dataset = dataset_factory.get_dataset('custom', 'validation', folder)

Images are stored in their own format (JPEG, PNG, GIF or BMP) and decoded
here with `tf.io.decode_image(..., expand_animations=False)`: slim's
`tfexample_decoder.Image` gives GIFs a frame axis, which no preprocessing
takes; JPEG and PNG decode exactly as slim's handler decodes them.
"""

import json
import os

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import dataset_utils
from nets import slim_compat

slim_compat.apply()

METADATA_FILENAME = 'metadata.json'
NAME = 'custom'
# The shards' names: the split, then slim's `-0000k-of-0000n`.
FILE_PATTERN = NAME + '_%s_*.tfrecord'
SHARD_NAME = NAME + '_%s_%05d-of-%05d.tfrecord'

_ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying height and width.',
    'label': 'The label of the image: its class in labels.txt, from 0.',
}


def write_metadata(dataset_dir, num_classes, splits_to_sizes, **extra):
  """Writes dataset_dir/metadata.json (see the module docstring).

  Args:
    dataset_dir: the folder of the shards.
    num_classes: the number of classes.
    splits_to_sizes: {split name: number of examples}.
    **extra: more facts to record (e.g. the converter's settings); ignored
      when read back.
  """
  metadata = dict(name=NAME, file_pattern=FILE_PATTERN,
                  num_classes=num_classes,
                  splits_to_sizes=dict(splits_to_sizes), **extra)
  with tf.io.gfile.GFile(os.path.join(dataset_dir, METADATA_FILENAME),
                         'w') as f:
    f.write(json.dumps(metadata, indent=2, sort_keys=True) + '\n')


def _is_count(value, minimum):
  return (isinstance(value, int) and not isinstance(value, bool) and
          value >= minimum)


def read_metadata(dataset_dir):
  """The checked contents of dataset_dir/metadata.json.

  Returns:
    A dict with at least 'file_pattern' (str), 'num_classes' (int >= 1) and
    'splits_to_sizes' ({str: int >= 0}).

  Raises:
    ValueError: no dataset_dir, or the file is missing, not JSON, or lacks
      one of those keys with a value of the right kind, or its file_pattern
      leads out of dataset_dir (absolute, or with a '..'); the message names
      the file and what is wrong.
  """
  if not dataset_dir:
    raise ValueError('dataset_dir must name the folder nets.convert_images '
                     'wrote, got %r' % (dataset_dir,))
  dataset_dir = dataset_utils.check_dataset_dir(dataset_dir)
  path = os.path.join(dataset_dir, METADATA_FILENAME)
  if not tf.io.gfile.exists(path):
    raise ValueError('the custom dataset in %s has no metadata file %s '
                     '(nets.convert_images writes it with the TFRecords)' %
                     (dataset_dir, path))
  with tf.io.gfile.GFile(path, 'rb') as f:
    text = f.read()
  try:
    metadata = json.loads(text.decode('utf-8'))
  except (UnicodeDecodeError, ValueError) as e:
    raise ValueError('metadata file %s is not valid JSON (%s)' % (path, e)
                    ) from None
  problem = None
  if not isinstance(metadata, dict):
    problem = 'it is not a JSON object'
  elif not isinstance(metadata.get('file_pattern'), str):
    problem = '"file_pattern" must be a string'
  elif not _stays_inside(metadata['file_pattern']):
    problem = ('"file_pattern" %r leads out of the dataset folder (it must '
               'be relative, without "..")' % metadata['file_pattern'])
  elif not _is_count(metadata.get('num_classes'), 1):
    problem = '"num_classes" must be an integer >= 1'
  else:
    sizes = metadata.get('splits_to_sizes')
    if not (isinstance(sizes, dict) and sizes and
            all(_is_count(n, 0) for n in sizes.values())):
      problem = ('"splits_to_sizes" must map each split name to its number '
                 'of images (an integer >= 0)')
    else:
      outside = [name for name in sizes
                 if not _stays_inside(_split_pattern(metadata, name))]
      if outside:
        problem = ('"file_pattern" with split %r leads out of the dataset '
                   'folder' % outside[0])
  if problem:
    raise ValueError('metadata file %s is malformed: %s' % (path, problem))
  return metadata


def _split_pattern(metadata, split_name):
  """metadata's file_pattern for split_name ('' when it has no single %s)."""
  try:
    return metadata['file_pattern'] % split_name
  except TypeError:  # split_data_sources explains it.
    return ''


def _stays_inside(file_pattern):
  """Whether the pattern names files inside the dataset folder only.

  A metadata.json is data, maybe from someone else: it must not point
  reads at /etc or ../../elsewhere.
  """
  parts = file_pattern.replace(os.sep, '/').split('/')
  return not os.path.isabs(file_pattern) and '..' not in parts and (
      os.altsep is None or not file_pattern.startswith(os.altsep))


def read_labels(dataset_dir, num_classes):
  """{label: class name} of dataset_dir/labels.txt, labels 0..num_classes-1.

  Raises:
    ValueError: the file is missing or malformed, or its labels are not
      exactly 0..num_classes-1.
  """
  path = os.path.join(dataset_dir, dataset_utils.LABELS_FILENAME)
  if not dataset_utils.has_labels(dataset_dir):
    raise ValueError('the custom dataset in %s has no labels file %s '
                     '(nets.convert_images writes it with the TFRecords)' %
                     (dataset_dir, path))
  labels_to_names = dataset_utils.read_label_file(dataset_dir)
  if sorted(labels_to_names) != list(range(num_classes)):
    raise ValueError('labels file %s is malformed: it has labels %s, but '
                     '%s says num_classes is %d (labels 0..%d)' % (
                         path, _shown(sorted(labels_to_names)),
                         METADATA_FILENAME, num_classes, num_classes - 1))
  return labels_to_names


def _shown(labels, limit=10):
  """'0, 1, 3' (the first `limit` of them, then '...'); 'none' for []."""
  text = ', '.join(str(label) for label in labels[:limit])
  return (text + (', ...' if len(labels) > limit else '')) or 'none'


def _decode_image(keys_to_tensors):
  """uint8 [h, w, 3] of any JPEG, PNG, GIF (first frame) or BMP."""
  image = tf.io.decode_image(keys_to_tensors['image/encoded'], channels=3,
                             expand_animations=False)
  image.set_shape([None, None, 3])
  return image


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """A slim Dataset of one split of a folder nets.convert_images wrote.

  Reads only metadata.json and labels.txt (no data), as slim's modules.

  Args:
    split_name: a split of metadata.json ('train', 'validation').
    dataset_dir: the folder.
    file_pattern: the files' pattern with '%s' for the split name; default
      metadata.json's.
    reader: the TF reader class; default tf.TFRecordReader.

  Returns:
    A `slim.dataset.Dataset` with items 'image' (uint8 [h, w, 3]) and
    'label' (int64), and the metadata's num_classes and split size, and
    labels_to_names from labels.txt.

  Raises:
    ValueError: a missing or malformed metadata.json or labels.txt (naming
      it), an unknown split, or a file_pattern without '%s'.
  """
  metadata = read_metadata(dataset_dir)
  splits_to_sizes = metadata['splits_to_sizes']
  sources = dataset_utils.split_data_sources(
      split_name, dataset_dir, file_pattern, metadata['file_pattern'],
      splits_to_sizes)
  num_classes = metadata['num_classes']
  labels_to_names = read_labels(dataset_dir, num_classes)
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='jpeg'),
      'image/class/label': tf.FixedLenFeature([], tf.int64, default_value=-1),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.ItemHandlerCallback(
          ['image/encoded'], _decode_image),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
  }
  decoder = slim.tfexample_decoder.TFExampleDecoder(
      keys_to_features, items_to_handlers)
  return slim.dataset.Dataset(
      data_sources=sources,
      reader=reader or tf.TFRecordReader,
      decoder=decoder,
      num_samples=splits_to_sizes[split_name],
      items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
      num_classes=num_classes,
      labels_to_names=labels_to_names)
