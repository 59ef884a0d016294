"""Tests of nets.inception_preprocessing and nets.preprocessing.

The deterministic parts (eval; grayscale; the train pipeline's final scaling)
against an independent NumPy computation; the random parts with fixed
graph-level seeds, over many runs of one graph, against the constraints slim
documents (ranges, crop coverage, aspect ratio and area, which branch runs).
"""

import re

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

from nets import inception_preprocessing
from nets import preprocessing

# TF computes source coordinates and weights in float32, the reference in
# float64: they differ by up to ~2e-5 on [-1, 1]. A half-pixel offset or
# another crop would differ by more than 1e-2 (see testToleranceDiscriminates).
ATOL = 5e-5
# tf.image.rgb_to_grayscale's weights (ITU-R BT.601 luma).
GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])
# slim's colour distortion steps, as the name scopes of tf.image's adjust_*
# ops, for each ordering (0..3): fast mode, then full mode.
COLOR_STEPS = {
    0: (['brightness', 'saturation'],
        ['brightness', 'saturation', 'hue', 'contrast']),
    1: (['saturation', 'brightness'],
        ['saturation', 'brightness', 'contrast', 'hue']),
    2: (['saturation', 'brightness'],
        ['contrast', 'hue', 'brightness', 'saturation']),
    3: (['saturation', 'brightness'],
        ['hue', 'saturation', 'contrast', 'brightness']),
}
# slim's ranges of the random factors of each step.
COLOR_RANGES = {'brightness': (-32 / 255.0, 32 / 255.0),
                'saturation': (0.5, 1.5), 'hue': (-0.2, 0.2),
                'contrast': (0.5, 1.5)}
# tf.image.resize_images' methods 0..3 as op types.
RESIZE_OPS = ['ResizeBilinear', 'ResizeNearestNeighbor', 'ResizeBicubic',
              'ResizeArea']
SLIM_SUMMARIES = ['image_with_bounding_boxes',
                  'images_with_distorted_bounding_box',
                  'cropped_resized_image', 'final_distorted_image']


def np_central_crop(image, fraction):
  """Crop of [H, W, C] sized as tf.image.central_crop does: int() margins."""
  h, w = image.shape[:2]
  top = int((h - h * fraction) / 2)
  left = int((w - w * fraction) / 2)
  return image[top:h - top, left:w - left]


def np_resize_bilinear(image, out_h, out_w):
  """TF1 resize_bilinear, align_corners=False, half_pixel_centers=False.

  Output pixel y samples input row y * in_h / out_h (no half-pixel offset),
  interpolating between floor() and the next row, clamped at the border.
  """
  in_h, in_w = image.shape[:2]

  def taps(out_size, in_size):
    src = np.arange(out_size) * (in_size / out_size)
    low = np.floor(src).astype(int)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, src - low

  y0, y1, dy = taps(out_h, in_h)
  x0, x1, dx = taps(out_w, in_w)
  dy, dx = dy[:, None, None], dx[None, :, None]
  top = image[y0][:, x0] * (1 - dx) + image[y0][:, x1] * dx
  bottom = image[y1][:, x0] * (1 - dx) + image[y1][:, x1] * dx
  return top * (1 - dy) + bottom * dy


def np_to_unit(image):
  """tf.image.convert_image_dtype to float: integers / their maximum."""
  if np.issubdtype(image.dtype, np.integer):
    return image / float(np.iinfo(image.dtype).max)
  return image.astype(np.float64)


def np_gray(image):
  return (image @ GRAY_WEIGHTS)[..., None]


def np_preprocess(image, size, fraction=0.875):
  """uint8 -> [0, 1] -> central crop -> bilinear resize -> [-1, 1]."""
  image = np_central_crop(np_to_unit(image), fraction)
  return (np_resize_bilinear(image, size, size) - 0.5) * 2.0


def run_in_graph(build, *args, seed=None, **kwargs):
  """Builds build(*args, **kwargs) in a new graph (seeded) and runs it once."""
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    fetches = build(*args, **kwargs)
    with tf.Session() as sess:
      return sess.run(fetches)


def adjust_steps(graph):
  """The adjust_* name scopes of `graph`'s ops, in creation order."""
  steps = []
  for op in graph.get_operations():
    for part in op.name.split('/'):
      if part.startswith('adjust_'):
        step = part[len('adjust_'):].split('_')[0]
        if not steps or steps[-1] != step:
          steps.append(step)
  return steps


def uniform_ranges(graph):
  """(min, max) of each random_uniform of `graph`, in creation order."""
  consts = {op.name: tf.make_ndarray(op.get_attr('value'))
            for op in graph.get_operations() if op.type == 'Const'}
  return [(float(consts[op.name[:-len('RandomUniform')] + 'min']),
           float(consts[op.name[:-len('RandomUniform')] + 'max']))
          for op in graph.get_operations() if op.type == 'RandomUniform']


