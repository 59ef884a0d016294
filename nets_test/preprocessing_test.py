"""Tests of nets.preprocessing against an independent NumPy computation."""

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

from nets import preprocessing

# TF computes source coordinates and weights in float32, the reference in
# float64: they differ by up to ~2e-5 on [-1, 1]. A half-pixel offset or
# another crop would differ by more than 1e-2 (see test_tolerance_discriminates).
ATOL = 5e-5


def np_central_crop(image, fraction):
  """Crop of [H, W, C] as tf.image.central_crop sizes it: int() of the margin."""
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


def np_preprocess(image, size, fraction=0.875):
  """uint8 -> [0, 1] -> central crop -> bilinear resize -> [-1, 1]."""
  if image.dtype == np.uint8:
    image = image / 255.0
  image = np_central_crop(image.astype(np.float64), fraction)
  return (np_resize_bilinear(image, size, size) - 0.5) * 2.0


class PreprocessingTest(tf.test.TestCase):

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

  def testUint8ImageMatchesNumpy(self):
    for shape, size in (((120, 160, 3), 299), ((37, 53, 3), 75),
                        ((400, 300, 3), 160)):
      image = self.rng.randint(0, 256, shape).astype(np.uint8)
      got = self.run_preprocess(image, height=size, width=size)
      self.assertEqual(got.dtype, np.float32)
      self.assertEqual(got.shape, (size, size, 3))
      self.assertAllClose(got, np_preprocess(image, size), atol=ATOL, rtol=0)

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


if __name__ == '__main__':
  tf.test.main()
