"""Tests of nets.export: the SavedModel and frozen graph reproduce the session."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from unittest import mock

import numpy as np
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import export
from nets import inception_v3
from nets import inference
from nets import outputs
from nets_test import testing

SIZE = 160  # Not 299: exercises image_size, and runs faster.

# Runs in a fresh TF2 (eager) process: loads what the export wrote and
# evaluates it on the inputs saved by the test.
LOAD_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    assert tf.executing_eagerly()
    out_dir, frozen, work = sys.argv[1:4]
    inputs = np.load(work + '/inputs.npz')
    model = tf.saved_model.load(out_dir)
    default = model.signatures['serving_default']
    by_bytes = model.signatures['serving_bytes']
    result = {}
    for key, value in default(images=tf.constant(inputs['images'])).items():
      result['default_' + key] = value.numpy()
    encoded = tf.constant([open(work + '/image.' + ext, 'rb').read()
                           for ext in ('png', 'jpeg')])
    for key, value in by_bytes(image_bytes=encoded).items():
      result['bytes_' + key] = value.numpy()
    graph_def = tf.compat.v1.GraphDef()
    with open(frozen, 'rb') as f:
      graph_def.ParseFromString(f.read())
    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=''), [])
    frozen_fn = wrapped.prune('input:0', ['InceptionV3/Logits/SpatialSqueeze:0',
                                          'InceptionV3/Predictions/Reshape_1:0'])
    logits, probabilities = frozen_fn(tf.constant(inputs['images']))
    result['frozen_logits'] = logits.numpy()
    result['frozen_probabilities'] = probabilities.numpy()
    np.savez(work + '/outputs.npz', **result)
    spec = default.structured_input_signature[1]['images']
    bytes_spec = by_bytes.structured_input_signature[1]['image_bytes']
    print(json.dumps({
        'signatures': sorted(model.signatures.keys()),
        'images': [spec.dtype.name, spec.shape.as_list()],
        'image_bytes': [bytes_spec.dtype.name, bytes_spec.shape.as_list()],
        'default_outputs': sorted(default.structured_outputs),
    }))
''')


class ExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'export_test')
    cls.ckpt = os.path.join(cls.dir, 'ckpt', 'inception_v3.ckpt')
    cls.values = testing.write_checkpoint(cls.ckpt, num_classes=1001,
                                          version='V1', seed=3)
    rng = np.random.RandomState(0)
    cls.images = rng.uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
    y, x = np.mgrid[0:90, 0:120]
    picture = np.stack([y * 2.5, x * 2.0, (x + y)], -1).astype(np.uint8)
    with tf.Graph().as_default(), tf.Session() as sess:
      cls.png, cls.jpeg = sess.run([tf.io.encode_png(picture),
                                    tf.io.encode_jpeg(picture)])

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  _FROZEN = []

  def frozen_graph_def(self):
    """export.frozen_graph_def of the checkpoint's directory, made once."""
    if not self._FROZEN:
      self._FROZEN.append(export.frozen_graph_def(os.path.dirname(self.ckpt),
                                                  image_size=SIZE))
    return self._FROZEN[0]

  def assert_no_leftovers(self, parent):
    """No staging or backup directories next to the outputs."""
    self.assertEqual([n for n in os.listdir(parent) if '.partial-' in n], [])

  def testSavedModelAndFrozenGraphInFreshTf2Process(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'model')
    os.makedirs(out_dir)  # An existing empty directory is fine.
    frozen = os.path.join(work, 'frozen', 'inception_v3.pb')
    written = export.export(self.ckpt, out_dir, image_size=SIZE,
                            frozen_graph=frozen)
    self.assertEqual(written, {'saved_model': out_dir, 'frozen_graph': frozen})
    self.assert_no_leftovers(work)
    self.assertCountEqual(os.listdir(out_dir), ['saved_model.pb', 'variables'])
    # Frozen from the SavedModel's session: frozen_graph_def's nodes exactly
    # (no bytes signature, no function library, the restored weights).
    written_graph = tf.GraphDef()
    with open(frozen, 'rb') as f:
      written_graph.ParseFromString(f.read())
    self.assertFalse(written_graph.HasField('library'))
    self.assertEqual(written_graph.node, self.frozen_graph_def().node)

    np.savez(os.path.join(work, 'inputs.npz'), images=self.images)
    for ext, data in (('png', self.png), ('jpeg', self.jpeg)):
      with open(os.path.join(work, 'image.' + ext), 'wb') as f:
        f.write(data)
    proc = testing.run_python(['-c', LOAD_SCRIPT, out_dir, frozen, work],
                              env=testing.user_env(TF_CPP_MIN_LOG_LEVEL='2'))
    self.assertEqual(proc.returncode, 0, msg=proc.stderr[-3000:])
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    self.assertEqual(info['signatures'], ['serving_bytes', 'serving_default'])
    self.assertEqual(info['images'], ['float32', [None, SIZE, SIZE, 3]])
    self.assertEqual(info['image_bytes'], ['string', [None]])
    self.assertEqual(info['default_outputs'], ['logits', 'probabilities'])
    got = np.load(os.path.join(work, 'outputs.npz'))

    want, want_bytes = testing.session_outputs(
        self.values, 1001, SIZE, self.images, [self.png, self.jpeg])
    self.assertEqual(want.shape, (2, 1001))
    self.assertGreater(np.abs(want).max(), 1e-2)  # Not a degenerate model.
    for prefix in ('default_', 'frozen_'):
      self.assertAllClose(got[prefix + 'logits'], want, atol=1e-5, rtol=0)
      self.assertAllClose(got[prefix + 'probabilities'], testing.softmax(want),
                          atol=1e-6, rtol=0)
    self.assertAllClose(got['bytes_logits'], want_bytes, atol=1e-5, rtol=0)
    self.assertAllClose(got['bytes_probabilities'], testing.softmax(want_bytes),
                        atol=1e-6, rtol=0)

  def testMovingAveragesAreWhatIsExported(self):
    work = self.get_temp_dir()
    ckpt = os.path.join(work, 'ema', 'model.ckpt')
    testing.write_checkpoint(ckpt, version='V1', seed=3, extra_variables={
        name + '/ExponentialMovingAverage': value + 1.0
        for name, value in self.values.items()})
    out_dir = os.path.join(work, 'model')
    frozen = os.path.join(work, 'frozen.pb')
    export.export(ckpt, out_dir, image_size=SIZE, frozen_graph=frozen,
                  moving_average_decay=0.9999)
    graph_def = tf.GraphDef()
    with open(frozen, 'rb') as f:
      graph_def.ParseFromString(f.read())
    constants = {n.name: n.attr['value'].tensor for n in graph_def.node
                 if n.op == 'Const'}
    saved = tf.train.load_checkpoint(os.path.join(out_dir, 'variables',
                                                  'variables'))
    for name in ('InceptionV3/Conv2d_1a_3x3/weights',
                 'InceptionV3/Logits/Conv2d_1c_1x1/biases'):
      shadow = self.values[name] + 1.0
      self.assertAllEqual(tf.make_ndarray(constants[name]), shadow)
      self.assertAllEqual(saved.get_tensor(name), shadow)

  def testFrozenGraphDef(self):
    graph_def = self.frozen_graph_def()
    ops = {node.name: node for node in graph_def.node}
    self.assertEqual(ops['input'].op, 'Placeholder')
    self.assertEqual(
        [d.size for d in ops['input'].attr['shape'].shape.dim],
        [-1, SIZE, SIZE, 3])
    self.assertIn(inception_v3.LOGITS_OP, ops)
    self.assertIn(inception_v3.PREDICTIONS_OP, ops)
    variable_ops = ('VariableV2', 'VarHandleOp', 'ReadVariableOp')
    self.assertEqual([n for n in ops.values() if n.op in variable_ops], [])
    self.assertEqual([n for n in ops if 'AuxLogits' in n], [])
    with tf.Graph().as_default() as graph:
      tf.import_graph_def(graph_def, name='')
      with tf.Session(graph=graph) as sess:
        got = sess.run(inception_v3.LOGITS_OP + ':0', {'input:0': self.images})
    want, _ = testing.session_outputs(self.values, 1001, SIZE,
                                                 self.images)
    self.assertAllClose(got, want, atol=1e-5, rtol=0)

  def testRefusesExistingOutputs(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'taken')
    os.makedirs(out_dir)
    marker = os.path.join(out_dir, 'keep.txt')
    with open(marker, 'w') as f:
      f.write('mine')
    with self.assertRaisesRegex(outputs.OutputError,
                                'taken exists .*--overwrite'):
      export.export(self.ckpt, out_dir)
    frozen = os.path.join(work, 'frozen.pb')
    with open(frozen, 'w') as f:
      f.write('mine')
    with self.assertRaisesRegex(outputs.OutputError, 'frozen.pb exists'):
      export.export(self.ckpt, os.path.join(work, 'new'), frozen_graph=frozen)
    with self.assertRaisesRegex(export.ExportError, 'would overwrite'):
      export.export(self.ckpt, out_dir, overwrite=True,
                    frozen_graph=os.path.join(out_dir, 'saved_model.pb'))
    for path in (marker, frozen):
      with open(path) as f:
        self.assertEqual(f.read(), 'mine')
    self.assertFalse(os.path.exists(os.path.join(work, 'new')))

  def testFailureLeavesOldOutputAndNoPartialOne(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'old')
    os.makedirs(out_dir)
    with open(os.path.join(out_dir, 'keep.txt'), 'w') as f:
      f.write('mine')
    fresh = os.path.join(work, 'fresh')
    frozen = os.path.join(work, 'f.pb')
    # Fails after the SavedModel is built, before anything is moved.
    with mock.patch.object(inference, 'freeze',
                           side_effect=KeyboardInterrupt('interrupted')):
      for target in (out_dir, fresh):
        with self.assertRaises(KeyboardInterrupt):
          export.export(self.ckpt, target, image_size=SIZE, overwrite=True,
                        frozen_graph=frozen)
    self.assertEqual(os.listdir(out_dir), ['keep.txt'])
    self.assertFalse(os.path.exists(fresh))
    self.assertFalse(os.path.exists(frozen))
    self.assert_no_leftovers(work)

  def testOutputThatAppearsMeanwhileIsKept(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'raced')
    frozen = os.path.join(work, 'raced.pb')
    real_freeze = inference.freeze

    def another_export_lands_first(*args):
      os.makedirs(out_dir)
      with open(os.path.join(out_dir, 'saved_model.pb'), 'w') as f:
        f.write('theirs')
      return real_freeze(*args)

    with mock.patch.object(inference, 'freeze',
                           side_effect=another_export_lands_first):
      with self.assertRaisesRegex(outputs.OutputError,
                                  'raced appeared while this ran'):
        export.export(self.ckpt, out_dir, image_size=SIZE,
                      frozen_graph=frozen)
    self.assertEqual(os.listdir(out_dir), ['saved_model.pb'])
    with open(os.path.join(out_dir, 'saved_model.pb')) as f:
      self.assertEqual(f.read(), 'theirs')
    self.assertFalse(os.path.exists(frozen))  # Neither output, not half.
    self.assert_no_leftovers(work)

  def testCtrlCMidExportIsOneLineAndLeavesNothing(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'interrupted')
    proc = testing.start_tool(
        'nets.export', '--checkpoint_path=' + self.ckpt,
        '--output_dir=' + out_dir, '--image_size=%d' % SIZE,
        fresh=True)  # Ctrl-C: as a user's process, not a fork's.
    deadline = time.time() + 300
    while not [n for n in os.listdir(work) if '.partial-' in n]:
      self.assertIsNone(proc.poll(), 'export ended before it started writing')
      self.assertLess(time.time(), deadline)
      time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    self.assertEqual(proc.returncode, 130, stderr)
    self.assertEqual(stderr.splitlines(), ['nets.export: error: interrupted'])
    self.assertFalse(os.path.exists(out_dir))
    self.assert_no_leftovers(work)

  def testLargeInputsExportWithAGlobalPool(self):
    graph_def = export.frozen_graph_def(self.ckpt, image_size=400)
    ops = {node.name for node in graph_def.node}
    self.assertIn('InceptionV3/Logits/GlobalPool', ops)
    self.assertIn(inception_v3.LOGITS_OP, ops)

  def testStaleTemporariesOfAKilledExportAreRemoved(self):
    work = self.get_temp_dir()
    out_dir = os.path.join(work, 'after_kill')
    killed = subprocess.Popen([sys.executable, '-c', 'import time; '
                               'time.sleep(60)'])
    stale = os.path.join(work, '.after_kill.partial-%s-%d-deadbeef' % (
        outputs._host_tag(), killed.pid))  # pylint: disable=protected-access
    os.makedirs(os.path.join(stale, 'variables'))
    killed.kill()
    killed.wait()
    export.export(self.ckpt, out_dir, image_size=SIZE)
    self.assertFalse(os.path.exists(stale))
    self.assertCountEqual(os.listdir(out_dir), ['saved_model.pb', 'variables'])

  @testing.needs_tmpfs
  def testCliFullDiskAndReadOnlyFolderAreOneLine(self):
    mount = os.path.join(self.get_temp_dir(), 'small_disk')
    os.makedirs(mount)
    for read_only, text in ((False, r'cannot write %s/model: no space left '
                             r'on device \(nothing was written\)$'),
                            (True, r'cannot write the folder in %s: '
                             r'read-only file system$')):
      rc, _, err = testing.run_tool_on_small_disk(
          'nets.export', mount, '--checkpoint_path=' + self.ckpt,
          '--output_dir=' + os.path.join(mount, 'model'),
          '--image_size=%d' % SIZE, read_only=read_only)
      self.assertEqual(rc, 1, msg=err)
      self.assertLen(err, 1, msg=err)
      self.assertRegex(err[0], r'^nets\.export: error: ' + text % mount)
    self.assertEqual(os.listdir(mount), [])

  def testMismatchingCheckpointWritesNothing(self):
    out_dir = os.path.join(self.get_temp_dir(), 'never')
    with self.assertRaises(checkpoints.CheckpointMismatchError):
      export.export(self.ckpt, out_dir, num_classes=1000, image_size=SIZE)
    self.assertFalse(os.path.exists(out_dir))
    self.assert_no_leftovers(self.get_temp_dir())

  def testCliOverwriteWithFrozenGraphInside(self):
    out_dir = os.path.join(self.get_temp_dir(), 'cli')
    os.makedirs(out_dir)
    with open(os.path.join(out_dir, 'stale.txt'), 'w') as f:
      f.write('old export')
    rc, out, err = testing.run_tool(
        'nets.export', '--checkpoint_path=' + self.ckpt,
        '--output_dir=' + out_dir, '--image_size=%d' % SIZE,
        '--frozen_graph=' + os.path.join(out_dir, 'frozen.pb'), '--overwrite')
    self.assertEqual(rc, 0, msg='\n'.join(err))
    self.assertIn('SavedModel: ' + out_dir, out)
    self.assertCountEqual(os.listdir(out_dir),
                          ['saved_model.pb', 'variables', 'frozen.pb'])
    self.assert_no_leftovers(self.get_temp_dir())

  def testCliErrorsAreOneLine(self):
    taken = os.path.join(self.get_temp_dir(), 'taken_cli')
    os.makedirs(taken)
    open(os.path.join(taken, 'x'), 'w').close()
    for args, text in (
        (['--checkpoint_path=' + self.ckpt, '--output_dir=' + taken],
         taken + ' exists (a non-empty directory); pass --overwrite'),
        (['--checkpoint_path=' + self.ckpt + '.nope', '--output_dir=' +
          os.path.join(self.get_temp_dir(), 'x')], 'No checkpoint at'),
        (['--checkpoint_path=' + self.ckpt, '--output_dir=' +
          os.path.join(self.get_temp_dir(), 'y'), 'stray'],
         'unexpected arguments: stray')):
      rc, _, err = testing.run_tool('nets.export', *args)
      self.assertEqual(rc, 1)
      self.assertLen(err, 1, msg=err)
      self.assertIn(text, err[0])
    self.assertEqual(os.listdir(taken), ['x'])


if __name__ == '__main__':
  tf.test.main()
