"""Tests of nets.dataset_utils, nets.flowers and nets.dataset_factory."""

import contextlib
import http.server
import io
import os
import pathlib
import re
import tarfile
import threading
import urllib.error
import zipfile

import numpy as np
import tensorflow.compat.v1 as tf

from nets import custom
from nets import dataset_factory
from nets import dataset_utils
from nets import flowers
from nets import imagenet
from nets_test import testing

FLOWER_NAMES = {0: 'daisy', 1: 'dandelion', 2: 'roses', 3: 'sunflowers',
                4: 'tulips'}


def _quiet(function, *args):
  """function(*args) with stdout captured; returns (result, stdout)."""
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    result = function(*args)
  return result, out.getvalue()


class FeaturesTest(tf.test.TestCase):

  def testScalarsAndLists(self):
    self.assertEqual(dataset_utils.int64_feature(3).int64_list.value, [3])
    self.assertEqual(dataset_utils.int64_feature([1, 2]).int64_list.value,
                     [1, 2])
    self.assertEqual(dataset_utils.int64_feature((4,)).int64_list.value, [4])
    self.assertEqual(dataset_utils.float_feature(0.5).float_list.value, [0.5])
    self.assertEqual(
        dataset_utils.float_feature([0.25, 1.5]).float_list.value, [0.25, 1.5])
    self.assertEqual(
        dataset_utils.float_list_feature([2.0]).float_list.value, [2.0])
    self.assertEqual(dataset_utils.bytes_feature(b'ab').bytes_list.value,
                     [b'ab'])
    self.assertEqual(
        dataset_utils.bytes_list_feature([b'a', b'b']).bytes_list.value,
        [b'a', b'b'])

  def testImageToTfexample(self):
    example = dataset_utils.image_to_tfexample(b'\x89PNG', b'png', 6, 8, 3)
    feature = example.features.feature
    self.assertCountEqual(feature, ['image/encoded', 'image/format',
                                    'image/class/label', 'image/height',
                                    'image/width'])
    self.assertEqual(feature['image/encoded'].bytes_list.value, [b'\x89PNG'])
    self.assertEqual(feature['image/format'].bytes_list.value, [b'png'])
    self.assertEqual(feature['image/class/label'].int64_list.value, [3])
    self.assertEqual(feature['image/height'].int64_list.value, [6])
    self.assertEqual(feature['image/width'].int64_list.value, [8])


