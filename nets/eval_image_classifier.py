r"""Evaluates a slim Inception V3 checkpoint on labelled images.

research/slim's `eval_image_classifier.py` for this port: top-1 accuracy
(slim's `Accuracy`) and top-5 recall (`Recall_5`) over a split of a slim
dataset, or over a folder of class subfolders, with slim's flags:

  python -m nets.eval_image_classifier --checkpoint_path=inception_v3.ckpt \
      --dataset_name=imagenet --dataset_split_name=validation \
      --dataset_dir=/data/imagenet --labels_offset=0
  python -m nets.eval_image_classifier --checkpoint_path=/tmp/train_dir \
      --dataset_name=custom --dataset_dir=/data/converted   # convert_images
  python -m nets.eval_image_classifier --checkpoint_path=model.ckpt-500 \
      --image_dir=/data/photos            # class subfolders, not converted

Every image of the split is counted exactly once (the last, partial batch
included; nothing is repeated), and the correct predictions are counted as
integers: Accuracy = images whose highest logit is their label / images,
Recall_5 = images whose label is among the 5 highest logits / images (ties
go to the lower class, as argmax and top_k break them). Unlike slim's
streaming means over `num_batches` batches, nothing depends on the batch
size.

The images go through slim's eval preprocessing (`preprocessing_factory`:
central crop of 87.5%, bilinear resize to --eval_image_size, [-1, 1]), read
and preprocessed by `nets.input_pipeline` in parallel with the network. The
network is `nets_factory.build_for_inference` (inference mode, no aux head,
global pooling above 362 pixels); `--optimize` runs `nets.inference`'s BatchNorm-folded graph instead (the same
logits within 1e-4). `--moving_average_decay` restores the
ExponentialMovingAverage shadows, as slim's eval does.

`--tflite_model=model.tflite` evaluates a TensorFlow Lite model of
nets.to_tflite instead of a checkpoint (its input size, unless
--eval_image_size says the same): the same images, preprocessing, counts
and lines, so the cost of int8 shows next to the checkpoint's result.

The model has the dataset's classes minus --labels_offset, and every label
is shifted down by it (slim's meaning): a 1000-class checkpoint on slim's
1001-label ImageNet records takes --labels_offset=1.
"""

import collections
import contextlib
import json
import os
import re
import socket
import sys
import time

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import inception_v3
from nets import inference
from nets import input_pipeline
from nets import nets_factory
from nets import outputs
from nets import preprocessing_factory

TOP_K = 5
GLOBAL_STEP = checkpoints.GLOBAL_STEP
PROGRESS_INTERVAL_SECS = 10
# slim's summary tags.
ACCURACY_TAG = 'eval/Accuracy'
RECALL_TAG = 'eval/Recall_5'

Result = collections.namedtuple('Result', [
    'num_images', 'top1_correct', 'top5_correct', 'accuracy', 'recall_5',
    'labels_out_of_range', 'num_classes', 'checkpoint_path', 'global_step',
    'seconds', 'images_per_sec'])
Result.__doc__ = """What `evaluate` counted.

num_images: images evaluated; top1_correct, top5_correct: how many of them
had their label first, or among the first 5; accuracy, recall_5: those
counts / num_images; labels_out_of_range: labels (after the offset) outside
0..num_classes-1, counted as wrong; num_classes: the model's; the resolved
checkpoint_path and its global_step (None if it has none); seconds of the
evaluation loop; images_per_sec after the first batch (which also warms
the network up), or over all if there was one batch."""


def check_num_classes(checkpoint_classes, dataset_classes, labels_offset,
                      checkpoint_path='the checkpoint'):
  """Raises if labels_offset leaves no class or another offset would fit.

  Args:
    checkpoint_classes: classes of the checkpoint's logits layer.
    dataset_classes: classes of the dataset (labels 0..dataset_classes-1).
    labels_offset: subtracted from every label; the model has
      dataset_classes - labels_offset classes.
    checkpoint_path: named in the message.

  Raises:
    ValueError: no classes left, or the checkpoint has dataset_classes - k
      classes for some k >= 0 other than labels_offset (the message says
      to pass --labels_offset=k). Other mismatches are left to
      `checkpoints.restore_fn`, whose error explains them.
  """
  if dataset_classes - labels_offset < 1:
    raise ValueError('labels_offset %d leaves no classes: the dataset has %d'
                     % (labels_offset, dataset_classes))
  offset = dataset_classes - checkpoint_classes
  if offset >= 0 and offset != labels_offset:
    raise ValueError(
        'checkpoint %s has %d classes and the dataset %d; the model has the '
        "dataset's classes minus --labels_offset, so pass --labels_offset=%d "
        '(got %d)%s' % (
            checkpoint_path, checkpoint_classes, dataset_classes, offset,
            labels_offset,
            ": a 1000-class checkpoint on slim's 1001-label ImageNet"
            if (checkpoint_classes, dataset_classes) == (1000, 1001) else ''))


