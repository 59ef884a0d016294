"""Tests of nets.classify on generated JPEG and PNG files."""

import io
import os
import re
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

from nets import classify
from nets import imagenet
from nets import labels
from nets_test import testing

SIZE = 160


class TopKTest(tf.test.TestCase):

  def testTopKOrderTiesAndNames(self):
    probabilities = np.array([0.1, 0.5, 0.2, 0.2], np.float32)
    got = classify.top_k_predictions(probabilities, 3, ['a', 'b', 'c', 'd'])
    self.assertEqual([(p.index, p.name) for p in got],
                     [(1, 'b'), (2, 'c'), (3, 'd')])
    self.assertAllClose([p.probability for p in got], [0.5, 0.2, 0.2])
    unnamed = classify.top_k_predictions(probabilities, 4, None)
    self.assertEqual([p.name for p in unnamed], [None] * 4)

  def testFormat(self):
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
    cls.truncated = os.path.join(cls.dir, 'truncated.jpg')
    with open(cls.truncated, 'wb') as f:
      f.write(jpeg[:len(jpeg) // 2])
    cls.labels = os.path.join(cls.dir, 'labels.txt')
    with open(cls.labels, 'w') as f:
      f.write('\n'.join('label %d' % i for i in range(1000)))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def reference_probabilities(self):
    """Softmax of the session's logits, weights assigned without nets code."""
    _, logits = testing.session_outputs(
        self.values, 1001, SIZE, np.zeros([1, SIZE, SIZE, 3], np.float32),
        [self.encoded['cat.png'], self.encoded['dog.jpg']])
    return testing.softmax(logits.astype(np.float64))

  def testClassifyImagesSkippingBadOnes(self):
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

  def testBadArgumentsFailBeforeAnyImage(self):
    with self.assertRaisesRegex(ValueError, r'top_k must be in \[1, 1001\]'):
      classify.classify(self.ckpt, [self.bad], top_k=1002)
    short = os.path.join(self.get_temp_dir(), 'short.txt')
    with open(short, 'w') as f:
      f.write('a\nb\n')
    with self.assertRaises(labels.LabelsError):
      classify.classify(self.ckpt, [self.bad], labels_file=short)

  def testNonFiniteWeightsAreAnErrorNotAnAnswer(self):
    path = os.path.join(self.get_temp_dir(), 'nan', 'model.ckpt')
    nan = np.full([1001], np.nan, np.float32)
    testing.write_checkpoint(  # 299's variables, as setUpClass's: no build.
        path, seed=5,
        overrides={'InceptionV3/Logits/Conv2d_1c_1x1/biases': nan})
    for optimize in (False, True):
      with self.assertRaisesRegex(
          classify.NonFiniteOutputError,
          r"^the model's outputs on %s are not finite \(NaN or Inf\)" %
          self.paths['cat.png']):
        classify.classify(path, [self.paths['cat.png']], image_size=SIZE,
                          optimize=optimize, out=io.StringIO())
    rc, out, err = testing.run_tool('nets.classify', '--checkpoint_path=' + path,
                                    '--image_size=%d' % SIZE,
                                    self.paths['cat.png'])
    self.assertEqual((rc, out), (1, ''))
    self.assertLen(err, 1, msg=err)
    self.assertStartsWith(err[0], "nets.classify: error: the model's outputs")

  def testCli(self):
    rc, out, err = testing.run_tool(
        'nets.classify', '--checkpoint_path=' + os.path.dirname(self.ckpt),
        '--image_size=%d' % SIZE, '--top_k=3', self.paths['dog.jpg'], self.bad,
        self.truncated)
    self.assertEqual(rc, 1)
    lines = out.splitlines()
    self.assertEqual(lines[0], self.paths['dog.jpg'])
    self.assertLen(lines, 4)
    # No --labels_file: the 1001-class checkpoint's classes have the
    # ImageNet names.
    names = imagenet.create_readable_names_for_imagenet_labels()
    for line in lines[1:]:
      match = re.match(r'^  \d\.\d{4}  class (\d+)( \(ImageNet (\d+)\))?: '
                       r'(.+)$', line)
      self.assertIsNotNone(match, line)
      index = int(match.group(1))
      self.assertEqual(match.group(4), names[index])
      if index:
        self.assertEqual(int(match.group(3)), index - 1)
    # One line per bad image; libjpeg's own "Premature end of JPEG data"
    # does not leak.
    self.assertLen(err, 2, msg=err)
    self.assertStartsWith(err[0], 'Cannot classify %s: ' % self.bad)
    self.assertStartsWith(err[1], 'Cannot classify %s: ' % self.truncated)

    # Inputs larger than the fixed final pool takes are pooled globally.
    rc, out, err = testing.run_tool(
        'nets.classify', '--checkpoint_path=' + self.ckpt, '--image_size=400',
        '--top_k=1', self.paths['cat.png'])
    self.assertEqual((rc, err), (0, []))
    self.assertRegex(out.splitlines()[1], r'^  \d\.\d{4}  class \d+')

    rc, out, err = testing.run_tool('nets.classify', '--help')
    self.assertEqual((rc, err), (0, []))
    self.assertIn('--top_k', out)

    rc, out, err = testing.run_tool(
        'nets.classify', '--checkpoint_path=' + self.ckpt, '--top_k=2000',
        self.paths['dog.jpg'])
    self.assertEqual((rc, out), (1, ''))
    self.assertEqual(err, ['nets.classify: error: top_k must be in [1, 1001] (the classes of the '
                           'model), got 2000.'])


if __name__ == '__main__':
  tf.test.main()
