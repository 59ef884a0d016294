"""slim's `nets.inception` module, the `nets` package and `inception_utils`.

`nets.inception` re-exports `nets.inception_v3`'s functions (the very same
objects), so research/slim's InceptionV3 cases live in `inception_v3_test`;
here: the identity, the names slim had and this port has not, the package's
lazy submodules (no TensorFlow on import), and research/slim's
`inception_utils.inception_arg_scope`.
"""

import inspect
import textwrap

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception
from nets import inception_utils
from nets import inception_v3
from nets_test import released_variables
from nets_test import testing

class InceptionModuleTest(tf.test.TestCase):
  """nets.inception: slim's module, Inception V3 only."""

  def testInceptionV3Names(self):
    self.assertIs(inception.inception_v3, inception_v3.inception_v3)
    self.assertIs(inception.inception_v3_base, inception_v3.inception_v3_base)
    self.assertIs(inception.inception_v3_arg_scope,
                  inception_v3.inception_v3_arg_scope)
    self.assertEqual(inception.inception_v3.default_image_size, 299)

  def testGlobalPoolStaticNonSquareImages(self):
    # research/slim's case: a static non-square input pools to 1x1.
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, (1, 250, 300, 3))
      logits, end_points = inception.inception_v3(inputs, 1000,
                                                  global_pool=True)
    self.assertListEqual(logits.get_shape().as_list(), [1, 1000])
    self.assertListEqual(end_points['Mixed_7c'].get_shape().as_list(),
                         [1, 6, 8, 2048])
    self.assertListEqual(end_points['global_pool'].get_shape().as_list(),
                         [1, 1, 1, 2048])

  def testOtherSlimNetworksSayOnlyV3IsHere(self):
    for network in ('inception_v1', 'inception_v2', 'inception_v4',
                    'inception_resnet_v2'):
      for name in (network, network + '_base', network + '_arg_scope'):
        with self.assertRaisesRegex(
            AttributeError, r'^nets.inception.%s: only Inception V3 is in '
            r'this port .*; %s is not$' % (name, network)):
          getattr(inception, name)
        self.assertFalse(hasattr(inception, name))

  def testUnknownNameIsAPlainAttributeError(self):
    with self.assertRaisesRegex(
        AttributeError, "^module 'nets.inception' has no attribute "
        "'inception_v5'$"):
      inception.inception_v5  # pylint: disable=pointless-statement


class NetsPackageTest(tf.test.TestCase):
  """`import nets` imports no TensorFlow; submodules load on first use."""

  def testLazySubmodules(self):
    script = textwrap.dedent("""
        import sys
        import nets
        assert 'tensorflow' not in sys.modules, 'import nets imported TF'
        assert 'nets.inception' not in sys.modules
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        assert tf.executing_eagerly()
        print('DEFAULT_SIZE', nets.inception_v3.default_image_size,
              nets.inception.inception_v3.default_image_size)
        # The first layer only: the lazily loaded functions work (the
        # network itself is inception_v3_test's).
        with tf.Graph().as_default():
          images = tf.placeholder(tf.float32, [1, 107, 107, 3])
          with slim.arg_scope(nets.inception.inception_v3_arg_scope()):
            net, _ = nets.inception.inception_v3_base(
                images, final_endpoint='Conv2d_1a_3x3')
        print('NET', net.op.name, net.shape.as_list())
        try:
          nets.no_such_module
        except AttributeError as e:
          print('ERROR', e)
        assert tf.executing_eagerly()
        """)
    result = testing.run_python(['-c', script])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn('DEFAULT_SIZE 299 299', result.stdout)
    self.assertIn('NET InceptionV3/Conv2d_1a_3x3/Relu [1, 53, 53, 32]',
                  result.stdout)
    self.assertIn("ERROR module 'nets' has no attribute 'no_such_module'",
                  result.stdout)


class InceptionUtilsTest(tf.test.TestCase):
  """research/slim's inception_utils.inception_arg_scope."""

  def testSignatureIsResearchSlims(self):
    parameters = inspect.signature(
        inception_utils.inception_arg_scope).parameters
    self.assertEqual(
        [(name, p.default) for name, p in parameters.items()],
        [('weight_decay', 0.00004), ('use_batch_norm', True),
         ('batch_norm_decay', 0.9997), ('batch_norm_epsilon', 0.001),
         ('activation_fn', tf.nn.relu),
         ('batch_norm_updates_collections', tf.GraphKeys.UPDATE_OPS),
         ('batch_norm_scale', False)])

  def _conv_defaults(self, scope):
    return scope[slim.arg_scope_func_key(slim.conv2d)]

  def testDefaults(self):
    scope = inception_utils.inception_arg_scope()
    conv = self._conv_defaults(scope)
    self.assertIsInstance(conv['weights_initializer'],
                          type(slim.variance_scaling_initializer()))
    self.assertIs(conv['normalizer_fn'], slim.batch_norm)
    self.assertIs(conv['activation_fn'], tf.nn.relu)
    self.assertEqual(conv['normalizer_params'],
                     {'decay': 0.9997, 'epsilon': 0.001,
                      'updates_collections': tf.GraphKeys.UPDATE_OPS,
                      'fused': None, 'scale': False})
    fc = scope[slim.arg_scope_func_key(slim.fully_connected)]
    self.assertIn('weights_regularizer', fc)

  def testReleasedVariablesAndRegularization(self):
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      with slim.arg_scope(inception_utils.inception_arg_scope(
          weight_decay=0.001)):
        inception.inception_v3(images, num_classes=1001, is_training=False)
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
      self.assertEqual(shapes, released_variables.released_variables(1001))
      self.assertLen(tf.losses.get_regularization_losses(), 98)
      self.assertEqual(tf.get_collection('moving_vars'), [])

  def testBatchNormScaleAndNoBatchNorm(self):
    conv = self._conv_defaults(
        inception_utils.inception_arg_scope(batch_norm_scale=True))
    self.assertTrue(conv['normalizer_params']['scale'])
    conv = self._conv_defaults(
        inception_utils.inception_arg_scope(use_batch_norm=False,
                                            activation_fn=tf.nn.relu6))
    self.assertIsNone(conv['normalizer_fn'])
    self.assertEqual(conv['normalizer_params'], {})
    self.assertIs(conv['activation_fn'], tf.nn.relu6)

  def testUpdatesCollections(self):
    conv = self._conv_defaults(inception_utils.inception_arg_scope(
        batch_norm_updates_collections=None))
    self.assertIsNone(conv['normalizer_params']['updates_collections'])

  def testBadArguments(self):
    with self.assertRaisesRegex(ValueError,
                                "use_batch_norm must be True or False, got "
                                "'moving_vars'"):
      inception_utils.inception_arg_scope(0.0, 'moving_vars')
    with self.assertRaisesRegex(ValueError,
                                "activation_fn must be callable or None, got "
                                "'relu'"):
      inception_utils.inception_arg_scope(activation_fn='relu')


if __name__ == '__main__':
  tf.test.main()
