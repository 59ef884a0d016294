r"""Classifies image files with a slim Inception V3 checkpoint.

Each image is decoded (JPEG, PNG, GIF or BMP), preprocessed as slim's eval
does (`nets.preprocessing`) and run through the model; the top-k classes and
their probabilities are printed, one block per image. An image that cannot be
read or decoded is reported on stderr and skipped; the exit status is 1 when
any image failed.

  python -m nets.classify --checkpoint_path=inception_v3.ckpt \
      [--labels_file=labels.txt] [--top_k=5] cat.jpg dog.png
"""

import collections
import sys

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import numpy as np
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import inference
from nets import labels as labels_lib
from nets import preprocessing

class NonFiniteOutputError(ValueError):
  """The model computed NaN or Inf: its weights are broken, not the image."""


Prediction = collections.namedtuple('Prediction',
                                    ['index', 'probability', 'name'])


def top_k_predictions(probabilities, k, names):
  """The k most probable classes, most probable first.

  Args:
    probabilities: 1-D array over the model's classes.
    k: how many to return (at most the number of classes).
    names: list of class names, or None (then only background is named).

  Returns:
    A list of Prediction(index, probability, name).
  """
  num_classes = len(probabilities)
  # Stable sort of the negated values: ties keep the lower index first.
  order = np.argsort(-np.asarray(probabilities), kind='stable')[:k]
  return [Prediction(int(i), float(probabilities[i]),
                     names[i] if names else
                     labels_lib.default_name(int(i), num_classes))
          for i in order]


def format_predictions(path, predictions, num_classes):
  """The block printed for one image: path, then one line per class."""
  lines = [path]
  for p in predictions:
    line = '  %.4f  class %d' % (p.probability, p.index)
    imagenet = labels_lib.to_imagenet_index(p.index, num_classes)
    if labels_lib.has_background(num_classes) and imagenet is not None:
      line += ' (ImageNet %d)' % imagenet
    lines.append(line + (': ' + p.name if p.name else ''))
  return '\n'.join(lines)


class Classifier(object):
  """A graph and session that classify encoded images with a checkpoint."""

  def __init__(self, checkpoint_path, num_classes=None, image_size=299,
               moving_average_decay=None, optimize=False):
    """Builds the model and restores the checkpoint.

    Args:
      checkpoint_path: V1 file, V2 prefix or directory, or a
        `checkpoints.Checkpoint`.
      num_classes: classifier width; default: the checkpoint's.
      image_size: input size the images are resized to.
      moving_average_decay: use the EMA shadows (as slim's eval).
      optimize: build nets.inference's optimized graph (BatchNorm folded,
        constant weights) instead of restoring variables.

    Raises:
      checkpoints.CheckpointError: missing, unreadable or mismatching
        checkpoint.
    """
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._encoded = tf.placeholder(tf.string, [], name='image_bytes')
      image = preprocessing.decode_and_preprocess(self._encoded, image_size,
                                                  image_size)
      model = inference.build(
          tf.expand_dims(image, 0), checkpoint_path, num_classes, optimize,
          moving_average_decay=moving_average_decay)
      self.num_classes = model.num_classes
      self._probabilities = model.probabilities[0]
      self._graph.finalize()
    self._sess = tf.Session(graph=self._graph, config=model.session_config)
    model.initialize(self._sess)

  def probabilities(self, encoded):
    """Class probabilities [num_classes] of one encoded image.

    Raises:
      ValueError: if the bytes are not an image TensorFlow can decode.
    """
    try:
      # libjpeg writes its own warnings (e.g. "Premature end of JPEG data")
      # to stderr; the failure is reported as one line instead.
      with cli.quiet_native_stderr(show_on_error=False):
        return self._sess.run(self._probabilities, {self._encoded: encoded})
    except tf.errors.InvalidArgumentError as e:
      raise ValueError('cannot decode the image (%s)' % cli.reason(e)) from e

  def close(self):
    self._sess.close()


def classify(checkpoint_path, image_paths, labels_file=None, top_k=5,
             num_classes=None, image_size=299, moving_average_decay=None,
             out=sys.stdout, err=sys.stderr, optimize=False):
  """Prints the top-k classes of each image; reports and skips bad ones.

  Args:
    checkpoint_path: V1 file, V2 prefix or directory.
    image_paths: image files.
    labels_file: optional class names (see `labels.read_labels`); default:
      the ImageNet names for 1000 or 1001 classes (`labels.imagenet_names`),
      none for other class counts.
    top_k: classes printed per image, 1..num_classes.
    num_classes, image_size, moving_average_decay, optimize: see
      `Classifier`.
    out, err: where blocks and failures are printed.

  Returns:
    (results, failures): results is a list of (path, [Prediction]) for the
    images classified; failures a list of (path, reason).

  Raises:
    checkpoints.CheckpointError, labels.LabelsError, ValueError (top_k out of
    range): before any image is read.
    NonFiniteOutputError: when the model's outputs are NaN or Inf.
  """
  checkpoint = checkpoints.load_checkpoint(checkpoint_path)
  path, n = checkpoint.path, checkpoint.classes(num_classes)
  if not 1 <= top_k <= n:
    raise ValueError('top_k must be in [1, %d] (the classes of the model), '
                     'got %d.' % (n, top_k))
  if labels_file:
    names = labels_lib.read_labels(labels_file, n)
  else:
    names = labels_lib.imagenet_names(n)
  classifier = Classifier(checkpoint, n, image_size, moving_average_decay,
                          optimize)
  try:
    results, failures = [], []
    for image_path in image_paths:
      try:
        with open(image_path, 'rb') as f:
          encoded = f.read()
        probabilities = classifier.probabilities(encoded)
      except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        failures.append((image_path, str(reason)))
        print('Cannot classify %s: %s' % (image_path, reason), file=err)
        continue
      if not np.all(np.isfinite(probabilities)):
        raise NonFiniteOutputError(
            'the model\'s outputs on %s are not finite (NaN or Inf): the '
            'weights of checkpoint %s are probably not finite' % (
                image_path, path))
      predictions = top_k_predictions(probabilities, top_k, names)
      results.append((image_path, predictions))
      print(format_predictions(image_path, predictions, n), file=out)
    return results, failures
  finally:
    classifier.close()


def main(argv):
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  images = argv[1:]
  if not images:
    cli.fail('no images given: python -m nets.classify --checkpoint_path=P '
             'IMAGE [IMAGE ...]')
  _, failures = classify(f.checkpoint_path, images, f.labels_file, f.top_k,
                         f.num_classes, f.image_size, f.moving_average_decay,
                         optimize=f.optimize)
  return 1 if failures else 0


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', required=['checkpoint_path'])
  cli.define_path('labels_file', None,
                  'Class names, one per line (1000 or 1001 lines); '
                  'default: the ImageNet names for 1000 or 1001 classes.')
  flags.DEFINE_integer('top_k', 5, 'Classes printed per image.',
                       lower_bound=1)
  cli.define_shared_flags('optimize')


if __name__ == '__main__':
  cli.run(main, define_flags, positional_args=True)
