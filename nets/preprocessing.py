"""Inception eval preprocessing, as slim's `inception_preprocessing` does it.

The released Inception V3 checkpoints were evaluated on images that went
through: uint8 -> float in [0, 1] -> central crop of 87.5% of the height and
width -> bilinear resize to the network size (TF1's `resize_bilinear` with
align_corners=False and half_pixel_centers=False) -> scale to [-1, 1].
"""

import tensorflow.compat.v1 as tf

CENTRAL_FRACTION = 0.875


def preprocess_for_eval(image, height=299, width=299,
                        central_fraction=CENTRAL_FRACTION, scope=None):
  """Prepares an image (or a batch) for Inception V3 evaluation.

  Args:
    image: [height, width, 3] or [batch, height, width, 3]; uint8 (0..255)
      or float in [0, 1] (any other integer type is scaled by its maximum).
    height: output height.
    width: output width.
    central_fraction: fraction of the height and width kept by the central
      crop (as `tf.image.central_crop`); None or 1.0 keeps the whole image.
    scope: optional name scope.

  Returns:
    float32 [height, width, 3] (or [batch, height, width, 3]) in [-1, 1].

  Raises:
    ValueError: if the image's rank is not 3 or 4, or central_fraction is not
      in (0, 1].
  """
  if central_fraction is not None and not 0.0 < central_fraction <= 1.0:
    raise ValueError('central_fraction must be in (0, 1], got %r.' %
                     (central_fraction,))
  with tf.name_scope(scope, 'eval_image', [image]):
    image = tf.convert_to_tensor(image)
    rank = image.get_shape().ndims
    if rank not in (3, 4):
      raise ValueError('Expected an image [height, width, 3] or a batch '
                       '[batch, height, width, 3], got shape %s.' %
                       image.get_shape())
    if image.dtype != tf.float32:
      image = tf.image.convert_image_dtype(image, dtype=tf.float32)
    if central_fraction is not None and central_fraction < 1.0:
      image = tf.image.central_crop(image, central_fraction=central_fraction)
    batch = image if rank == 4 else tf.expand_dims(image, 0)
    batch = tf.image.resize_bilinear(batch, [height, width],
                                     align_corners=False)
    image = batch if rank == 4 else tf.squeeze(batch, [0])
    return tf.multiply(tf.subtract(image, 0.5), 2.0)


def decode_and_preprocess(encoded, height=299, width=299,
                          central_fraction=CENTRAL_FRACTION):
  """Decodes one JPEG/PNG/GIF/BMP string and applies `preprocess_for_eval`.

  Grayscale images are expanded to RGB and an alpha channel is dropped.

  Args:
    encoded: a scalar tf.string tensor with the file's bytes.
    height, width, central_fraction: as for `preprocess_for_eval`.

  Returns:
    float32 [height, width, 3] in [-1, 1].
  """
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  image.set_shape([None, None, 3])
  return preprocess_for_eval(image, height, width, central_fraction)