class PreprocessingTest(tf.test.TestCase):
  """nets.preprocessing: the tools' eval preprocessing and decoding."""

  def setUp(self):
    super().setUp()
    self.rng = np.random.RandomState(0)

  def run_preprocess(self, image, **kwargs):
    with tf.Graph().as_default(), self.session() as sess:
      return sess.run(preprocessing.preprocess_for_eval(image, **kwargs))

  def testReferenceCropAndResizeByHand(self):
    # The reference itself, on numbers worked out by hand.
    image = np.arange(8 * 8, dtype=np.float64).reshape(8, 8, 1)
    # int((8 - 7) / 2) = 0: nothing cropped at 0.875 of 8.
    self.assertEqual(np_central_crop(image, 0.875).shape, (8, 8, 1))
    # int((10 - 5) / 2) = 2 on each side at 0.5 of 10.
    self.assertEqual(np_central_crop(np.zeros([10, 11, 1]), 0.5).shape,
                     (6, 7, 1))
    # Halving 8 -> 4 samples rows/cols 0, 2, 4, 6 exactly.
    self.assertAllEqual(np_resize_bilinear(image, 4, 4)[..., 0],
                        image[::2, ::2, 0])
    # Doubling 2 -> 4: source 0, .5, 1, 1.5 -> clamped at the border.
    row = np.array([[[0.0], [10.0]]])
    self.assertAllClose(np_resize_bilinear(row, 1, 4)[0, :, 0],
                        [0.0, 5.0, 10.0, 10.0])
    # Gray of pure red, green, blue and white.
    self.assertAllClose(np_gray(np.eye(3))[:, 0], GRAY_WEIGHTS)
    self.assertAllClose(np_gray(np.ones([1, 3])), [[0.9999]])

  def testUint8ImageMatchesNumpy(self):
    for shape, size in (((120, 160, 3), 299), ((37, 53, 3), 75),
                        ((400, 300, 3), 160)):
      image = self.rng.randint(0, 256, shape).astype(np.uint8)
      got = self.run_preprocess(image, height=size, width=size)
      self.assertEqual(got.dtype, np.float32)
      self.assertEqual(got.shape, (size, size, 3))
      self.assertAllClose(got, np_preprocess(image, size), atol=ATOL, rtol=0)

  def testDefaultsAre299AndSlims(self):
    image = self.rng.randint(0, 256, (60, 80, 3)).astype(np.uint8)
    got = self.run_preprocess(image)
    self.assertEqual(preprocessing.CENTRAL_FRACTION, 0.875)
    self.assertEqual(got.shape, (299, 299, 3))
    self.assertAllClose(got, np_preprocess(image, 299), atol=ATOL, rtol=0)

  def testToleranceDiscriminates(self):
    image = self.rng.randint(0, 256, (120, 160, 3)).astype(np.uint8)
    got = self.run_preprocess(image, height=299, width=299)
    cropped = np_central_crop(image / 255.0, 0.875)
    # Half-pixel centers (TF2's tf.image.resize) instead of TF1's sampling.
    half_pixel = tf2.image.resize(cropped, [299, 299]).numpy() * 2 - 1
    self.assertGreater(np.abs(got - half_pixel).max(), 1e-2)
    uncropped = (np_resize_bilinear(image / 255.0, 299, 299) - 0.5) * 2
    self.assertGreater(np.abs(got - uncropped).max(), 1e-2)

  def testFloatImageMatchesNumpy(self):
    image = self.rng.uniform(0, 1, (90, 70, 3)).astype(np.float32)
    got = self.run_preprocess(image, height=80, width=80)
    self.assertAllClose(got, np_preprocess(image, 80), atol=ATOL, rtol=0)

  def testBatchAndUnknownSize(self):
    images = self.rng.randint(0, 256, (2, 50, 60, 3)).astype(np.uint8)
    with tf.Graph().as_default(), self.session() as sess:
      placeholder = tf.placeholder(tf.uint8, [None, None, None, 3])
      out = preprocessing.preprocess_for_eval(placeholder, 100, 120)
      self.assertEqual(out.get_shape().as_list(), [None, 100, 120, 3])
      got = sess.run(out, {placeholder: images})
    for i in range(2):
      image = np_central_crop(images[i] / 255.0, 0.875)
      want = (np_resize_bilinear(image, 100, 120) - 0.5) * 2
      self.assertAllClose(got[i], want, atol=ATOL, rtol=0)

  def testRangeAndNoCrop(self):
    extremes = np.zeros([20, 20, 3], np.uint8)
    extremes[:, 10:] = 255
    got = self.run_preprocess(extremes, height=20, width=20,
                              central_fraction=None)
    self.assertAllEqual(got[:, :10], -np.ones([20, 10, 3]))
    self.assertAllEqual(got[:, 10:], np.ones([20, 10, 3]))

  def testDecodePngAndJpeg(self):
    # Smooth colour ramps plus a little noise: JPEG keeps them close.
    y, x = np.mgrid[0:64, 0:48]
    ramps = np.stack([y * 3.0, x * 4.0, (x + y) * 2.0], -1)
    image = np.clip(ramps + self.rng.randint(0, 8, ramps.shape), 0,
                    255).astype(np.uint8)
    gray = image[..., :1]
    with tf.Graph().as_default(), self.session() as sess:
      png, jpeg, gray_png = sess.run([tf.io.encode_png(image),
                                      tf.io.encode_jpeg(image, quality=95),
                                      tf.io.encode_png(gray)])
      encoded = tf.placeholder(tf.string, [])
      out = preprocessing.decode_and_preprocess(encoded, 75, 75)
      from_png = sess.run(out, {encoded: png})
      from_jpeg = sess.run(out, {encoded: jpeg})
      from_gray = sess.run(out, {encoded: gray_png})
    self.assertAllClose(from_png, np_preprocess(image, 75), atol=ATOL, rtol=0)
    # JPEG is lossy: close to the original, not equal.
    self.assertAllClose(from_jpeg, np_preprocess(image, 75), atol=0.1, rtol=0)
    self.assertAllClose(from_gray, np_preprocess(np.repeat(gray, 3, -1), 75),
                        atol=ATOL, rtol=0)

  def testBadArguments(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, 'central_fraction'):
        preprocessing.preprocess_for_eval(np.zeros([8, 8, 3]),
                                          central_fraction=1.5)
      with self.assertRaisesRegex(ValueError, 'got shape'):
        preprocessing.preprocess_for_eval(np.zeros([8, 8]))

  def testPreprocessImageChecksChannelsBboxAndFractionBeforeAnyOp(self):
    rgba = np.zeros([8, 8, 4], np.uint8)
    rgb = np.zeros([8, 8, 3], np.uint8)
    for build, message in [
        (lambda: inception_preprocessing.preprocess_image(rgba, 8, 8),
         r'^image must have 3 channels \(RGB, as the network takes\), got '
         r'shape \(8, 8, 4\)$'),
        (lambda: inception_preprocessing.preprocess_image(
            rgba, 8, 8, is_training=True), 'image must have 3 channels'),
        (lambda: inception_preprocessing.preprocess_image(
            rgb, 8, 8, is_training=True, bbox=[[[0.0, 0.0, 1.5, 1.0]]]),
         r'^bbox coordinates must be in \[0, 1\], got \[\[\[0.0, 0.0, 1.5, '
         r'1.0\]\]\]$'),
        (lambda: inception_preprocessing.preprocess_image(
            rgb, 8, 8, bbox=[[[-0.5, 0.0, 1.0, 1.0]]]),
         r'^bbox coordinates must be in \[0, 1\]'),
        (lambda: inception_preprocessing.preprocess_image(
            rgb, 8, 8, is_training=True,
            bbox=np.array([[[0.0, np.nan, 1.0, 1.0]]])),
         r'^bbox coordinates must be in \[0, 1\]'),
        (lambda: inception_preprocessing.preprocess_for_eval(
            rgb, 8, 8, central_fraction=float('nan')),
         r'^central_fraction must be in \(0, 1\], got nan$'),
        (lambda: preprocessing.decode_and_preprocess(
            'x', central_fraction=float('nan')),
         r'^central_fraction must be in \(0, 1\], got nan$')]:
      with tf.Graph().as_default() as graph:
        with self.assertRaisesRegex(ValueError, message):
          build()
        self.assertEqual(graph.get_operations(), [])
    # A constant bbox Tensor is known before running: checked too.
    with tf.Graph().as_default() as graph:
      bbox = tf.constant([[[0.0, 0.0, 1.0, 2.0]]])
      with self.assertRaisesRegex(ValueError, r'^bbox coordinates must be'):
        inception_preprocessing.preprocess_image(rgb, 8, 8, is_training=True,
                                                 bbox=bbox)
      self.assertEqual(graph.get_operations(), [bbox.op])

  def testDecodeChecksBeforeBuildingOps(self):
    with tf.Graph().as_default() as graph:
      encoded = tf.placeholder(tf.string, [])
      for kwargs, message in (
          ({'central_fraction': 0.0}, r'central_fraction must be in \(0, 1\]'),
          ({'height': -1}, 'height must be a positive integer or None')):
        with self.assertRaisesRegex(ValueError, message):
          preprocessing.decode_and_preprocess(encoded, **kwargs)
      self.assertEqual(len(graph.get_operations()), 1)


