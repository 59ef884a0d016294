"""Tests of nets.labels: labels files and the 1001-class index."""

import os

import tensorflow.compat.v1 as tf

from nets import labels


class LabelsTest(tf.test.TestCase):

  def write(self, text, name='labels.txt'):
    path = os.path.join(self.get_temp_dir(), name)
    with open(path, 'w', encoding='utf-8') as f:
      f.write(text)
    return path

  def testToImagenetIndex(self):
    self.assertIsNone(labels.to_imagenet_index(0, 1001))
    self.assertEqual(labels.to_imagenet_index(1, 1001), 0)
    self.assertEqual(labels.to_imagenet_index(1000, 1001), 999)
    self.assertEqual(labels.to_imagenet_index(0, 1000), 0)
    self.assertEqual(labels.to_imagenet_index(999, 1000), 999)

  def test1000NamesFor1001And1000Classes(self):
    path = self.write(''.join('name %d\n' % i for i in range(1000)) + '\n\n')
    names = labels.read_labels(path, 1001)
    self.assertLen(names, 1001)
    self.assertEqual(names[:3], ['background', 'name 0', 'name 1'])
    self.assertEqual(names[1000], 'name 999')
    self.assertEqual(labels.read_labels(path, 1000)[999], 'name 999')

  def test1001NamesFor1001And1000Classes(self):
    path = self.write('\n'.join(['background'] +
                                ['name %d' % i for i in range(1000)]))
    self.assertEqual(labels.read_labels(path, 1001)[:2], ['background',
                                                          'name 0'])
    names = labels.read_labels(path, 1000)
    self.assertEqual((len(names), names[0]), (1000, 'name 0'))

  def testSlimIndexColonNameFormat(self):
    lines = ['%d:name %d, with comma' % (i, i - 1) for i in range(1, 1001)]
    lines = ['0:background'] + lines[::-1]  # Any order.
    names = labels.read_labels(self.write('\n'.join(lines)), 1001)
    self.assertEqual(names[:2], ['background', 'name 0, with comma'])
    self.assertEqual(names[1000], 'name 999, with comma')

  def testOtherClassCounts(self):
    path = self.write('cat\ndog\n')
    self.assertEqual(labels.read_labels(path, 2), ['cat', 'dog'])
    with self.assertRaisesRegex(labels.LabelsError,
                                'has 2 names; the model has 3 classes '
                                r'\(expected 3 names\)'):
      labels.read_labels(path, 3)

  def testBadFiles(self):
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

  def testImagenetNamesFor1001And1000Classes(self):
    with_background = labels.imagenet_names(1001)
    self.assertLen(with_background, 1001)
    self.assertEqual(with_background[:2], ['background', 'tench, Tinca tinca'])
    without = labels.imagenet_names(1000)
    self.assertEqual(without, with_background[1:])
    self.assertEqual(without[999],
                     'toilet tissue, toilet paper, bathroom tissue')
    self.assertIsNone(labels.imagenet_names(10))


if __name__ == '__main__':
  tf.test.main()
