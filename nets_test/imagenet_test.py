"""Tests of nets.imagenet: the shipped class names, slim's ImageNet Dataset."""

import collections
import hashlib
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

from nets import dataset_utils
from nets import imagenet
from nets_test import testing

SYNSETS_PATH = os.path.join(os.path.dirname(imagenet.__file__),
                            imagenet.SYNSETS_FILE)


class LabelsFileTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    with open(SYNSETS_PATH, encoding='utf-8') as f:
      lines = f.read().splitlines(keepends=True)
    cls.header = ''.join(line for line in lines if line.startswith('#'))
    cls.data_lines = [line for line in lines if not line.startswith('#')]
    cls.names = imagenet.create_readable_names_for_imagenet_labels()

  def testChecksumInHeaderMatchesTheData(self):
    recorded = re.search(r'^# data-sha256: ([0-9a-f]{64})$', self.header, re.M)
    self.assertIsNotNone(recorded, self.header)
    actual = hashlib.sha256(''.join(self.data_lines).encode('utf-8'))
    self.assertEqual(actual.hexdigest(), recorded.group(1))

  def testHeaderSaysWhereTheDataCameFrom(self):
    for source in ('timm 1.0.31', 'timm-1.0.31-py3-none-any.whl',
                   'timm/data/_info/imagenet_synsets.txt',
                   'timm/data/_info/imagenet_synset_to_lemma.txt'):
      self.assertIn(source, self.header)

  def testThousandDistinctSynsetsInSortedOrder(self):
    synsets = [line.split('\t')[0] for line in self.data_lines]
    self.assertLen(synsets, 1000)
    self.assertLen(set(synsets), 1000)
    self.assertEqual(synsets, sorted(synsets))
    for synset in synsets:
      self.assertRegex(synset, r'^n\d{8}$')
    self.assertEqual((synsets[0], synsets[-1]), ('n01440764', 'n15075141'))
    self.assertEqual(imagenet.synsets_and_names()[0],
                     ('n01440764', 'tench, Tinca tinca'))

  def testSlimsLabelsAndNames(self):
    self.assertEqual(sorted(self.names), list(range(1001)))
    # Slim's labels are the ImageNet (Keras) class index + 1.
    expected = {
        0: 'background',
        1: 'tench, Tinca tinca',
        2: 'goldfish, Carassius auratus',
        135: 'crane',  # n02012849, the bird
        208: 'golden retriever',
        282: 'tabby, tabby cat',
        518: 'crane',  # n03126707, the machine
        639: 'maillot',
        640: 'maillot, tank suit',
        955: 'banana',
        1000: 'toilet tissue, toilet paper, bathroom tissue',
    }
    for label, name in expected.items():
      self.assertEqual(self.names[label], name, label)

  def testNamesAreLemmasJoinedByCommaSpace(self):
    for label, name in self.names.items():
      self.assertNotIn('\t', name)
      lemmas = name.split(', ')
      self.assertEqual([l.strip() for l in lemmas if l.strip()], lemmas,
                       label)
    counts = collections.Counter(self.names.values())
    self.assertEqual([n for n, c in counts.items() if c > 1], ['crane'])

  def testEachCallReturnsANewDict(self):
    names = imagenet.create_readable_names_for_imagenet_labels()
    names[1] = 'changed'
    self.assertEqual(imagenet.create_readable_names_for_imagenet_labels()[1],
                     'tench, Tinca tinca')


class GetSplitTest(tf.test.TestCase):

  def testSplitsClassesAndFiles(self):
    directory = self.get_temp_dir()
    for split, size in (('train', 1281167), ('validation', 50000)):
      with tf.Graph().as_default():
        dataset = imagenet.get_split(split, directory)
      self.assertEqual(dataset.num_samples, size)
      self.assertEqual(dataset.num_classes, 1001)
      self.assertEqual(dataset.data_sources,
                       os.path.join(directory, split + '-*'))
      self.assertIs(dataset.reader, tf.TFRecordReader)
    items = ['image', 'label', 'label_text', 'object/bbox', 'object/label']
    self.assertCountEqual(dataset.items_to_descriptions, items)
    self.assertCountEqual(dataset.decoder.list_items(), items)

  def testLabelsToNamesAreTheShippedNames(self):
    with tf.Graph().as_default():
      dataset = imagenet.get_split('train', self.get_temp_dir())
    self.assertEqual(dataset.labels_to_names,
                     imagenet.create_readable_names_for_imagenet_labels())

  def testLabelsFileInDatasetDirIsUsed(self):
    directory = os.path.join(self.get_temp_dir(), 'with_labels')
    os.makedirs(directory)
    dataset_utils.write_label_file({0: 'none', 1: 'a fish'}, directory)
    with tf.Graph().as_default():
      dataset = imagenet.get_split('validation', directory)
    self.assertEqual(dataset.labels_to_names, {0: 'none', 1: 'a fish'})

  def testLoadReadableNamesFalseLeavesThemOut(self):
    imagenet.LOAD_READABLE_NAMES = False
    try:
      with tf.Graph().as_default():
        dataset = imagenet.get_split('train', self.get_temp_dir())
    finally:
      imagenet.LOAD_READABLE_NAMES = True
    self.assertIsNone(dataset.labels_to_names)

  def testWritesNothingEvenWithAnEmptyDatasetDir(self):
    empty = os.path.join(self.get_temp_dir(), 'empty_cwd')
    os.makedirs(empty)
    cwd = os.getcwd()
    os.chdir(empty)
    try:
      with tf.Graph().as_default():
        dataset = imagenet.get_split('train', '')  # As slim's export script.
        imagenet.get_split('validation', empty)
    finally:
      os.chdir(cwd)
    self.assertEqual(os.listdir(empty), [])
    self.assertEqual(dataset.data_sources, 'train-*')
    self.assertLen(dataset.labels_to_names, 1001)

  def testFilePatternAndReader(self):
    with tf.Graph().as_default():
      dataset = imagenet.get_split('train', '/data', file_pattern='im_%s.rec',
                                   reader=tf.WholeFileReader)
    self.assertEqual(dataset.data_sources, '/data/im_train.rec')
    self.assertIs(dataset.reader, tf.WholeFileReader)

  def testUnknownSplit(self):
    with self.assertRaisesRegex(
        ValueError, "split_name 'test' was not recognized; the splits are "
        "'train', 'validation'"):
      imagenet.get_split('test', '/data')

  def testADatasetDirThatIsNotAPathIsAValueErrorBeforeAnyOp(self):
    for dataset_dir in (None, 123, b'/data'):
      with tf.Graph().as_default() as graph:
        with self.assertRaisesRegex(
            ValueError, r"^dataset_dir must be the path of the dataset's "
            r'folder \(a str or os.PathLike of one\), got '):
          imagenet.get_split('train', dataset_dir)
        self.assertEqual(graph.get_operations(), [])

  def testFilePatternWithoutPlaceholder(self):
    with self.assertRaisesRegex(ValueError,
                                "file_pattern must contain one '%s'.*'x-%d'"):
      imagenet.get_split('train', '/data', file_pattern='x-%d')


