r"""Converts a folder of class subfolders to slim TFRecords (`custom` dataset).

  python -m nets.convert_images --image_dir=DIR --output_dir=OUT \
      [--validation_fraction=0.1] [--num_shards=5] [--seed=0] [--overwrite]

What slim's `download_and_convert_flowers.py` does to the Flowers photos,
for any `DIR/<class>/<image>` folder (listed by `input_pipeline.ImageFolder`:
labels in sorted folder order, as Keras numbers them). OUT gets:

  custom_train_00000-of-00005.tfrecord ...       slim's tf.train.Examples
  custom_validation_00000-of-00005.tfrecord ...  (`image/encoded`, `format`,
                                                 `class/label`, `height`,
                                                 `width`)
  labels.txt                                     slim's `0:daisy` lines
  metadata.json                                  classes, split sizes, ...

which `dataset_factory.get_dataset('custom', split, OUT)` reads (and
`--dataset_name=custom --dataset_dir=OUT` for the eval and train tools).

Each image's bytes are stored as they are (no re-encoding), with their real
format (from the bytes, not the file name): JPEG, PNG, GIF or BMP. Every
image is decoded once first, in one TensorFlow session, for its size and to
catch broken files: those are reported (one line each), skipped and counted.

The split is deterministic and stable. Within each class, the files are
ordered by the SHA-256 of (seed, `class/file name`) and the first
round(validation_fraction x the class's files) go to `validation`, the rest
to `train`; each split is written in that hash order (classes mixed). So a
file's split depends only on the seed, its own and its class's name, and
how many files its class has: the same seed gives the same splits; adding
or removing a file moves at most one other file of its class, and no file
of another class. Files that fail to decode are skipped after the split, so
they do not move others.

OUT is built in a temporary folder next to it and moved into place at the
end: an interrupted run leaves nothing; an existing OUT is replaced only
with --overwrite, once the new one is complete.
"""

import collections
import hashlib
import math
import os
import sys
import time

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import tensorflow.compat.v1 as tf

from nets import custom
from nets import dataset_utils
from nets import input_pipeline
from nets import outputs

SPLITS = ('train', 'validation')
DEFAULT_NUM_SHARDS = 5
PROGRESS_INTERVAL_SECS = 10

Result = collections.namedtuple(
    'Result', ['output_dir', 'num_classes', 'splits_to_sizes', 'skipped'])
Result.__doc__ = """What `convert` wrote: the folder, the number of classes,
{split: images written}, and [(path, reason)] of the files skipped."""

# Reading image files (nets.input_pipeline), used here.
image_format = input_pipeline.image_format
ImageChecker = input_pipeline.ImageChecker
read_file = input_pipeline.read_file


def _rank(seed, relative_path):
  return hashlib.sha256(('%d/%s' % (seed, relative_path)).encode('utf-8')
                       ).hexdigest()


def split_images(folder, validation_fraction, seed):
  """The images of each split, in the order they are written.

  Args:
    folder: an `input_pipeline.ImageFolder`.
    validation_fraction: the share of each class's images in 'validation'
      (rounded half up, per class), in [0, 1].
    seed: an integer; the same seed gives the same splits.

  Returns:
    {'train': [(path, label)], 'validation': [(path, label)]}, see the
    module docstring.
  """
  by_class = collections.defaultdict(list)
  for path, label in zip(folder.paths, folder.labels):
    relative = os.path.relpath(path, folder.image_dir).replace(os.sep, '/')
    by_class[label].append((_rank(seed, relative), path, label))
  splits = {name: [] for name in SPLITS}
  for items in by_class.values():
    items.sort()
    count = int(math.floor(validation_fraction * len(items) + 0.5))
    splits['validation'].extend(items[:count])
    splits['train'].extend(items[count:])
  return {name: [(path, label) for _, path, label in sorted(items)]
          for name, items in splits.items()}