class LabelFileTest(tf.test.TestCase):

  def directory(self, name):
    path = os.path.join(self.get_temp_dir(), name)
    os.makedirs(path, exist_ok=True)
    return path

  def testWriteReadRoundTrip(self):
    directory = self.directory('round_trip')
    names = {0: 'daisy', 1: 'lily of the valley', 7: 'a:b', 3: 'ünïcode'}
    self.assertFalse(dataset_utils.has_labels(directory))
    dataset_utils.write_label_file(names, directory)
    self.assertTrue(dataset_utils.has_labels(directory))
    with open(os.path.join(directory, 'labels.txt'), encoding='utf-8') as f:
      self.assertEqual(f.read(),
                       '0:daisy\n1:lily of the valley\n7:a:b\n3:ünïcode\n')
    read = dataset_utils.read_label_file(directory)
    self.assertEqual(read, names)
    self.assertEqual(list(read), [0, 1, 7, 3])

  def testOtherFileName(self):
    directory = self.directory('other_name')
    dataset_utils.write_label_file({0: 'x'}, directory, filename='names.txt')
    self.assertFalse(dataset_utils.has_labels(directory))
    self.assertTrue(dataset_utils.has_labels(directory, 'names.txt'))
    self.assertEqual(dataset_utils.read_label_file(directory, 'names.txt'),
                     {0: 'x'})

  def testReadSkipsEmptyLines(self):
    directory = self.directory('empty_lines')
    with open(os.path.join(directory, 'labels.txt'), 'w') as f:
      f.write('0:a\n\n1:b \r\n\n')
    self.assertEqual(dataset_utils.read_label_file(directory),
                     {0: 'a', 1: 'b '})

  def testAByteOrderMarkIsAcceptedARepeatedLabelIsNot(self):
    directory = self.directory('windows')
    path = os.path.join(directory, 'labels.txt')
    with open(path, 'wb') as f:  # As Notepad saves UTF-8.
      f.write('\ufeff0:daisy\r\n1:ünïcode\r\n'.encode('utf-8'))
    self.assertEqual(dataset_utils.read_label_file(directory),
                     {0: 'daisy', 1: 'ünïcode'})
    with open(path, 'w') as f:
      f.write('0:a\n1:b\n\n0:c\n')
    with self.assertRaisesRegex(ValueError, r'^Labels file %s: line 4 lists '
                                r'label 0 again \(first on line 1\)$' %
                                re.escape(path)):
      dataset_utils.read_label_file(directory)
    with open(path, 'wb') as f:
      f.write(b'0:caf\xe9\n')  # Latin-1.
    with self.assertRaisesRegex(ValueError, r'^Labels file %s is not UTF-8 '
                                r'text' % re.escape(path)):
      dataset_utils.read_label_file(directory)

  def testNamesWithLineBreaksAreNotWritten(self):
    # What read_label_file could not give back: every splitlines break.
    directory = self.directory('line_breaks')
    for line_break in dataset_utils.LINE_BREAKS:
      names = {0: 'fine', 1: 'b' + line_break + 'c'}
      self.assertLen(('x%sy' % line_break).splitlines(), 2)
      with self.assertRaisesRegex(
          ValueError, r'^labels_to_class_names: the name of label 1, %s, has '
          r'a line break, which a labels file cannot hold$' %
          re.escape(repr(names[1]))):
        dataset_utils.write_label_file(names, directory)
      self.assertFalse(dataset_utils.has_labels(directory))

  def testBadLineAndMissingFile(self):
    directory = self.directory('bad')
    with open(os.path.join(directory, 'labels.txt'), 'w') as f:
      f.write('0:a\ncat\n')
    with self.assertRaisesRegex(ValueError,
                                r'labels.txt: line 2 is not "label:name"'):
      dataset_utils.read_label_file(directory)
    with self.assertRaises(tf.errors.NotFoundError):
      dataset_utils.read_label_file(self.directory('missing'))


