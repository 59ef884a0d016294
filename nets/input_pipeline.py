"""Batches of images and labels for evaluation and training, with tf.data.

Two sources of labelled images:

  * a slim Dataset (`dataset_factory.get_dataset(...)`): its TFRecord files,
    decoded by the Dataset's own decoder (slim's features and handlers);
  * an `ImageFolder`: a folder of class subfolders, one label per subfolder
    in sorted order, as Keras' `image_dataset_from_directory` numbers them.

  examples = input_pipeline.examples(source)                # decoded, once
  images, labels = input_pipeline.batches(
      examples, preprocess_fn, image_size=299, batch_size=32)

Evaluation reads every example exactly once, in file order, and keeps the
last, partial batch. Training (`training=True`) shuffles, repeats and drops a
partial batch, as slim's train_image_classifier does. Decoding and
preprocessing run in parallel threads and the next batches are prefetched,
so the network does not wait for its input. `ImageChecker` and `read_file`
say why one image file cannot be used (for the tools' error lines).
"""

import os

import tensorflow.compat.v1 as tf

from nets import cli
from nets import dataset_utils
from nets import slim_compat

slim_compat.apply()

IMAGE_EXTENSIONS = ('.bmp', '.gif', '.jpeg', '.jpg', '.png')
AUTOTUNE = tf.data.experimental.AUTOTUNE
# Examples held for shuffling in training (slim's common queue: 1000+).
DEFAULT_SHUFFLE_BUFFER = 1024
# The formats TensorFlow's decode_image reads, by the bytes they start with.
_SIGNATURES = ((b'\xff\xd8\xff', 'jpeg'), (b'\x89PNG\r\n\x1a\n', 'png'),
               (b'GIF87a', 'gif'), (b'GIF89a', 'gif'), (b'BM', 'bmp'))


def image_format(data):
  """'jpeg', 'png', 'gif' or 'bmp' from an image's first bytes, else None."""
  for signature, name in _SIGNATURES:
    if data.startswith(signature):
      return name
  return None


class ImageChecker(object):
  """Decodes encoded images in one session, for their size."""

  def __init__(self):
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._encoded = tf.placeholder(tf.string, [])
      image = tf.io.decode_image(self._encoded, channels=3,
                                 expand_animations=False)
      self._shape = tf.shape(image)[:2]
    self._graph.finalize()
    self._sess = tf.Session(graph=self._graph)

  def size(self, data):
    """(height, width) of the encoded image `data`.

    Raises:
      ValueError: it is not a JPEG, PNG, GIF or BMP that decodes.
    """
    if image_format(data) is None:
      raise ValueError('not a JPEG, PNG, GIF or BMP image')
    try:
      # libjpeg prints its own warnings on stderr; the caller reports.
      with cli.quiet_native_stderr(show_on_error=False):
        height, width = self._sess.run(self._shape, {self._encoded: data})
    except tf.errors.OpError as e:
      raise ValueError('cannot decode it (%s)' % cli.reason(e)) from None
    return int(height), int(width)

  def close(self):
    self._sess.close()


def read_file(path):
  """The bytes of `path`.

  Raises:
    ValueError: saying why it cannot be read.
  """
  try:
    with tf.io.gfile.GFile(path, 'rb') as f:
      return f.read()
  except (OSError, tf.errors.OpError) as e:
    raise ValueError('cannot read it (%s)' % (
        getattr(e, 'strerror', None) or cli.reason(e))) from None


