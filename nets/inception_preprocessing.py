"""Slim's Inception preprocessing, for training and for evaluation.

A drop-in for research/slim's `preprocessing/inception_preprocessing.py`:
the same public functions, signatures, defaults, summary names and random
choices, so `from nets import inception_preprocessing` replaces `from
preprocessing import inception_preprocessing` and nothing else changes.

Evaluation (what the released checkpoints were evaluated with): the image as
float in [0, 1], a central crop of 87.5% of its height and width, TF1's
bilinear resize (`resize_bilinear`, align_corners=False, no half-pixel
centres), then [-1, 1].

Training: a random crop that covers part of a bounding box
(`tf.image.sample_distorted_bounding_box`), a resize with a randomly chosen
method, a random left-right flip, a random colour distortion in one of four
orders, then [-1, 1].

Beyond slim: arguments are checked first and bad ones raise a ValueError that
names the argument, before any op is built; `preprocess_for_eval` also takes
a batch [N, H, W, C] and Tensor sizes; the bounding-box drawings are built
only for summaries; under a graph-level seed the random crop is reproducible
like every other random op here (TF's TF1 `sample_distorted_bounding_box`,
which slim calls, ignores the graph-level seed).
"""

import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from nets import slim_compat

slim_compat.apply()

CENTRAL_FRACTION = 0.875
# tf.image.resize_images' (TF1) methods 0..3: bilinear, nearest neighbour,
# bicubic, area. Fast mode uses only the first.
NUM_RESIZE_METHODS = 4
NUM_COLOR_ORDERINGS = 4

_BRIGHTNESS_DELTA = 32. / 255.
_SATURATION_RANGE = (0.5, 1.5)
_HUE_DELTA = 0.2
_CONTRAST_RANGE = (0.5, 1.5)


def _brightness(image):
  return tf.image.random_brightness(image, max_delta=_BRIGHTNESS_DELTA)


def _saturation(image):
  return tf.image.random_saturation(image, *_SATURATION_RANGE)


def _hue(image):
  return tf.image.random_hue(image, max_delta=_HUE_DELTA)


def _contrast(image):
  return tf.image.random_contrast(image, *_CONTRAST_RANGE)


# slim's colour orderings: [fast mode, full mode] steps of each ordering.
_COLOR_ORDERINGS = (
    ((_brightness, _saturation),
     (_brightness, _saturation, _hue, _contrast)),
    ((_saturation, _brightness),
     (_saturation, _brightness, _contrast, _hue)),
    ((_saturation, _brightness),
     (_contrast, _hue, _brightness, _saturation)),
    ((_saturation, _brightness),
     (_hue, _saturation, _contrast, _brightness)),
)


# Argument checks: they read only static shapes and Python values, so they
# run before any op is built.


def _is_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _static_shape(value):
  """The static shape of a Tensor or array-like, without building an op."""
  if tf.is_tensor(value):
    return tf.TensorShape(value.shape)
  return tf.TensorShape(np.shape(value))


def _static_dtype(value):
  """The dtype of a Tensor or array-like, or None if NumPy cannot tell."""
  if tf.is_tensor(value):
    return tf.as_dtype(value.dtype)
  try:
    return tf.as_dtype(np.asarray(value).dtype)
  except TypeError:  # e.g. a list of Tensors: convert_to_tensor decides.
    return None


def _check_image(image, ranks, channels=None, why=''):
  """Checks an image's rank, channels (when known) and dtype.

  Args:
    image: a Tensor or array-like.
    ranks: the ranks accepted (an unknown rank passes).
    channels: the number of channels required, or None for any.
    why: what needs those channels, for the message.

  Raises:
    ValueError: on a wrong rank, channel count or dtype.
  """
  shape = _static_shape(image)
  if shape.ndims is not None and shape.ndims not in ranks:
    raise ValueError('image must be %s, got shape %s' % (
        ' or '.join({3: '[height, width, channels]',
                     4: '[batch, height, width, channels]'}[r]
                    for r in ranks), shape))
  if (channels is not None and shape.ndims is not None and
      shape.as_list()[-1] is not None and shape.as_list()[-1] != channels):
    raise ValueError('image must have %d channels%s, got shape %s' %
                     (channels, why, shape))
  dtype = _static_dtype(image)
  if dtype is not None and not (dtype.is_integer or dtype.is_floating):
    raise ValueError('image must have an integer or floating-point dtype, '
                     'got %s' % dtype.name)