def global_step_of(checkpoint_path):
  """The checkpoint's `global_step`, or None if it has none."""
  return checkpoints.load_checkpoint(checkpoint_path).global_step


def _check_arguments(batch_size, max_num_batches, labels_offset,
                     moving_average_decay, eval_image_size,
                     num_preprocessing_threads):
  def is_int(value, minimum):
    return (isinstance(value, int) and not isinstance(value, bool) and
            value >= minimum)

  for name, value in (('batch_size', batch_size),
                      ('num_preprocessing_threads',
                       num_preprocessing_threads)):
    if not is_int(value, 1):
      raise ValueError('%s must be an integer >= 1, got %r' % (name, value))
  if max_num_batches is not None and not is_int(max_num_batches, 1):
    raise ValueError('max_num_batches must be None or an integer >= 1, got '
                     '%r' % (max_num_batches,))
  if not is_int(labels_offset, 0):
    raise ValueError('labels_offset must be an integer >= 0, got %r' %
                     (labels_offset,))
  if moving_average_decay is not None and not 0 < moving_average_decay < 1:
    raise ValueError('moving_average_decay must be in (0, 1), got %r' %
                     (moving_average_decay,))
  if eval_image_size is not None and not is_int(
      eval_image_size, inception_v3.MIN_IMAGE_SIZE):
    raise ValueError('eval_image_size must be an integer >= %d, got %r' %
                     (inception_v3.MIN_IMAGE_SIZE, eval_image_size))


def _count(logits, labels, num_classes):
  """Tensors (images, top-1 hits, top-k hits, labels out of range), int64."""
  labels = tf.cast(labels, tf.int32)
  _, top = tf.nn.top_k(logits, min(TOP_K, num_classes))
  hits = tf.equal(top, labels[:, tf.newaxis])

  def total(booleans):
    return tf.reduce_sum(tf.cast(booleans, tf.int64))

  return (tf.size(labels, out_type=tf.int64), total(hits[:, 0]),
          total(tf.reduce_any(hits, axis=1)),
          total(tf.logical_or(labels < 0, labels >= num_classes)))


def _duration(seconds):
  minutes, seconds = divmod(int(round(seconds)), 60)
  hours, minutes = divmod(minutes, 60)
  return ('%d:%02d:%02d' % (hours, minutes, seconds) if hours else
          '%d:%02d' % (minutes, seconds))


def write_summaries(eval_dir, result):
  """slim's eval/Accuracy and eval/Recall_5, at the checkpoint's step.

  One new events file, as tf.summary.FileWriter names and fills it, but
  written through `outputs`: whole or not at all, and a failed write (a
  full disk) raises OutputError, where FileWriter only logs it.

  Returns:
    The file's path.
  """
  now = time.time()
  path = os.path.join(eval_dir, 'events.out.tfevents.%010d.%s.%d' % (
      int(now), socket.gethostname(), os.getpid()))
  events = [tf.Event(wall_time=now, file_version='brain.Event:2'),
            tf.Event(wall_time=now, step=result.global_step or 0,
                     summary=tf.Summary(value=[
                         tf.Summary.Value(tag=ACCURACY_TAG,
                                          simple_value=result.accuracy),
                         tf.Summary.Value(tag=RECALL_TAG,
                                          simple_value=result.recall_5)]))]
  with outputs.staged(path) as temp:
    with tf.io.TFRecordWriter(temp) as writer:
      for event in events:
        writer.write(event.SerializeToString())
  return path