class ImageFolder(object):
  """A folder of class subfolders: `image_dir/<class>/<image file>`.

  Attributes:
    image_dir: the folder.
    class_names: the subfolders' names, sorted; label i is class_names[i].
    labels_to_names: {label: class name}, as a slim Dataset has it.
    paths, labels: every image file (sorted by class, then name) and its
      label.
    num_classes, num_samples: len(class_names), len(paths).
  """

  def __init__(self, image_dir):
    """Lists the images.

    Raises:
      ValueError: if image_dir is not a folder, has no class subfolders, or
        they hold no image files (.bmp, .gif, .jpeg, .jpg, .png), or a name
        in it is not UTF-8 (TensorFlow opens only UTF-8 paths; the message
        names the first, its other bytes escaped).
    """
    if isinstance(image_dir, str):
      dataset_utils.check_utf8_name(image_dir)
    if not image_dir or not tf.io.gfile.isdir(image_dir):
      raise ValueError('image_dir %r is not a directory' % (image_dir,))
    self.image_dir = image_dir
    self.class_names = sorted(
        name.rstrip('/') for name in _listdir(image_dir)
        if not name.startswith('.') and
        tf.io.gfile.isdir(os.path.join(image_dir, name)))
    if not self.class_names:
      raise ValueError('image_dir %s has no class subfolders (expected '
                       'image_dir/<class>/<image>)' % image_dir)
    self.labels_to_names = dict(enumerate(self.class_names))
    self.paths, self.labels = [], []
    for label, name in enumerate(self.class_names):
      folder = os.path.join(image_dir, name)
      for file_name in sorted(_listdir(folder)):
        if file_name.lower().endswith(IMAGE_EXTENSIONS):
          self.paths.append(os.path.join(folder, file_name))
          self.labels.append(label)
    if not self.paths:
      raise ValueError('image_dir %s has no image files (%s) in its class '
                       'subfolders' % (image_dir, ', '.join(IMAGE_EXTENSIONS)))
    self.num_classes = len(self.class_names)
    self.num_samples = len(self.paths)


def _listdir(folder):
  """tf.io.gfile.listdir, or ValueError naming an entry that is not UTF-8."""
  try:
    return tf.io.gfile.listdir(folder)
  except UnicodeDecodeError:
    try:
      names = os.listdir(folder)  # A local folder: find the name.
    except OSError:
      names = []
    for name in sorted(names):
      dataset_utils.check_utf8_name(os.path.join(folder, name))
    raise ValueError('a name in %s is not UTF-8, which TensorFlow cannot '
                     'open; rename it' % folder) from None


def data_files(dataset):
  """The sorted TFRecord files of a slim Dataset.

  Raises:
    ValueError: if no file matches its data_sources.
  """
  patterns = dataset.data_sources
  if isinstance(patterns, str):
    patterns = [patterns]
  files = sorted(set(f for p in patterns for f in tf.io.gfile.glob(p)))
  if not files:
    raise ValueError('no files match %s' % ', '.join(patterns))
  return files


def _read_and_decode(path):
  image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                             expand_animations=False)
  image.set_shape([None, None, 3])
  return image


def _image_or_empty(path, label):
  """One example of a file: its image, or a 0 x 0 one if it does not decode.

  The decoding runs in a one-element dataset whose error is dropped, so the
  next step still has the path to name (TensorFlow's decoder messages do
  not name the file).
  """
  decoded = tf.data.Dataset.from_tensors(path).map(_read_and_decode)
  empty = tf.data.Dataset.from_tensors(tf.zeros([0, 0, 3], tf.uint8))
  return decoded.ignore_errors().concatenate(empty).take(1).map(
      lambda image: {'image': image, 'label': label, 'path': path})


def _named_failure(example):
  """The example without its path; fails naming the file if it was empty."""
  check = tf.debugging.Assert(tf.size(example['image']) > 0, [
      tf.strings.join(['cannot read or decode image file ', example['path'],
                       ' (not a JPEG, PNG, GIF or BMP that decodes)'])])
  with tf.control_dependencies([check]):
    image = tf.identity(example['image'])
  image.set_shape([None, None, 3])
  return {'image': image, 'label': example['label']}