def _check_positive_int(name, value, allow_none=False):
  """A positive Python int, or None if allowed."""
  if value is None and allow_none:
    return
  if not _is_int(value) or value < 1:
    raise ValueError('%s must be a positive integer%s, got %r' %
                     (name, ' or None' if allow_none else '', value))


def _check_size(name, value, allow_none=False):
  """An output size: a positive int, an int Tensor (checked when run)."""
  if not tf.is_tensor(value):
    _check_positive_int(name, value, allow_none)


def _check_range(name, value, low, high, low_open=False):
  """A Python number in [low, high] ((low, high] if low_open)."""
  if not _is_number(value) or not (
      (low < value if low_open else low <= value) and value <= high):
    raise ValueError('%s must be in %s%g, %g], got %r' % (
        name, '(' if low_open else '[', low, high, value))


def _check_interval(name, value, low, high):
  """A pair (lo, hi) of Python numbers with low < lo <= hi <= high."""
  try:
    lo, hi = value
  except (TypeError, ValueError):
    lo = hi = None
  if (not _is_number(lo) or not _is_number(hi) or not low < lo <= hi or
      hi > high):
    raise ValueError('%s must be a pair (lo, hi) with %g < lo <= hi <= %g, '
                     'got %r' % (name, low, high, value))


def _check_bbox(bbox):
  """bbox: None, or [1, num_boxes, 4] coordinates in [0, 1] when known."""
  if bbox is None:
    return
  shape = _static_shape(bbox)
  if shape.ndims is not None and (shape.ndims != 3 or
                                  shape.as_list()[-1] not in (None, 4)):
    raise ValueError('bbox must be [1, num_boxes, 4] ([ymin, xmin, ymax, '
                     'xmax]), got shape %s' % shape)
  # A constant Tensor is checked too; others are known only when run.
  known = tf.get_static_value(bbox) if tf.is_tensor(bbox) else bbox
  if known is not None:
    coordinates = np.asarray(known, dtype=np.float64)
    if coordinates.size and not ((coordinates >= 0) &
                                 (coordinates <= 1)).all():
      raise ValueError('bbox coordinates must be in [0, 1], got %s' %
                       coordinates.tolist())


def _check_color_ordering(color_ordering):
  if not _is_int(color_ordering) or not (
      0 <= color_ordering < NUM_COLOR_ORDERINGS):
    raise ValueError('color_ordering must be in [0, %d], got %r' %
                     (NUM_COLOR_ORDERINGS - 1, color_ordering))


# The pipeline's steps.


def _to_float(image):
  """[0, 1] float32: integers scaled by their maximum, floats cast."""
  image = tf.convert_to_tensor(image)
  if image.dtype != tf.float32:
    image = tf.image.convert_image_dtype(image, dtype=tf.float32)
  return image


def _to_signed(image):
  """[0, 1] -> [-1, 1]."""
  return tf.multiply(tf.subtract(image, 0.5), 2.0)


def _resize_bilinear(image, height, width):
  """TF1's bilinear resize of an image (rank 3) or a batch (rank 4)."""
  single = image.get_shape().ndims != 4
  batch = tf.expand_dims(image, 0) if single else image
  batch = tf.image.resize_bilinear(batch, [height, width],
                                   align_corners=False,
                                   half_pixel_centers=False)
  return tf.squeeze(batch, [0]) if single else batch


def _draw_boxes(image, boxes):
  """The image with `boxes` drawn on it, as a batch of 1 for a summary."""
  return tf.image.draw_bounding_boxes(tf.expand_dims(image, 0), boxes)