class EvalTest(tf.test.TestCase):
  """inception_preprocessing.preprocess_for_eval against NumPy."""

  def setUp(self):
    super().setUp()
    self.rng = np.random.RandomState(1)

  def eval_image(self, image, *args, **kwargs):
    return run_in_graph(inception_preprocessing.preprocess_for_eval, image,
                        *args, **kwargs)

  def testDtypesScaleByTheirMaximum(self):
    for dtype, high in ((np.uint8, 256), (np.uint16, 65536),
                        (np.int16, 32768), (np.int32, 2**31)):
      image = self.rng.randint(0, high, (41, 35, 3)).astype(dtype)
      got = self.eval_image(image, 48, 40)
      self.assertEqual(got.dtype, np.float32)
      want = (np_resize_bilinear(np_central_crop(np_to_unit(image), 0.875),
                                 48, 40) - 0.5) * 2
      self.assertAllClose(got, want, atol=ATOL, rtol=0, msg=str(dtype))
    for dtype in (np.float16, np.float64):
      image = self.rng.uniform(0, 1, (30, 30, 3)).astype(dtype)
      got = self.eval_image(image, 32, 32)
      self.assertEqual(got.dtype, np.float32)
      self.assertAllClose(got, np_preprocess(image, 32), atol=ATOL, rtol=0)

  def testCentralCropBox(self):
    # A position-coded image: every pixel says where it came from.
    y, x = np.mgrid[0:40, 0:60]
    image = np.stack([y, x, y * 0], -1).astype(np.float32) / 100.0
    for fraction, top, left in ((0.875, 2, 3), (0.5, 10, 15), (0.3, 14, 21),
                                (1.0, 0, 0)):
      got = self.eval_image(image, None, None, central_fraction=fraction)
      rows, cols = 40 - 2 * top, 60 - 2 * left
      self.assertEqual(got.shape, (rows, cols, 3), fraction)
      got_yx = np.rint((got[..., :2] / 2 + 0.5) * 100).astype(int)
      self.assertAllEqual(got_yx[..., 0], y[top:top + rows, left:left + cols])
      self.assertAllEqual(got_yx[..., 1], x[top:top + rows, left:left + cols])
      self.assertAllEqual(np_central_crop(image, fraction).shape, got.shape)

  def testNoCropNoResize(self):
    image = self.rng.randint(0, 256, (33, 47, 3)).astype(np.uint8)
    whole = (image / 255.0 - 0.5) * 2
    for kwargs in ({'central_fraction': None}, {'central_crop': False},
                   {'central_fraction': 1.0}):
      self.assertAllClose(self.eval_image(image, None, None, **kwargs), whole,
                          atol=1e-6, rtol=0, msg=str(kwargs))
    # As slim: resized only when both sizes are given.
    self.assertEqual(self.eval_image(image, 20, None).shape, (29, 43, 3))
    self.assertEqual(self.eval_image(image, None, 20).shape, (29, 43, 3))
    resized = self.eval_image(image, 50, 40, central_crop=False)
    self.assertAllClose(
        resized, (np_resize_bilinear(image / 255.0, 50, 40) - 0.5) * 2,
        atol=ATOL, rtol=0)

  def testGrayscale(self):
    image = self.rng.randint(0, 256, (40, 52, 3)).astype(np.uint8)
    got = self.eval_image(image, 36, 44, use_grayscale=True)
    self.assertEqual(got.shape, (36, 44, 1))
    cropped = np_central_crop(np_gray(image / 255.0), 0.875)
    want = (np_resize_bilinear(cropped, 36, 44) - 0.5) * 2
    self.assertAllClose(got, want, atol=ATOL, rtol=0)
    batch = self.eval_image(np.stack([image, image[::-1]]), 36, 44,
                            use_grayscale=True)
    self.assertEqual(batch.shape, (2, 36, 44, 1))
    self.assertAllClose(batch[0], want, atol=ATOL, rtol=0)

  def testBatchMatchesSingleImages(self):
    images = self.rng.randint(0, 256, (3, 45, 38, 3)).astype(np.uint8)
    batch = self.eval_image(images, 32, 32)
    self.assertEqual(batch.shape, (3, 32, 32, 3))
    for image, got in zip(images, batch):
      self.assertAllClose(got, np_preprocess(image, 32), atol=ATOL, rtol=0)

  def testTensorSizesAndScope(self):
    image = self.rng.randint(0, 256, (30, 30, 3)).astype(np.uint8)
    with tf.Graph().as_default(), self.session() as sess:
      height = tf.placeholder(tf.int32, [])
      out = inception_preprocessing.preprocess_for_eval(image, height, 24)
      self.assertTrue(out.op.name.startswith('eval_image/'), out.op.name)
      named = inception_preprocessing.preprocess_for_eval(image, 8, 8,
                                                          scope='mine')
      self.assertTrue(named.op.name.startswith('mine/'), named.op.name)
      got = sess.run(out, {height: 40})
    self.assertEqual(got.shape, (40, 24, 3))
    want = (np_resize_bilinear(np_central_crop(image / 255.0, 0.875), 40, 24)
            - 0.5) * 2
    self.assertAllClose(got, want, atol=ATOL, rtol=0)

  def testPreprocessImageEval(self):
    image = self.rng.randint(0, 256, (50, 42, 3)).astype(np.uint8)
    got = run_in_graph(inception_preprocessing.preprocess_image, image, 32, 32)
    self.assertAllClose(got, np_preprocess(image, 32), atol=ATOL, rtol=0)
    uncropped = run_in_graph(inception_preprocessing.preprocess_image, image,
                             32, 32, crop_image=False, use_grayscale=True)
    want = (np_resize_bilinear(np_gray(image / 255.0), 32, 32) - 0.5) * 2
    self.assertAllClose(uncropped, want, atol=ATOL, rtol=0)


