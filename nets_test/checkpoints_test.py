"""Tests of nets.checkpoints on checkpoints written with the released names."""

import os
import re
import shutil

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import checkpoints
from nets import inception_v3
from nets_test import testing

HEADS = 'InceptionV3/Logits,InceptionV3/AuxLogits'
EMA = '/ExponentialMovingAverage'


class CheckpointsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'checkpoints_test')
    # testing.write_checkpoint's values, of the variables of the tests'
    # shared models (building the model again for them costs more).
    def random_values(num_classes, seed):
      with cls.model_graph(num_classes).as_default():
        return testing.random_values(tf.global_variables(), seed)
    shadows = {name + EMA: value
               for name, value in random_values(1001, seed=7).items()}
    cls.global_step = np.int64(1234)
    # Released-like: V1 file, 1001 classes, plus global_step and EMA shadows.
    cls.v1_path = os.path.join(cls.dir, 'v1', 'inception_v3.ckpt')
    cls.v1 = dict(random_values(1001, seed=1), global_step=cls.global_step,
                  **shadows)
    testing.save_tensors(cls.v1_path, cls.v1, 'V1')
    # V2 prefix, 1000 classes, no shadows.
    cls.v2_path = os.path.join(cls.dir, 'v2', 'model.ckpt-1000')
    cls.v2 = random_values(1000, seed=2)
    testing.save_tensors(cls.v2_path, cls.v2, 'V2')

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  _graphs = {}

  @classmethod
  def model_graph(cls, num_classes, size=299):
    """A graph holding the model (under the arg scope), built once per class.

    The tests on it only read its variables and add restore ops, so they can
    share it; a build costs more than most of these tests.
    """
    key = (num_classes, size)
    if key not in cls._graphs:
      graph = tf.Graph()
      with graph.as_default():
        cls.build(num_classes, size)
      cls._graphs[key] = graph
    return cls._graphs[key]

  @staticmethod
  def build(num_classes, size=299, arg_scope=True, **kwargs):
    """Builds the model in the current default graph."""
    images = tf.placeholder(tf.float32, [1, size, size, 3])
    if arg_scope:
      return testing.build_classifier(images, num_classes=num_classes, **kwargs)
    return inception_v3.inception_v3(images, num_classes=num_classes,
                                     is_training=False, **kwargs)

  def restore_and_read(self, fn):
    """Initializes, runs `fn`, returns {name: value} of the model variables."""
    variables = slim.get_model_variables()
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      fn(sess)
      return dict(zip([v.op.name for v in variables], sess.run(variables)))

  def assert_values(self, restored, expected, names):
    differ = [n for n in names if not np.array_equal(restored[n], expected[n])]
    self.assertEqual(differ, [])

  # --- Path resolution ---------------------------------------------------------

  def testResolveV1FileAndDirectory(self):
    resolve = checkpoints.resolve_checkpoint_path
    self.assertEqual(resolve(self.v1_path), self.v1_path)
    self.assertEqual(resolve(os.path.dirname(self.v1_path)), self.v1_path)
    self.assertEqual(checkpoints.checkpoint_format(self.v1_path), 'V1')
    # As extracted from the release tarball: one file, no `checkpoint` file.
    bare = os.path.join(self.get_temp_dir(), 'bare')
    os.makedirs(bare)
    os.symlink(self.v1_path, os.path.join(bare, 'inception_v3.ckpt'))
    with open(os.path.join(bare, 'labels.txt'), 'w') as f:
      f.write('background\n')
    self.assertEqual(resolve(bare), os.path.join(bare, 'inception_v3.ckpt'))

  def testResolveV2PrefixFilesAndDirectory(self):
    resolve = checkpoints.resolve_checkpoint_path
    for path in (self.v2_path, self.v2_path + '.index',
                 self.v2_path + '.data-00000-of-00001',
                 os.path.dirname(self.v2_path)):
      self.assertEqual(resolve(path), self.v2_path, msg=path)
    self.assertEqual(checkpoints.checkpoint_format(self.v2_path), 'V2')

  def testResolveMissing(self):
    empty = os.path.join(self.get_temp_dir(), 'empty')
    os.makedirs(empty)
    for path, text in ((os.path.join(empty, 'nope.ckpt'), 'No checkpoint at'),
                       (empty, 'No checkpoint in directory')):
      with self.assertRaises(checkpoints.CheckpointNotFoundError) as cm:
        checkpoints.resolve_checkpoint_path(path)
      self.assertIsInstance(cm.exception, ValueError)
      self.assertStartsWith(str(cm.exception), text)
      self.assertIn(path, str(cm.exception).splitlines()[0])

  def testInferNumClasses(self):
    self.assertEqual(checkpoints.infer_num_classes(
        checkpoints.checkpoint_shapes(self.v1_path)), 1001)
    self.assertEqual(checkpoints.infer_num_classes(
        checkpoints.checkpoint_shapes(self.v2_path)), 1000)
    self.assertIsNone(checkpoints.infer_num_classes({'global_step': []}))

  # --- Clean restores ------------------------------------------------------------

  def testRestoreV11001ClassesWithExtraKeys(self):
    with self.model_graph(1001).as_default():
      fn = checkpoints.restore_fn(os.path.dirname(self.v1_path))
      self.assertEqual(fn.checkpoint_path, self.v1_path)
      self.assertEqual(len(fn.var_map), 388)
      restored = self.restore_and_read(fn)
    self.assertLen(restored, 388)
    self.assert_values(restored, self.v1, restored)

  def testRestoreV21000ClassesOutsideTheGraphContext(self):
    with self.model_graph(1000).as_default() as graph:
      fn = checkpoints.restore_fn(self.v2_path)
      variables = slim.get_model_variables()
      init = tf.global_variables_initializer()
    # fn is called where the default graph is no longer `graph`.
    with tf.Session(graph=graph) as sess:
      sess.run(init)
      fn(sess)
      restored = dict(zip([v.op.name for v in variables], sess.run(variables)))
    self.assertLen(restored, 388)
    self.assert_values(restored, self.v2, restored)

  def testRestoreUnknownInputSizeKeeps299AuxHead(self):
    with tf.Graph().as_default():
      testing.build_classifier(tf.placeholder(tf.float32, [None, None, None, 3]))
      fn = checkpoints.restore_fn(self.v1_path)
      self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_5x5/weights', fn.var_map)

  # --- Mismatches and their hints ------------------------------------------------

  def test1000ModelAgainst1001Checkpoint(self):
    with self.model_graph(1000).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path)
      # ignore_missing_vars does not hide shape mismatches.
      with self.assertRaises(checkpoints.CheckpointMismatchError):
        checkpoints.restore_fn(self.v1_path, ignore_missing_vars=True)
    error = cm.exception
    self.assertIsInstance(error, ValueError)
    text = str(error)
    summary = text.splitlines()[0]
    self.assertIn(self.v1_path, summary)
    self.assertIn('4 variables with another shape', summary)
    self.assertIn('1001 classes, the model 1000', summary)
    self.assertIn('num_classes=1001', summary)
    self.assertIn('exclude_scopes=\'%s\'' % HEADS, text)
    self.assertIn('"background"', text)
    self.assertEqual(error.missing, [])
    self.assertCountEqual(error.mismatched, [
        ('InceptionV3/Logits/Conv2d_1c_1x1/weights',
         [1, 1, 2048, 1000], [1, 1, 2048, 1001]),
        ('InceptionV3/Logits/Conv2d_1c_1x1/biases', [1000], [1001]),
        ('InceptionV3/AuxLogits/Conv2d_2b_1x1/weights',
         [1, 1, 768, 1000], [1, 1, 768, 1001]),
        ('InceptionV3/AuxLogits/Conv2d_2b_1x1/biases', [1000], [1001])])
    self.assertIn('InceptionV3/Logits/Conv2d_1c_1x1/weights: '
                  '[1, 1, 2048, 1000] vs [1, 1, 2048, 1001]', text)

  def test1001ModelAgainst1000Checkpoint(self):
    with self.model_graph(1001).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v2_path)
    text = str(cm.exception)
    self.assertIn('the checkpoint has 1000 classes, the model 1001: use '
                  'num_classes=1000', text.splitlines()[0])
    self.assertNotIn('background', text)

  def testAuxHeadBuiltFor224(self):
    with self.model_graph(1001, size=224).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path)
    error = cm.exception
    self.assertEqual(error.mismatched, [])
    self.assertCountEqual([name for name, _ in error.missing], [
        'InceptionV3/AuxLogits/Conv2d_2a_3x3/' + v for v in (
            'weights', 'BatchNorm/beta', 'BatchNorm/moving_mean',
            'BatchNorm/moving_variance')])
    self.assertIn(('InceptionV3/AuxLogits/Conv2d_2a_3x3/weights',
                   [3, 3, 128, 768]), error.missing)
    summary = str(error).splitlines()[0]
    self.assertIn('4 variables missing', summary)
    self.assertIn('non-299 input (Conv2d_2a_3x3, the checkpoint has '
                  'Conv2d_2a_5x5)', summary)
    self.assertIn('create_aux_logits=False', summary)

  def testAuxHead224Workarounds(self):
    with self.model_graph(1001, size=224).as_default():
      fn = checkpoints.restore_fn(self.v1_path, ignore_missing_vars=True)
      self.assertEqual(len(fn.var_map), 388 - 4)
      fn = checkpoints.restore_fn(self.v1_path,
                                  exclude_scopes=['InceptionV3/AuxLogits'])
      self.assertEqual(len(fn.var_map), 388 - 10)
      restored = self.restore_and_read(fn)
    trunk = [n for n in restored if '/AuxLogits/' not in n]
    self.assertLen(trunk, 378)
    self.assert_values(restored, self.v1, trunk)

  def testModelWithoutArgScope(self):
    with tf.Graph().as_default():
      self.build(1001, arg_scope=False)
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path)
    error = cm.exception
    summary = str(error).splitlines()[0]
    self.assertIn('built without inception_v3_arg_scope() (conv biases '
                  'instead of BatchNorm)', summary)
    missing = [name for name, _ in error.missing]
    self.assertIn('InceptionV3/Conv2d_1a_3x3/biases', missing)
    self.assertIn(('InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/biases',
                   [192]), error.missing)
    # Every conv but the two classifier layers has biases instead of BN.
    self.assertLen(missing, 96)
    self.assertEqual(error.mismatched, [])

  def testModelUnderAnotherScope(self):
    with tf.Graph().as_default():
      self.build(1001, scope='Tower')
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path)
    self.assertLen(cm.exception.missing, 388)
    self.assertIn('scope Tower vs InceptionV3', str(cm.exception).splitlines()[0])

  def testDtypeMismatch(self):
    with tf.Graph().as_default():
      step = tf.Variable(0.0, name='float_step')
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path, var_list={'global_step': step})
    self.assertEqual(cm.exception.mismatched,
                     [('global_step', 'float32', 'int64')])

  def testNoModelVariables(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, 'No model variables'):
        checkpoints.restore_fn(self.v1_path)

  def testEverythingExcluded(self):
    with self.model_graph(1001).as_default():
      with self.assertRaisesRegex(ValueError, 'Nothing to restore'):
        checkpoints.restore_fn(self.v1_path, exclude_scopes='InceptionV3')

  # --- Fine-tuning, EMA -----------------------------------------------------------

  def testFineTune10ClassesExcludingHeads(self):
    with self.model_graph(10).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path)
      self.assertIn('1001 classes, the model 10', str(cm.exception))
      fn = checkpoints.restore_fn(self.v1_path, exclude_scopes=HEADS)
      self.assertEqual(len(fn.var_map), 388 - 12)
      restored = self.restore_and_read(fn)
    classifiers = [n for n in restored if '2b_1x1' in n or '1c_1x1' in n]
    self.assertLen(classifiers, 4)
    for name in classifiers:
      self.assertEqual(restored[name].shape[-1], 10)
    trunk = [n for n in restored if '/Logits/' not in n and
             '/AuxLogits/' not in n]
    self.assertLen(trunk, 376)
    self.assert_values(restored, self.v1, trunk)
    # The heads keep their initial values: the aux conv is not restored.
    aux = 'InceptionV3/AuxLogits/Conv2d_2a_5x5/weights'
    self.assertNotAllClose(restored[aux], self.v1[aux])

  def testMovingAveragesRestoreTheShadows(self):
    with self.model_graph(1001).as_default():
      fn = checkpoints.restore_fn(self.v1_path, moving_average_decay=0.9999)
      restored = self.restore_and_read(fn)
    self.assertLen(restored, 388)
    shadows = {name: self.v1[name + EMA] for name in restored}
    self.assert_values(restored, shadows, restored)
    same_as_raw = [n for n in restored if np.allclose(restored[n], self.v1[n])]
    self.assertEqual(same_as_raw, [])

  def testMovingAveragesPartlyMissing(self):
    with self.model_graph(1001, size=224).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(self.v1_path, moving_average_decay=0.99)
    self.assertIn('InceptionV3/AuxLogits/Conv2d_2a_3x3/weights' + EMA,
                  [name for name, _ in cm.exception.missing])
    self.assertIn('has them for only 384 of 388 variables',
                  str(cm.exception))

  def testMovingAveragesAbsent(self):
    with self.model_graph(1000).as_default():
      with self.assertRaises(checkpoints.MovingAveragesNotFoundError) as cm:
        checkpoints.restore_fn(self.v2_path, moving_average_decay=0.9999)
      self.assertIsInstance(cm.exception, ValueError)
      self.assertIn('has no moving averages', str(cm.exception))
      with self.assertRaisesRegex(ValueError, r'must be in \(0, 1\)'):
        checkpoints.restore_fn(self.v1_path, moving_average_decay=1.5)

  def testAPathThatIsNotAStrIsAValueErrorBeforeAnyOp(self):
    for path in (123, b'/tmp/model.ckpt', None):
      with tf.Graph().as_default() as graph:
        with self.assertRaisesRegex(
            ValueError, r'^checkpoint_path must be a path \(a str or '
            r'os.PathLike of one\), got %s$' % re.escape(repr(path))):
          checkpoints.restore_fn(path)
        self.assertEqual(graph.get_operations(), [])

  # --- Unreadable files ------------------------------------------------------------

  def testCorruptAndTruncatedV1Files(self):
    with open(self.v1_path, 'rb') as f:
      data = f.read()
    with tf.Graph().as_default():
      var_list = [tf.Variable(0.0, name='InceptionV3/Logits/Conv2d_1c_1x1/x')]
      for name, content in (('garbage.ckpt', b'not a checkpoint' * 64),
                            ('truncated.ckpt', data[:len(data) // 2]),
                            ('empty.ckpt', b'')):
        path = os.path.join(self.get_temp_dir(), name)
        with open(path, 'wb') as f:
          f.write(content)
        with self.assertRaises(checkpoints.CheckpointReadError) as cm:
          checkpoints.restore_fn(path, var_list=var_list)
        self.assertStartsWith(
            str(cm.exception), 'Cannot read checkpoint %s: corrupt, truncated '
            'or not a TensorFlow checkpoint' % path)

  def testTruncatedV2DataFailsAtRestoreAndVerify(self):
    prefix = os.path.join(self.get_temp_dir(), 'truncated', 'model.ckpt')
    testing.write_truncated_copy(self.v2_path, prefix)
    with self.assertRaisesRegex(checkpoints.CheckpointReadError,
                                'truncated or corrupt'):
      checkpoints.verify_checkpoint(prefix)
    with self.model_graph(1000).as_default():
      fn = checkpoints.restore_fn(prefix)  # The index alone looks fine.
      with self.assertRaisesRegex(checkpoints.CheckpointReadError,
                                  'Cannot read checkpoint %s' % prefix):
        self.restore_and_read(fn)

  def testIndexWithoutDataSaysTheDataFileIsMissing(self):
    prefix = os.path.join(self.get_temp_dir(), 'no_data', 'model.ckpt')
    os.makedirs(os.path.dirname(prefix))
    shutil.copy(self.v2_path + '.index', prefix + '.index')
    for path in (prefix, os.path.dirname(prefix)):
      with self.assertRaisesRegex(
          checkpoints.CheckpointReadError,
          r'^Checkpoint %s has its index \(model\.ckpt\.index\) but not its '
          r'data: model\.ckpt\.data-00000-of-00001 is missing\.$' % prefix):
        checkpoints.open_checkpoint(path)

  def testStaleStateFileNamesTheDeletedEntry(self):
    directory = os.path.join(self.get_temp_dir(), 'stale')
    os.makedirs(directory)
    with open(os.path.join(directory, 'checkpoint'), 'w') as f:
      f.write('model_checkpoint_path: "model.ckpt-5"\n'
              'all_model_checkpoint_paths: "model.ckpt-5"\n')
    with self.assertRaisesRegex(
        checkpoints.CheckpointNotFoundError,
        r'^The checkpoint state file %s names \S*model\.ckpt-5, which does not '
        r'exist \(deleted\?\)' % os.path.join(directory, 'checkpoint')):
      checkpoints.resolve_checkpoint_path(directory)
    rc, out, err = testing.run_tool('nets.checkpoints',
                                    '--checkpoint_path=' + directory)
    self.assertEqual((rc, out), (1, ''))
    self.assertLen(err, 1, msg=err)  # No TensorFlow ERROR lines before it.
    self.assertRegex(err[0], r'^nets\.checkpoints: error: The checkpoint '
                     r'state file \S+ names \S*model\.ckpt-5, which does not exist')

  def testAnotherNetworkIsNotInceptionV3(self):
    path = os.path.join(self.get_temp_dir(), 'vgg', 'model.ckpt')
    with tf.Graph().as_default():
      tf.Variable(tf.zeros([3, 3, 3, 8]), name='vgg_16/conv1/conv1_1/weights')
      tf.Variable(tf.zeros([8, 10]), name='vgg_16/fc8/weights')
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, path, write_meta_graph=False)
    message = (r'^Checkpoint %s is not an Inception V3 checkpoint: it has no '
               r'Conv2d_1a_3x3/weights \(its 2 tensors start with '
               r'vgg_16/conv1/conv1_1/weights\)\.$' % path)
    with self.assertRaisesRegex(checkpoints.CheckpointError, message):
      checkpoints.resolve(path)
    with self.model_graph(10).as_default():
      with self.assertRaises(checkpoints.CheckpointMismatchError) as cm:
        checkpoints.restore_fn(path)
    self.assertIn('probably it is not an Inception V3 checkpoint (its '
                  'variables are under vgg_16/)', cm.exception.summary)
    rc, _, err = testing.run_tool('nets.checkpoints', '--checkpoint_path=' + path)
    self.assertEqual(rc, 1)
    self.assertLen(err, 1, msg=err)
    self.assertRegex(err[0], 'nets.checkpoints: error: Checkpoint .* is not '
                     'an Inception V3 checkpoint')

  # --- Command line ------------------------------------------------------------------

  def testCliCleanCheckpoint(self):
    rc, out, err = testing.run_tool('nets.checkpoints',
                           '--checkpoint_path=' + os.path.dirname(self.v1_path))
    self.assertEqual(rc, 0, msg=out + '\n'.join(err))
    self.assertEqual(err, [])
    self.assertIn('Checkpoint: %s (V1, %d tensors)' % (self.v1_path, 388 * 2 + 1),
                  out)
    self.assertIn('Classes: 1001 (inferred from '
                  'InceptionV3/Logits/Conv2d_1c_1x1/weights)', out)
    self.assertRegex(out, r'Mixed_7c +36/36')
    self.assertIn('OK: all 388 model variables restore cleanly.', out)

  def testCliMismatchListsVariables(self):
    rc, out, err = testing.run_tool('nets.checkpoints', '--checkpoint_path=' +
                           self.v2_path, '--num_classes=1001')
    self.assertEqual(rc, 1)
    self.assertRegex(out, r'Logits +0/2 +<- MISMATCH')
    self.assertIn('InceptionV3/Logits/Conv2d_1c_1x1/biases: [1001] vs [1000]',
                  out)
    self.assertLen(err, 1)
    self.assertStartsWith(err[0], 'nets.checkpoints: error: Checkpoint %s does '
                          'not match the model' % self.v2_path)
    self.assertIn('the checkpoint has 1000 classes, the model 1001', err[0])
    self.assertNotIn('does not match the model', out)  # Said once, on stderr.

  def testCliRefusesStrayArgumentsAndHelpExitsZero(self):
    rc, out, err = testing.run_tool('nets.checkpoints', '--checkpoint_path=' +
                                    self.v2_path, 'stray')
    self.assertEqual((rc, out, err), (
        1, '', ['nets.checkpoints: error: unexpected arguments: stray']))
    rc, out, err = testing.run_tool('nets.checkpoints', '--help')
    self.assertEqual((rc, err), (0, []))
    self.assertIn('--checkpoint_path', out)

  def testCliBadFilesAreOneLine(self):
    garbage = os.path.join(self.get_temp_dir(), 'garbage.ckpt')
    with open(garbage, 'wb') as f:
      f.write(b'\0' * 100)
    missing = os.path.join(self.get_temp_dir(), 'missing.ckpt')
    for path, text in ((garbage, 'Cannot read checkpoint'),
                       (missing, 'No checkpoint at')):
      rc, _, err = testing.run_tool('nets.checkpoints', '--checkpoint_path=' + path)
      self.assertEqual(rc, 1)
      self.assertLen(err, 1, msg=err)
      self.assertStartsWith(err[0], 'nets.checkpoints: error: ' + text)


if __name__ == '__main__':
  tf.test.main()