def apply_with_random_selector(x, func, num_cases):
  """Computes func(x, sel) with sel drawn uniformly from [0, num_cases).

  `func` is called once per case with the Python int of that case, but only
  the drawn case's call receives the real `x` (the others get a dead
  tensor, through Switch), so only its ops that depend on `x` run, and Merge
  returns its value.

  Args:
    x: input Tensor.
    func: Python function (x, case) -> Tensor.
    num_cases: Python int, the number of cases.

  Returns:
    The drawn case's func(x, case).

  Raises:
    ValueError: if num_cases is not a positive integer or func is not
      callable.
  """
  _check_positive_int('num_cases', num_cases)
  if not callable(func):
    raise ValueError('func must be callable, got %r' % (func,))
  x = tf.convert_to_tensor(x)
  sel = tf.random_uniform([], maxval=num_cases, dtype=tf.int32)
  outputs = [func(tf.raw_ops.Switch(data=x, pred=tf.equal(sel, case))[1], case)
             for case in range(num_cases)]
  return tf.raw_ops.Merge(inputs=outputs)[0]


def distort_color(image, color_ordering=0, fast_mode=True, scope=None):
  """Random brightness, saturation (and hue, contrast) in one of 4 orders.

  Fast mode (slim's default) leaves out hue and contrast, the slow ones:
  ordering 0 is brightness then saturation, the others saturation then
  brightness. Otherwise each ordering applies all four in its own order.
  Brightness changes by up to 32/255, saturation and contrast by a factor in
  [0.5, 1.5], hue by up to 0.2.

  Args:
    image: [height, width, 3] (or a batch) float image in [0, 1].
    color_ordering: Python int in [0, 3], which ordering.
    fast_mode: if True, brightness and saturation only.
    scope: optional name scope.

  Returns:
    The distorted image, clipped to [0, 1].

  Raises:
    ValueError: if color_ordering is not in [0, 3] or the image is not a
      3-channel image.
  """
  _check_color_ordering(color_ordering)
  _check_image(image, ranks=(3, 4), channels=3,
               why=' (saturation and hue are RGB operations)')
  with tf.name_scope(scope, 'distort_color', [image]):
    image = tf.convert_to_tensor(image)
    for step in _COLOR_ORDERINGS[color_ordering][0 if fast_mode else 1]:
      image = step(image)
    # The random_* ops do not keep the values in [0, 1].
    return tf.clip_by_value(image, 0.0, 1.0)


def distorted_bounding_box_crop(image,
                                bbox,
                                min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0),
                                max_attempts=100,
                                scope=None):
  """A random crop of the image that covers part of one of the boxes.

  See `tf.image.sample_distorted_bounding_box`: the crop covers at least
  `min_object_covered` of one box of `bbox`, has an aspect ratio (width /
  height) in `aspect_ratio_range` and an area (as a fraction of the image) in
  `area_range`; if no such crop is found in `max_attempts` tries, the whole
  image is returned. Under a graph-level seed (`tf.set_random_seed`) the
  crops are reproducible; without one they differ from run to run.

  Args:
    image: [height, width, channels] image.
    bbox: float [1, num_boxes, 4] boxes [ymin, xmin, ymax, xmax] in [0, 1];
      with no boxes the whole image is the box.
    min_object_covered: fraction in [0, 1] of a box the crop must cover.
    aspect_ratio_range: (lo, hi), the crop's width / height range.
    area_range: (lo, hi) in (0, 1], the crop's fraction of the image area.
    max_attempts: positive int, tries before falling back to the whole image.
    scope: optional name scope.

  Returns:
    (cropped image, the crop as a float [1, 1, 4] box of the image).

  Raises:
    ValueError: on a bad argument (each is named in its message).
  """
  _check_image(image, ranks=(3,))
  if bbox is None:
    raise ValueError('bbox must be given ([1, num_boxes, 4]), got None')
  _check_bbox(bbox)
  if not tf.is_tensor(min_object_covered):
    _check_range('min_object_covered', min_object_covered, 0.0, 1.0)
  _check_interval('aspect_ratio_range', aspect_ratio_range, 0.0, np.inf)
  _check_interval('area_range', area_range, 0.0, 1.0)
  _check_positive_int('max_attempts', max_attempts)
  with tf.name_scope(scope, 'distorted_bounding_box_crop', [image, bbox]):
    # Unlike every other random op here, tf.image's TF1 function leaves its
    # seeds at 0 (a fresh random seed each run) even under a graph-level
    # seed: give it the seeds the graph-level seed implies, as the others
    # get (none without a graph-level seed, as in slim).
    seed, seed2 = tf.get_seed(None)
    begin, size, distort_bbox = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=bbox,
        seed=seed,
        seed2=seed2,
        min_object_covered=min_object_covered,
        aspect_ratio_range=aspect_ratio_range,
        area_range=area_range,
        max_attempts=max_attempts,
        use_image_if_no_bounding_boxes=True)
    return tf.slice(image, begin, size), distort_bbox