class TrainTest(tf.test.TestCase):
  """preprocess_for_train: shapes, ranges, graph structure, final scaling."""

  def setUp(self):
    super().setUp()
    self.rng = np.random.RandomState(2)
    self.image = self.rng.randint(0, 256, (48, 64, 3)).astype(np.uint8)

  def testShapesDtypesAndRange(self):
    float_image = self.rng.uniform(0, 1, (40, 30, 3)).astype(np.float32)
    for image in (self.image, float_image):
      for fast_mode in (True, False):
        for random_crop in (True, False):
          with tf.Graph().as_default(), self.session() as sess:
            tf.set_random_seed(7)
            out = inception_preprocessing.preprocess_for_train(
                image, 32, 40, None, fast_mode=fast_mode,
                random_crop=random_crop, add_image_summaries=False)
            self.assertEqual(out.dtype, tf.float32)
            self.assertEqual(out.get_shape().as_list(), [32, 40, 3])
            values = np.stack([sess.run(out) for _ in range(10)])
          self.assertGreaterEqual(values.min(), -1.0)
          self.assertLessEqual(values.max(), 1.0)
          # Random: no two runs alike.
          self.assertGreater(np.abs(values[1:] - values[:1]).max(), 0.01)

  def testUnknownSizeAndTensorOutputSize(self):
    with tf.Graph().as_default(), self.session() as sess:
      tf.set_random_seed(8)
      image = tf.placeholder(tf.uint8, [None, None, 3])
      height = tf.placeholder(tf.int32, [])
      out = inception_preprocessing.preprocess_for_train(
          image, height, 20, tf.constant([[[0.1, 0.2, 0.7, 0.9]]]))
      got = sess.run(out, {image: self.image, height: 28})
    self.assertEqual(got.shape, (28, 20, 3))

  def testResizeAndColorCases(self):
    # Fast mode: bilinear and ordering 0 only; else 4 methods and 4 orderings.
    for fast_mode, methods, orderings in ((True, RESIZE_OPS[:1], [0]),
                                          (False, RESIZE_OPS, [0, 1, 2, 3])):
      with tf.Graph().as_default() as graph:
        inception_preprocessing.preprocess_for_train(
            self.image, 32, 32, None, fast_mode=fast_mode,
            add_image_summaries=False)
      ops = graph.get_operations()
      self.assertEqual([op.type for op in ops if op.type.startswith('Resize')],
                       methods)
      self.assertEqual(adjust_steps(graph),
                       sum((COLOR_STEPS[o][0 if fast_mode else 1]
                            for o in orderings), []))
      self.assertEqual(
          [op.type for op in ops if op.type in ('Switch', 'Merge')],
          (['Switch'] * len(methods) + ['Merge']) +
          (['Switch'] * len(orderings) + ['Merge']))
      self.assertEqual(
          len([op for op in ops if op.type == 'SampleDistortedBoundingBoxV2']),
          1)

  def testFinalScaling(self):
    # The output is (x - 0.5) * 2 of the distorted image x in [0, 1].
    for use_grayscale in (False, True):
      with tf.Graph().as_default(), self.session() as sess:
        tf.set_random_seed(9)
        out = inception_preprocessing.preprocess_for_train(
            self.image, 32, 32, None, add_image_summaries=False,
            use_grayscale=use_grayscale)
        self.assertEqual(out.op.type, 'Mul')
        subtract = out.op.inputs[0].op
        self.assertEqual(subtract.type, 'Sub')
        for _ in range(5):
          got, distorted = sess.run([out, subtract.inputs[0]])
          self.assertGreaterEqual(distorted.min(), 0.0)
          self.assertLessEqual(distorted.max(), 1.0)
          self.assertAllClose(got, (distorted - 0.5) * 2, atol=1e-6, rtol=0)
      self.assertEqual(got.shape, (32, 32, 1 if use_grayscale else 3))

  def testBlackAndWhiteEndAtMinusOneAndOne(self):
    # Brightness moves black and white by up to 32/255 and the clip brings
    # one side back; saturation, hue and contrast leave a constant gray
    # image alone. So [0, 1] must end exactly at -1 and 1 in some runs.
    for fast_mode in (True, False):
      for value, end in ((0, -1.0), (255, 1.0)):
        image = np.full([16, 16, 3], value, np.uint8)
        with tf.Graph().as_default(), self.session() as sess:
          tf.set_random_seed(17)
          out = inception_preprocessing.preprocess_for_train(
              image, 16, 16, None, fast_mode=fast_mode,
              add_image_summaries=False)
          ends = [sess.run(out)[0, 0, 0] for _ in range(20)]
        self.assertIn(end, ends)
        for got in ends:
          self.assertLessEqual(abs(got - end), 2 * 32 / 255.0 + 1e-5)

  def testGrayImageIsShiftedOnly(self):
    # Gray stays gray under saturation and hue, resizing a constant image
    # keeps it, a flip changes nothing: only brightness (<= 32/255) and
    # contrast (about the mean, which is every pixel) act.
    for fast_mode in (True, False):
      image = np.full([40, 40, 3], 100, np.uint8)
      with tf.Graph().as_default(), self.session() as sess:
        tf.set_random_seed(10)
        out = inception_preprocessing.preprocess_for_train(
            image, 24, 24, None, fast_mode=fast_mode,
            add_image_summaries=False)
        for _ in range(10):
          got = sess.run(out)
          self.assertAllClose(got, np.full_like(got, got[0, 0, 0]),
                              atol=1e-5, rtol=0)
          self.assertLessEqual(abs(got[0, 0, 0] - (100 / 255.0 - 0.5) * 2),
                               2 * 32 / 255.0 + 1e-5)

  def testGrayscaleIsGrayOfTheColorResult(self):
    # Same graph seed, same ops before the conversion: the same draws.
    def train(use_grayscale):
      return [inception_preprocessing.preprocess_for_train(
          self.image, 40, 40, None, fast_mode=False,
          use_grayscale=use_grayscale, add_image_summaries=False)
              for _ in range(3)]
    color = run_in_graph(train, False, seed=11)
    gray = run_in_graph(train, True, seed=11)
    for rgb, got in zip(color, gray):
      self.assertEqual(got.shape, (40, 40, 1))
      self.assertAllClose(got, (np_gray((rgb + 1) / 2) - 0.5) * 2, atol=1e-5,
                          rtol=0)
    # The three calls of one graph draw differently.
    self.assertGreater(np.abs(color[0] - color[1]).max(), 0.01)

  def testSameSeedSameResult(self):
    def train():
      return inception_preprocessing.preprocess_for_train(
          self.image, 32, 32, None, fast_mode=False)
    first = run_in_graph(train, seed=12)
    self.assertAllClose(first, run_in_graph(train, seed=12), atol=1e-6,
                        rtol=0)
    self.assertGreater(np.abs(first - run_in_graph(train, seed=13)).max(),
                       0.01)

  def testFlipsSometimes(self):
    # Gray, dark left half and bright right half: brightness, saturation,
    # hue and contrast keep the left darker, so only a flip swaps them.
    image = np.full([32, 32, 3], 40, np.uint8)
    image[:, 16:] = 210
    flips = []
    with tf.Graph().as_default(), self.session() as sess:
      tf.set_random_seed(14)
      out = inception_preprocessing.preprocess_for_train(
          image, 32, 32, None, fast_mode=False, random_crop=False,
          add_image_summaries=False)
      for _ in range(60):
        got = sess.run(out)
        left, right = got[:, :16].mean(), got[:, 16:].mean()
        self.assertGreater(abs(left - right), 0.5)
        flips.append(left > right)
    self.assertBetween(sum(flips), 15, 45)

  def testInsideDatasetMap(self):
    with tf.Graph().as_default(), self.session() as sess:
      dataset = tf.data.Dataset.from_tensors(self.image).repeat(4).map(
          lambda image: inception_preprocessing.preprocess_for_train(
              image, 24, 24, None, fast_mode=False, add_image_summaries=False))
      next_image = tf.data.make_one_shot_iterator(dataset).get_next()
      values = [sess.run(next_image) for _ in range(4)]
    for value in values:
      self.assertEqual(value.shape, (24, 24, 3))
      self.assertBetween(value.min(), -1.0, 1.0)
      self.assertBetween(value.max(), -1.0, 1.0)

  def testPreprocessImageTrain(self):
    def both(**kwargs):
      return inception_preprocessing.preprocess_image(
          self.image, 32, 32, is_training=True, add_image_summaries=False,
          **kwargs)
    self.assertAllClose(
        run_in_graph(both, seed=16, fast_mode=False),
        run_in_graph(lambda: inception_preprocessing.preprocess_for_train(
            self.image, 32, 32, None, fast_mode=False,
            add_image_summaries=False), seed=16), atol=1e-6, rtol=0)
    with tf.Graph().as_default() as graph:
      both(crop_image=False)
    self.assertNotIn('SampleDistortedBoundingBoxV2',
                     [op.type for op in graph.get_operations()])


