"""Numerical test: the TF graph against an independent NumPy Inception V3.

Weights are random but non-trivial (BatchNorm statistics included) and come
from a checkpoint restored into the graph, as a user's would. Each module is
fed the graph's own input to that module, so an error is pinned to the module
that makes it.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf

from nets_test import numpy_reference
from nets_test import testing


class NumpyReferenceTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tf.test.get_temp_dir()
    path = os.path.join(cls.tmp, 'reference', 'model.ckpt')
    cls.weights = testing.write_checkpoint(path, num_classes=1001, version='V1',
                                           seed=11)
    images = np.random.RandomState(5).uniform(-1, 1, (2, 299, 299, 3))
    cls.images = images.astype(np.float32)
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, [None, 299, 299, 3])
      _, end_points = testing.build_classifier(inputs, num_classes=1001)
      with tf.Session() as sess:
        tf.train.Saver().restore(sess, path)
        cls.end_points = sess.run(end_points, {inputs: cls.images})

  def assertClose(self, actual, expected):
    self.assertEqual(actual.shape, expected.shape)
    scale = np.abs(expected).max()
    self.assertGreater(scale, 1e-2)  # the comparison is not of near-zeros
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)

  def testStem(self):
    expected = numpy_reference.stem(self.images.astype(np.float64), self.weights)
    self.assertClose(self.end_points['MaxPool_5a_3x3'], expected)

  def _check_module(self, name, previous):
    expected = numpy_reference.module(name, self.end_points[previous],
                                      self.weights)
    self.assertClose(self.end_points[name], expected)

  def testMixed5b(self):
    self._check_module('Mixed_5b', 'MaxPool_5a_3x3')

  def testMixed5c(self):
    self._check_module('Mixed_5c', 'Mixed_5b')

  def testMixed5d(self):
    self._check_module('Mixed_5d', 'Mixed_5c')

  def testMixed6a(self):
    self._check_module('Mixed_6a', 'Mixed_5d')

  def testMixed6b(self):
    self._check_module('Mixed_6b', 'Mixed_6a')

  def testMixed6cTo6e(self):
    for name, previous in (('Mixed_6c', 'Mixed_6b'), ('Mixed_6d', 'Mixed_6c'),
                           ('Mixed_6e', 'Mixed_6d')):
      self._check_module(name, previous)

  def testMixed7a(self):
    self._check_module('Mixed_7a', 'Mixed_6e')

  def testMixed7b(self):
    self._check_module('Mixed_7b', 'Mixed_7a')

  def testMixed7c(self):
    self._check_module('Mixed_7c', 'Mixed_7b')

  def testLogitsAndPredictions(self):
    logits = numpy_reference.logits_head(self.end_points['Mixed_7c'],
                                         self.weights)
    self.assertClose(self.end_points['Logits'], logits)
    np.testing.assert_allclose(self.end_points['Predictions'],
                               numpy_reference.softmax(logits), atol=1e-5)

  def testAuxLogits(self):
    aux = numpy_reference.aux_head(self.end_points['Mixed_6e'], self.weights)
    self.assertClose(self.end_points['AuxLogits'], aux)


if __name__ == '__main__':
  tf.test.main()