def _imagenet_example(encoded, image_format, label, boxes):
  """A tf.train.Example as slim's build_imagenet_data.py writes it."""
  def floats(index):
    return dataset_utils.float_feature([float(b[index]) for b in boxes])
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': dataset_utils.bytes_feature(encoded),
      'image/format': dataset_utils.bytes_feature(image_format),
      'image/class/label': dataset_utils.int64_feature(label),
      'image/class/text': dataset_utils.bytes_feature(
          ('class %d' % label).encode()),
      'image/object/bbox/ymin': floats(0),
      'image/object/bbox/xmin': floats(1),
      'image/object/bbox/ymax': floats(2),
      'image/object/bbox/xmax': floats(3),
      'image/object/class/label': dataset_utils.int64_feature(
          [label] * len(boxes)),
  }))


class DecodeTest(tf.test.TestCase):
  """Records written as slim's converter writes them, read back."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.directory = os.path.join(tf.test.get_temp_dir(), 'imagenet_records')
    os.makedirs(cls.directory, exist_ok=True)
    rng = np.random.RandomState(0)
    cls.records = {}  # label -> (image, format, boxes)
    for label, (height, width) in zip((1, 5, 600, 1000, 42),
                                      ((6, 8), (16, 12), (9, 5), (8, 16),
                                       (7, 7))):
      if label % 2:
        image = rng.randint(0, 256, (height, width, 3)).astype(np.uint8)
        image_format = b'png'
      else:  # Smooth gray images, so JPEG's error stays small.
        ramp = np.add.outer(np.arange(height), np.arange(width)) * 6
        image = np.repeat(ramp[:, :, None], 3, axis=2).astype(np.uint8)
        image_format = b'jpeg'
      boxes = [(0.1 * k, 0.2 * k, 0.5 + 0.1 * k, 0.6 + 0.1 * k)
               for k in range(label % 3)]
      cls.records[label] = (image, image_format, np.array(boxes, np.float32))
    files = {'train-00000-of-00002': [1, 5],
             'train-00001-of-00002': [600, 1000],
             'validation-00000-of-00001': [42]}
    for name, file_labels in files.items():
      examples = []
      for label in file_labels:
        image, image_format, boxes = cls.records[label]
        encoded = testing.encode_images([image], image_format.decode())[0]
        examples.append(_imagenet_example(encoded, image_format, label, boxes))
      testing.write_tfrecord(os.path.join(cls.directory, name), examples)

  def read(self, split, count, **provider_kwargs):
    dataset = imagenet.get_split(split, self.directory)
    items = ['image', 'label', 'label_text', 'object/bbox', 'object/label']
    return testing.read_items(dataset, items, count, **provider_kwargs)

  def testItemsAreWhatWasWritten(self):
    read = self.read('train', 4)
    self.assertCountEqual([r[1] for r in read], [1, 5, 600, 1000])
    for image, label, text, boxes, object_labels in read:
      expected, image_format, expected_boxes = self.records[label]
      self.assertEqual(image.dtype, np.uint8)
      if image_format == b'png':
        self.assertAllEqual(image, expected)
      else:
        self.assertEqual(image.shape, expected.shape)
        self.assertLess(np.abs(image.astype(float) - expected).max(), 8)
      self.assertEqual(text, b'class %d' % label)
      self.assertAllEqual(boxes.shape, (label % 3, 4))
      self.assertAllClose(boxes, expected_boxes.reshape(-1, 4), rtol=0,
                          atol=1e-7)
      self.assertAllEqual(object_labels, [label] * (label % 3))

  def testSplitPatternSelectsTheSplitsFiles(self):
    self.assertEqual([r[1] for r in self.read('validation', 3)], [42] * 3)
    labels = [r[1] for r in self.read('train', 8)]
    self.assertEqual(collections.Counter(labels),
                     {1: 2, 5: 2, 600: 2, 1000: 2})

  def testShuffledParallelReaders(self):
    read = self.read('train', 8, num_readers=2, shuffle=True,
                     common_queue_capacity=16, common_queue_min=4)
    self.assertLessEqual({r[1] for r in read}, {1, 5, 600, 1000})
    for image, label, _, _, _ in read:
      self.assertEqual(image.shape, self.records[label][0].shape)


if __name__ == '__main__':
  tf.test.main()