class RandomPartsTest(tf.test.TestCase):
  """The selector, the colour distortion and the crop, over many runs."""

  def setUp(self):
    super().setUp()
    self.rng = np.random.RandomState(3)

  def testSelectorReachesEveryCaseAndRunsOnlyIt(self):
    calls = []

    def record(case):
      def call(x):
        calls.append(case)
        return x
      return call

    def func(x, case):
      return tf.py_func(record(case), [x + 10.0 ** case], tf.float32,
                        stateful=True)

    with tf.Graph().as_default(), self.session() as sess:
      tf.set_random_seed(20)
      out = inception_preprocessing.apply_with_random_selector(
          tf.constant(0.5), func, num_cases=4)
      values = [sess.run(out) for _ in range(80)]
    cases = [int(np.rint(np.log10(v - 0.5))) for v in values]
    self.assertAllClose(values, [0.5 + 10.0 ** c for c in cases])
    self.assertEqual(sorted(set(cases)), [0, 1, 2, 3])
    # Only the drawn case's ops that read x ran, once per run.
    self.assertEqual(calls, cases)
    for case in range(4):
      self.assertBetween(cases.count(case), 8, 32)

  def testSelectorPassesTheCaseAsAPythonInt(self):
    seen = []

    def func(x, case):
      seen.append(case)
      self.assertIsInstance(case, int)
      return x * case

    with tf.Graph().as_default(), self.session() as sess:
      out = inception_preprocessing.apply_with_random_selector(
          tf.ones([2, 3]), func, num_cases=3)
      self.assertEqual(out.get_shape().as_list(), [2, 3])
      self.assertIn(sess.run(out)[0, 0], (0.0, 1.0, 2.0))
    self.assertEqual(seen, [0, 1, 2])

  def testDistortColorStaysInUnitRange(self):
    # Random values and the extremes, which brightness pushes past [0, 1].
    image = self.rng.uniform(0, 1, (24, 24, 3)).astype(np.float32)
    image[:4] = 0.0
    image[4:8] = 1.0
    for fast_mode in (True, False):
      for ordering in range(4):
        with tf.Graph().as_default() as graph, self.session() as sess:
          tf.set_random_seed(21)
          out = inception_preprocessing.distort_color(image, ordering,
                                                      fast_mode=fast_mode)
          self.assertEqual(out.get_shape().as_list(), [24, 24, 3])
          self.assertEqual(out.dtype, tf.float32)
          values = np.stack([sess.run(out) for _ in range(15)])
        steps = COLOR_STEPS[ordering][0 if fast_mode else 1]
        self.assertEqual(adjust_steps(graph), steps)
        self.assertAllClose(uniform_ranges(graph),
                            [COLOR_RANGES[step] for step in steps])
        self.assertGreaterEqual(values.min(), 0.0)
        self.assertLessEqual(values.max(), 1.0)
        self.assertEqual(values.min(), 0.0)  # clipped, not just in range
        self.assertEqual(values.max(), 1.0)
        self.assertGreater(np.abs(values - image).max(), 0.05)
        self.assertGreater(np.abs(values[1:] - values[:1]).max(), 0.01)

  def testBrightnessAndSaturationDraws(self):
    # Fast ordering 0 on values in [0.3, 0.7]: brightness adds d to every
    # value (no clipping), then saturation scales HSV's s = 1 - min / max by
    # f, keeping max. So max(out) - max(in) = d and s(out) / s(in) = f.
    image = self.rng.uniform(0.3, 0.7, (12, 12, 3))
    deltas, factors = [], []
    with tf.Graph().as_default(), self.session() as sess:
      tf.set_random_seed(24)
      out = inception_preprocessing.distort_color(image.astype(np.float32))
      for _ in range(60):
        got = sess.run(out).astype(np.float64)
        delta = got.max(-1) - image.max(-1)
        shifted = image + delta[0, 0]
        factor = ((1 - got.min(-1) / got.max(-1)) /
                  (1 - shifted.min(-1) / shifted.max(-1)))
        self.assertAllClose(delta, np.full_like(delta, delta[0, 0]),
                            atol=1e-5)
        self.assertAllClose(factor, np.full_like(factor, factor[0, 0]),
                            atol=1e-3)
        deltas.append(delta[0, 0])
        factors.append(factor[0, 0])
    for values, (low, high) in ((deltas, COLOR_RANGES['brightness']),
                                (factors, COLOR_RANGES['saturation'])):
      self.assertBetween(min(values), low - 1e-3, low + 0.2 * (high - low))
      self.assertBetween(max(values), high - 0.2 * (high - low), high + 1e-3)

  def testDistortedCropCoversTheBox(self):
    size = 64
    with tf.Graph().as_default(), self.session() as sess:
      tf.set_random_seed(22)
      boxes = tf.placeholder(tf.float32, [1, None, 4])
      covered = tf.placeholder(tf.float32, [])
      y, x = np.mgrid[0:size, 0:size]
      image = np.stack([y, x, y * 0], -1).astype(np.int32)
      crop, distort_bbox = inception_preprocessing.distorted_bounding_box_crop(
          image, boxes, min_object_covered=covered)
      fallbacks = runs = 0
      for _ in range(40):
        # Boxes on pixel boundaries: the op measures coverage in pixels.
        ymin, xmin = self.rng.randint(0, size - 8, 2)
        ymax = self.rng.randint(ymin + 4, size + 1)
        xmax = self.rng.randint(xmin + 4, size + 1)
        box = np.array([ymin, xmin, ymax, xmax]) / size
        for minimum in (0.1, 0.5, 0.9):
          got, got_box = sess.run([crop, distort_bbox],
                                  {boxes: box[None, None], covered: minimum})
          runs += 1
          top, left = got[0, 0, :2]
          rows, cols = got.shape[:2]
          # The crop is the image's pixels at the returned box.
          self.assertAllClose(got_box[0, 0] * size,
                              [top, left, top + rows, left + cols], atol=1e-4)
          self.assertAllEqual(got, image[top:top + rows, left:left + cols])
          inter_h = max(0, min(ymax, top + rows) - max(ymin, top))
          inter_w = max(0, min(xmax, left + cols) - max(xmin, left))
          self.assertGreaterEqual(
              inter_h * inter_w / ((ymax - ymin) * (xmax - xmin)), minimum,
              (box, minimum, got_box))
          fallbacks += (rows, cols) == (size, size)
    self.assertLess(fallbacks, runs // 4)

  def testDistortedCropAspectRatioAndArea(self):
    size = 96
    for aspect_range, area_range in (((0.75, 1.33), (0.05, 1.0)),
                                     ((0.5, 2.0), (0.1, 0.3)),
                                     ((1.5, 1.6), (0.2, 0.25))):
      with tf.Graph().as_default(), self.session() as sess:
        tf.set_random_seed(23)
        crop, _ = inception_preprocessing.distorted_bounding_box_crop(
            np.zeros([size, size, 1], np.float32),
            np.array([[[0.0, 0.0, 1.0, 1.0]]]), min_object_covered=0.0,
            aspect_ratio_range=aspect_range, area_range=area_range)
        shapes = [sess.run(tf.shape(crop))[:2] for _ in range(60)]
      ratios, areas = [], []
      for rows, cols in shapes:
        self.assertNotEqual((rows, cols), (size, size))  # none failed
        # width = round(height * ratio): within half a pixel of the range.
        self.assertBetween(cols / rows, aspect_range[0] - 0.5 / rows,
                           aspect_range[1] + 0.5 / rows)
        self.assertBetween(rows * cols / size**2, *area_range)
        ratios.append(cols / rows)
        areas.append(rows * cols / size**2)
      # Spread over the ranges, not stuck at one value.
      self.assertGreater(np.ptp(ratios), 0.3 * np.ptp(aspect_range))
      self.assertGreater(np.ptp(areas), 0.3 * np.ptp(area_range))

  def testDistortedCropFallsBackToTheWholeImage(self):
    # A 4x4 image cannot give a crop of area <= 1% of it: the whole image.
    with tf.Graph().as_default(), self.session() as sess:
      crop, box = inception_preprocessing.distorted_bounding_box_crop(
          np.ones([4, 4, 3], np.float32), np.array([[[0.0, 0.0, 1.0, 1.0]]]),
          area_range=(0.001, 0.01), max_attempts=5)
      got, got_box = sess.run([crop, box])
    self.assertEqual(got.shape, (4, 4, 3))
    self.assertAllClose(got_box, [[[0.0, 0.0, 1.0, 1.0]]])


class SummariesTest(tf.test.TestCase):
  """Image summaries only when add_image_summaries=True."""

  def summaries(self, fn, *args, **kwargs):
    """Names of the summaries fn(image, ...) adds; checks they run."""
    with tf.Graph().as_default() as graph:
      fn(np.zeros([40, 40, 3], np.uint8), *args, **kwargs)
      summaries = tf.get_collection(tf.GraphKeys.SUMMARIES)
      summary_ops = [op for op in graph.get_operations()
                     if op.type == 'ImageSummary']
      drawings = [op for op in graph.get_operations()
                  if op.type == 'DrawBoundingBoxes']
      self.assertEqual(len(summaries), len(summary_ops))
      # Boxes are drawn for the two box summaries only.
      self.assertLen(drawings, len([s for s in summaries
                                    if 'bounding_box' in s.op.name]))
      with tf.Session() as sess:
        for summary in sess.run(summaries):
          self.assertEqual(len(tf.Summary.FromString(summary).value), 1)
      return [s.op.name for s in summaries]

  def testTrainSummaries(self):
    train = inception_preprocessing.preprocess_for_train
    self.assertEqual(self.summaries(train, 32, 32, None),
                     ['distort_image/' + name for name in SLIM_SUMMARIES])
    self.assertEqual(
        self.summaries(train, 32, 32, None, random_crop=False),
        ['distort_image/image_with_bounding_boxes',
         'distort_image/resized_image', 'distort_image/final_distorted_image'])
    self.assertEqual(self.summaries(train, 32, 32, None, fast_mode=False,
                                    add_image_summaries=False), [])

  def testPreprocessImageSummaries(self):
    image = inception_preprocessing.preprocess_image
    self.assertLen(self.summaries(image, 32, 32, is_training=True), 4)
    self.assertEqual(self.summaries(image, 32, 32, is_training=True,
                                    add_image_summaries=False), [])
    self.assertEqual(self.summaries(image, 32, 32), [])


class ErrorsTest(tf.test.TestCase):
  """Each bad argument: its ValueError message, raised before any op."""

  def assertFails(self, message, fn, *args, **kwargs):
    with tf.Graph().as_default() as graph:
      with self.assertRaisesRegex(ValueError, message):
        fn(*args, **kwargs)
      self.assertEqual(graph.get_operations(), [], message)

  def testEval(self):
    image = np.zeros([20, 20, 3], np.uint8)
    evaluate = inception_preprocessing.preprocess_for_eval
    for fraction in (0.0, -0.5, 1.5, '0.5'):
      self.assertFails(r'central_fraction must be in \(0, 1\], got %r' %
                       (fraction,), evaluate, image, 8, 8,
                       central_fraction=fraction)
    self.assertFails(
        r'image must be \[height, width, channels\] or \[batch, height, '
        r'width, channels\], got shape \(20, 20\)', evaluate, image[..., 0],
        8, 8)
    self.assertFails(r'got shape \(1, 1, 20, 20, 3\)', evaluate,
                     image[None, None], 8, 8)
    for name, args in (('height', (0, 8)), ('width', (8, -3)),
                       ('height', (8.5, 8)), ('width', (8, True))):
      self.assertFails('%s must be a positive integer or None, got' % name,
                       evaluate, image, *args)
    self.assertFails(r'image must have 3 channels for use_grayscale, got '
                     r'shape \(20, 20, 1\)', evaluate, image[..., :1], 8, 8,
                     use_grayscale=True)
    self.assertFails('image must have an integer or floating-point dtype, '
                     'got string', evaluate,
                     tf.constant('x', shape=[2, 2, 3]), 8, 8)

  def testTrain(self):
    image = np.zeros([20, 20, 3], np.uint8)
    train = inception_preprocessing.preprocess_for_train
    self.assertFails(r'image must be \[height, width, channels\], got shape '
                     r'\(1, 20, 20, 3\)', train, image[None], 8, 8, None)
    self.assertFails(r'image must have 3 channels \(the colour distortion is '
                     r'RGB\), got shape \(20, 20, 4\)', train,
                     np.zeros([20, 20, 4]), 8, 8, None)
    for name, args in (('height', (None, 8)), ('width', (8, 0))):
      self.assertFails('%s must be a positive integer, got' % name, train,
                       image, *args, None)
    self.assertFails(r'bbox must be \[1, num_boxes, 4\] \(\[ymin, xmin, ymax, '
                     r'xmax\]\), got shape \(1, 4\)', train, image, 8, 8,
                     np.zeros([1, 4]))
    self.assertFails(r'bbox coordinates must be in \[0, 1\], got '
                     r'\[\[\[0.0, 0.0, 2.0, 1.0\]\]\]', train, image, 8, 8,
                     [[[0.0, 0.0, 2.0, 1.0]]])

  def testCrop(self):
    image = np.zeros([20, 20, 3], np.float32)
    box = np.array([[[0.0, 0.0, 1.0, 1.0]]])
    crop = inception_preprocessing.distorted_bounding_box_crop
    self.assertFails(r'bbox must be given \(\[1, num_boxes, 4\]\), got None',
                     crop, image, None)
    self.assertFails(r'image must be \[height, width, channels\], got shape '
                     r'\(20, 20\)', crop, image[..., 0], box)
    for value in (-0.1, 1.1, None):
      self.assertFails(r'min_object_covered must be in \[0, 1\], got %r' %
                       (value,), crop, image, box, min_object_covered=value)
    for name, value, bound in (('aspect_ratio_range', (0.0, 1.0), 'inf'),
                               ('aspect_ratio_range', (2.0, 1.0), 'inf'),
                               ('aspect_ratio_range', 1.0, 'inf'),
                               ('area_range', (0.5, 1.5), '1'),
                               ('area_range', (0.0, 0.5), '1'),
                               ('area_range', (0.1, 0.2, 0.3), '1')):
      self.assertFails(
          r'%s must be a pair \(lo, hi\) with 0 < lo <= hi <= %s, got %s' %
          (name, bound, re.escape(repr(value))), crop, image, box,
          **{name: value})
    for value in (0, 2.5):
      self.assertFails('max_attempts must be a positive integer, got %r' %
                       value, crop, image, box, max_attempts=value)

  def testDistortColorAndSelector(self):
    image = np.zeros([8, 8, 3], np.float32)
    for ordering in (-1, 4, 1.0):
      for fast_mode in (True, False):
        self.assertFails(r'color_ordering must be in \[0, 3\], got %r' %
                         ordering, inception_preprocessing.distort_color,
                         image, ordering, fast_mode)
    self.assertFails(r'image must have 3 channels \(saturation and hue are '
                     r'RGB operations\), got shape \(8, 8, 1\)',
                     inception_preprocessing.distort_color, image[..., :1])
    select = inception_preprocessing.apply_with_random_selector
    for value in (0, 2.0, None):
      self.assertFails('num_cases must be a positive integer, got %r' % value,
                       select, image, lambda x, case: x, value)
    self.assertFails('func must be callable, got 3', select, image, 3, 2)


if __name__ == '__main__':
  tf.test.main()