def evaluate(source, checkpoint_path, batch_size=100, max_num_batches=None,
             labels_offset=0, moving_average_decay=None,
             eval_image_size=None, num_preprocessing_threads=4,
             model_name='inception_v3', preprocessing_name=None,
             optimize=False, eval_dir=None, out=sys.stdout,
             progress_interval_secs=PROGRESS_INTERVAL_SECS,
             tflite_model=None):
  """Top-1 and top-5 counts of a checkpoint over every image of `source`.

  Args:
    source: a slim Dataset (`dataset_factory.get_dataset(...)`) or an
      `input_pipeline.ImageFolder`.
    checkpoint_path: V1 file, V2 prefix, or a folder (its latest
      checkpoint).
    batch_size: images per batch (the last one may have fewer).
    max_num_batches: stop after this many batches; None: every image.
    labels_offset: subtracted from every label; the model has the source's
      classes minus this.
    moving_average_decay: restore the ExponentialMovingAverage shadows.
    eval_image_size: input height and width; default the network's (299).
    num_preprocessing_threads: images preprocessed at once.
    model_name: a key of `nets_factory.networks_map`.
    preprocessing_name: a name of `preprocessing_factory`; default
      model_name.
    optimize: run `nets.inference`'s BatchNorm-folded graph.
    eval_dir: if set, write slim's TensorBoard summaries of the metrics
      there.
    out: progress lines and the final line.
    progress_interval_secs: seconds between progress lines.
    tflite_model: a .tflite file of nets.to_tflite to evaluate instead of
      the checkpoint (checkpoint_path is then None).

  Returns:
    A `Result` (for a TFLite model: its path, no global step).

  Raises:
    ValueError: bad arguments; a class count that another labels_offset
      would explain (see `check_num_classes`); unknown model or
      preprocessing; no images; images that cannot be read or decoded; no
      label among the model's classes (`check_labels_in_range`).
    checkpoints.CheckpointError: missing, unreadable or mismatching
      checkpoint (or no EMA shadows with moving_average_decay).
    outputs.OutputError: eval_dir cannot be written (checked first; a
      write that fails at the end, e.g. on a full disk, raises it after
      the final line is printed).
  """
  _check_arguments(batch_size, max_num_batches, labels_offset,
                   moving_average_decay, eval_image_size,
                   num_preprocessing_threads)
  network_fn = nets_factory.get_network_fn(model_name, None)
  preprocess_fn = preprocessing_factory.get_preprocessing(
      preprocessing_name or model_name, is_training=False)
  image_size = eval_image_size or network_fn.default_image_size
  if not getattr(source, 'num_classes', None):
    raise ValueError('source must be a slim Dataset or an ImageFolder with '
                     'num_classes, got %r' % (source,))
  if tflite_model:
    lite, image_size = _tflite(tflite_model, eval_image_size, optimize,
                               moving_average_decay)
    path, model_classes, global_step = tflite_model, lite.num_classes, None
  else:
    checkpoint = checkpoints.load_checkpoint(checkpoint_path)
    path, model_classes = checkpoint.path, checkpoint.classes()
    global_step = checkpoint.global_step
  check_num_classes(model_classes, source.num_classes, labels_offset, path)
  num_classes = source.num_classes - labels_offset
  if tflite_model and model_classes != num_classes:
    # A checkpoint's mismatch is explained when it is restored; this one
    # would be a feed error.
    raise ValueError(
        'TensorFlow Lite model %s has %d classes and the dataset %d (minus '
        '--labels_offset %d): it was converted from a model of other classes'
        % (path, model_classes, source.num_classes, labels_offset))
  if eval_dir:
    outputs.check(os.path.join(eval_dir, 'events.out.tfevents'),
                  overwrite=True)
  expected = source.num_samples
  if max_num_batches and expected:
    expected = min(expected, max_num_batches * batch_size)

  with tf.Graph().as_default() as graph:
    images, labels = input_pipeline.batches(
        input_pipeline.examples(source), preprocess_fn, image_size,
        batch_size, labels_offset=labels_offset,
        num_threads=num_preprocessing_threads)
    if tflite_model:
      # The TFLite interpreter runs outside the graph: its logits are fed.
      logits = tf.placeholder(tf.float32, [None, num_classes])
      fed_labels = tf.placeholder(labels.dtype, [None])
      counts = _count(logits, fed_labels, num_classes)
      initialize, session_config = lambda sess: None, None
    else:
      model = inference.build(images, checkpoint, num_classes, optimize,
                              moving_average_decay=moving_average_decay,
                              batch_size=batch_size,
                              network_fn=nets_factory.get_network_fn(
                                  model_name, num_classes))
      counts = _count(model.logits, labels, num_classes)
      initialize, session_config = model.initialize, model.session_config
    graph.finalize()

  with tf.Session(graph=graph, config=session_config) as sess:
    initialize(sess)
    if tflite_model:
      def step():
        batch, batch_labels = sess.run([images, labels])
        return sess.run(counts, {logits: lite.run(batch)[0],
                                 fed_labels: batch_labels})
    else:
      step = lambda: sess.run(counts)  # pylint: disable=unnecessary-lambda-assignment
    # libjpeg prints warnings on stderr from the reading threads; a failure
    # is reported as one error (in _run).
    try:
      with cli.quiet_native_stderr(show_on_error=False):
        totals, seconds, warm = _run(step, max_num_batches, expected, out,
                                     progress_interval_secs)
    except _ReadError as e:
      raise ValueError(_read_error_message(source, e.done, batch_size,
                                           e.error)) from None
  num_images, top1, top5, out_of_range = totals
  if not num_images:
    raise ValueError('there are no images to evaluate')
  result = Result(num_images, top1, top5, top1 / num_images,
                  top5 / num_images, out_of_range, num_classes, path,
                  global_step, seconds, _rate(warm, seconds, num_images))
  if max_num_batches is None and num_images != source.num_samples:
    print('Note: the dataset says the split has %d images; %d were read.' %
          (source.num_samples, num_images), file=out)
  check_labels_in_range(num_images, out_of_range, labels_offset, num_classes)
  if out_of_range:
    print('Note: %d labels (after --labels_offset=%d) were outside 0..%d and '
          'counted as wrong.' % (out_of_range, labels_offset,
                                 num_classes - 1), file=out)
  # The counts first: a summary that cannot be written fails the run, but
  # the numbers are not lost.
  print(format_result(result), file=out)
  if eval_dir:
    write_summaries(eval_dir, result)
  return result


