"""Tests of nets.convert_images and the `custom` dataset it writes."""

import io
import json
import os
import shutil
import struct

import numpy as np
import tensorflow.compat.v1 as tf

from nets import convert_images
from nets import custom
from nets import dataset_factory
from nets import input_pipeline
from nets import outputs
from nets_test import testing

# A 1x1 red GIF (TensorFlow has no GIF encoder).
GIF = (b'GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00!\xf9\x04'
       b'\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D'
       b'\x01\x00;')


def encode_bmp(image):
  """An uncompressed 24-bit BMP of uint8 [h, w, 3]."""
  height, width, _ = image.shape
  row = (3 * width + 3) // 4 * 4
  pixels = b''.join(image[y, :, ::-1].tobytes().ljust(row, b'\0')
                    for y in range(height - 1, -1, -1))
  header = struct.pack('<2sIHHI', b'BM', 54 + len(pixels), 0, 0, 54)
  info = struct.pack('<IiiHHIIiiII', 40, width, height, 1, 24, 0, len(pixels),
                     2835, 2835, 0, 0)
  return header + info + pixels


def decode(data):
  with tf.Graph().as_default(), tf.Session() as sess:
    return sess.run(tf.io.decode_image(data, channels=3,
                                       expand_animations=False))


def write_file(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(data)


def make_image_folder(root, seed=0):
  """3 classes of images in 4 formats, and 4 bad files.

  Returns:
    ({path: (label, format, bytes, height, width)} of the good images,
    [paths of the bad files]).
  """
  rng = np.random.RandomState(seed)
  good = {}
  counts = {'a_red': 6, 'b_green': 5, 'c_blue': 4}
  for label, (name, count) in enumerate(sorted(counts.items())):
    for i in range(count):
      image = rng.randint(0, 256, [75 + 5 * i, 107 - 4 * i, 3]).astype(
          np.uint8)
      image_format = 'png' if i % 2 else 'jpeg'
      data = testing.encode_images([image], image_format)[0]
      path = os.path.join(root, name, '%02d.%s' % (
          i, 'png' if i % 2 else 'jpg'))
      write_file(path, data)
      good[path] = (label, image_format, data) + image.shape[:2]
  # Real formats, whatever the names say.
  image = rng.randint(0, 256, [77, 81, 3]).astype(np.uint8)
  extras = {os.path.join(root, 'a_red', 'bitmap.bmp'): ('bmp',
                                                        encode_bmp(image)),
            os.path.join(root, 'b_green', 'dot.gif'): ('gif', GIF),
            os.path.join(root, 'c_blue', 'really_a_jpeg.png'): (
                'jpeg', testing.encode_images([image], 'jpeg')[0])}
  for path, (image_format, data) in extras.items():
    write_file(path, data)
    label = ['a_red', 'b_green', 'c_blue'].index(
        os.path.basename(os.path.dirname(path)))
    good[path] = (label, image_format, data) + decode(data).shape[:2]
  jpeg = good[os.path.join(root, 'a_red', '00.jpg')][2]
  bad = [os.path.join(root, 'a_red', 'notes.jpg'),
         os.path.join(root, 'b_green', 'truncated.jpg'),
         os.path.join(root, 'b_green', 'empty.png'),
         os.path.join(root, 'c_blue', 'folder.jpg')]
  write_file(bad[0], b'not an image')
  write_file(bad[1], jpeg[:len(jpeg) // 2])
  write_file(bad[2], b'')
  os.makedirs(bad[3])  # Listed as an image; cannot be read.
  return good, bad


def read_records(output_dir):
  """{file name: [tf.train.Example]} of every TFRecord file in output_dir."""
  records = {}
  for name in sorted(os.listdir(output_dir)):
    if name.endswith('.tfrecord'):
      records[name] = [
          tf.train.Example.FromString(r) for r in tf.io.tf_record_iterator(
              os.path.join(output_dir, name))]
  return records


def feature(example, key):
  value = example.features.feature[key]
  return (value.bytes_list.value or value.int64_list.value)[0]


def quiet_convert(*args, **kwargs):
  out, err = io.StringIO(), io.StringIO()
  result = convert_images.convert(*args, out=out, err=err, **kwargs)
  return result, out.getvalue(), err.getvalue()


class ConvertTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'convert_images_test')
    cls.image_dir = os.path.join(cls.dir, 'images')
    cls.good, cls.bad = make_image_folder(cls.image_dir)
    cls.output_dir = os.path.join(cls.dir, 'converted')
    cls.result, cls.out, cls.err = quiet_convert(
        cls.image_dir, cls.output_dir, validation_fraction=0.4, num_shards=3,
        seed=7)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def testEveryImageOnceInOneSplitWithItsLabelAndBytes(self):
    records = read_records(self.output_dir)
    by_bytes = {value[2]: path for path, value in self.good.items()}
    seen = {}
    for name, examples in records.items():
      split = name.split('_')[1]
      for example in examples:
        path = by_bytes[feature(example, 'image/encoded')]
        self.assertNotIn(path, seen)
        seen[path] = split
        label, image_format, _, height, width = self.good[path]
        self.assertEqual(
            [feature(example, k) for k in ('image/class/label',
                                           'image/format', 'image/height',
                                           'image/width')],
            [label, image_format.encode(), height, width], msg=path)
    self.assertCountEqual(seen, self.good)
    # The splits are split_images' (bad files dropped), per class rounded
    # half up: 8 files -> 3 (0.4 * 8 = 3.2), 8 -> 3, 6 -> 2 (2.4).
    planned = convert_images.split_images(
        input_pipeline.ImageFolder(self.image_dir), 0.4, 7)
    for split, items in planned.items():
      self.assertCountEqual(
          [p for p, s in seen.items() if s == split],
          [p for p, _ in items if p in self.good])
    self.assertEqual([len(items) for items in planned.values()], [14, 8])

  def testFilesLabelsAndMetadata(self):
    sizes = {split: sum(1 for path, _ in items if path in self.good)
             for split, items in convert_images.split_images(
                 input_pipeline.ImageFolder(self.image_dir), 0.4, 7).items()}
    self.assertEqual(self.result, convert_images.Result(
        self.output_dir, 3, sizes, self.result.skipped))
    self.assertEqual(sorted(os.listdir(self.output_dir)), [
        'custom_train_00000-of-00003.tfrecord',
        'custom_train_00001-of-00003.tfrecord',
        'custom_train_00002-of-00003.tfrecord',
        'custom_validation_00000-of-00003.tfrecord',
        'custom_validation_00001-of-00003.tfrecord',
        'custom_validation_00002-of-00003.tfrecord',
        'labels.txt', 'metadata.json'])
    with open(os.path.join(self.output_dir, 'labels.txt')) as f:
      self.assertEqual(f.read(), '0:a_red\n1:b_green\n2:c_blue\n')
    with open(os.path.join(self.output_dir, 'metadata.json')) as f:
      metadata = json.load(f)
    self.assertEqual(metadata['splits_to_sizes'], sizes)
    self.assertEqual(
        (metadata['num_classes'], metadata['file_pattern'], metadata['seed'],
         metadata['skipped']), (3, 'custom_%s_*.tfrecord', 7, 4))
    # Even shards of the planned lists (bad files then left out).
    planned = convert_images.split_images(
        input_pipeline.ImageFolder(self.image_dir), 0.4, 7)
    records = read_records(self.output_dir)
    for split, shard_sizes in (('train', [4, 5, 5]), ('validation', [2, 3, 3])):
      for index, size in enumerate(shard_sizes):
        paths = planned[split][sum(shard_sizes[:index]):][:size]
        self.assertLen(
            records['custom_%s_%05d-of-00003.tfrecord' % (split, index)],
            sum(1 for path, _ in paths if path in self.good))

  def testBadFilesAreReportedSkippedAndCounted(self):
    self.assertCountEqual([path for path, _ in self.result.skipped], self.bad)
    reasons = dict(self.result.skipped)
    self.assertEqual(reasons[self.bad[0]], 'not a JPEG, PNG, GIF or BMP image')
    self.assertStartsWith(reasons[self.bad[1]], 'cannot decode it (')
    self.assertEqual(reasons[self.bad[2]], 'not a JPEG, PNG, GIF or BMP image')
    self.assertStartsWith(reasons[self.bad[3]], 'cannot read it (')
    self.assertCountEqual(self.err.splitlines(), [
        'Skipped %s: %s' % item for item in self.result.skipped])
    lines = self.out.splitlines()
    self.assertEqual(lines[0], 'Converting 22 images of 3 classes in %s: '
                     'train 14, validation 8 (seed 7).' % self.image_dir)
    self.assertEqual(lines[-1], 'Wrote 18 images (train %d, validation %d; '
                     '3 classes) to %s; skipped 4 unreadable or undecodable '
                     'files.' % (self.result.splits_to_sizes['train'],
                                 self.result.splits_to_sizes['validation'],
                                 self.output_dir))

  def testProgressLines(self):
    result, out, _ = quiet_convert(self.image_dir, os.path.join(self.dir, 'p'),
                                   progress_interval_secs=0)
    lines = out.splitlines()
    self.assertEqual([l for l in lines if 'skipped)' in l][-1],
                     '  22/22 images (4 skipped)')
    self.assertEqual([int(l.split('/')[0]) for l in lines
                      if 'skipped)' in l], list(range(1, 23)))
    self.assertEqual([l for l in lines if l.startswith('  train:') or
                      l.startswith('  validation:')], [
                          '  train: %d images in 5 shards' %
                          result.splits_to_sizes['train'],
                          '  validation: %d images in 3 shards' %
                          result.splits_to_sizes['validation']])

  def testTheSameSeedGivesTheSameFilesAnotherSeedAnotherSplit(self):
    again = os.path.join(self.dir, 'again')
    quiet_convert(self.image_dir, again, validation_fraction=0.4,
                  num_shards=3, seed=7)
    for name in os.listdir(self.output_dir):
      if name.endswith('.tfrecord'):
        with open(os.path.join(self.output_dir, name), 'rb') as f, \
             open(os.path.join(again, name), 'rb') as g:
          self.assertEqual(f.read(), g.read(), msg=name)
    folder = input_pipeline.ImageFolder(self.image_dir)
    self.assertNotEqual(convert_images.split_images(folder, 0.4, 7),
                        convert_images.split_images(folder, 0.4, 8))

  def testTheSplitIsStableWhenAFileIsAdded(self):
    copy = os.path.join(self.dir, 'stable')
    shutil.copytree(self.image_dir, copy)
    before = convert_images.split_images(input_pipeline.ImageFolder(copy),
                                         0.4, 7)
    write_file(os.path.join(copy, 'b_green', 'new.png'), b'')
    after = convert_images.split_images(input_pipeline.ImageFolder(copy),
                                        0.4, 7)

    def split_of(splits):
      return {path: split for split, items in splits.items()
              for path, _ in items}

    old, new = split_of(before), split_of(after)
    moved = [p for p in old if old[p] != new[p]]
    self.assertLessEqual(len(moved), 1)
    self.assertTrue(all('/b_green/' in p for p in moved))
    # Moving the folder changes nothing: names are relative to it.
    self.assertEqual(
        sorted(os.path.relpath(p, copy) for p, s in old.items()
               if s == 'validation'),
        sorted(os.path.relpath(p, self.image_dir) for p, _ in
               convert_images.split_images(
                   input_pipeline.ImageFolder(self.image_dir), 0.4,
                   7)['validation']))

  def testFractionsZeroAndOneAndFewImages(self):
    out_dir = os.path.join(self.dir, 'all_train')
    result, _, _ = quiet_convert(self.image_dir, out_dir,
                                 validation_fraction=0.0, num_shards=40)
    self.assertEqual(result.splits_to_sizes, {'train': 18, 'validation': 0})
    names = sorted(os.listdir(out_dir))
    self.assertIn('custom_train_00021-of-00022.tfrecord', names)
    self.assertIn('custom_validation_00000-of-00001.tfrecord', names)
    self.assertEqual(
        read_records(out_dir)['custom_validation_00000-of-00001.tfrecord'], [])
    result, _, _ = quiet_convert(self.image_dir, out_dir, overwrite=True,
                                 validation_fraction=1.0, num_shards=1)
    self.assertEqual(result.splits_to_sizes, {'train': 0, 'validation': 18})

  def testOverwriteRules(self):
    out_dir = os.path.join(self.dir, 'overwrite')
    os.makedirs(out_dir)  # An empty folder counts as free.
    quiet_convert(self.image_dir, out_dir, seed=1)
    with open(os.path.join(out_dir, 'metadata.json')) as f:
      first = f.read()
    with self.assertRaisesRegex(outputs.OutputError,
                                'exists .*pass --overwrite to replace it'):
      quiet_convert(self.image_dir, out_dir, seed=2)
    with open(os.path.join(out_dir, 'metadata.json')) as f:
      self.assertEqual(f.read(), first)
    quiet_convert(self.image_dir, out_dir, seed=2, overwrite=True)
    with open(os.path.join(out_dir, 'metadata.json')) as f:
      self.assertEqual(json.load(f)['seed'], 2)
    self.assertEqual([n for n in os.listdir(self.dir) if '.partial-' in n],
                     [])

  def testNothingIsLeftWhenNoImageDecodes(self):
    bad_dir = os.path.join(self.dir, 'all_bad')
    write_file(os.path.join(bad_dir, 'x', 'a.jpg'), b'junk')
    out_dir = os.path.join(self.dir, 'all_bad_out')
    with self.assertRaisesRegex(ValueError, 'none of the 1 files in .* could '
                                'be read and decoded; nothing was written'):
      quiet_convert(bad_dir, out_dir)
    self.assertFalse(os.path.exists(out_dir))
    self.assertEqual([n for n in os.listdir(self.dir) if '.partial-' in n],
                     [])

  def testBadArguments(self):
    for kwargs, message in [
        (dict(validation_fraction=1.5), r'validation_fraction must be in '
         r'\[0, 1\], got 1.5'),
        (dict(num_shards=0), 'num_shards must be an integer >= 1, got 0'),
        (dict(output_dir=self.image_dir), 'output_dir .* holds image_dir'),
        (dict(output_dir=self.dir), 'output_dir .* holds image_dir'),
        (dict(output_dir=os.path.join(self.image_dir, 'out')),
         'output_dir .* is inside image_dir .*: it would become one of its '
         'classes'),
        (dict(image_dir=os.path.join(self.dir, 'missing')),
         "image_dir '.*missing' is not a directory")]:
      arguments = dict(image_dir=self.image_dir,
                       output_dir=os.path.join(self.dir, 'never'))
      arguments.update(kwargs)
      with self.assertRaisesRegex(ValueError, message):
        quiet_convert(**arguments)
    self.assertFalse(os.path.exists(os.path.join(self.dir, 'never')))


class CustomDatasetTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'custom_dataset_test')
    cls.good, _ = make_image_folder(os.path.join(cls.dir, 'images'), seed=1)
    cls.output_dir = os.path.join(cls.dir, 'converted')
    cls.result, _, _ = quiet_convert(os.path.join(cls.dir, 'images'),
                                     cls.output_dir, validation_fraction=0.5,
                                     num_shards=2)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def testReadsBackThroughSlimsDatasetDataProvider(self):
    expected = {}  # decoded pixels -> label
    for label, _, data, _, _ in self.good.values():
      pixels = decode(data)
      expected[(pixels.shape, pixels.tobytes())] = label
    read = []
    for split in ('train', 'validation'):
      with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset('custom', split,
                                              self.output_dir)
        self.assertEqual(dataset.num_samples,
                         self.result.splits_to_sizes[split])
        self.assertEqual(dataset.num_classes, 3)
        self.assertEqual(dataset.labels_to_names,
                         {0: 'a_red', 1: 'b_green', 2: 'c_blue'})
        read += testing.read_items(dataset, ['image', 'label'],
                                   dataset.num_samples)
    got = [((image.shape, image.tobytes()), label) for image, label in read]
    self.assertCountEqual(got, expected.items())

  def testFilePatternAndReader(self):
    with tf.Graph().as_default():
      dataset = custom.get_split('train', self.output_dir,
                                 file_pattern='x_%s.rec',
                                 reader=tf.WholeFileReader)
    self.assertEqual(dataset.data_sources,
                     os.path.join(self.output_dir, 'x_train.rec'))
    self.assertIs(dataset.reader, tf.WholeFileReader)

  def copy(self, name):
    target = os.path.join(self.dir, name)
    shutil.copytree(self.output_dir, target)
    return target

  def testMissingOrMalformedMetadataOrLabels(self):
    def expect(message, directory, split='train'):
      with self.assertRaisesRegex(ValueError, message):
        custom.get_split(split, directory)

    expect("split_name 'test' was not recognized; the splits are 'train', "
           "'validation'", self.output_dir, 'test')
    expect('dataset_dir must name the folder', None)
    missing = self.copy('no_metadata')
    os.remove(os.path.join(missing, 'metadata.json'))
    expect('the custom dataset in %s has no metadata file %s' % (
        missing, os.path.join(missing, 'metadata.json')), missing)
    broken = self.copy('broken_metadata')
    path = os.path.join(broken, 'metadata.json')
    for text, message in [
        ('{"num_classes": 3,', 'metadata file %s is not valid JSON' % path),
        ('[]', 'is malformed: it is not a JSON object'),
        ('{"num_classes": 3, "splits_to_sizes": {"train": 1}}',
         'is malformed: "file_pattern" must be a string'),
        ('{"file_pattern": "x_%s", "num_classes": 0, '
         '"splits_to_sizes": {"train": 1}}',
         'is malformed: "num_classes" must be an integer >= 1'),
        ('{"file_pattern": "x_%s", "num_classes": 3, '
         '"splits_to_sizes": {"train": -1}}',
         'is malformed: "splits_to_sizes" must map each split name')]:
      with open(path, 'w') as f:
        f.write(text)
      expect(message, broken)
    no_labels = self.copy('no_labels')
    os.remove(os.path.join(no_labels, 'labels.txt'))
    expect('the custom dataset in %s has no labels file %s' % (
        no_labels, os.path.join(no_labels, 'labels.txt')), no_labels)
    bad_labels = self.copy('bad_labels')
    path = os.path.join(bad_labels, 'labels.txt')
    with open(path, 'w') as f:
      f.write('0:a\n1:b\n3:d\n')
    expect(r'labels file %s is malformed: it has labels 0, 1, 3, but '
           r'metadata.json says num_classes is 3 \(labels 0..2\)' % path,
           bad_labels)
    with open(path, 'w') as f:
      f.write('0:a\nb\n')
    expect('Labels file %s: line 2 is not "label:name"' % path, bad_labels)
    expect(r"dataset_dir must be the path of the dataset's folder \(a str or "
           r'os.PathLike of one\), got 123', 123)

  def testMetadataIsReadOnlyInsideTheDatasetFolder(self):
    escaping = self.copy('escaping')
    path = os.path.join(escaping, 'metadata.json')
    with open(path) as f:
      metadata = json.load(f)
    outside = '/etc/custom_%s_*' if os.sep == '/' else 'C:\\custom_%s_*'
    for pattern, splits, problem in [
        (outside, None, '"file_pattern" %r leads out of the dataset folder '
         '(it must be relative, without "..")' % outside),
        ('../../custom_%s_*.tfrecord', None, '"file_pattern" '
         '\'../../custom_%s_*.tfrecord\' leads out of the dataset folder'),
        ('sub/../../custom_%s_*', None, 'leads out of the dataset folder'),
        ('custom_%s_*.tfrecord', {'train': 1, '../../x': 1},
         '"file_pattern" with split \'../../x\' leads out of the dataset '
         'folder'),
        ('%s/custom_*.tfrecord', {'train': 1, '..': 1},
         "with split '..' leads out")]:
      with open(path, 'w') as f:
        json.dump(dict(metadata, file_pattern=pattern,
                       splits_to_sizes=splits or
                       metadata['splits_to_sizes']), f)
      with self.assertRaises(ValueError) as caught:
        custom.get_split('train', escaping)
      self.assertStartsWith(str(caught.exception), 'metadata file %s is '
                            'malformed: ' % path)
      self.assertIn(problem, str(caught.exception))
    # Inside is fine, in a subfolder too.
    with open(path, 'w') as f:
      json.dump(dict(metadata, file_pattern='sub/./custom_%s_*'), f)
    self.assertEqual(custom.get_split('train', escaping).data_sources,
                     os.path.join(escaping, 'sub/./custom_train_*'))


class CliTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'convert_images_cli_test')
    cls.image_dir = os.path.join(cls.dir, 'images')
    cls.good, cls.bad = make_image_folder(cls.image_dir, seed=2)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def testConvertsReportingOneLinePerBadFile(self):
    out_dir = os.path.join(self.dir, 'out')
    rc, out, err = testing.run_tool(
        'nets.convert_images', '--image_dir=' + self.image_dir,
        '--output_dir=' + out_dir, '--num_shards=2', '--seed=3', fresh=True)
    self.assertEqual(rc, 0, msg=err)
    # Only the skip lines: no TensorFlow start-up lines, no libjpeg warning.
    self.assertCountEqual([line.split(':')[0] for line in err],
                          ['Skipped ' + path for path in self.bad])
    self.assertEqual(out.splitlines()[-1].split(';')[-1],
                     ' skipped 4 unreadable or undecodable files.')
    self.assertEqual(dataset_factory.get_dataset(
        'custom', 'train', out_dir).num_samples +
                     dataset_factory.get_dataset(
                         'custom', 'validation', out_dir).num_samples, 18)

    rc, out, err = testing.run_tool(
        'nets.convert_images', '--image_dir=' + self.image_dir,
        '--output_dir=' + out_dir)
    self.assertEqual((rc, out), (1, ''))
    self.assertEqual(err, ['nets.convert_images: error: %s exists (a '
                           'non-empty directory); pass --overwrite to '
                           'replace it' % out_dir])

  def testEveryClassNameTheToolTakesComesBackFromGetDataset(self):
    # Awkward but legal: each is one labels.txt line and reads back as it is.
    names = ['a:b', '0:looks like a label', ' leading space',
             'trailing space ', 'tab\tinside', 'unit\x1fseparator', '-1',
             '#hash', 'back\\slash', 'quote"s', "it's", '%s percent',
             'ünïcödé', 'e\u0301 decomposed', '\u00e9 composed',
             'emoji \U0001F338', 'zero\u200bwidth', 'nbsp\u00a0name',
             'rtl \u05e9\u05dc\u05d5\u05dd', 'cjk \u6f22\u5b57',
             'dots...', '\u2027 hyphenation point', 'bom\ufeffinside']
    image_dir = os.path.join(self.dir, 'awkward')
    pngs = testing.encode_images(
        [np.full([2, 3, 3], k, np.uint8) for k in range(len(names))], 'png')
    for name, data in zip(names, pngs):
      write_file(os.path.join(image_dir, name, 'x.png'), data)
    out_dir = os.path.join(self.dir, 'awkward_out')
    rc, _, err = testing.run_tool(
        'nets.convert_images', '--image_dir=' + image_dir,
        '--output_dir=' + out_dir, '--validation_fraction=0')
    self.assertEqual((rc, err), (0, []))
    dataset = dataset_factory.get_dataset('custom', 'train', out_dir)
    self.assertEqual(dataset.labels_to_names, dict(enumerate(sorted(names))))
    # Each record's label is its folder's: the pixel value says which.
    by_pixel = {k: sorted(names).index(name) for k, name in enumerate(names)}
    items = testing.read_items(dataset, ['image', 'label'], len(names))
    self.assertEqual(sorted((by_pixel[int(image[0, 0, 0])], int(label))
                            for image, label in items),
                     [(k, k) for k in range(len(names))])

  def testLineBreaksInAClassNameAreRefusedNamingTheFolder(self):
    # Every character str.splitlines ends a line at (and so labels.txt).
    png = testing.encode_images([np.zeros([2, 2, 3], np.uint8)], 'png')[0]
    breaks = ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e',
              '\x85', '\u2028', '\u2029']
    self.assertCountEqual(''.join(breaks),
                          convert_images.dataset_utils.LINE_BREAKS)
    for k, line_break in enumerate(breaks):
      image_dir = os.path.join(self.dir, 'break_%d' % k)
      bad = os.path.join(image_dir, 'b' + line_break + 'c')
      write_file(os.path.join(image_dir, 'a', 'x.png'), png)
      write_file(os.path.join(bad, 'x.png'), png)
      out_dir = os.path.join(self.dir, 'break_out_%d' % k)
      message = ('class folder %r has a line break in its name, which '
                 'labels.txt cannot hold; rename it' % bad)
      if line_break in '\n\u2028':  # As a user meets it; the rest in-process.
        rc, out, err = testing.run_tool('nets.convert_images',
                                        '--image_dir=' + image_dir,
                                        '--output_dir=' + out_dir)
        self.assertEqual((rc, out), (1, ''))
        self.assertEqual(err, ['nets.convert_images: error: ' + message])
      else:
        with self.assertRaises(ValueError) as caught:
          quiet_convert(image_dir, out_dir)
        self.assertEqual(str(caught.exception), message)
      self.assertFalse(os.path.exists(out_dir))
      self.assertEqual([name for name in os.listdir(self.dir)
                        if name.startswith('.break_out')], [])

  def testNamesThatAreNotUtf8AreNamedEscaped(self):
    png = testing.encode_images([np.zeros([2, 2, 3], np.uint8)], 'png')[0]
    for k, relative in enumerate(['caf\udce9/x.png', 'ok/\udcff.png']):
      image_dir = os.path.join(self.dir, 'not_utf8_%d' % k)
      write_file(os.path.join(image_dir, 'fine', 'x.png'), png)
      write_file(os.path.join(image_dir, relative), png)
      shown = relative.replace('\udce9', '\\xe9').replace('\udcff', '\\xff')
      out_dir = os.path.join(self.dir, 'not_utf8_out_%d' % k)
      rc, out, err = testing.run_tool('nets.convert_images',
                                      '--image_dir=' + image_dir,
                                      '--output_dir=' + out_dir)
      self.assertEqual((rc, out), (1, ''))
      self.assertEqual(err, [
          'nets.convert_images: error: the name of %s/%s is not UTF-8, which '
          'TensorFlow cannot open; rename it' % (
              image_dir, shown.split('/')[0] if k == 0 else shown)])
      self.assertFalse(os.path.exists(out_dir))

  def testTildeAfterTheEqualsSignIsTheHomeFolder(self):
    home = os.path.join(self.dir, 'home')
    shutil.copytree(self.image_dir, os.path.join(home, 'photos'))
    rc, out, err = testing.run_tool(
        'nets.convert_images', '--image_dir=~/photos', '--output_dir=~/out',
        env=testing.user_env(HOME=home))
    self.assertEqual(rc, 0, msg=err)
    self.assertIn(' in %s/photos: ' % home, out.splitlines()[0])
    self.assertEqual(dataset_factory.get_dataset(
        'custom', 'train', os.path.join(home, 'out')).num_classes, 3)
    self.assertFalse(os.path.exists(os.path.join(self.dir, '~')))
    self.assertFalse(os.path.exists(os.path.join(testing.REPO_ROOT, '~')))

  def testHelp(self):
    rc, out, err = testing.run_tool('nets.convert_images', '--help')
    self.assertEqual((rc, err), (0, []))
    for flag in ('--image_dir', '--output_dir', '--validation_fraction',
                 '--num_shards', '--seed', '--[no]overwrite'):
      self.assertIn(flag, out)

  def testErrorsAreOneLine(self):
    empty = os.path.join(self.dir, 'empty')
    os.makedirs(empty)
    all_bad = os.path.join(self.dir, 'all_bad')
    write_file(os.path.join(all_bad, 'x', 'a.png'), b'junk')
    out_dir = '--output_dir=' + os.path.join(self.dir, 'never')
    for args, message in [
        ((out_dir,), 'flag --image_dir=None: Flag --image_dir must have a '
         'value other than None.'),
        (('--image_dir=' + self.dir + '/missing', out_dir),
         "image_dir '%s/missing' is not a directory" % self.dir),
        (('--image_dir=' + empty, out_dir),
         'image_dir %s has no class subfolders' % empty),
        (('--image_dir=' + all_bad, out_dir), 'none of the 1 files in'),
        (('--image_dir=' + self.image_dir,
          '--output_dir=' + self.image_dir + '/x'),
         'output_dir %s/x is inside image_dir' % self.image_dir),
        (('--image_dir=' + self.image_dir, out_dir,
          '--validation_fraction=2'),
         'flag --validation_fraction=2: 2.0 is not a number in the range'),
        (('--image_dir=' + self.image_dir, out_dir, '--num_shards=0'),
         'flag --num_shards=0: ')]:
      rc, _, err = testing.run_tool('nets.convert_images', *args)
      self.assertEqual(rc, 1, msg=args)
      if args[0].endswith('all_bad'):  # Its skipped file, then the error.
        self.assertStartsWith(err.pop(0), 'Skipped %s/x/a.png: ' % all_bad)
      self.assertLen(err, 1, msg=err)
      self.assertStartsWith(err[0], 'nets.convert_images: error: ' + message)
    self.assertFalse(os.path.exists(os.path.join(self.dir, 'never')))


if __name__ == '__main__':
  tf.test.main()