class DownloadTest(tf.test.TestCase):
  """Downloads from file:// URLs (no network here)."""

  def setUp(self):
    super().setUp()
    self.source = os.path.join(self.get_temp_dir(), self.id(), 'source')
    self.target = os.path.join(self.get_temp_dir(), self.id(), 'target')
    os.makedirs(self.source)
    os.makedirs(self.target)

  def tarball(self, name, members):
    path = os.path.join(self.source, name)
    with tarfile.open(path, 'w:gz') as tar:
      for member, data in members.items():
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path

  def read(self, *parts):
    with open(os.path.join(self.target, *parts), 'rb') as f:
      return f.read()

  def testDownloadAndUncompressTarball(self):
    path = self.tarball('flowers.tar.gz', {'labels.txt': b'0:daisy\n',
                                           'sub/data.bin': b'\x00\x01'})
    _, out = _quiet(dataset_utils.download_and_uncompress_tarball,
                    pathlib.Path(path).as_uri(), self.target)
    self.assertEqual(self.read('labels.txt'), b'0:daisy\n')
    self.assertEqual(self.read('sub', 'data.bin'), b'\x00\x01')
    self.assertEqual(self.read('flowers.tar.gz'), open(path, 'rb').read())
    self.assertIn('Successfully downloaded flowers.tar.gz %d bytes.' %
                  os.path.getsize(path), out)
    self.assertIn('>> Downloading flowers.tar.gz 100.0%', out)

  def testTarballMembersOutsideTheDirectoryAreRefused(self):
    if not hasattr(tarfile, 'data_filter'):
      self.skipTest('this Python has no tarfile extraction filters')
    path = self.tarball('evil.tar.gz', {'../outside.txt': b'x'})
    with self.assertRaises(tarfile.FilterError):
      _quiet(dataset_utils.download_and_uncompress_tarball,
             pathlib.Path(path).as_uri(), self.target)
    self.assertFalse(os.path.exists(
        os.path.join(os.path.dirname(self.target), 'outside.txt')))

  def testDownloadUrlReturnsThePath(self):
    path = os.path.join(self.source, 'model.ckpt')
    with open(path, 'wb') as f:
      f.write(b'weights')
    result, _ = _quiet(dataset_utils.download_url,
                       pathlib.Path(path).as_uri(), self.target)
    self.assertEqual(result, os.path.join(self.target, 'model.ckpt'))
    self.assertEqual(self.read('model.ckpt'), b'weights')

  def testUrlWithoutFileName(self):
    with self.assertRaisesRegex(ValueError, 'url must end in a file name'):
      dataset_utils.download_url('file:///tmp/', self.target)

  def testDownloadAndUncompressZipfileKeepsExistingFiles(self):
    path = os.path.join(self.source, 'data.zip')
    with zipfile.ZipFile(path, 'w') as zip_file:
      zip_file.writestr('a.txt', b'new a')
      zip_file.writestr('b.txt', b'new b')
    with open(os.path.join(self.target, 'a.txt'), 'wb') as f:
      f.write(b'mine')
    url = pathlib.Path(path).as_uri()
    _, out = _quiet(dataset_utils.download_and_uncompress_zipfile, url,
                    self.target)
    self.assertIn('Successfully downloaded data.zip', out)
    self.assertEqual(self.read('a.txt'), b'mine')
    self.assertEqual(self.read('b.txt'), b'new b')
    os.remove(path)  # A second call uses the downloaded copy.
    _, out = _quiet(dataset_utils.download_and_uncompress_zipfile, url,
                    self.target)
    self.assertIn('has been already downloaded', out)

  def testADownloadCutShortLeavesNothingAndTheNextOneIsWhole(self):
    data = io.BytesIO()
    with zipfile.ZipFile(data, 'w') as zip_file:
      zip_file.writestr('a.txt', b'a' * 5000)
    data = data.getvalue()
    cut = []  # While it holds True, the server stops half-way.

    class Handler(http.server.BaseHTTPRequestHandler):

      def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2] if cut[0] else data)

      def log_message(self, *args):
        pass

    server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    self.addCleanup(server.server_close)
    self.addCleanup(server.shutdown)
    url = 'http://127.0.0.1:%d/data.zip' % server.server_address[1]
    for function in (dataset_utils.download_url,
                     dataset_utils.download_and_uncompress_zipfile,
                     dataset_utils.download_and_uncompress_tarball):
      cut[:] = [True]
      with self.assertRaises(urllib.error.ContentTooShortError):
        _quiet(function, url, self.target)
      self.assertEqual(os.listdir(self.target), [], msg=function.__name__)
    cut[:] = [False]  # The next call downloads it whole, and unzips it.
    _, out = _quiet(dataset_utils.download_and_uncompress_zipfile, url,
                    self.target)
    self.assertIn('Successfully downloaded data.zip %d bytes.' % len(data),
                  out)
    self.assertEqual(self.read('data.zip'), data)
    self.assertEqual(self.read('a.txt'), b'a' * 5000)

  def testOpenShardedOutputTfrecords(self):
    base = os.path.join(self.target, 'out')
    with contextlib.ExitStack() as stack:
      writers = dataset_utils.open_sharded_output_tfrecords(stack, base, 3)
      for index, writer in enumerate(writers):
        writer.write(b'record %d' % index)
    self.assertEqual(sorted(os.listdir(self.target)),
                     ['out-00000-of-00003', 'out-00001-of-00003',
                      'out-00002-of-00003'])
    records = list(tf.io.tf_record_iterator(base + '-00002-of-00003'))
    self.assertEqual(records, [b'record 2'])
    with self.assertRaisesRegex(ValueError, 'num_shards must be >= 1, got 0'):
      dataset_utils.open_sharded_output_tfrecords(contextlib.ExitStack(),
                                                  base, 0)