def examples(source, training=False, num_readers=4, shuffle_buffer=None,
             seed=None, num_shards=1, shard_index=0, repeatable=False):
  """Decoded examples {'image': uint8 [h, w, 3], 'label': int64}.

  Args:
    source: a slim Dataset or an ImageFolder.
    training: shuffle (files, then examples) and repeat forever; else every
      example once, in order.
    num_readers: TFRecord files read at once in training (slim's
      --num_readers).
    shuffle_buffer: examples shuffled together in training (default
      DEFAULT_SHUFFLE_BUFFER).
    seed: seed of the shuffles.
    num_shards, shard_index: read only every num_shards-th file (or example,
      when there are fewer files than shards), from shard_index: one shard
      per worker of a cluster.
    repeatable: in training, read in an order fixed by `seed` (parallel
      reading and decoding keep their order).

  Returns:
    A tf.data.Dataset.

  Raises:
    ValueError: for a bad shard or no files.
  """
  if not 0 <= shard_index < num_shards:
    raise ValueError('shard_index must be in [0, num_shards), got %r of %r'
                     % (shard_index, num_shards))
  deterministic = not training or repeatable
  if isinstance(source, ImageFolder):
    records = tf.data.Dataset.from_tensor_slices(
        (source.paths, tf.constant(source.labels, tf.int64)))
    if num_shards > 1:
      records = records.shard(num_shards, shard_index)
    if training:
      records = records.shuffle(source.num_samples, seed=seed).repeat()
    # One file per element: an interleave keeps the order when asked to.
    return records.interleave(
        _image_or_empty, num_parallel_calls=AUTOTUNE,
        deterministic=deterministic).map(_named_failure)
  files = data_files(source)
  shard_files = num_shards > 1 and len(files) >= num_shards
  file_names = tf.data.Dataset.from_tensor_slices(files)
  if shard_files:
    file_names = file_names.shard(num_shards, shard_index)
  if training:
    file_names = file_names.shuffle(len(files), seed=seed).repeat()
  if training:
    records = file_names.interleave(
        tf.data.TFRecordDataset, cycle_length=max(1, num_readers),
        num_parallel_calls=max(1, num_readers), deterministic=repeatable)
  else:  # File after file: reading is cheap next to decoding (parallel).
    records = file_names.flat_map(tf.data.TFRecordDataset)
  if num_shards > 1 and not shard_files:
    records = records.shard(num_shards, shard_index)
  if training:
    records = records.shuffle(shuffle_buffer or DEFAULT_SHUFFLE_BUFFER,
                              seed=seed)
  decoder = source.decoder

  def decode(serialized):
    image, label = decoder.decode(serialized, ['image', 'label'])
    image.set_shape([None, None, 3])
    return {'image': image, 'label': tf.cast(label, tf.int64)}

  return records.map(decode, num_parallel_calls=AUTOTUNE,
                     deterministic=deterministic)


def batches(example_dataset, preprocess_fn, image_size, batch_size,
            training=False, labels_offset=0, num_threads=None,
            repeatable=False):
  """(images, labels) tensors of the next batch, from `examples(...)`.

  Args:
    example_dataset: a tf.data.Dataset from `examples`.
    preprocess_fn: fn(image, height, width) -> float32 [height, width, 3]
      (e.g. `preprocessing_factory.get_preprocessing(...)`). In training it
      runs inside tf.data, so it must not add summaries. It runs as written,
      graph-mode like slim's (`tf.cond`, not Python `if` on tensors):
      AutoGraph does not convert it, which would cost ~2 s of CPU at every
      start of a tool.
    image_size: height and width of the batches.
    batch_size: images per batch.
    training: drop a partial last batch (the examples repeat anyway).
    labels_offset: subtracted from every label (slim's --labels_offset).
    num_threads: parallel preprocessing calls; None: tf.data's choice.
    repeatable: in training, the same batches from the same seeds: images
      are preprocessed one at a time, in order (random preprocessing ops
      draw from one generator, so parallel calls would share it in any
      order).

  Returns:
    (images float32 [batch, size, size, 3], labels int64 [batch]) from a
    one-shot iterator: each run of them gives the next batch, and
    tf.errors.OutOfRangeError once an evaluation has read everything.

  Raises:
    ValueError: for a batch_size or image_size below 1, a negative offset.
  """
  if batch_size < 1:
    raise ValueError('batch_size must be at least 1, got %r' % batch_size)
  if image_size < 1:
    raise ValueError('image_size must be at least 1, got %r' % image_size)
  if labels_offset < 0:
    raise ValueError('labels_offset must be >= 0, got %r' % labels_offset)

  @tf.autograph.experimental.do_not_convert
  def prepare(example):
    image = preprocess_fn(example['image'], image_size, image_size)
    return image, example['label'] - labels_offset

  if training and repeatable:
    ready = example_dataset.map(prepare)
  else:
    ready = example_dataset.map(prepare, num_parallel_calls=num_threads or
                                AUTOTUNE, deterministic=not training)
  ready = ready.batch(batch_size, drop_remainder=training).prefetch(AUTOTUNE)
  images, labels = tf.data.make_one_shot_iterator(ready).get_next()
  images.set_shape([batch_size if training else None, image_size,
                    image_size, 3])
  return images, labels