def _tflite(path, eval_image_size, optimize, moving_average_decay):
  """(to_tflite.TfliteModel, its image size) for --tflite_model, checked."""
  from nets import to_tflite  # pylint: disable=g-import-not-at-top
  if optimize or moving_average_decay is not None:
    raise ValueError('--optimize and --moving_average_decay apply to a '
                     'checkpoint, not to --tflite_model')
  if not os.path.isfile(path):
    raise ValueError('TensorFlow Lite model %s is not a file' % path)
  lite = to_tflite.TfliteModel(path)
  if eval_image_size not in (None, lite.image_size):
    raise ValueError('TensorFlow Lite model %s takes %dx%d images; '
                     '--eval_image_size is %d' % (
                         path, lite.image_size, lite.image_size,
                         eval_image_size))
  return lite, lite.image_size


def check_labels_in_range(num_images, out_of_range, labels_offset,
                          num_classes):
  """Raises ValueError when not one label is among the model's classes.

  Some out of range are counted as wrong (with a note); all of them is a
  wrong --labels_offset or a dataset of other labels, not an accuracy of 0.
  """
  if num_images and out_of_range == num_images:
    raise ValueError(
        'none of the %d labels (after --labels_offset=%d) is in 0..%d, the '
        "model's classes: a wrong --labels_offset, or a dataset with other "
        'labels' % (num_images, labels_offset, num_classes - 1))


class _ReadError(Exception):
  """A batch failed after `done` images; `error` is TensorFlow's."""

  def __init__(self, done, error):
    super().__init__(done, error)
    self.done, self.error = done, error


# What tf.data puts before the reason of an error in a map function.
_TF_DATA_PREFIX = re.compile(r'^Error in user-defined function passed to .*? '
                             r'transformation with iterator: [\w:]+: ')


def _read_error_message(source, done, batch_size, error):
  """Why the batch after `done` images failed; for a folder, which file."""
  if isinstance(source, input_pipeline.ImageFolder):
    checker = input_pipeline.ImageChecker()
    try:
      for path in source.paths[done:done + batch_size]:
        try:
          checker.size(input_pipeline.read_file(path))
        except ValueError as e:
          return ('cannot evaluate image %s: %s (nets.convert_images skips '
                  'and counts such files)' % (path, e))
    finally:
      checker.close()
  return 'cannot read or decode the images after the first %d (%s)' % (
      done, _TF_DATA_PREFIX.sub('', cli.reason(error)))