class FlowersTest(tf.test.TestCase):
  """Records written as slim's download_and_convert_flowers.py writes them."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.directory = os.path.join(tf.test.get_temp_dir(), 'flowers')
    os.makedirs(cls.directory, exist_ok=True)
    rng = np.random.RandomState(1)
    cls.images = {}  # label -> image
    files = {'flowers_train_00000-of-00002.tfrecord': [0, 1],
             'flowers_train_00001-of-00002.tfrecord': [2, 3],
             'flowers_validation_00000-of-00001.tfrecord': [4]}
    for name, labels in files.items():
      examples = []
      for label in labels:
        image = rng.randint(0, 256, (5 + label, 9 - label, 3)).astype(np.uint8)
        cls.images[label] = image
        encoded = testing.encode_images([image], 'png')[0]
        examples.append(dataset_utils.image_to_tfexample(
            encoded, b'png', image.shape[0], image.shape[1], label))
      testing.write_tfrecord(os.path.join(cls.directory, name), examples)
    dataset_utils.write_label_file(FLOWER_NAMES, cls.directory)

  def testSplitsClassesAndFiles(self):
    for split, size in (('train', 3320), ('validation', 350)):
      with tf.Graph().as_default():
        dataset = flowers.get_split(split, self.directory)
      self.assertEqual(dataset.num_samples, size)
      self.assertEqual(dataset.num_classes, 5)
      self.assertEqual(dataset.data_sources, os.path.join(
          self.directory, 'flowers_%s_*.tfrecord' % split))
      self.assertIs(dataset.reader, tf.TFRecordReader)
      self.assertEqual(dataset.labels_to_names, FLOWER_NAMES)
    self.assertCountEqual(dataset.items_to_descriptions, ['image', 'label'])
    self.assertCountEqual(dataset.decoder.list_items(), ['image', 'label'])

  def testNoLabelsFileNoNames(self):
    with tf.Graph().as_default():
      dataset = flowers.get_split('train', self.get_temp_dir() + '/none')
    self.assertIsNone(dataset.labels_to_names)

  def testItemsAreWhatWasWritten(self):
    dataset = flowers.get_split('train', self.directory)
    read = testing.read_items(dataset, ['image', 'label'], 4)
    self.assertCountEqual([label for _, label in read], [0, 1, 2, 3])
    for image, label in read:
      self.assertAllEqual(image, self.images[label])
    validation = flowers.get_split('validation', self.directory)
    self.assertEqual(
        [l for _, l in testing.read_items(validation, ['image', 'label'], 2)],
        [4, 4])

  def testErrors(self):
    with self.assertRaisesRegex(ValueError, "split_name 'test' was not "
                                "recognized; the splits are 'train', "
                                "'validation'"):
      flowers.get_split('test', self.directory)
    with self.assertRaisesRegex(ValueError, "file_pattern must contain one"):
      flowers.get_split('train', self.directory, file_pattern='all.tfrecord')


class DatasetFactoryTest(tf.test.TestCase):

  def testKnownDatasets(self):
    self.assertEqual(dataset_factory.datasets_map,
                     {'custom': custom, 'flowers': flowers,
                      'imagenet': imagenet})
    directory = self.get_temp_dir()
    with tf.Graph().as_default():
      dataset = dataset_factory.get_dataset('imagenet', 'validation', directory)
      self.assertEqual((dataset.num_samples, dataset.num_classes),
                       (50000, 1001))
      dataset = dataset_factory.get_dataset('flowers', 'train', directory)
      self.assertEqual((dataset.num_samples, dataset.num_classes), (3320, 5))

  def testFilePatternAndReaderArePassedOn(self):
    with tf.Graph().as_default():
      dataset = dataset_factory.get_dataset(
          'flowers', 'validation', '/d', file_pattern='f-%s-*',
          reader=tf.WholeFileReader)
    self.assertEqual(dataset.data_sources, '/d/f-validation-*')
    self.assertIs(dataset.reader, tf.WholeFileReader)

  def testUnknownNameListsTheKnownOnes(self):
    with self.assertRaisesRegex(ValueError, "name 'cifar10' is not a known "
                                'dataset; the datasets are custom, flowers, '
                                'imagenet'):
      dataset_factory.get_dataset('cifar10', 'train', '/d')

  def testImportingNetsImportsNoTensorFlow(self):
    result = testing.run_python(
        ['-c', 'import sys, nets\n'
               'print(sorted(m for m in sys.modules\n'
               '             if m.split(".")[0] in ("tensorflow", "tf_slim")))'])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(result.stdout.strip(), '[]')

  def testSplitErrorsComeFromTheDataset(self):
    with self.assertRaisesRegex(ValueError, "split_name 'test'"):
      dataset_factory.get_dataset('imagenet', 'test', '/d')


if __name__ == '__main__':
  tf.test.main()
