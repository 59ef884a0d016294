"""Tests of nets.eval_image_classifier against answers known independently.

Each image's class ranking comes from its logits computed here: the pooled
features of the slim graph with the checkpoint's trunk values assigned (no
nets.checkpoints, no nets.inference), times the logits layer's weights
(plain or the EMA shadows') in NumPy. The labels are then chosen so that a
known number of images is right at top-1 (their first class), a known
number only at top-5 (their 2nd..5th class) and the rest wrong (their last
class). The tool's counts must equal those numbers exactly.
"""

import io
import json
import os
import re
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import convert_images
from nets import custom
from nets import dataset_factory
from nets import dataset_utils
from nets import eval_image_classifier
from nets import input_pipeline
from nets_test import testing

NUM_CLASSES = 8
SIZE = 80  # --eval_image_size: the network's input.
NUM_IMAGES = 11
# Image i is right at top-1 if i < 4, only at top-5 if 4 <= i < 7, else
# wrong.
TOP1, TOP5 = 4, 7
EMA = '/ExponentialMovingAverage'
LOGITS = 'InceptionV3/Logits/Conv2d_1c_1x1/'
STEP = 42


def make_images(count):
  """`count` PNG/JPEG images of different sizes (75..107) and patterns."""
  images = []
  for i in range(count):
    y, x = np.mgrid[0:75 + 3 * i, 0:107 - 3 * i]
    images.append(np.stack([(x * (i + 1) * 7) % 256, (y * (11 - i) * 5) % 256,
                            np.full_like(x, i * 23)], -1).astype(np.uint8))
  return [testing.encode_images([image], 'png' if i % 2 else 'jpeg')[0]
          for i, image in enumerate(images)]


def pooled_features(values, encoded):
  """PreLogits [n, 2048] of the encoded images with the trunk's `values`.

  The slim graph of `testing.reference_graph` (its decoding is
  `nets.preprocessing`'s), variables assigned directly.
  """
  model = testing.reference_graph(NUM_CLASSES, SIZE, SIZE)
  with model['graph'].as_default(), tf.Session() as sess:
    testing.assign(sess, tf.global_variables(), values)
    batch = [sess.run(model['decoded'], {model['encoded']: e})
             for e in encoded]
    return sess.run(model['end_points']['PreLogits'],
                    {model['inputs']: batch}).reshape([len(encoded), -1])


def logits_layer(features, seed):
  """Random logits weights and the biases that centre them on `features`.

  With random weights the network's features are nearly the same for every
  image; subtracting their mean lets each image rank the classes its own way.
  """
  weights = np.random.RandomState(seed).randn(
      features.shape[1], NUM_CLASSES).astype(np.float32)
  biases = -features.mean(axis=0).dot(weights).astype(np.float32)
  return {LOGITS + 'weights': weights.reshape([1, 1, -1, NUM_CLASSES]),
          LOGITS + 'biases': biases}


def rankings(features, layer):
  """Each image's classes, most probable first: features x `layer` (a
  logits_layer), in float64."""
  weights = layer[LOGITS + 'weights'].reshape([-1, NUM_CLASSES])
  logits = features.astype(np.float64).dot(weights) + layer[LOGITS + 'biases']
  return [np.argsort(-row, kind='stable') for row in logits]


def choose_labels(orders):
  """Image i's label: its 1st class (i < TOP1), 2nd..5th (i < TOP5), last."""
  return [int(order[0] if i < TOP1 else
              order[1 + i % 4] if i < TOP5 else order[-1])
          for i, order in enumerate(orders)]


def counts(orders, labels):
  """(images, top-1 right, top-5 right) of labels against rankings."""
  return (len(labels), sum(int(o[0] == l) for o, l in zip(orders, labels)),
          sum(int(l in o[:5]) for o, l in zip(orders, labels)))


