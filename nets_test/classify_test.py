"""Tests of nets.labels and nets.classify on generated JPEG and PNG files."""

import io
import os
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

from nets import classify
from nets import labels
from nets_test import checkpoint_testing
from nets_test import testing

SIZE = 160


class LabelsTest(tf.test.TestCase):

  def write(self, text, name='labels.txt'):
    path = os.path.join(self.get_temp_dir(), name)
    with open(path, 'w', encoding='utf-8') as f:
      f.write(text)
    return path

  def test_to_imagenet_index(self):
    self.assertIsNone(labels.to_imagenet_index(0, 1001))
    self.assertEqual(labels.to_imagenet_index(1, 1001), 0)
    self.assertEqual(labels.to_imagenet_index(1000, 1001), 999)
    self.assertEqual(labels.to_imagenet_index(0, 1000), 0)
    self.assertEqual(labels.to_imagenet_index(999, 1000), 999)

  def test_1000_names_for_1001_and_1000_classes(self):
    path = self.write(''.join('name %d\n' % i for i in range(1000)) + '\n\n')
    names = labels.read_labels(path, 1001)
    self.assertLen(names, 1001)
    self.assertEqual(names[:3], ['background', 'name 0', 'name 1'])
    self.assertEqual(names[1000], 'name 999')
    self.assertEqual(labels.read_labels(path, 1000)[999], 'name 999')

  def test_1001_names_for_1001_and_1000_classes(self):
    path = self.write('\n'.join(['background'] +
                                ['name %d' % i for i in range(1000)]))
    self.assertEqual(labels.read_labels(path, 1001)[:2], ['background',
                                                          'name 0'])
    names = labels.read_labels(path, 1000)
    self.assertEqual((len(names), names[0]), (1000, 'name 0'))

  def test_slim_index_colon_name_format(self):
    lines = ['%d:name %d, with comma' % (i, i - 1) for i in range(1, 1001)]
    lines = ['0:background'] + lines[::-1]  # Any order.
    names = labels.read_labels(self.write('\n'.join(lines)), 1001)
    self.assertEqual(names[:2], ['background', 'name 0, with comma'])
    self.assertEqual(names[1000], 'name 999, with comma')

  def test_other_class_counts(self):
    path = self.write('cat\ndog\n')
    self.assertEqual(labels.read_labels(path, 2), ['cat', 'dog'])
    with self.assertRaisesRegex(labels.LabelsError,
                                'has 2 names; the model has 3 classes '
                                r'\(expected 3 names\)'):
      labels.read_labels(path, 3)

  def test_bad_files(self):
    short = self.write('\n'.join('n%d' % i for i in range(999)))
    with self.assertRaisesRegex(labels.LabelsError, 'has 999 names; the model '
                                'has 1001 classes .expected 1000 or 1001'):
      labels.read_labels(short, 1001)
    with self.assertRaisesRegex(labels.LabelsError, 'line 2 is empty'):
      labels.read_labels(self.write('a\n\nb\n'), 3)
    with self.assertRaisesRegex(labels.LabelsError, 'do not number'):
      labels.read_labels(self.write('0:a\n2:b\n'), 2)
    with self.assertRaisesRegex(labels.LabelsError, 'Cannot read labels'):
      labels.read_labels(os.path.join(self.get_temp_dir(), 'none.txt'), 2)


class TopKTest(tf.test.TestCase):

  def test_top_k_order_ties_and_names(self):
    probabilities = np.array([0.1, 0.5, 0.2, 0.2], np.float32)
    got = classify.top_k_predictions(probabilities, 3, ['a', 'b', 'c', 'd'])
    self.assertEqual([(p.index, p.name) for p in got],
                     [(1, 'b'), (2, 'c'), (3, 'd')])
    self.assertAllClose([p.probability for p in got], [0.5, 0.2, 0.2])
    unnamed = classify.top_k_predictions(probabilities, 4, None)
    self.assertEqual([p.name for p in unnamed], [None] * 4)

  def test_format(self):
    predictions = [classify.Prediction(282, 0.75, 'tabby'),
                   classify.Prediction(0, 0.125, 'background')]
    self.assertEqual(
        classify.format_predictions('cat.jpg', predictions, 1001),
        'cat.jpg\n'
        '  0.7500  class 282 (ImageNet 281): tabby\n'
        '  0.1250  class 0: background')
    self.assertEqual(
        classify.format_predictions('x.png', [classify.Prediction(
            7, 1.0, None)], 10),
        'x.png\n  1.0000  class 7')


class ClassifyTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'classify_test')
    cls.ckpt = os.path.join(cls.dir, 'ckpt', 'inception_v3.ckpt')
    cls.values = testing.write_checkpoint(cls.ckpt, num_classes=1001,
                                          version='V1', seed=4)
    y, x = np.mgrid[0:100, 0:80]
    picture = np.stack([y * 2.0, x * 3.0, 255 - x - y], -1).astype(np.uint8)
    with tf.Graph().as_default(), tf.Session() as sess:
      png, jpeg = sess.run([tf.io.encode_png(picture),
                            tf.io.encode_jpeg(picture)])
    cls.encoded = {'cat.png': png, 'dog.jpg': jpeg}
    cls.paths = {}
    for name, data in cls.encoded.items():
      cls.paths[name] = os.path.join(cls.dir, name)
      with open(cls.paths[name], 'wb') as f:
        f.write(data)
    cls.bad = os.path.join(cls.dir, 'bad.jpg')
    with open(cls.bad, 'w') as f:
      f.write('this is not a JPEG')
    cls.labels = os.path.join(cls.dir, 'labels.txt')
    with open(cls.labels, 'w') as f:
      f.write('\n'.join('label %d' % i for i in range(1000)))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def reference_probabilities(self):
    """Softmax of the session's logits, weights assigned without nets code."""
    _, logits = checkpoint_testing.session_outputs(
        self.values, 1001, SIZE, np.zeros([1, SIZE, SIZE, 3], np.float32),
        [self.encoded['cat.png'], self.encoded['dog.jpg']])
    return checkpoint_testing.softmax(logits.astype(np.float64))

  def test_classify_images_skipping_bad_ones(self):
    missing = os.path.join(self.dir, 'missing.png')
    paths = [self.paths['cat.png'], self.bad, missing, self.paths['dog.jpg']]
    out, err = io.StringIO(), io.StringIO()
    results, failures = classify.classify(
        self.ckpt, paths, labels_file=self.labels, top_k=5, image_size=SIZE,
        out=out, err=err)

    self.assertEqual([path for path, _ in results],
                     [self.paths['cat.png'], self.paths['dog.jpg']])
    want = self.reference_probabilities()
    for (path, predictions), probabilities in zip(results, want):
      top = np.argsort(-probabilities)[:5]
      self.assertEqual([p.index for p in predictions], list(top), msg=path)
      self.assertAllClose([p.probability for p in predictions],
                          probabilities[top], atol=2e-5, rtol=0)
      self.assertEqual([p.name for p in predictions],
                       ['label %d' % (i - 1) if i else 'background'
                        for i in top])
    # The reference itself is not degenerate.
    self.assertGreater(want[0].max(), 2.0 / 1001)

    self.assertEqual([path for path, _ in failures], [self.bad, missing])
    self.assertIn('cannot decode the image', failures[0][1])
    self.assertEqual(failures[1][1], 'No such file or directory')
    self.assertEqual(err.getvalue().splitlines(), [
        'Cannot classify %s: %s' % failure for failure in failures])
    blocks = out.getvalue().splitlines()
    self.assertLen(blocks, 12)
    self.assertEqual(blocks[0], self.paths['cat.png'])
    first = results[0][1][0]
    self.assertEqual(blocks[1], '  %.4f  class %d (ImageNet %d): label %d' % (
        first.probability, first.index, first.index - 1, first.index - 1))

  def test_bad_arguments_fail_before_any_image(self):
    with self.assertRaisesRegex(ValueError, r'top_k must be in \[1, 1001\]'):
      classify.classify(self.ckpt, [self.bad], top_k=1002)
    short = os.path.join(self.get_temp_dir(), 'short.txt')
    with open(short, 'w') as f:
      f.write('a\nb\n')
    with self.assertRaises(labels.LabelsError):
      classify.classify(self.ckpt, [self.bad], labels_file=short)

  def test_cli(self):
    rc, out, err = checkpoint_testing.run_cli(
        'nets.classify', '--checkpoint_path=' + os.path.dirname(self.ckpt),
        '--image_size=%d' % SIZE, '--top_k=3', self.paths['dog.jpg'], self.bad)
    self.assertEqual(rc, 1)
    lines = out.splitlines()
    self.assertEqual(lines[0], self.paths['dog.jpg'])
    self.assertLen(lines, 4)
    self.assertRegex(lines[1], r'^  \d\.\d{4}  class \d+( \(ImageNet \d+\))?$')
    self.assertLen(err, 1)
    self.assertStartsWith(err[0], 'Cannot classify %s: ' % self.bad)

    rc, out, err = checkpoint_testing.run_cli(
        'nets.classify', '--checkpoint_path=' + self.ckpt, '--top_k=2000',
        self.paths['dog.jpg'])
    self.assertEqual((rc, out), (1, ''))
    self.assertEqual(err, ['nets.classify: error: top_k must be in [1, 1001] (the classes of the '
                           'model), got 2000.'])


if __name__ == '__main__':
  tf.test.main()
