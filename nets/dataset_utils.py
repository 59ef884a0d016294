"""Helpers for slim-format datasets: tf.train.Example features, labels files
and downloads.

The API of research/slim's `datasets/dataset_utils.py`, so slim code runs
unchanged after `from datasets import dataset_utils` becomes
`from nets import dataset_utils`. Labels files are slim's: one `label:name`
line per class, e.g. `0:daisy`, in `dataset_dir/labels.txt`, read and
written through `tf.io.gfile` (so local or any file system TensorFlow
opens, as slim's). Downloads use urllib into a local directory, under a temporary name that
becomes the file's only once it is whole (`nets.outputs`): a download cut
short leaves nothing a later call would take for the file.
"""

import os
import re
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile

import tensorflow.compat.v1 as tf

from nets import outputs
from nets import slim_compat

slim_compat.apply()

LABELS_FILENAME = 'labels.txt'

_LABEL_LINE = re.compile(r'^\s*([-+]?\d+)\s*:(.*)$')
# What str.splitlines ends a line at (and so read_label_file): a class name
# holding one of them cannot be written to a labels file.
LINE_BREAKS = '\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'


def int64_feature(values):
  """A tf.train.Feature of int64s from a scalar or a list/tuple of them."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_list_feature(values):
  """A tf.train.Feature of a list of byte strings."""
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def float_list_feature(values):
  """A tf.train.Feature of a list of floats."""
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def bytes_feature(values):
  """A tf.train.Feature holding one byte string (`values` is that string)."""
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values]))


def float_feature(values):
  """A tf.train.Feature of floats from a scalar or a list/tuple of them."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def image_to_tfexample(image_data, image_format, height, width, class_id):
  """The tf.train.Example slim's converters write for a classified image.

  Args:
    image_data: the encoded image (bytes).
    image_format: its format as bytes, e.g. b'png' or b'jpg'.
    height: image height in pixels.
    width: image width in pixels.
    class_id: the integer label.

  Returns:
    A tf.train.Example with `image/encoded`, `image/format`,
    `image/class/label`, `image/height` and `image/width`.
  """
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(class_id),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
  }))


def has_line_break(name):
  """True if `name` holds a character that ends a line (see LINE_BREAKS)."""
  return any(c in LINE_BREAKS for c in name)


def check_dataset_dir(dataset_dir):
  """dataset_dir as a str; ValueError naming it unless it is a path.

  '' (the current folder) is a path: slim's export script passes it.
  """
  if isinstance(dataset_dir, os.PathLike):
    dataset_dir = os.fspath(dataset_dir)
  if not isinstance(dataset_dir, str):
    raise ValueError('dataset_dir must be the path of the dataset\'s folder '
                     '(a str or os.PathLike of one), got %r' % (dataset_dir,))
  check_utf8_name(dataset_dir)
  return dataset_dir


def check_utf8_name(path):
  """Raises ValueError naming `path` (bytes escaped: '\\xff') unless UTF-8.

  Python gives undecodable bytes of file names as lone surrogates;
  TensorFlow's file functions take only UTF-8 and fail without the name.
  """
  try:
    path.encode('utf-8')
  except UnicodeEncodeError:
    raise ValueError('the name of %s is not UTF-8, which TensorFlow cannot '
                     'open; rename it' % os.fsencode(path).decode(
                         'utf-8', 'backslashreplace')) from None


def split_data_sources(split_name, dataset_dir, file_pattern, default_pattern,
                       splits_to_sizes):
  """dataset_dir/(file_pattern % split_name), after checking both arguments.

  Not slim's: the check and join every slim dataset module does.

  Args:
    split_name: a key of `splits_to_sizes`.
    dataset_dir: the dataset's directory.
    file_pattern: a pattern with one '%s' for the split name, or None (or
      '') for `default_pattern`.
    default_pattern: the dataset's own pattern.
    splits_to_sizes: {split name: number of examples}.

  Returns:
    The file pattern of the split's files.

  Raises:
    ValueError: if split_name is not a split, dataset_dir is not a path, or
      file_pattern has no '%s'.
  """
  dataset_dir = check_dataset_dir(dataset_dir)
  if split_name not in splits_to_sizes:
    raise ValueError('split_name %r was not recognized; the splits are %s' % (
        split_name, ', '.join(repr(s) for s in splits_to_sizes)))
  file_pattern = file_pattern or default_pattern
  try:
    split_pattern = file_pattern % split_name
  except TypeError:
    raise ValueError("file_pattern must contain one '%%s' for the split name "
                     '(and no other %% formats), got %r' % (file_pattern,)
                    ) from None
  return os.path.join(dataset_dir, split_pattern)


def _url_filename(url):
  """The file name a download of `url` is saved under (its last path part)."""
  filename = urllib.parse.urlparse(url).path.split('/')[-1]
  if not filename:
    raise ValueError('url must end in a file name, got %r' % (url,))
  return filename