def _shards(items, num_shards):
  """`items` in min(num_shards, len(items)) (at least 1) even, contiguous
  parts."""
  count = min(num_shards, max(1, len(items)))
  return [items[k * len(items) // count:(k + 1) * len(items) // count]
          for k in range(count)]


def _check_arguments(image_dir, output_dir, validation_fraction, num_shards):
  if not 0.0 <= validation_fraction <= 1.0:
    raise ValueError('validation_fraction must be in [0, 1], got %r' %
                     (validation_fraction,))
  if not isinstance(num_shards, int) or num_shards < 1:
    raise ValueError('num_shards must be an integer >= 1, got %r' %
                     (num_shards,))
  if not output_dir:
    raise ValueError('output_dir must be given')
  if image_dir:
    images = os.path.realpath(image_dir)
    output = os.path.realpath(os.path.expanduser(output_dir))
    if output == images or images.startswith(output + os.sep):
      raise ValueError('output_dir %s holds image_dir %s; --overwrite would '
                       'replace the images' % (output_dir, image_dir))
    if output.startswith(images + os.sep):
      raise ValueError('output_dir %s is inside image_dir %s: it would '
                       'become one of its classes' % (output_dir, image_dir))


def convert(image_dir, output_dir, validation_fraction=0.1,
            num_shards=DEFAULT_NUM_SHARDS, seed=0, overwrite=False,
            out=sys.stdout, err=sys.stderr,
            progress_interval_secs=PROGRESS_INTERVAL_SECS):
  """Writes the `custom` dataset of a folder of class subfolders.

  Args:
    image_dir: the folder, `image_dir/<class>/<image>`.
    output_dir: the folder to write (see the module docstring).
    validation_fraction: each class's share of images in 'validation'.
    num_shards: TFRecord files per split (fewer for a split with fewer
      images; one, maybe empty, for an empty split).
    seed: the split's seed.
    overwrite: replace an existing output_dir.
    out: progress and the final line.
    err: one line per skipped file.
    progress_interval_secs: seconds between progress lines.

  Returns:
    A `Result`.

  Raises:
    ValueError: bad arguments, an image_dir without class subfolders or
      images, a name that is not UTF-8, a class name with a line break
      (any that str.splitlines honours: `dataset_utils.LINE_BREAKS`), no
      image that decodes.
    outputs.OutputError: output_dir exists (without overwrite) or cannot
      be written.
  """
  _check_arguments(image_dir, output_dir, validation_fraction, num_shards)
  folder = input_pipeline.ImageFolder(image_dir)
  for name in folder.class_names:
    if dataset_utils.has_line_break(name):
      raise ValueError('class folder %r has a line break in its name, which '
                       'labels.txt cannot hold; rename it' %
                       os.path.join(image_dir, name))
  splits = split_images(folder, validation_fraction, seed)
  total = folder.num_samples
  written = dict.fromkeys(SPLITS, 0)
  skipped = []
  checker = ImageChecker()
  try:
    with outputs.staged(output_dir, overwrite, directory=True) as temp:
      print('Converting %d images of %d classes in %s: train %d, validation '
            '%d (seed %d).' % (total, folder.num_classes, image_dir,
                               len(splits['train']),
                               len(splits['validation']), seed), file=out)
      done, last_report = 0, time.time()
      for split in SPLITS:
        shards = _shards(splits[split], num_shards)
        for index, shard in enumerate(shards):
          path = os.path.join(temp, custom.SHARD_NAME % (split, index,
                                                          len(shards)))
          with tf.io.TFRecordWriter(path) as writer:
            for image_path, label in shard:
              try:
                data = read_file(image_path)
                height, width = checker.size(data)
              except ValueError as e:
                skipped.append((image_path, str(e)))
                print('Skipped %s: %s' % (image_path, e), file=err)
              else:
                writer.write(dataset_utils.image_to_tfexample(
                    data, image_format(data).encode('ascii'), height, width,
                    label).SerializeToString())
                written[split] += 1
              done += 1
              if time.time() - last_report >= progress_interval_secs:
                last_report = time.time()
                print('  %d/%d images (%d skipped)' % (done, total,
                                                       len(skipped)),
                      file=out)
        print('  %s: %d images in %d shards' % (split, written[split],
                                                len(shards)), file=out)
      if not any(written.values()):
        raise ValueError('none of the %d files in %s could be read and '
                         'decoded; nothing was written' % (total, image_dir))
      dataset_utils.write_label_file(folder.labels_to_names, temp)
      custom.write_metadata(
          temp, folder.num_classes, written, created_by='nets.convert_images',
          image_dir=os.path.abspath(image_dir), seed=seed,
          validation_fraction=validation_fraction, skipped=len(skipped))
  finally:
    checker.close()
  print('Wrote %d images (train %d, validation %d; %d classes) to %s; '
        'skipped %d unreadable or undecodable files.' % (
            sum(written.values()), written['train'], written['validation'],
            folder.num_classes, output_dir, len(skipped)), file=out)
  return Result(output_dir, folder.num_classes, written, skipped)


def main(argv):
  del argv  # Unused.
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  convert(f.image_dir, f.output_dir, f.validation_fraction, f.num_shards,
          f.seed, f.overwrite)


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  cli.define_path('image_dir', None,
                  'The folder of class subfolders '
                  '(image_dir/<class>/<image>); labels in sorted folder '
                  'order.')
  cli.define_path('output_dir', None,
                  'The folder to write: TFRecord shards, labels.txt, '
                  'metadata.json (the "custom" dataset).')
  flags.DEFINE_float('validation_fraction', 0.1,
                     "Each class's share of images in the validation split.",
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_integer('num_shards', DEFAULT_NUM_SHARDS,
                       'TFRecord files per split (fewer when a split has '
                       'fewer images).', lower_bound=1)
  flags.DEFINE_integer('seed', 0, 'Seed of the split; the same seed gives '
                       'the same split.')
  cli.define_shared_flags('overwrite')
  flags.mark_flags_as_required(['image_dir', 'output_dir'])


if __name__ == '__main__':
  cli.run(main, define_flags)