def preprocess_for_train(image,
                         height,
                         width,
                         bbox,
                         fast_mode=True,
                         scope=None,
                         add_image_summaries=True,
                         random_crop=True,
                         use_grayscale=False):
  """Randomly distorts one image for training.

  [0, 1] float -> random crop around `bbox` (`distorted_bounding_box_crop`'s
  defaults) -> resize to height x width with a random method (bilinear only
  in fast mode, else one of the 4 of tf.image.resize_images) -> random
  left-right flip -> `distort_color` in a random ordering (ordering 0 only in
  fast mode) -> grayscale if asked -> [-1, 1].

  Args:
    image: [height, width, 3] image; float in [0, 1], or an integer type
      scaled by its maximum (uint8: 0..255).
    height: output height (positive int or int Tensor).
    width: output width (positive int or int Tensor).
    bbox: float [1, num_boxes, 4] boxes [ymin, xmin, ymax, xmax] in [0, 1],
      or None for the whole image.
    fast_mode: if True, bilinear resizing and brightness and saturation only.
    scope: optional name scope (default 'distort_image').
    add_image_summaries: if True, adds slim's image summaries
      (tf.summary.image, graph mode): image_with_bounding_boxes,
      images_with_distorted_bounding_box (with random_crop),
      [cropped_]resized_image and final_distorted_image.
    random_crop: if False, the whole image is resized (no crop).
    use_grayscale: if True, the output has 1 channel (after the colour
      distortion).

  Returns:
    float32 [height, width, 3] (1 with use_grayscale) in [-1, 1].

  Raises:
    ValueError: on a bad image (rank, channels, dtype), size or bbox.
  """
  _check_image(image, ranks=(3,), channels=3,
               why=' (the colour distortion is RGB)')
  _check_size('height', height)
  _check_size('width', width)
  _check_bbox(bbox)
  with tf.name_scope(scope, 'distort_image', [image, height, width, bbox]):
    if bbox is None:
      bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32,
                         shape=[1, 1, 4])
    image = _to_float(image)
    if add_image_summaries:
      tf.summary.image('image_with_bounding_boxes', _draw_boxes(image, bbox))

    distorted = image
    if random_crop:
      distorted, distorted_bbox = distorted_bounding_box_crop(image, bbox)
      # The slice's size is dynamic: restore the channels.
      distorted.set_shape([None, None, 3])
      if add_image_summaries:
        tf.summary.image('images_with_distorted_bounding_box',
                         _draw_boxes(image, distorted_bbox))

    # Resizing ignores the aspect ratio, which distorts the image too.
    distorted = apply_with_random_selector(
        distorted,
        lambda x, method: tf.image.resize_images(x, [height, width], method),
        num_cases=1 if fast_mode else NUM_RESIZE_METHODS)
    if add_image_summaries:
      tf.summary.image(('cropped_' if random_crop else '') + 'resized_image',
                       tf.expand_dims(distorted, 0))

    distorted = tf.image.random_flip_left_right(distorted)
    distorted = apply_with_random_selector(
        distorted,
        lambda x, ordering: distort_color(x, ordering, fast_mode),
        num_cases=1 if fast_mode else NUM_COLOR_ORDERINGS)

    if use_grayscale:
      distorted = tf.image.rgb_to_grayscale(distorted)
    if add_image_summaries:
      tf.summary.image('final_distorted_image', tf.expand_dims(distorted, 0))
    return _to_signed(distorted)