def write_folder(root, encoded, labels, num_classes):
  """root/class_KK/image_II.(png|jpg): image i in the folder of its label."""
  for k in range(num_classes):
    os.makedirs(os.path.join(root, 'class_%02d' % k))
  for i, (data, label) in enumerate(zip(encoded, labels)):
    name = 'image_%02d.%s' % (i, 'png' if i % 2 else 'jpg')
    with open(os.path.join(root, 'class_%02d' % label, name), 'wb') as f:
      f.write(data)
  return root


def convert(image_dir, output_dir):
  """All of image_dir as the custom dataset's 'validation' split."""
  convert_images.convert(image_dir, output_dir, validation_fraction=1.0,
                         num_shards=2, out=io.StringIO(), err=io.StringIO())
  return output_dir


def custom_split(dataset_dir):
  return dataset_factory.get_dataset('custom', 'validation', dataset_dir)


def evaluate(source, checkpoint, **kwargs):
  kwargs.setdefault('batch_size', 4)
  return eval_image_classifier.evaluate(
      source, checkpoint, eval_image_size=SIZE, out=io.StringIO(), **kwargs)


def metrics(result):
  return result.num_images, result.top1_correct, result.top5_correct


class EvaluateTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'eval_test')
    cls.encoded = make_images(NUM_IMAGES + 1)
    # The trunk's random values (no moving averages in this checkpoint).
    cls.plain_checkpoint = os.path.join(cls.dir, 'plain', 'model.ckpt')
    values = testing.write_checkpoint(cls.plain_checkpoint, NUM_CLASSES,
                                      image_size=107, seed=3)
    features = pooled_features(values, cls.encoded)
    # Variables with one logits layer, EMA shadows with another (the same
    # trunk: the features are both's).
    plain_layer = logits_layer(features, seed=4)
    ema_layer = logits_layer(features, seed=5)
    shadows = dict(values, **ema_layer)
    extra = {name + EMA: value for name, value in shadows.items()}
    extra['global_step'] = np.int64(STEP)
    cls.checkpoint = os.path.join(cls.dir, 'ema', 'model.ckpt')
    testing.write_checkpoint(cls.checkpoint, NUM_CLASSES, image_size=107,
                             seed=3, overrides=plain_layer,
                             extra_variables=extra)
    images = cls.encoded[:NUM_IMAGES]
    cls.orders = rankings(features[:NUM_IMAGES], plain_layer)
    cls.ema_orders = rankings(features[:NUM_IMAGES], ema_layer)
    cls.labels = choose_labels(cls.orders)
    cls.ema_labels = choose_labels(cls.ema_orders)
    cls.folder = write_folder(os.path.join(cls.dir, 'images'), images,
                              cls.labels, NUM_CLASSES)
    cls.records = convert(cls.folder, os.path.join(cls.dir, 'records'))
    # ImageNet-like: class 0 is background (one image), the rest + 1.
    cls.offset_folder = write_folder(
        os.path.join(cls.dir, 'offset_images'), cls.encoded,
        [label + 1 for label in cls.labels] + [0], NUM_CLASSES + 1)
    cls.offset_records = convert(cls.offset_folder,
                                 os.path.join(cls.dir, 'offset_records'))
    cls.ema_folder = write_folder(os.path.join(cls.dir, 'ema_images'), images,
                                  cls.ema_labels, NUM_CLASSES)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def testTheReferenceIsNotDegenerate(self):
    # The images rank the classes differently, so a label paired with the
    # wrong image changes the counts.
    self.assertGreaterEqual(len({o[0] for o in self.orders}), 3)
    self.assertGreaterEqual(len({tuple(o[:5]) for o in self.orders}), 6)
    self.assertNotEqual([list(o) for o in self.orders],
                        [list(o) for o in self.ema_orders])
    self.assertEqual(counts(self.orders, self.labels),
                     (NUM_IMAGES, TOP1, TOP5))
    self.assertNotEqual(counts(self.orders, self.ema_labels),
                        (NUM_IMAGES, TOP1, TOP5))

  def assertAllCounted(self, result):
    self.assertEqual(metrics(result), (NUM_IMAGES, TOP1, TOP5))
    self.assertEqual((result.accuracy, result.recall_5),
                     (TOP1 / NUM_IMAGES, TOP5 / NUM_IMAGES))
    self.assertEqual(
        (result.labels_out_of_range, result.num_classes,
         result.checkpoint_path, result.global_step),
        (0, NUM_CLASSES, self.checkpoint, STEP))

  def testTFRecordsAndFolderWithAPartialLastBatch(self):
    # The TFRecords at the same batch size: testProgressFinalLineAndSummaries
    # (the same run, with progress lines and summaries).
    self.assertAllCounted(evaluate(input_pipeline.ImageFolder(self.folder),
                                   self.checkpoint, batch_size=4))  # 4 + 4 + 3

  def testTheBatchSizeChangesNothing(self):
    folder = input_pipeline.ImageFolder(self.folder)
    for batch_size in (1, 100):
      self.assertEqual(
          metrics(evaluate(folder, self.checkpoint, batch_size=batch_size)),
          (NUM_IMAGES, TOP1, TOP5))

  def testMaxNumBatches(self):
    folder = input_pipeline.ImageFolder(self.folder)
    # The folder's order: by class, then name (image_II).
    first = [int(os.path.basename(p)[6:8]) for p in folder.paths[:8]]
    self.assertEqual(
        metrics(evaluate(folder, self.checkpoint, batch_size=4,
                         max_num_batches=2)),
        counts([self.orders[i] for i in first],
               [self.labels[i] for i in first]))

  def testLabelsOffset(self):
    for source in (custom_split(self.offset_records),
                   input_pipeline.ImageFolder(self.offset_folder)):
      result = evaluate(source, self.checkpoint, labels_offset=1)
      # The background image is counted, and wrong.
      self.assertEqual(metrics(result), (NUM_IMAGES + 1, TOP1, TOP5))
      self.assertEqual(result.labels_out_of_range, 1)
    with self.assertRaisesRegex(
        ValueError, r'^checkpoint %s has 8 classes and the dataset 9; the '
        r"model has the dataset's classes minus --labels_offset, so pass "
        r'--labels_offset=1 \(got 0\)$' % self.checkpoint):
      evaluate(custom_split(self.offset_records), self.checkpoint)
    with self.assertRaisesRegex(ValueError, r'pass --labels_offset=0 \(got '
                                r'1\)$'):
      evaluate(custom_split(self.records), self.checkpoint, labels_offset=1)

  def testMovingAverages(self):
    folder = input_pipeline.ImageFolder(self.ema_folder)
    self.assertEqual(
        metrics(evaluate(folder, self.checkpoint,
                         moving_average_decay=0.9999)),
        (NUM_IMAGES, TOP1, TOP5))
    self.assertEqual(metrics(evaluate(folder, self.checkpoint)),
                     counts(self.orders, self.ema_labels))
    with self.assertRaises(checkpoints.MovingAveragesNotFoundError):
      evaluate(folder, self.plain_checkpoint, moving_average_decay=0.9999)

  def testOptimizedGraph(self):
    self.assertEqual(
        metrics(evaluate(custom_split(self.records), self.checkpoint,
                         optimize=True)), (NUM_IMAGES, TOP1, TOP5))
    self.assertEqual(
        metrics(evaluate(input_pipeline.ImageFolder(self.ema_folder),
                         self.checkpoint, moving_average_decay=0.9999,
                         optimize=True, batch_size=32)),
        (NUM_IMAGES, TOP1, TOP5))

  def testProgressFinalLineAndSummaries(self):
    out = io.StringIO()
    eval_dir = os.path.join(self.dir, 'eval_dir')
    result = eval_image_classifier.evaluate(
        custom_split(self.records), self.checkpoint, batch_size=4,
        eval_image_size=SIZE, eval_dir=eval_dir, out=out,
        progress_interval_secs=0)
    self.assertAllCounted(result)
    lines = out.getvalue().splitlines()
    self.assertLen(lines, 4)
    for line, done in zip(lines, (4, 8, 11)):
      self.assertRegex(line, r'^%d/11 images, \d+\.\d images/s%s$' % (
          done, ', 0:\\d\\d left' if done < 11 else ''))
    self.assertEqual(lines[-1], (
        'Accuracy 0.3636 (4/11), Recall_5 0.6364 (7/11) on 11 images; %s at '
        'step 42; %.1f images/s' % (self.checkpoint, result.images_per_sec)))
    events = [e for path in tf.io.gfile.glob(os.path.join(
        eval_dir, 'events.out.tfevents.*'))
              for e in tf.train.summary_iterator(path) if e.summary.value]
    self.assertEqual(
        [(e.step, v.tag, v.simple_value) for e in events
         for v in e.summary.value],
        [(STEP, 'eval/Accuracy', np.float32(TOP1 / NUM_IMAGES)),
         (STEP, 'eval/Recall_5', np.float32(TOP5 / NUM_IMAGES))])

  def testBadArgumentsFailBeforeAnyGraph(self):
    folder = input_pipeline.ImageFolder(self.folder)
    for kwargs, message in [
        (dict(batch_size=0), 'batch_size must be an integer >= 1, got 0'),
        (dict(max_num_batches=0), 'max_num_batches must be None or an '
         'integer >= 1, got 0'),
        (dict(labels_offset=-1), 'labels_offset must be an integer >= 0'),
        (dict(moving_average_decay=1.0), r'moving_average_decay must be in '
         r'\(0, 1\), got 1.0'),
        (dict(eval_image_size=74), 'eval_image_size must be an integer >= '
         '75, got 74'),
        (dict(num_preprocessing_threads=0), 'num_preprocessing_threads must '
         'be an integer >= 1'),
        (dict(model_name='resnet_v1_50'), 'Name of network unknown'),
        (dict(preprocessing_name='vgg'), "uses slim's vgg_preprocessing"),
        (dict(labels_offset=8), 'labels_offset 8 leaves no classes: the '
         'dataset has 8')]:
      arguments = dict(source=folder, checkpoint_path=self.checkpoint,
                       eval_image_size=SIZE, out=io.StringIO())
      arguments.update(kwargs)
      with self.assertRaisesRegex(ValueError, message):
        eval_image_classifier.evaluate(**arguments)
    with self.assertRaises(checkpoints.CheckpointNotFoundError):
      evaluate(folder, os.path.join(self.dir, 'missing'))

  def testAnImageThatDoesNotDecodeIsNamed(self):
    folder = os.path.join(self.dir, 'broken')
    shutil.copytree(self.folder, folder)
    bad = os.path.join(folder, 'class_%02d' % self.labels[0], 'zz_bad.png')
    with open(bad, 'wb') as f:
      f.write(self.encoded[0][:100])
    with self.assertRaisesRegex(
        ValueError, '^cannot evaluate image %s: cannot decode it' % bad):
      evaluate(input_pipeline.ImageFolder(folder), self.checkpoint)

  def testClassCountHints(self):
    check = eval_image_classifier.check_num_classes
    with self.assertRaisesRegex(
        ValueError, r'pass --labels_offset=1 \(got 0\): a 1000-class '
        r"checkpoint on slim's 1001-label ImageNet$"):
      check(1000, 1001, 0, 'c.ckpt')
    check(1000, 1001, 1)
    check(1001, 1001, 0)
    check(1001, 1000, 0)  # Left to restore_fn's mismatch error.


class CliTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'eval_cli_test')
    cls.checkpoint = os.path.join(cls.dir, 'train', 'model.ckpt-7')
    testing.write_checkpoint(cls.checkpoint, 3, image_size=107, seed=6,
                             extra_variables={'global_step': np.int64(7)})
    encoded = make_images(5)
    cls.folder = write_folder(os.path.join(cls.dir, 'images'), encoded,
                              [0, 1, 2, 2, 0], 3)
    cls.records = convert(cls.folder, os.path.join(cls.dir, 'records'))
    cls.two_classes = write_folder(os.path.join(cls.dir, 'two'), encoded,
                                   [0, 1, 1, 0, 0], 2)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def run_eval(self, *args):
    return testing.run_tool('nets.eval_image_classifier',
                            '--checkpoint_path=' + os.path.dirname(
                                self.checkpoint), '--eval_image_size=%d' % SIZE,
                            *args)

  def testEvaluatesWritingJsonAndSummaries(self):
    json_path = os.path.join(self.dir, 'result.json')
    args = ('--dataset_name=custom', '--dataset_dir=' + self.records,
            '--batch_size=2', '--json_output=' + json_path,
            '--eval_dir=' + os.path.join(self.dir, 'eval'))
    rc, out, err = self.run_eval(*args)
    self.assertEqual((rc, err), (0, []))
    final = out.splitlines()[-1]
    match = re.match(r'^Accuracy (\d\.\d{4}) \((\d)/5\), Recall_5 1\.0000 '
                     r'\(5/5\) on 5 images; %s at step 7; \d+\.\d images/s$'
                     % self.checkpoint, final)
    self.assertIsNotNone(match, final)
    with open(json_path) as f:
      record = json.load(f)
    self.assertEqual(
        [record[k] for k in ('num_images', 'top1_correct', 'top5_correct',
                             'recall_5', 'global_step', 'dataset_name',
                             'dataset_split_name', 'batch_size',
                             'eval_image_size', 'num_classes')],
        [5, int(match.group(2)), 5, 1.0, 7, 'custom', 'validation', 2, SIZE,
         3])
    self.assertEqual('%.4f' % record['accuracy'], match.group(1))
    self.assertEqual(
        testing.summary_values(os.path.join(self.dir, 'eval')),
        {'eval/Accuracy': [np.float32(record['accuracy'])],
         'eval/Recall_5': [1.0]})

    rc, out, err = self.run_eval(*args)
    self.assertEqual((rc, out), (1, ''))
    self.assertEqual(err, ['nets.eval_image_classifier: error: %s exists (a '
                           'file); pass --overwrite to replace it' % json_path])
    # The folder, as it is: the same counts.
    rc, out, err = self.run_eval('--image_dir=' + self.folder,
                                 '--json_output=' + json_path, '--overwrite')
    self.assertEqual((rc, err), (0, []))
    self.assertEqual(out.splitlines()[-1].split(';')[0], final.split(';')[0])
    with open(json_path) as f:
      self.assertEqual(json.load(f)['image_dir'], self.folder)

  def write_records(self, name, labels, labels_text):
    """A custom dataset of 3 classes whose records have `labels`."""
    dataset_dir = os.path.join(self.dir, name)
    os.makedirs(dataset_dir)
    encoded = make_images(len(labels))
    testing.write_tfrecord(
        os.path.join(dataset_dir, custom.SHARD_NAME % ('validation', 0, 1)),
        [dataset_utils.image_to_tfexample(data, b'png', 1, 1, label)
         for data, label in zip(encoded, labels)])
    custom.write_metadata(dataset_dir, 3, {'validation': len(labels)})
    with open(os.path.join(dataset_dir, 'labels.txt'), 'wb') as f:
      f.write(labels_text)
    return dataset_dir

  def testNoLabelInRangeIsAnErrorSomeIsANoteAndACount(self):
    eval_dir = os.path.join(self.dir, 'out_of_range_eval')
    json_path = os.path.join(self.dir, 'out_of_range.json')
    # Labels of another dataset (3..5 for a 3-class model): an error, and
    # nothing written.
    wrong = self.write_records('other_labels', [3, 4, 5, 3],
                               b'0:a\n1:b\n2:c\n')
    rc, out, err = self.run_eval('--dataset_name=custom',
                                 '--dataset_dir=' + wrong,
                                 '--eval_dir=' + eval_dir,
                                 '--json_output=' + json_path)
    self.assertEqual((rc, out), (1, ''))
    self.assertEqual(err, [
        'nets.eval_image_classifier: error: none of the 4 labels (after '
        "--labels_offset=0) is in 0..2, the model's classes: a wrong "
        '--labels_offset, or a dataset with other labels'])
    self.assertFalse(os.path.exists(json_path))
    self.assertEqual(os.listdir(eval_dir) if os.path.exists(eval_dir) else
                     [], [])
    # One of 4 out of range: counted as wrong, said twice. The labels file
    # comes from a Windows editor (byte-order mark, CRLF): accepted.
    some = self.write_records('some_out_of_range', [0, 1, 7, 2],
                              '\ufeff0:a\r\n1:b\r\n2:c\r\n'.encode())
    rc, out, err = self.run_eval('--dataset_name=custom',
                                 '--dataset_dir=' + some)
    self.assertEqual((rc, err), (0, []))
    lines = out.splitlines()
    self.assertEqual(lines[-2], 'Note: 1 labels (after --labels_offset=0) '
                     'were outside 0..2 and counted as wrong.')
    self.assertRegex(lines[-1], r'^Accuracy \d\.\d{4} \([0-3]/4\), '
                     r'Recall_5 0\.7500 \(3/4\) on 4 images \(1 with a label '
                     r"outside the model's classes, counted as wrong\); ")

  @testing.needs_tmpfs
  def testSummariesOnAFullDiskAreOneErrorLineAndNothingHalfWritten(self):
    disk = os.path.join(self.dir, 'full_disk')
    os.makedirs(disk)
    rc, out, err = testing.run_tool_on_small_disk(
        'nets.eval_image_classifier', disk, '--checkpoint_path=' +
        self.checkpoint, '--eval_image_size=%d' % SIZE,
        '--image_dir=' + self.folder, '--eval_dir=' + disk, size='64k',
        full=True)
    self.assertEqual(rc, 1, msg=err)
    self.assertLen(err, 1, msg=err)
    self.assertRegex(err[0], r'^nets\.eval_image_classifier: error: cannot '
                     r'write %s/events\.out\.tfevents\.\d+\.\S+: no space '
                     r'left on device \(nothing was written\)$' %
                     re.escape(disk))
    # The counts were printed before the failed write, and the full disk
    # holds nothing but its filler (no partial events file).
    self.assertStartsWith(out.splitlines()[-1], 'Accuracy ')
    with open(disk + '.after') as f:
      self.assertEqual(f.read().split(), ['.filler'])

  def testHelp(self):
    rc, out, err = testing.run_tool('nets.eval_image_classifier', '--help')
    self.assertEqual((rc, err), (0, []))
    for flag in ('--checkpoint_path', '--dataset_name', '--dataset_split_name',
                 '--dataset_dir', '--image_dir', '--batch_size',
                 '--max_num_batches', '--labels_offset',
                 '--moving_average_decay', '--eval_image_size',
                 '--num_preprocessing_threads', '--model_name',
                 '--preprocessing_name', '--eval_dir', '--json_output',
                 '--[no]overwrite', '--[no]optimize'):
      self.assertIn(flag, out)

  def testErrorsAreOneLine(self):
    empty = os.path.join(self.dir, 'empty')
    os.makedirs(empty)
    a_file = os.path.join(self.dir, 'a_file')
    with open(a_file, 'w') as f:
      f.write('x')
    records = '--dataset_dir=' + self.records
    # A metadata.json that points out of its folder, at another dataset.
    escaping = os.path.join(self.dir, 'escaping')
    shutil.copytree(self.records, escaping)
    with open(os.path.join(escaping, 'metadata.json')) as f:
      metadata = json.load(f)
    metadata['file_pattern'] = '../records/custom_%s_*.tfrecord'
    with open(os.path.join(escaping, 'metadata.json'), 'w') as f:
      json.dump(metadata, f)
    # A label listed twice in labels.txt.
    twice = os.path.join(self.dir, 'twice')
    shutil.copytree(self.records, twice)
    with open(os.path.join(twice, 'labels.txt'), 'w') as f:
      f.write('0:a\n1:b\n2:c\n1:d\n')
    # A file name that is not UTF-8 (os.fsdecode's escape for byte 0xff).
    not_utf8 = os.path.join(self.dir, 'not_utf8')
    shutil.copytree(self.folder, not_utf8)
    shutil.copy(os.path.join(self.folder, 'class_00', 'image_00.jpg'),
                os.path.join(not_utf8, 'class_01', 'caf\udcff.jpg'))
    for args, message in [
        (('--dataset_dir=' + escaping, '--dataset_name=custom'),
         'metadata file %s/metadata.json is malformed: "file_pattern" '
         "'../records/custom_%%s_*.tfrecord' leads out of the dataset folder "
         '(it must be relative, without "..")' % escaping),
        (('--dataset_dir=' + twice, '--dataset_name=custom'),
         'Labels file %s/labels.txt: line 4 lists label 1 again (first on '
         'line 2)' % twice),
        (('--image_dir=' + not_utf8,), 'the name of %s/class_01/caf\\xff.jpg '
         'is not UTF-8, which TensorFlow cannot open; rename it' % not_utf8),
        (('--dataset_dir=' + self.dir + '/caf\udcff', '--dataset_name=custom'),
         'the name of %s/caf\\xff is not UTF-8' % self.dir),
        (('--checkpoint_path=' + os.path.join(self.dir, 'none'), records,
          '--dataset_name=custom'), 'No checkpoint at %s' % os.path.join(
              self.dir, 'none')),
        (('--dataset_name=custom',), 'give --dataset_dir (slim TFRecords) or '
         '--image_dir (a folder of class subfolders), not neither'),
        ((records, '--image_dir=' + self.folder), 'give --dataset_dir'),
        ((records, '--dataset_name=cifar10'),
         'flag --dataset_name=cifar10: value should be one of'),
        ((records, '--dataset_name=custom', '--dataset_split_name=test'),
         "split_name 'test' was not recognized"),
        ((records, '--dataset_name=flowers'), 'no files match %s/flowers_'
         'validation_*.tfrecord' % self.records),
        (('--dataset_dir=' + empty, '--dataset_name=custom'),
         'the custom dataset in %s has no metadata file' % empty),
        ((records, '--dataset_name=custom', '--labels_offset=1'),
         r'checkpoint %s has 3 classes and the dataset 3' % self.checkpoint),
        (('--image_dir=' + self.two_classes,), 'Checkpoint %s does not match '
         'the model' % self.checkpoint),
        (('--image_dir=' + self.folder, '--moving_average_decay=0.999'),
         'Checkpoint %s has no moving averages' % self.checkpoint),
        (('--image_dir=' + self.folder, '--eval_image_size=60'),
         'flag --eval_image_size=60: '),
        (('--image_dir=' + self.folder, '--batch_size=0'),
         'flag --batch_size=0: '),
        (('--image_dir=' + self.folder, '--preprocessing_name=vgg'),
         "name 'vgg' uses slim's vgg_preprocessing"),
        (('--image_dir=' + self.folder, '--eval_dir=' + a_file + '/eval'),
         'cannot write %s/eval/events.out.tfevents' % a_file),
        (('--image_dir=' + self.folder, '--json_output=' + empty),
         '%s is a directory; give a file name' % empty)]:
      rc, out, err = self.run_eval(*args)
      self.assertEqual((rc, out), (1, ''), msg=args)
      self.assertLen(err, 1, msg=err)
      self.assertStartsWith(
          err[0], 'nets.eval_image_classifier: error: ' + message)


if __name__ == '__main__':
  tf.test.main()
