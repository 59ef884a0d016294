"""Inception V3 eval preprocessing for the tools: defaults and file decoding.

The released Inception V3 checkpoints were evaluated on images that went
through slim's Inception eval preprocessing: uint8 -> float in [0, 1] ->
central crop of 87.5% of the height and width -> bilinear resize to the
network size (TF1's `resize_bilinear`, align_corners=False, no half-pixel
centres) -> [-1, 1]. That is `nets.inception_preprocessing`; this module
gives it the network's default size and decodes image files for
`nets.classify` and `nets.export`.
"""

import tensorflow.compat.v1 as tf

from nets import inception_preprocessing
from nets import slim_compat

slim_compat.apply()

CENTRAL_FRACTION = inception_preprocessing.CENTRAL_FRACTION


def preprocess_for_eval(image, height=299, width=299,
                        central_fraction=CENTRAL_FRACTION, scope=None):
  """`inception_preprocessing.preprocess_for_eval` at 299 x 299 by default.

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
      in (0, 1] (see `inception_preprocessing.preprocess_for_eval`).
  """
  return inception_preprocessing.preprocess_for_eval(
      image, height, width, central_fraction=central_fraction, scope=scope)


def decode_and_preprocess(encoded, height=299, width=299,
                          central_fraction=CENTRAL_FRACTION):
  """Decodes one JPEG/PNG/GIF/BMP string and applies `preprocess_for_eval`.

  Grayscale images are expanded to RGB and an alpha channel is dropped; an
  animated GIF gives its first frame.

  Args:
    encoded: a scalar tf.string tensor with the file's bytes.
    height, width, central_fraction: as for `preprocess_for_eval`.

  Returns:
    float32 [height, width, 3] in [-1, 1].

  Raises:
    ValueError: on a bad size or central_fraction, before any op is built.
  """
  inception_preprocessing.check_eval_arguments(height, width,
                                               central_fraction)
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  image.set_shape([None, None, 3])
  return preprocess_for_eval(image, height, width, central_fraction)