def download_url(url, dataset_dir):
  """Downloads `url` into `dataset_dir`, printing progress to stdout.

  Args:
    url: the URL of a file (any scheme urllib opens: https, http, file).
    dataset_dir: an existing directory; the file keeps its name from `url`.

  Returns:
    The path of the downloaded file, there only once it is complete (a
    download that fails or is cut short leaves no file and no partial one).

  Raises:
    ValueError: if `url` does not end in a file name.
    urllib.error.URLError (an OSError): the download failed or was cut
      short (ContentTooShortError).
    outputs.OutputError: the file cannot be written (e.g. a full disk).
  """
  filename = _url_filename(url)
  filepath = os.path.join(dataset_dir, filename)

  def _progress(count, block_size, total_size):
    if total_size > 0:
      percent = min(100.0, 100.0 * count * block_size / total_size)
      sys.stdout.write('\r>> Downloading %s %.1f%%' % (filename, percent))
      sys.stdout.flush()

  with outputs.staged(filepath, overwrite=True) as temp:
    urllib.request.urlretrieve(url, temp, _progress)
  print()
  print('Successfully downloaded', filename, os.stat(filepath).st_size,
        'bytes.')
  return filepath


def download_and_uncompress_tarball(tarball_url, dataset_dir):
  """Downloads a .tar.gz into `dataset_dir` and extracts it there.

  Members that would land outside `dataset_dir` (absolute paths, `..`,
  links pointing out) are refused, where Python's tarfile supports
  extraction filters.

  Args:
    tarball_url: the URL of a gzipped tarball.
    dataset_dir: an existing directory for the tarball and its contents.
  """
  filepath = download_url(tarball_url, dataset_dir)
  with tarfile.open(filepath, 'r:gz') as tar:
    if hasattr(tarfile, 'data_filter'):
      tar.extractall(dataset_dir, filter='data')
    else:
      tar.extractall(dataset_dir)


def download_and_uncompress_zipfile(zip_url, dataset_dir):
  """Downloads a .zip into `dataset_dir` (unless it is there) and extracts it.

  Members that already exist in `dataset_dir` are left as they are.

  Args:
    zip_url: the URL of a zip file.
    dataset_dir: an existing directory for the zip file and its contents.
  """
  filepath = os.path.join(dataset_dir, _url_filename(zip_url))
  if tf.io.gfile.exists(filepath):
    print('File %s has been already downloaded at %s. Unzipping it....' %
          (os.path.basename(filepath), filepath))
  else:
    filepath = download_url(zip_url, dataset_dir)
  with zipfile.ZipFile(filepath, 'r') as zip_file:
    for member in zip_file.namelist():
      if not os.path.exists(os.path.join(dataset_dir, member)):
        zip_file.extract(member, dataset_dir)


def write_label_file(labels_to_class_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes `label:name` lines, in the mapping's order, to dataset_dir/filename.

  Args:
    labels_to_class_names: {integer label: class name}.
    dataset_dir: the directory of the labels file.
    filename: the labels file's name.

  Raises:
    ValueError: a class name with a line break (`LINE_BREAKS`), which the
      file could not give back; nothing is written then.
  """
  for label, class_name in labels_to_class_names.items():
    if has_line_break(class_name):
      raise ValueError('labels_to_class_names: the name of label %d, %r, has '
                       'a line break, which a labels file cannot hold' %
                       (label, class_name))
  with tf.io.gfile.GFile(os.path.join(dataset_dir, filename), 'w') as f:
    for label, class_name in labels_to_class_names.items():
      f.write('%d:%s\n' % (label, class_name))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  """True if dataset_dir/filename exists."""
  return tf.io.gfile.exists(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads a labels file written by `write_label_file`.

  Args:
    dataset_dir: the directory of the labels file.
    filename: the labels file's name.

  Returns:
    {integer label: class name}, in the file's order; lines end where
    str.splitlines ends them, empty lines are skipped, a UTF-8 byte-order
    mark (as Windows editors write) is ignored, and a name is everything
    after the first ':'.

  Raises:
    ValueError: if the file is not UTF-8, a line is not `label:name` with an
      integer label, or a label is listed twice.
    tf.errors.NotFoundError: if the file does not exist.
  """
  path = os.path.join(dataset_dir, filename)
  with tf.io.gfile.GFile(path, 'rb') as f:
    data = f.read()
  try:
    lines = data.decode('utf-8-sig').splitlines()
  except UnicodeDecodeError as e:
    raise ValueError('Labels file %s is not UTF-8 text (%s)' % (path, e)
                    ) from None
  labels_to_class_names = {}
  first_line = {}
  for number, line in enumerate(lines, 1):
    if not line:
      continue
    match = _LABEL_LINE.match(line)
    if not match:
      raise ValueError('Labels file %s: line %d is not "label:name": %r' %
                       (path, number, line))
    label = int(match.group(1))
    if label in first_line:
      raise ValueError('Labels file %s: line %d lists label %d again (first '
                       'on line %d)' % (path, number, label,
                                        first_line[label]))
    first_line[label] = number
    labels_to_class_names[label] = match.group(2)
  return labels_to_class_names


def open_sharded_output_tfrecords(exit_stack, base_path, num_shards):
  """Opens `num_shards` TFRecord writers `base_path-0000i-of-0000n`.

  Args:
    exit_stack: a contextlib.ExitStack that closes the writers.
    base_path: the path prefix of the shards.
    num_shards: the number of shards, at least 1.

  Returns:
    The writers, shard k at position k.

  Raises:
    ValueError: if num_shards < 1.
  """
  if num_shards < 1:
    raise ValueError('num_shards must be >= 1, got %r' % (num_shards,))
  return [
      exit_stack.enter_context(tf.io.TFRecordWriter(
          '%s-%05d-of-%05d' % (base_path, index, num_shards)))
      for index in range(num_shards)
  ]