def _run(step, max_num_batches, expected, out, progress_interval_secs):
  """The evaluation loop: runs `step` (the counts of the next batch) and sums.

  Returns:
    (the sums, seconds, (seconds, images) at the end of the first batch or
    None).

  Raises:
    _ReadError: the images of a batch cannot be read or decoded.
  """
  start = last_report = time.time()
  totals, warm, batches = [0] * 4, None, 0
  while max_num_batches is None or batches < max_num_batches:
    try:
      batch = step()
    except tf.errors.OutOfRangeError:
      break
    except tf.errors.OpError as e:
      raise _ReadError(totals[0], e) from None
    totals = [t + int(c) for t, c in zip(totals, batch)]
    batches += 1
    now = time.time()
    if warm is None:
      warm = (now - start, totals[0])
    if now - last_report >= progress_interval_secs:
      last_report = now
      print(_progress(totals[0], expected,
                      _rate(warm, now - start, totals[0])), file=out)
  return totals, time.time() - start, warm


def _rate(warm, seconds, done):
  """Images per second after the first batch (over all if only one).

  Args:
    warm: (seconds, images) at the end of the first batch, or None.
    seconds: since the start.
    done: images so far.
  """
  if warm and seconds > warm[0] and done > warm[1]:
    return (done - warm[1]) / (seconds - warm[0])
  return done / max(seconds, 1e-9)


def _progress(done, expected, rate):
  line = '%d' % done
  if expected:
    line += '/%d' % expected
  line += ' images, %.1f images/s' % rate
  if expected and expected > done and rate > 0:
    line += ', %s left' % _duration((expected - done) / rate)
  return line


def format_result(result):
  """The final line: both metrics with their counts, the images, the model."""
  step = ('' if result.global_step is None else
          ' at step %d' % result.global_step)
  outside = ('' if not result.labels_out_of_range else
             ' (%d with a label outside the model\'s classes, counted as '
             'wrong)' % result.labels_out_of_range)
  return ('Accuracy %.4f (%d/%d), Recall_5 %.4f (%d/%d) on %d images%s; %s%s; '
          '%.1f images/s' % (
              result.accuracy, result.top1_correct, result.num_images,
              result.recall_5, result.top5_correct, result.num_images,
              result.num_images, outside, result.checkpoint_path, step,
              result.images_per_sec))


def main(argv):
  del argv  # Unused.
  from absl import flags  # pylint: disable=g-import-not-at-top
  from nets import dataset_flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  source = dataset_flags.source_from_flags()
  with (outputs.reserve(f.json_output, f.overwrite) if f.json_output else
        contextlib.nullcontext()) as reserved:
    result = evaluate(
        source, f.checkpoint_path, f.batch_size, f.max_num_batches,
        f.labels_offset, f.moving_average_decay, f.eval_image_size,
        f.num_preprocessing_threads, f.model_name, f.preprocessing_name,
        f.optimize, f.eval_dir, tflite_model=f.tflite_model)
    if reserved:
      record = dict(
          result._asdict(), labels_offset=f.labels_offset,
          moving_average_decay=f.moving_average_decay,
          eval_image_size=f.eval_image_size or
          inception_v3.default_image_size, batch_size=f.batch_size,
          max_num_batches=f.max_num_batches, optimize=f.optimize,
          tflite_model=f.tflite_model, tensorflow_version=tf.__version__)
      if f.image_dir:
        record.update(image_dir=f.image_dir)
      else:
        record.update(dataset_name=f.dataset_name,
                      dataset_split_name=f.dataset_split_name,
                      dataset_dir=f.dataset_dir)
      reserved.write(json.dumps(record, indent=2, sort_keys=True) + '\n')


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  from nets import dataset_flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'moving_average_decay',
                          'overwrite')
  cli.define_path('tflite_model', None,
                  'Evaluate this TensorFlow Lite model of nets.to_tflite '
                  'instead of --checkpoint_path.')
  flags.mark_flags_as_mutual_exclusive(['checkpoint_path', 'tflite_model'],
                                       required=True)
  dataset_flags.define_flags(split='validation')
  flags.DEFINE_integer('batch_size', 100, 'Images per batch.', lower_bound=1)
  flags.DEFINE_integer('max_num_batches', None,
                       'Evaluate only this many batches; default: every '
                       'image of the split.', lower_bound=1)
  flags.DEFINE_integer('eval_image_size', None,
                       'Input height and width (at least %d); default the '
                       "network's, 299." % inception_v3.MIN_IMAGE_SIZE,
                       lower_bound=inception_v3.MIN_IMAGE_SIZE)
  flags.DEFINE_string('eval_dir', None,
                      'Write TensorBoard summaries of the metrics '
                      '(eval/Accuracy, eval/Recall_5) to this folder.')
  cli.define_shared_flags('json_output', 'optimize', notes={
      'json_output': 'The record: the counts, metrics and settings.'})


if __name__ == '__main__':
  cli.run(main, define_flags)
