"""Tests of nets.to_tflite (checkpoint -> TensorFlow Lite) and of evaluating
its models with nets.eval_image_classifier --tflite_model.

One 2-class checkpoint and a folder of 12 small images (two colours) are
made once; each --quantize mode converts them once at 75 pixels, as a user
runs the tool. The reference is the slim graph restored from the same
checkpoint with a plain Saver (testing.restored_outputs). What int8 costs
on a checkpoint the project's trainer fine-tuned (float and int8 evaluated
on the held-out split) is measured by train_image_classifier_test's
FineTuneTest, on the checkpoint it trains.
"""

import os
import shutil
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

from nets import to_tflite
from nets_test import testing

TOOL = 'nets.to_tflite'
EVAL = 'nets.eval_image_classifier'
SIZE = 75
CLASSES = 2
COLOURS = ((220, 30, 30), (30, 30, 220))
IMAGES_PER_CLASS = 6
NUM_CALIBRATION = 4
MODES = ('none', 'float16', 'dynamic', 'int8')


def write_image_folder(root, per_class=IMAGES_PER_CLASS, seed=0):
  """root/class_<k>/<i>.png: noisy images of one colour per class."""
  rng = np.random.RandomState(seed)
  images = [np.clip(np.array(colour) + rng.randint(-30, 31, (80, 90, 3)),
                    0, 255).astype(np.uint8)
            for colour in COLOURS for _ in range(per_class)]
  for i, encoded in enumerate(testing.encode_images(images, 'png')):
    folder = os.path.join(root, 'class_%d' % (i // per_class))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, '%02d.png' % i), 'wb') as f:
      f.write(encoded)
  return root


def error_lines(stderr):
  return [line for line in stderr if line.strip()]


class ToTfliteTest(tf.test.TestCase):
  """Every --quantize mode converted once from one checkpoint."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp(dir=tf.test.get_temp_dir())
    cls.ckpt = os.path.join(cls.dir, 'ckpt', 'model.ckpt')
    cls.values = testing.write_checkpoint(cls.ckpt, num_classes=CLASSES,
                                          seed=4)
    cls.images_dir = write_image_folder(os.path.join(cls.dir, 'images'))
    cls.paths, cls.runs = {}, {}
    for mode in MODES:
      path = cls.paths[mode] = os.path.join(cls.dir, 'out', mode + '.tflite')
      args = ['--checkpoint_path=' + cls.ckpt, '--output=' + path,
              '--image_size=%d' % SIZE, '--quantize=' + mode]
      if mode in to_tflite.QUANTIZED:
        args += ['--image_dir=' + cls.images_dir,
                 '--num_calibration_images=%d' % NUM_CALIBRATION]
      cls.runs[mode] = testing.run_tool(TOOL, *args)
    cls.images = np.random.RandomState(5).uniform(
        -1, 1, [2, SIZE, SIZE, 3]).astype(np.float32)
    cls.logits, cls.probabilities = testing.restored_outputs(
        cls.ckpt, cls.images, CLASSES)

  def testEachModeWritesAndVerifies(self):
    float_line = (r'^verified on 2 random images: %s max \|TFLite - TF\|%s = '
                  r'(\S+) \(tolerance %s\)$')
    # int8 holds half of the 12 images out of its calibration; dynamic
    # calibrates on none.
    quantized = [
        r'^verified on %s: logits top-1 equal to TF on %d of '
        r'%d \(100\.0%%, at least 90%% needed\), max \|TFLite - TF\| / max '
        r'\|TF\| = (\S+) \(tolerance 0\.25\)$',
        r'^verified on %s: probabilities max \|TFLite - TF\| '
        r'= (\S+)$']
    expected = {
        'none': [float_line % ('logits', r'( / max \|TF\|)?', '1e-04'),
                 float_line % ('probabilities', '', '1e-04')],
        'float16': [float_line % ('logits', r'( / max \|TF\|)?', '1e-02'),
                    float_line % ('probabilities', '', '1e-02')],
        'dynamic': [quantized[0] % ('12 of your images', 12, 12),
                    quantized[1] % '12 of your images'],
        'int8': [quantized[0] % ('6 held-out images', 6, 6),
                 quantized[1] % '6 held-out images']}
    for mode in MODES:
      status, stdout, stderr = self.runs[mode]
      self.assertEqual((status, stderr), (0, []), mode)
      lines = stdout.splitlines()
      self.assertEqual(lines[0], (
          'wrote %s: TensorFlow Lite Inception V3 (quantize %s), input input '
          '[batch, 75, 75, 3], outputs logits, probabilities' % (
              self.paths[mode], mode)))
      self.assertLen(lines, 3)
      for line, pattern in zip(lines[1:], expected[mode]):
        self.assertRegex(line, pattern)
    self.assertEqual(sorted(os.listdir(os.path.dirname(self.paths['none']))),
                     sorted(m + '.tflite' for m in MODES))

  def testFloatModelsEqualTheSlimGraph(self):
    scale = max(1.0, np.abs(self.logits).max())
    for mode, tolerance in ('none', 1e-4), ('float16', 1e-2):
      model = to_tflite.TfliteModel(self.paths[mode])
      self.assertEqual((model.image_size, model.num_classes), (SIZE, CLASSES))
      logits, probabilities = model.run(self.images)
      self.assertAllClose(logits, self.logits, rtol=0,
                          atol=tolerance * scale)
      self.assertAllClose(probabilities, self.probabilities, rtol=0,
                          atol=tolerance)
      one, _ = model.run(self.images[1:])  # The batch is dynamic.
      self.assertAllClose(one, self.logits[1:], rtol=0,
                          atol=tolerance * scale)

  def testQuantizedModelsAreCloseToTheSlimGraph(self):
    scale = max(1.0, np.abs(self.logits).max())
    for mode in to_tflite.QUANTIZED:
      logits, probabilities = to_tflite.TfliteModel(
          self.paths[mode]).run(self.images)
      error = np.abs(logits - self.logits).max() / scale
      self.assertLess(error, to_tflite.QUANTIZED_LOGITS_TOLERANCE, mode)
      self.assertGreater(error, 1e-6, mode)  # Not the float model.
      self.assertAllClose(probabilities.sum(1), [1, 1], atol=0.02)

  def testWeightTypesAndSizes(self):
    def tensor_types(mode):
      interpreter = to_tflite.interpreter_class()(
          model_path=self.paths[mode])
      return [(d['name'], d['dtype'], tuple(d['shape']))
              for d in interpreter.get_tensor_details()]

    def bytes_of(types, dtype):
      return sum(np.prod(shape) for _, t, shape in types if t == dtype)

    def activation_types(types):
      """The types of the feature maps: [1, h, w, c] (batch 1) but the input."""
      return {t for name, t, shape in types
              if len(shape) == 4 and shape[0] == 1 and name != 'input'}

    sizes = {m: os.path.getsize(self.paths[m]) for m in MODES}
    weights = sum(v.size for n, v in self.values.items()
                  if 'AuxLogits' not in n and 'moving' not in n and
                  'beta' not in n) * 4
    self.assertBetween(sizes['none'], 0.95 * weights, 1.1 * weights)
    self.assertBetween(sizes['float16'] / sizes['none'], 0.45, 0.55)
    for mode in to_tflite.QUANTIZED:
      self.assertBetween(sizes[mode] / sizes['none'], 0.22, 0.3, mode)
    none, half = tensor_types('none'), tensor_types('float16')
    self.assertEqual(bytes_of(none, np.int8), 0)
    self.assertGreater(bytes_of(half, np.float16), 0.9 * weights / 4)
    dynamic, int8 = tensor_types('dynamic'), tensor_types('int8')
    self.assertGreater(bytes_of(dynamic, np.int8), 0.9 * weights / 4)
    self.assertGreater(bytes_of(int8, np.int8), 0.9 * weights / 4)
    # w8a8: the activations are int8 too; dynamic keeps them float32.
    self.assertEqual(activation_types(int8), {np.int8})
    self.assertEqual(activation_types(dynamic), {np.float32})

  def testEvaluatesLikeTheCheckpoint(self):
    def counts(*args):
      status, stdout, stderr = testing.run_tool(
          EVAL, '--image_dir=' + self.images_dir, '--batch_size=5', *args)
      self.assertEqual((status, stderr), (0, []), args)
      line = stdout.splitlines()[-1]
      self.assertRegex(line, r'^Accuracy [\d.]+ \(\d+/12\), Recall_5 ')
      return line.split(';')[0], line.split('; ')[1]

    reference, path = counts('--checkpoint_path=' + self.ckpt,
                             '--eval_image_size=%d' % SIZE)
    self.assertEqual(path, self.ckpt)
    for mode in 'none', 'int8':
      self.assertEqual(counts('--tflite_model=' + self.paths[mode]),
                       (reference, self.paths[mode]))

  def testEvaluateErrors(self):
    model = self.paths['none']
    one_class = os.path.join(self.dir, 'one_class')
    shutil.copytree(os.path.join(self.images_dir, 'class_0'),
                    os.path.join(one_class, 'class_0'))
    for args, message in [
        (['--tflite_model=' + model, '--image_dir=' + one_class],
         'TensorFlow Lite model %s has %d classes and the dataset 1 (minus '
         '--labels_offset 0): it was converted from a model of other '
         'classes' % (model, CLASSES)),
        (['--tflite_model=' + model, '--eval_image_size=80'],
         'TensorFlow Lite model %s takes 75x75 images; --eval_image_size is '
         '80' % model),
        (['--tflite_model=' + model, '--optimize'],
         '--optimize and --moving_average_decay apply to a checkpoint, not '
         'to --tflite_model'),
        (['--tflite_model=' + self.ckpt + '.index'],
         'cannot load TensorFlow Lite model %s.index: ' % self.ckpt)]:
      status, stdout, stderr = testing.run_tool(
          EVAL, '--image_dir=' + self.images_dir, *args)  # The last one wins.
      self.assertEqual((status, stdout), (1, ''), args)
      self.assertLen(stderr, 1)
      self.assertTrue(stderr[0].startswith('nets.eval_image_classifier: '
                                           'error: ' + message), stderr[0])

  def testOneLineErrors(self):
    existing = self.paths['none']
    empty = os.path.join(self.get_temp_dir(), 'empty')
    os.makedirs(os.path.join(empty, 'class_0'))
    single = os.path.join(self.get_temp_dir(), 'single')
    os.makedirs(os.path.join(single, 'class_0'))
    shutil.copy(os.path.join(self.images_dir, 'class_0', '00.png'),
                os.path.join(single, 'class_0'))
    output = os.path.join(self.get_temp_dir(), 'new.tflite')
    base = ['--checkpoint_path=' + self.ckpt, '--image_size=75']
    cases = [
        (['--output=' + output, '--quantize=int8'],
         'int8 needs calibration images from your data: give --dataset_dir '
         '(slim TFRecords) or --image_dir (class subfolders); random images '
         'make a model that looks fine and is wrong on real ones '
         '(--calibration=random is for timing only)'),
        (['--output=' + output, '--quantize=int8', '--image_dir=' + empty],
         'image_dir %s has no image files (.bmp, .gif, .jpeg, .jpg, .png) in '
         'its class subfolders' % empty),
        (['--output=' + output, '--quantize=int8', '--image_dir=' + single],
         'the calibration source has 1 image; int8 needs at least 2 (one to '
         'calibrate on, one held out to verify on)'),
        (['--output=' + output, '--image_size=74'],
         'flag --image_size=74: 74 is not integer >= 75'),
        (['--output=' + existing],
         '%s exists (a file); pass --overwrite to replace it' % existing),
    ]
    for args, message in cases:
      status, stdout, stderr = testing.run_tool(TOOL, *(base + args))
      self.assertEqual((status, stdout, stderr),
                       (1, '', ['nets.to_tflite: error: ' + message]), args)
    self.assertFalse(os.path.exists(output))

  def testWeightsNotFinite(self):
    name = 'InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights'
    value = self.values[name].copy()
    value.flat[[5, 7, 11]] = [np.nan, np.inf, -np.inf]
    bad = os.path.join(self.get_temp_dir(), 'nan', 'model.ckpt')
    testing.save_tensors(bad, dict(self.values, **{name: value}))
    output = os.path.join(self.get_temp_dir(), 'nan.tflite')
    status, stdout, stderr = testing.run_tool(
        TOOL, '--checkpoint_path=' + bad, '--output=' + output,
        '--image_size=75')
    self.assertEqual((status, stdout), (1, ''))
    self.assertEqual(stderr, [
        "nets.to_tflite: error: the checkpoint's weights are not finite: %s "
        'has 1 NaN and 2 infinite values (of %d)' % (name, value.size)])
    self.assertFalse(os.path.exists(output))

  def testVerificationRefusesAModelThatDisagrees(self):
    logits = self.logits.copy()
    # TensorFlow's top-1 moved to the other class: no image agrees.
    expected = [logits[:, ::-1], self.probabilities[:, ::-1]]
    actual = to_tflite.TfliteModel(self.paths['int8']).run(self.images)
    if (actual[0].argmax(1) == expected[0].argmax(1)).any():
      self.skipTest('the logits tie')
    with self.assertRaisesRegex(
        ValueError, r'^verification failed on 2 images: logits '
        r'top-1 equal to TF on 0 of 2 \(0\.0%, at least 90% needed\), .*; '
        r'nothing was written$'):
      to_tflite.compare_quantized(actual, expected)

  def testHelpListsEveryFlag(self):
    status, stdout, stderr = testing.run_tool(TOOL, '--help')
    self.assertEqual((status, stderr), (0, []))
    for flag in ('checkpoint_path', 'output', 'num_classes', 'image_size',
                 'moving_average_decay', 'overwrite', 'quantize',
                 'calibration', 'num_calibration_images', 'verify',
                 'dataset_name', 'dataset_dir', 'dataset_split_name',
                 'image_dir'):
      self.assertRegex(stdout, r'\n  --(\[no\])?%s: ' % flag)

  @testing.needs_tmpfs
  def testFullDisk(self):
    mount = tempfile.mkdtemp(dir=self.get_temp_dir())
    output = os.path.join(mount, 'model.tflite')
    status, stdout, stderr = testing.run_tool_on_small_disk(
        TOOL, mount, '--checkpoint_path=' + self.ckpt, '--output=' + output,
        '--image_size=75', '--noverify', size='1m')
    self.assertEqual((status, stdout), (1, ''))
    self.assertEqual(stderr, ['nets.to_tflite: error: cannot write %s: no '
                              'space left on device (nothing was written)'
                              % output])


class SharedPartsTest(tf.test.TestCase):
  """What to_tflite decides without converting."""

  def testHeldOutImagesAreNotCalibratedOn(self):
    images = np.arange(10)
    calibrate, held_out = to_tflite.split_held_out(images, 3)
    self.assertAllEqual(held_out, [0, 1, 2, 3, 4])
    self.assertAllEqual(calibrate, [5, 6, 7])
    many = np.arange(400)
    calibrate, held_out = to_tflite.split_held_out(many, 300)
    self.assertLen(held_out, to_tflite.HELD_OUT_IMAGES)
    self.assertEqual(set(calibrate) & set(held_out), set())
    self.assertLen(calibrate, 300)
    calibrate, held_out = to_tflite.split_held_out(np.arange(1), 3, False)
    self.assertAllEqual(calibrate, [0])
    self.assertLen(held_out, 0)

  def testShuffledFolderReachesEveryClassEarly(self):
    root = write_image_folder(os.path.join(self.get_temp_dir(), 'f'),
                              per_class=8)
    from nets import input_pipeline  # pylint: disable=g-import-not-at-top
    folder = input_pipeline.ImageFolder(root)
    first = to_tflite.shuffled(folder)
    self.assertEqual(sorted(first.paths), sorted(folder.paths))
    self.assertEqual(folder.labels, [0] * 8 + [1] * 8)  # Unchanged.
    self.assertEqual(set(first.labels[:6]), {0, 1})
    self.assertEqual([dict(zip(first.paths, first.labels))[p]
                      for p in folder.paths], folder.labels)
    self.assertEqual(to_tflite.shuffled(folder).paths, first.paths)


if __name__ == '__main__':
  tf.test.main()
