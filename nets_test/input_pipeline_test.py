"""Tests of nets.input_pipeline on small TFRecords and image folders."""

import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

from nets import cli
from nets import dataset_utils
from nets import flowers
from nets import input_pipeline
from nets_test import testing

SIZE = 8


def _identity(image, height, width):
  """A preprocess_fn that keeps the pixels (for exact checks)."""
  return tf.image.resize_with_crop_or_pad(tf.cast(image, tf.float32), height,
                                          width)


def _pictures(count):
  """`count` uint8 SIZE x SIZE pictures; picture i is filled with i."""
  return [np.full([SIZE, SIZE, 3], i, np.uint8) for i in range(count)]


def _run_all(images, labels):
  """Every batch until the end: (list of image batches, list of labels)."""
  got_images, got_labels = [], []
  with tf.Session() as sess:
    try:
      while True:
        i, l = sess.run([images, labels])
        got_images.append(i)
        got_labels.append(l)
    except tf.errors.OutOfRangeError:
      pass
  return got_images, got_labels


class InputPipelineTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tf.test.get_temp_dir()
    # Flowers-style records: 11 PNG pictures in 3 files, labels i % 5.
    cls.records = os.path.join(cls.dir, 'records')
    os.makedirs(cls.records)
    cls.pictures = _pictures(11)
    encoded = testing.encode_images(cls.pictures, 'png')
    for shard, indices in enumerate([range(0, 4), range(4, 8), range(8, 11)]):
      testing.write_tfrecord(
          os.path.join(cls.records,
                       'flowers_validation_%05d-of-00003.tfrecord' % shard),
          [dataset_utils.image_to_tfexample(encoded[i], b'png', SIZE, SIZE,
                                            i % 5) for i in indices])
    # A folder of 2 classes: 'b_dogs' sorts after 'a_cats'.
    cls.folder = os.path.join(cls.dir, 'folder')
    files = {'a_cats': [0, 1, 2], 'b_dogs': [3, 4]}
    for name, indices in files.items():
      os.makedirs(os.path.join(cls.folder, name))
      for i in indices:
        with open(os.path.join(cls.folder, name, '%d.png' % i), 'wb') as f:
          f.write(encoded[i])
    with open(os.path.join(cls.folder, 'a_cats', 'notes.txt'), 'w') as f:
      f.write('not an image')
    os.makedirs(os.path.join(cls.folder, '.hidden'))

  def flowers(self):
    return flowers.get_split('validation', self.records)

  def testEvaluationReadsEveryRecordOnceInOrderWithAPartialBatch(self):
    with tf.Graph().as_default():
      images, labels = input_pipeline.batches(
          input_pipeline.examples(self.flowers()), _identity, SIZE,
          batch_size=4)
      self.assertEqual(images.shape.as_list(), [None, SIZE, SIZE, 3])
      got_images, got_labels = _run_all(images, labels)
    self.assertEqual([len(l) for l in got_labels], [4, 4, 3])
    self.assertEqual(list(np.concatenate(got_labels)),
                     [i % 5 for i in range(11)])
    self.assertAllEqual(np.concatenate(got_images),
                        np.array(self.pictures, np.float32))

  def testLabelsOffset(self):
    with tf.Graph().as_default():
      images, labels = input_pipeline.batches(
          input_pipeline.examples(self.flowers()), _identity, SIZE, 11,
          labels_offset=1)
      _, got = _run_all(images, labels)
    self.assertEqual(list(got[0]), [i % 5 - 1 for i in range(11)])

  def testPreprocessingRunsAsWrittenNotConvertedByAutoGraph(self):
    # Graph-mode code, as slim's: AutoGraph would turn this `if` on a tensor
    # into a tf.cond (at ~2 s of CPU per tool start); as written it fails.
    def python_if(image, height, width):
      del height, width
      if tf.reduce_mean(tf.cast(image, tf.float32)) > 0:
        return tf.cast(image, tf.float32)
      return tf.zeros_like(image, tf.float32)

    with tf.Graph().as_default():
      with self.assertRaisesRegex(TypeError, 'symbolic `tf.Tensor` as a Python `bool`'):
        input_pipeline.batches(input_pipeline.examples(self.flowers()),
                               python_if, SIZE, batch_size=4)

  def testTrainingShufflesRepeatsAndDropsPartialBatches(self):
    with tf.Graph().as_default():
      # A buffer of one example keeps each epoch whole (the files are still
      # shuffled and interleaved), so 44 are 4 epochs: from the default
      # buffer of 1024 repeated examples, 44 draws missed one of the 11
      # about one run in six.
      images, labels = input_pipeline.batches(
          input_pipeline.examples(self.flowers(), training=True, seed=3,
                                  shuffle_buffer=1, repeatable=True),
          _identity, SIZE, batch_size=4, training=True, repeatable=True)
      self.assertEqual(images.shape.as_list(), [4, SIZE, SIZE, 3])
      with tf.Session() as sess:
        batches = [sess.run([images, labels]) for _ in range(11)]
    seen = np.concatenate([b[0][:, 0, 0, 0] for b in batches]).astype(int)
    self.assertLen(seen, 44)  # Past the first epoch: it repeats.
    self.assertEqual(set(seen), set(range(11)))
    self.assertNotEqual(list(seen[:11]), list(range(11)))  # Shuffled.
    for image_batch, label_batch in batches:  # Labels stay with their image.
      self.assertAllEqual(image_batch[:, 0, 0, 0].astype(int) % 5,
                          label_batch)

  def testShardsSplitTheExamples(self):
    seen = []
    for shard in range(2):
      with tf.Graph().as_default():
        images, labels = input_pipeline.batches(
            input_pipeline.examples(self.flowers(), num_shards=2,
                                    shard_index=shard), _identity, SIZE, 11)
        got, _ = _run_all(images, labels)
      seen.append(sorted(got[0][:, 0, 0, 0].astype(int)))
    self.assertEqual(sorted(seen[0] + seen[1]), list(range(11)))
    self.assertTrue(seen[0] and seen[1])
    with self.assertRaisesRegex(ValueError, r'shard_index must be in \[0, '
                                r'num_shards\), got 2 of 2'):
      input_pipeline.examples(self.flowers(), num_shards=2, shard_index=2)

  def testImageFolder(self):
    folder = input_pipeline.ImageFolder(self.folder)
    self.assertEqual(folder.class_names, ['a_cats', 'b_dogs'])
    self.assertEqual(folder.labels_to_names, {0: 'a_cats', 1: 'b_dogs'})
    self.assertEqual((folder.num_classes, folder.num_samples), (2, 5))
    self.assertEqual([os.path.relpath(p, self.folder) for p in folder.paths],
                     ['a_cats/0.png', 'a_cats/1.png', 'a_cats/2.png',
                      'b_dogs/3.png', 'b_dogs/4.png'])
    with tf.Graph().as_default():
      images, labels = input_pipeline.batches(
          input_pipeline.examples(folder), _identity, SIZE, batch_size=2)
      got_images, got_labels = _run_all(images, labels)
    self.assertEqual(list(np.concatenate(got_labels)), [0, 0, 0, 1, 1])
    self.assertAllEqual(np.concatenate(got_images),
                        np.array(self.pictures[:5], np.float32))

  def testAFileThatDoesNotDecodeIsNamedInEvaluationAndTraining(self):
    folder = os.path.join(self.get_temp_dir(), 'one_bad')
    os.makedirs(os.path.join(folder, 'a'))
    os.makedirs(os.path.join(folder, 'b'))
    good = testing.encode_images(self.pictures[:2], 'png')
    for name, data in (('a/0.png', good[0]), ('b/1.png', good[1]),
                       ('b/2.png', good[1][:40])):  # Cut short.
      with open(os.path.join(folder, name), 'wb') as f:
        f.write(data)
    source = input_pipeline.ImageFolder(folder)
    for training in (False, True):
      with tf.Graph().as_default():
        images, _ = input_pipeline.batches(
            input_pipeline.examples(source, training=training), _identity,
            SIZE, batch_size=2, training=training)
        with tf.Session() as sess:
          with self.assertRaises(tf.errors.InvalidArgumentError) as caught:
            for _ in range(5):
              sess.run(images)
      self.assertEqual(cli.reason(caught.exception),
                       'cannot read or decode image file %s/b/2.png (not a '
                       'JPEG, PNG, GIF or BMP that decodes)' % folder)

  def testNamesThatAreNotUtf8AreNamedEscaped(self):
    folder = os.path.join(self.get_temp_dir(), 'not_utf8')
    os.makedirs(os.path.join(folder, 'a'))
    with open(os.path.join(folder, 'a', '\udcff.png'), 'wb') as f:
      f.write(b'')
    with self.assertRaisesRegex(ValueError, r'^the name of %s/a/\\xff\.png is '
                                r'not UTF-8, which TensorFlow cannot open; '
                                r'rename it$' % re.escape(folder)):
      input_pipeline.ImageFolder(folder)
    with self.assertRaisesRegex(ValueError, r'^the name of %s/\\xfe is not '
                                r'UTF-8' % re.escape(folder)):
      input_pipeline.ImageFolder(folder + '/\udcfe')

  def testTheTrainerNamesAFileThatDoesNotDecode(self):
    # As a user meets it: one line, the file named, no half-written
    # checkpoint left.
    folder = os.path.join(self.get_temp_dir(), 'train_images')
    for k, name in enumerate(['a/0.png', 'b/1.png', 'b/2.jpg']):
      os.makedirs(os.path.join(folder, os.path.dirname(name)), exist_ok=True)
      with open(os.path.join(folder, name), 'wb') as f:
        f.write(b'not an image' if k == 2 else
                testing.encode_images([np.zeros([80, 80, 3], np.uint8)],
                                      'png')[0])
    train_dir = os.path.join(self.get_temp_dir(), 'train_dir')
    rc, _, err = testing.run_tool(
        'nets.train_image_classifier', '--train_dir=' + train_dir,
        '--image_dir=' + folder, '--train_image_size=75', '--batch_size=2',
        '--max_number_of_steps=4', '--num_readers=1', '--optimizer=sgd',
        '--trainable_scopes=InceptionV3/Logits', '--freeze_batch_norm')
    self.assertEqual(rc, 1, msg=err)
    self.assertEqual(err, ['nets.train_image_classifier: error: cannot read '
                           'or decode image file %s/b/2.jpg (not a JPEG, PNG, '
                           'GIF or BMP that decodes)' % folder])
    self.assertEqual([name for name in os.listdir(train_dir)
                      if 'temp' in name or 'partial' in name], [])

  def testErrors(self):
    empty = os.path.join(self.get_temp_dir(), 'empty')
    os.makedirs(os.path.join(empty, 'only_text'))
    with open(os.path.join(empty, 'only_text', 'a.txt'), 'w') as f:
      f.write('x')
    for path, message in (
        (os.path.join(self.get_temp_dir(), 'missing'), 'is not a directory'),
        (os.path.join(empty, 'only_text'), 'has no class subfolders'),
        (empty, 'has no image files')):
      with self.assertRaisesRegex(ValueError, message):
        input_pipeline.ImageFolder(path)
    with self.assertRaisesRegex(ValueError, r'^no files match .*/nowhere/'
                                r'flowers_validation_\*\.tfrecord$'):
      input_pipeline.examples(flowers.get_split('validation', '/nowhere'))
    with tf.Graph().as_default():
      examples = input_pipeline.examples(self.flowers())
      for kwargs, message in (({'batch_size': 0}, 'batch_size must be at '
                               'least 1'),
                              ({'batch_size': 2, 'labels_offset': -1},
                               'labels_offset must be >= 0')):
        with self.assertRaisesRegex(ValueError, message):
          input_pipeline.batches(examples, _identity, SIZE, **kwargs)


if __name__ == '__main__':
  tf.test.main()
