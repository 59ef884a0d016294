"""Tests of nets.preprocessing_factory: slim's names, Inception's functions."""

import textwrap

import numpy as np
import tensorflow.compat.v1 as tf

from nets import inception_preprocessing
from nets import preprocessing_factory
from nets_test import testing

# slim's preprocessing_fn_map (research/slim preprocessing_factory.py),
# written out by hand: the names mapped to inception_preprocessing ...
SLIM_INCEPTION_NAMES = [
    'inception', 'inception_v1', 'inception_v2', 'inception_v3',
    'inception_v4', 'inception_resnet_v2', 'mobilenet_v1', 'mobilenet_v2',
    'mobilenet_v2_035', 'mobilenet_v3_small', 'mobilenet_v3_large',
    'mobilenet_v3_small_minimalistic', 'mobilenet_v3_large_minimalistic',
    'mobilenet_edgetpu', 'mobilenet_edgetpu_075', 'mobilenet_v2_140',
    'nasnet_mobile', 'nasnet_large', 'pnasnet_mobile', 'pnasnet_large',
]
# ... and the rest, with the preprocessing slim uses for them.
SLIM_OTHER_NAMES = {
    'cifarnet': 'cifarnet', 'lenet': 'lenet',
    'resnet_v1_50': 'vgg', 'resnet_v1_101': 'vgg', 'resnet_v1_152': 'vgg',
    'resnet_v1_200': 'vgg', 'resnet_v2_50': 'vgg', 'resnet_v2_101': 'vgg',
    'resnet_v2_152': 'vgg', 'resnet_v2_200': 'vgg', 'vgg': 'vgg',
    'vgg_a': 'vgg', 'vgg_16': 'vgg', 'vgg_19': 'vgg',
}
ATOL = 1e-6


def run_seeded(build, seed=5):
  """Builds build() in a new graph with a graph-level seed; runs it once."""
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    out = build()
    with tf.Session() as sess:
      return sess.run(out)


class PreprocessingFactoryTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.image = np.random.RandomState(0).randint(
        0, 256, (40, 56, 3)).astype(np.uint8)

  def testNamesAreSlims(self):
    self.assertCountEqual(preprocessing_factory.INCEPTION_NAMES,
                          SLIM_INCEPTION_NAMES)
    self.assertEqual(
        {name: module[:-len('_preprocessing')] for name, module
         in preprocessing_factory.OTHER_SLIM_NAMES.items()}, SLIM_OTHER_NAMES)

  def testEveryNameIsInceptionPreprocessing(self):
    eval_want = run_seeded(lambda: inception_preprocessing.preprocess_image(
        self.image, 32, 32))
    train_want = run_seeded(lambda: inception_preprocessing.preprocess_image(
        self.image, 32, 32, is_training=True))
    for name in SLIM_INCEPTION_NAMES:
      eval_fn = preprocessing_factory.get_preprocessing(name)
      train_fn = preprocessing_factory.get_preprocessing(name,
                                                         is_training=True)
      self.assertAllClose(run_seeded(lambda: eval_fn(self.image, 32, 32)),
                          eval_want, atol=ATOL, rtol=0, msg=name)
      # The same graph-level seed draws the same crop, flip and colours.
      self.assertAllClose(run_seeded(lambda: train_fn(self.image, 32, 32)),
                          train_want, atol=ATOL, rtol=0, msg=name)
    # Training and evaluation differ.
    self.assertGreater(np.abs(eval_want - train_want).max(), 0.01)

  def testKeywordArgumentsPassThrough(self):
    def train(**kwargs):
      fn = preprocessing_factory.get_preprocessing('inception_v3',
                                                   is_training=True)
      return fn(self.image, 24, 32, **kwargs)

    with tf.Graph().as_default() as graph:
      out = train(add_image_summaries=False, fast_mode=False,
                  bbox=tf.constant([[[0.25, 0.25, 0.75, 0.75]]]))
      self.assertEqual(out.get_shape().as_list(), [24, 32, 3])
      self.assertEqual(tf.get_collection(tf.GraphKeys.SUMMARIES), [])
      ops = [op.type for op in graph.get_operations()]
      self.assertEqual(ops.count('ResizeBicubic'), 1)  # fast_mode=False
    with tf.Graph().as_default() as graph:
      train(crop_image=False)
      ops = [op.type for op in graph.get_operations()]
      self.assertNotIn('SampleDistortedBoundingBoxV2', ops)
      self.assertLen(tf.get_collection(tf.GraphKeys.SUMMARIES), 3)
    self.assertAllClose(
        run_seeded(lambda: train(bbox=[[[0.1, 0.2, 0.6, 0.9]]],
                                 fast_mode=False)),
        run_seeded(lambda: inception_preprocessing.preprocess_for_train(
            self.image, 24, 32, [[[0.1, 0.2, 0.6, 0.9]]], fast_mode=False)),
        atol=ATOL, rtol=0)

    uncropped = preprocessing_factory.get_preprocessing('mobilenet_v1')
    self.assertAllClose(
        run_seeded(lambda: uncropped(self.image, 32, 32, crop_image=False)),
        run_seeded(lambda: inception_preprocessing.preprocess_for_eval(
            self.image, 32, 32, central_crop=False)), atol=ATOL, rtol=0)
    with self.assertRaises(TypeError):
      uncropped(self.image, 32, 32, no_such_argument=1)

  def testGrayscale(self):
    for is_training in (False, True):
      fn = preprocessing_factory.get_preprocessing(
          'inception', is_training=is_training, use_grayscale=True)
      want = run_seeded(lambda: inception_preprocessing.preprocess_image(
          self.image, 32, 32, is_training=is_training, use_grayscale=True))
      got = run_seeded(lambda: fn(self.image, 32, 32))
      self.assertEqual(got.shape, (32, 32, 1))
      self.assertAllClose(got, want, atol=ATOL, rtol=0)

  def testUnknownNames(self):
    listed = ', '.join(preprocessing_factory.INCEPTION_NAMES)
    for name, preprocessing in SLIM_OTHER_NAMES.items():
      with self.assertRaises(ValueError) as caught:
        preprocessing_factory.get_preprocessing(name)
      self.assertEqual(
          str(caught.exception),
          "name %r uses slim's %s_preprocessing, which is not part of this "
          'port; only Inception preprocessing is here, for: %s' %
          (name, preprocessing, listed))
    for name in ('resnet', 'Inception_v3', '', None, ['inception']):
      with self.assertRaises(ValueError) as caught:
        preprocessing_factory.get_preprocessing(name)
      self.assertEqual(
          str(caught.exception),
          'name %r is not a known preprocessing name; only Inception '
          'preprocessing is here, for: %s' % (name, listed))
    for name in SLIM_INCEPTION_NAMES:
      self.assertIn(name, listed)


class GraphModesTest(tf.test.TestCase):
  """slim's usage in a plain TF2 process and after disable_v2_behavior."""

  def _run(self, preamble):
    script = preamble + textwrap.dedent("""
        import numpy as np
        from nets import preprocessing_factory
        assert tf.executing_eagerly() == EAGER, 'nets changed the global mode'
        with tf.Graph().as_default():
          tf.set_random_seed(1)
          image = tf.placeholder(tf.uint8, [None, None, 3])
          train = preprocessing_factory.get_preprocessing(
              'inception_v3', is_training=True)(image, 32, 32, fast_mode=False)
          evaluate = preprocessing_factory.get_preprocessing('inception_v3')(
              image, 32, 32)
          summary = tf.summary.merge_all()
          with tf.Session() as sess:
            got = sess.run([train, evaluate, summary],
                           {image: np.zeros((40, 50, 3), np.uint8)})
        print('OUT', got[0].shape, got[1].shape,
              len(tf.Summary.FromString(got[2]).value))
        """)
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn('OUT (32, 32, 3) (32, 32, 3) 4', result.stdout)

  def testDefaultTF2Process(self):
    self._run('import tensorflow.compat.v1 as tf\nEAGER = True\n')

  def testAfterDisableV2Behavior(self):
    self._run('import tensorflow.compat.v1 as tf\n'
              'tf.disable_v2_behavior()\nEAGER = False\n')


if __name__ == '__main__':
  tf.test.main()
