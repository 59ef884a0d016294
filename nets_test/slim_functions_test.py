"""The tf_slim functions slim users' scripts call with the network, on this TF.

Fine-tuning scripts (variables by scope, restore all but the heads from a V1
or V2 checkpoint), slim's parameter count, and im2txt's image encoder
(`inception_v3_base` under its own arg_scope with `trainable=False`). None of
these needs a slim_compat patch on TF 2.21; these tests say so if one ever
does.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception
from nets_test import released_variables
from nets_test import testing

HEADS = ['InceptionV3/Logits', 'InceptionV3/AuxLogits']


def _build(images, num_classes):
  with slim.arg_scope(inception.inception_v3_arg_scope()):
    return inception.inception_v3(images, num_classes=num_classes,
                                  is_training=False)


class SlimVariablesTest(tf.test.TestCase):
  """Restoring the trunk of a 1001-class checkpoint into a 10-class model,
  and slim's parameter count.

  The tests share one build of the model (setUpClass), with a variable of
  another scope, a model variable of another scope and a variable that no
  checkpoint holds; they only read it and restore into it.
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.test.get_temp_dir()
    cls.paths, cls.values = {}, {}
    for version in ('V1', 'V2'):
      path = os.path.join(cls.root, 'slim_functions', version, 'model.ckpt')
      cls.values[version] = testing.write_checkpoint(
          path, num_classes=1001, version=version, seed=4)
      cls.paths[version] = path
    cls.graph = tf.Graph()
    with cls.graph.as_default():
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      _build(images, 10)
      cls.restore = slim.get_variables_to_restore(exclude=HEADS)
      with tf.variable_scope('Other'):
        tf.Variable(1.0, name='unrelated')
        slim.model_variable('weights', shape=[2])
      cls.not_in_checkpoint = tf.Variable(7.0, name='not_in_checkpoint')
      cls.init = tf.global_variables_initializer()
      var_list = cls.restore + [cls.not_in_checkpoint]
      cls.restore_fns = {
          version: (slim.assign_from_checkpoint_fn(path, var_list,
                                                   ignore_missing_vars=True),
                    slim.assign_from_checkpoint_fn(path, var_list))
          for version, path in cls.paths.items()}
    cls.graph.finalize()

  def testGetModelVariables(self):
    with self.graph.as_default():
      model_variables = slim.get_model_variables('InceptionV3')
      self.assertIn('Other/weights',
                    [v.op.name for v in slim.get_model_variables()])
    self.assertEqual({v.op.name: v.shape.as_list() for v in model_variables},
                     released_variables.released_variables(10))

  def testGetVariablesToRestoreExcludesTheHeads(self):
    names = [v.op.name for v in self.restore]
    expected = [name for name in released_variables.released_variables(1001)
                if not name.startswith(tuple(HEADS))]
    self.assertCountEqual(names, expected)
    self.assertLen(names, 388 - 12)  # 2 logits and 10 aux head variables
    # Variables of other scopes stay in.
    with self.graph.as_default():
      names = [v.op.name for v in slim.get_variables_to_restore(exclude=HEADS)]
    self.assertCountEqual(names, expected + ['Other/unrelated', 'Other/weights',
                                             'not_in_checkpoint'])

  def testAssignFromV1AndV2Checkpoints(self):
    for version in ('V1', 'V2'):
      init_fn, strict_fn = self.restore_fns[version]
      with tf.Session(graph=self.graph) as sess:
        sess.run(self.init)
        init_fn(sess)
        restored = sess.run({v.op.name: v for v in self.restore})
        self.assertEqual(sess.run(self.not_in_checkpoint), 7.0)
        with self.assertRaises(tf.errors.NotFoundError):
          strict_fn(sess)
      written = self.values[version]
      self.assertLen(restored, 388 - 12)
      for name, value in restored.items():
        np.testing.assert_array_equal(value, written[name], (version, name))

  def testParameterCounts(self):
    with self.graph.as_default():
      model_variables = slim.get_model_variables('InceptionV3')
    # The trunk: the variables inception_v3_base makes.
    trunk = [v for v in model_variables
             if not v.op.name.startswith(tuple(HEADS))]
    total, _ = slim.model_analyzer.analyze_vars(trunk, print_info=False)
    self.assertEqual(total, 21802784)  # slim's inception_v3_test
    total, size = slim.model_analyzer.analyze_vars(model_variables,
                                                   print_info=False)
    expected = sum(int(np.prod(shape)) for shape in
                   released_variables.released_variables(10).values())
    self.assertEqual(total, expected)
    self.assertEqual(size, 4 * expected)  # float32


class Im2txtEncoderTest(tf.test.TestCase):
  """im2txt's image_embedding.inception_v3: the trunk under its own scope."""

  def _encode(self, images, trainable, is_training):
    batch_norm_params = {
        'is_training': trainable and is_training,
        'trainable': trainable,
        'decay': 0.9997,
        'epsilon': 0.001,
        'variables_collections': {
            'beta': None, 'gamma': None,
            'moving_mean': ['moving_vars'], 'moving_variance': ['moving_vars'],
        },
    }
    with tf.variable_scope('InceptionV3', 'InceptionV3', [images]) as scope:
      with slim.arg_scope([slim.conv2d, slim.fully_connected],
                          weights_regularizer=None, trainable=trainable):
        with slim.arg_scope(
            [slim.conv2d],
            weights_initializer=tf.truncated_normal_initializer(stddev=0.1),
            activation_fn=tf.nn.relu, normalizer_fn=slim.batch_norm,
            normalizer_params=batch_norm_params):
          net, _ = inception.inception_v3_base(images, scope=scope)
          with tf.variable_scope('logits'):
            net = slim.avg_pool2d(net, net.get_shape()[1:3], padding='VALID',
                                  scope='pool')
            net = slim.dropout(net, keep_prob=0.8,
                               is_training=trainable and is_training,
                               scope='dropout')
            return slim.flatten(net, scope='flatten')

  def testFrozenEncoder(self):
    with tf.Graph().as_default():
      images = tf.random_uniform((2, 107, 107, 3), -1, 1)
      embedding = self._encode(images, trainable=False, is_training=True)
      self.assertListEqual(embedding.shape.as_list(), [2, 2048])
      self.assertEqual(tf.trainable_variables(), [])
      self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
      self.assertLen(slim.get_model_variables(), 4 * 94)
      self.assertLen(tf.get_collection('moving_vars'), 2 * 94)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        first, second = sess.run([embedding, embedding])
    self.assertAllClose(first, second)  # no dropout, no batch statistics

  def testTrainableEncoder(self):
    with tf.Graph().as_default():
      images = tf.random_uniform((2, 107, 107, 3), -1, 1)
      self._encode(images, trainable=True, is_training=True)
      self.assertLen(tf.trainable_variables(), 2 * 94)  # weights and beta
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2 * 94)


if __name__ == '__main__':
  tf.test.main()