def check_eval_arguments(height, width, central_fraction):
  """Raises the ValueError `preprocess_for_eval` would for these arguments.

  For callers that build other ops (e.g. a decoder) before
  `preprocess_for_eval` and want to fail before any of them.
  """
  _check_size('height', height, allow_none=True)
  _check_size('width', width, allow_none=True)
  if central_fraction is not None:
    _check_range('central_fraction', central_fraction, 0.0, 1.0,
                 low_open=True)


def preprocess_for_eval(image,
                        height,
                        width,
                        central_fraction=CENTRAL_FRACTION,
                        scope=None,
                        central_crop=True,
                        use_grayscale=False):
  """Prepares an image (or a batch) for evaluation.

  [0, 1] float -> grayscale if asked -> central crop -> TF1 bilinear resize
  (align_corners=False, no half-pixel centres) -> [-1, 1].

  Args:
    image: [height, width, C] or [batch, height, width, C]; float in [0, 1],
      or an integer type scaled by its maximum (uint8: 0..255).
    height: output height (positive int or int Tensor), or None.
    width: output width (positive int or int Tensor), or None. The image is
      resized only when both are given (as slim); otherwise its size is kept.
    central_fraction: fraction in (0, 1] of the height and width kept by the
      central crop (as `tf.image.central_crop`), or None for no crop.
    scope: optional name scope (default 'eval_image').
    central_crop: if False, no central crop.
    use_grayscale: if True, the output has 1 channel (needs C = 3).

  Returns:
    float32 image (or batch) in [-1, 1].

  Raises:
    ValueError: on a bad image (rank, channels, dtype), size or
      central_fraction.
  """
  _check_image(image, ranks=(3, 4), channels=3 if use_grayscale else None,
               why=' for use_grayscale')
  check_eval_arguments(height, width, central_fraction)
  with tf.name_scope(scope, 'eval_image', [image, height, width]):
    image = _to_float(image)
    if use_grayscale:
      image = tf.image.rgb_to_grayscale(image)
    if central_crop and central_fraction is not None:
      image = tf.image.central_crop(image, central_fraction=central_fraction)
    if height is not None and width is not None:
      image = _resize_bilinear(image, height, width)
    return _to_signed(image)


def preprocess_image(image,
                     height,
                     width,
                     is_training=False,
                     bbox=None,
                     fast_mode=True,
                     add_image_summaries=True,
                     crop_image=True,
                     use_grayscale=False):
  """`preprocess_for_train` or `preprocess_for_eval` (default arguments).

  Args:
    image: [height, width, 3] image (float in [0, 1], or integers).
    height: output height.
    width: output width.
    is_training: if True, the training distortions; else evaluation.
    bbox: training only: boxes for the random crop, or None.
    fast_mode: training only: see `preprocess_for_train`.
    add_image_summaries: training only: add image summaries.
    crop_image: the random crop (training) or the central crop (evaluation).
    use_grayscale: if True, a 1-channel output.

  Returns:
    float32 [height, width, 3] (1 with use_grayscale) in [-1, 1].

  Raises:
    ValueError: on a bad argument (see the two functions); also for an
      image without 3 channels and bbox coordinates outside [0, 1], in
      evaluation too (where bbox is not used), before any op is built.
  """
  _check_image(image, ranks=(3, 4), channels=3,
               why=' (RGB, as the network takes)')
  _check_bbox(bbox)
  if is_training:
    return preprocess_for_train(image, height, width, bbox, fast_mode,
                                add_image_summaries=add_image_summaries,
                                random_crop=crop_image,
                                use_grayscale=use_grayscale)
  return preprocess_for_eval(image, height, width, central_crop=crop_image,
                             use_grayscale=use_grayscale)
