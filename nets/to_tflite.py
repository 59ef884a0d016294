r"""Writes a slim Inception V3 checkpoint as a TensorFlow Lite model, verified.

  python -m nets.to_tflite --checkpoint_path=CKPT --output=model.tflite
  python -m nets.to_tflite --checkpoint_path=CKPT --output=int8.tflite \
      --quantize=int8 --image_dir=/data/photos      # calibrated on your images

The model is nets.inference's optimized graph (`inference.frozen_graph_def`:
BatchNorm folded into the convolutions) converted by TensorFlow's own
converter (`tf.compat.v1.lite.TFLiteConverter`). Like nets.to_onnx's, it has
one input, `input` (float32 [batch, H, W, 3] in [-1, 1]), and two outputs,
`logits` and `probabilities` (float32 [batch, num_classes]); the batch is
dynamic (`resize_tensor_input`). --quantize:

  none     float32 weights and compute.
  float16  float16 weights (half the file), float32 compute.
  dynamic  int8 weights, activations quantized on the fly (no data needed).
  int8     int8 weights and activations (w8a8), float input and outputs:
           the activations' ranges are calibrated on images, which must be
           the user's own (the dataset flags of nets.eval_image_classifier,
           through its input pipeline and eval preprocessing); a model
           calibrated on random images looks fine and is wrong on real ones,
           so --calibration=random exists only for timing.

Before the file replaces --output it is run by the TensorFlow Lite
interpreter and compared with the slim graph restored from the same
checkpoint: none and float16 on random images, their logits within
TOLERANCES of TensorFlow's; dynamic and int8 on images held out of the
calibration (random ones for dynamic without data, or with
--calibration=random): the top-1 class must agree with TensorFlow's on
MIN_TOP1_AGREEMENT of them and the logits stay within
QUANTIZED_LOGITS_TOLERANCE. A model that fails is not written.

The interpreter is ai-edge-litert's when installed (pip install -e
'.[tflite]'), else tf.lite.Interpreter (deprecated in TensorFlow, its
warning hidden): the same runtime.
"""

import copy
import os
import warnings

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import conversion
from nets import inception_v3
from nets import inference
from nets import input_pipeline
from nets import outputs

INPUT = conversion.INPUT
OUTPUTS = conversion.OUTPUTS
RUNTIME = 'TFLite'  # In the verification lines: max |TFLite - TF|.
QUANTIZE_MODES = ('none', 'float16', 'dynamic', 'int8')
QUANTIZED = ('dynamic', 'int8')
CALIBRATIONS = ('data', 'random')
# (logits relative to their largest magnitude, probabilities absolute), as
# `conversion.compare` takes them: the folded graph's rounding for float32,
# float16 weights' (measured 4.8e-4 at 75 pixels) for float16.
TOLERANCES = {'none': (inference.TOLERANCES['fp32'],) * 2,
              'float16': (inference.TOLERANCES['fp16'],) * 2}
# dynamic and int8, on held-out images: the share of them whose top-1 class
# must be TensorFlow's, and the largest logits difference relative to the
# largest logit (measured: see the README's TensorFlow Lite section).
MIN_TOP1_AGREEMENT = 0.9
QUANTIZED_LOGITS_TOLERANCE = 0.25
DEFAULT_NUM_CALIBRATION_IMAGES = 300
# Images held out of the calibration to verify dynamic and int8 models on
# (at most half of a smaller source).
HELD_OUT_IMAGES = 50
REFERENCE_BATCH_SIZE = 10  # TensorFlow's reference runs this many at once.
INSTALL = "pip install -e '.[tflite]'"
LITERT = 'ai_edge_litert.interpreter'


# --- Running a .tflite model --------------------------------------------------

def interpreter_class():
  """ai-edge-litert's Interpreter when installed, else tf.lite's."""
  try:
    with cli.quiet_native_stderr():
      return __import__(LITERT, fromlist=['Interpreter']).Interpreter
  except ImportError:
    import tensorflow as tf2  # pylint: disable=g-import-not-at-top
    return tf2.lite.Interpreter


def default_num_threads():
  """The CPUs this process may run on (TensorFlow's own default)."""
  return len(os.sched_getaffinity(0))


class TfliteModel(object):
  """A .tflite model of this tool's layout, ready to run on NumPy images.

  Attributes:
    image_size: its input's height and width.
    num_classes: its outputs' width.
  """

  def __init__(self, model_path=None, model_content=None, num_threads=None):
    """Loads the model.

    Raises:
      conversion.ExportError: it cannot be loaded, or has no `input` of
        [batch, H, H, 3] and no `logits`, `probabilities` outputs.
    """
    where = model_path or 'the model'
    try:
      with warnings.catch_warnings(), cli.quiet_native_stderr():
        warnings.simplefilter('ignore')  # tf.lite.Interpreter's deprecation
        self._interpreter = interpreter_class()(
            model_path=model_path, model_content=model_content,
            num_threads=num_threads or default_num_threads())
    except (ValueError, RuntimeError) as e:
      raise conversion.ExportError('cannot load TensorFlow Lite model %s: %s'
                                   % (where, cli.reason(e))) from e
    inputs = self._interpreter.get_input_details()
    names = {d['name']: d['index']
             for d in self._interpreter.get_output_details()}
    wanted = [name for name, _ in OUTPUTS]
    shape = inputs[0]['shape'] if len(inputs) == 1 else None
    if (len(inputs) != 1 or inputs[0]['name'] != INPUT or len(shape) != 4 or
        shape[1] != shape[2] or shape[3] != 3 or
        not set(wanted) <= set(names)):
      raise conversion.ExportError(
          '%s is not an Inception V3 model of nets.to_tflite (input %s '
          '[batch, H, H, 3]; outputs %s)' % (where, INPUT, ', '.join(wanted)))
    self._input = inputs[0]['index']
    self._outputs = [names[name] for name in wanted]
    self.image_size = int(shape[1])
    self._batch = None
    self.num_classes = None
    self._resize(1)
    self.num_classes = int(self._interpreter.get_tensor(
        self._outputs[0]).shape[-1])

  def _resize(self, batch_size):
    if batch_size != self._batch:
      self._interpreter.resize_tensor_input(
          self._input, [batch_size, self.image_size, self.image_size, 3])
      with cli.quiet_native_stderr():  # XNNPACK's "Created ... delegate".
        self._interpreter.allocate_tensors()
      self._batch = batch_size

  def run(self, images):
    """[logits, probabilities] (np.ndarray) of float32 [batch, H, W, 3]."""
    self._resize(len(images))
    self._interpreter.set_tensor(self._input,
                                 np.ascontiguousarray(images, np.float32))
    self._interpreter.invoke()
    return [self._interpreter.get_tensor(index).copy()
            for index in self._outputs]


# --- Converting ---------------------------------------------------------------

def convert(graph_def, quantize='none', calibration_images=None):
  """TensorFlow Lite flatbuffer (bytes) of a frozen Inception V3 GraphDef.

  Args:
    graph_def: frozen GraphDef with placeholder `input` and the logits and
      predictions ops (`inference.frozen_graph_def`).
    quantize: one of QUANTIZE_MODES.
    calibration_images: for int8, an iterable of float32 [H, W, 3] images
      in [-1, 1] (read once).

  Raises:
    ValueError: a bad quantize, or int8 without calibration images.
    conversion.ExportError: if the converter fails.
  """
  import tensorflow as tf2  # pylint: disable=g-import-not-at-top
  if quantize not in QUANTIZE_MODES:
    raise ValueError('quantize must be one of %s, got %r' % (
        ', '.join(QUANTIZE_MODES), quantize))
  if quantize == 'int8' and calibration_images is None:
    raise ValueError('quantize int8 needs calibration_images')
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    images = graph.get_tensor_by_name(INPUT + ':0')
    named = [tf.identity(graph.get_tensor_by_name(op + ':0'), name=name)
             for name, op in OUTPUTS]
    with tf.Session(graph=graph) as sess:
      converter = tf.lite.TFLiteConverter.from_session(sess, [images], named)
  del graph, graph_def
  if quantize != 'none':
    converter.optimizations = [tf2.lite.Optimize.DEFAULT]
  if quantize == 'float16':
    converter.target_spec.supported_types = [tf.float16]
  elif quantize == 'int8':
    converter.representative_dataset = lambda: ([image[np.newaxis]]
                                                for image in calibration_images)
    converter.target_spec.supported_ops = [
        tf2.lite.OpsSet.TFLITE_BUILTINS_INT8]
  try:
    with cli.quiet_native_stderr():  # The quantizer's "fully_quantize: ..."
      return converter.convert()
  except Exception as e:  # pylint: disable=broad-except
    raise conversion.ExportError(
        'the TensorFlow Lite converter of TensorFlow %s cannot convert the '
        'graph: %s' % (tf.__version__, cli.reason(e))) from e


# --- Images to calibrate and verify on ------------------------------------------

def shuffled(source, seed=0):
  """An ImageFolder's images in an order fixed by `seed` (every class early).

  TFRecord datasets are read in file order (slim's converters shuffle the
  images as they write them).
  """
  if not isinstance(source, input_pipeline.ImageFolder):
    return source
  order = np.random.RandomState(seed).permutation(source.num_samples)
  source = copy.copy(source)
  source.paths = [source.paths[i] for i in order]
  source.labels = [source.labels[i] for i in order]
  return source


def read_images(source, count, image_size, preprocess_fn, batch_size=25):
  """Up to `count` images of `source`, preprocessed, as float32 [n, H, W, 3].

  Read by `input_pipeline` (ImageFolder in the order of `shuffled`), each
  through `preprocess_fn` (eval preprocessing) to image_size.

  Raises:
    ValueError: an image that cannot be read or decoded.
  """
  with tf.Graph().as_default():
    images, _ = input_pipeline.batches(
        input_pipeline.examples(shuffled(source)).take(count),
        preprocess_fn, image_size, batch_size)
    read = []
    with tf.Session() as sess:
      while True:
        try:
          with cli.quiet_native_stderr(show_on_error=False):
            read.append(sess.run(images))
        except tf.errors.OutOfRangeError:
          break
        except tf.errors.OpError as e:
          raise ValueError('cannot read the calibration images: %s' %
                           cli.reason(e)) from None
  if not read:
    return np.zeros([0, image_size, image_size, 3], np.float32)
  return np.concatenate(read)


def split_held_out(images, num_calibration_images, verify_output=True):
  """(calibration images, held-out images) of the images read.

  The first min(HELD_OUT_IMAGES, half) are held out when verifying; up to
  num_calibration_images of the rest calibrate.

  Raises:
    ValueError: too few images.
  """
  count = len(images)
  if count < (2 if verify_output else 1):
    raise ValueError(
        'the calibration source has %d image%s; int8 needs at least %s' % (
            count, '' if count == 1 else 's',
            '2 (one to calibrate on, one held out to verify on)'
            if verify_output else '1'))
  held_out = min(HELD_OUT_IMAGES, count // 2) if verify_output else 0
  return (images[held_out:held_out + num_calibration_images],
          images[:held_out])


# --- Verifying ----------------------------------------------------------------

def reference_outputs(checkpoint, images, num_classes,
                      moving_average_decay=None):
  """[logits, probabilities] of the slim graph, REFERENCE_BATCH_SIZE at once."""
  return inference.predict(checkpoint, images, num_classes,
                           moving_average_decay,
                           batch_size=REFERENCE_BATCH_SIZE)


def tflite_outputs(model_path, images):
  """[logits, probabilities] of the .tflite file on `images`."""
  return TfliteModel(model_path).run(images)


class QuantizedCheck(object):
  """A quantized model against TensorFlow on held-out images."""

  def __init__(self, agree, count, logits_error, probabilities_error):
    self.agree, self.count = agree, count
    self.logits_error = logits_error
    self.probabilities_error = probabilities_error

  @property
  def agreement(self):
    return self.agree / self.count

  def lines(self):
    return [
        'logits top-1 equal to TF on %d of %d (%.1f%%, at least %.0f%% '
        'needed), max |TFLite - TF| / max |TF| = %.1e (tolerance %g)' % (
            self.agree, self.count, 100.0 * self.agreement,
            100.0 * MIN_TOP1_AGREEMENT, self.logits_error,
            QUANTIZED_LOGITS_TOLERANCE),
        'probabilities max |TFLite - TF| = %.1e' % self.probabilities_error]


def compare_quantized(actual, expected):
  """QuantizedCheck of [logits, probabilities] against TensorFlow's.

  Raises:
    conversion.ExportError: outputs not finite, top-1 agreement below
      MIN_TOP1_AGREEMENT or logits beyond QUANTIZED_LOGITS_TOLERANCE.
  """
  for (name, _), got, want in zip(OUTPUTS, actual, expected):
    if not (np.isfinite(want).all() and np.isfinite(got).all()):
      raise conversion.ExportError(
          'the %s %s on the verification images are not finite; nothing '
          'was written' % ('slim graph\'s' if not np.isfinite(want).all() else
                       'TFLite model\'s', name))
    if got.shape != want.shape:
      raise conversion.ExportError(
          'TFLite %s have shape %s, TensorFlow %s; nothing was written' % (
              name, got.shape, want.shape))
  check = QuantizedCheck(
      int((actual[0].argmax(1) == expected[0].argmax(1)).sum()),
      len(expected[0]), inference.logits_error(actual[0], expected[0]),
      float(np.abs(np.float64(actual[1]) - expected[1]).max()))
  if (check.agreement < MIN_TOP1_AGREEMENT or
      not check.logits_error <= QUANTIZED_LOGITS_TOLERANCE):
    raise conversion.ExportError(
        'verification failed on %d images: %s; nothing was written'
        % (check.count, check.lines()[0]))
  return check


# --- The tool -----------------------------------------------------------------

def export_tflite(checkpoint_path, output, num_classes=None, image_size=299,
                  quantize='none', source=None, preprocess_fn=None,
                  num_calibration_images=DEFAULT_NUM_CALIBRATION_IMAGES,
                  calibration='data', overwrite=False, verify_output=True,
                  moving_average_decay=None):
  """Writes the checkpoint's inference graph as a TensorFlow Lite model.

  Args:
    checkpoint_path: slim checkpoint (V1 file, V2 prefix or directory).
    output: path of the .tflite file.
    num_classes: classes of the logits layer; None: from the checkpoint.
    image_size: height and width of the input.
    quantize: one of QUANTIZE_MODES.
    source: the images to calibrate int8 on and verify dynamic and int8 on:
      a slim Dataset or an input_pipeline.ImageFolder; or None.
    preprocess_fn: the eval preprocessing for `source`.
    num_calibration_images: int8 calibrates on this many (fewer if the
      source has fewer), after the held-out ones.
    calibration: 'data' (from `source`) or 'random' (timing only).
    overwrite: replace `output` if it exists.
    verify_output: run the model against the slim graph before it replaces
      `output`.
    moving_average_decay: convert the EMA shadows.

  Returns:
    (where the model was verified, e.g. '2 random images', and the report:
    [conversion.Check] or a QuantizedCheck; None when not verified).

  Raises:
    ValueError: bad arguments, int8 without data, too few images.
    outputs.OutputError: an output that exists (without overwrite), is not
      writable, or could not be written (e.g. a full disk).
    checkpoints.CheckpointError: no readable Inception V3 checkpoint.
    conversion.ExportError: weights that are not finite, a failed
      conversion or verification.
  """
  if quantize not in QUANTIZE_MODES:
    raise ValueError('quantize must be one of %s, got %r' % (
        ', '.join(QUANTIZE_MODES), quantize))
  if calibration not in CALIBRATIONS:
    raise ValueError('calibration must be one of %s, got %r' % (
        ', '.join(CALIBRATIONS), calibration))
  if num_calibration_images < 1:
    raise ValueError('num_calibration_images must be at least 1, got %d' %
                     num_calibration_images)
  if image_size < inception_v3.MIN_IMAGE_SIZE:
    raise ValueError('image_size must be at least %d, got %d' % (
        inception_v3.MIN_IMAGE_SIZE, image_size))
  use_data = calibration == 'data' and source is not None
  if quantize == 'int8' and calibration == 'data' and source is None:
    raise ValueError(
        'int8 needs calibration images from your data: give --dataset_dir '
        '(slim TFRecords) or --image_dir (class subfolders); random images '
        'make a model that looks fine and is wrong on real ones '
        '(--calibration=random is for timing only)')
  outputs.check(output, overwrite)
  checkpoint = checkpoints.load_checkpoint(checkpoint_path,
                                          require_finite=True)
  checkpoint.classes(num_classes)  # An Inception V3, before the images.
  calibrate = held_out = None
  if quantize in QUANTIZED and use_data:
    wanted = num_calibration_images if quantize == 'int8' else 0
    if verify_output:
      wanted += HELD_OUT_IMAGES
    images = read_images(source, wanted, image_size, preprocess_fn)
    if quantize == 'int8':
      calibrate, held_out = split_held_out(images, num_calibration_images,
                                           verify_output)
    else:
      if not len(images):
        raise ValueError('the verification source has no images')
      held_out = images
    where = ('%d held-out images' if quantize == 'int8' else
             '%d of your images') % len(held_out)
  elif quantize in QUANTIZED:
    if quantize == 'int8':
      calibrate = conversion.random_images(image_size, num_calibration_images,
                                           seed=1)
    held_out = conversion.random_images(image_size, 8, seed=2)
    where = '%d random images' % len(held_out)
  else:
    held_out = conversion.random_images(image_size)
    where = '%d random images' % len(held_out)
  checkpoint, num_classes, graph_def = conversion.frozen_graph(
      checkpoint, num_classes, image_size, moving_average_decay)
  expected = None
  if verify_output:
    expected = reference_outputs(checkpoint, held_out, num_classes,
                                 moving_average_decay)
  model = convert(graph_def, quantize, calibrate)
  del graph_def, calibrate
  report = None
  with outputs.staged(output, overwrite) as temp:
    conversion.write_bytes(model, temp)
    del model
    if verify_output:
      actual = tflite_outputs(temp, held_out)
      if quantize in QUANTIZED:
        report = compare_quantized(actual, expected)
      else:
        report = conversion.compare(RUNTIME, actual, expected,
                                    TOLERANCES[quantize])
  return where, report


FLAGS = flags.FLAGS


def define_flags():
  from nets import dataset_flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', 'overwrite', 'output',
                          required=['checkpoint_path', 'output'],
                          notes={'output': 'TensorFlow Lite, e.g. '
                                           'model.tflite.'})
  flags.DEFINE_enum('quantize', 'none', QUANTIZE_MODES,
                    'none: float32; float16: float16 weights; dynamic: int8 '
                    'weights; int8: int8 weights and activations, calibrated '
                    'on the images of the dataset flags.')
  flags.DEFINE_enum('calibration', 'data', CALIBRATIONS,
                    'Where int8 calibrates: data (the dataset flags) or '
                    'random images (for timing only: such a model is wrong '
                    'on real images).')
  flags.DEFINE_integer('num_calibration_images',
                       DEFAULT_NUM_CALIBRATION_IMAGES,
                       'int8: images to calibrate on (%d more are held out '
                       'to verify on).' % HELD_OUT_IMAGES, lower_bound=1)
  flags.DEFINE_boolean('verify', True,
                       'Run the model against the slim graph before '
                       'writing it.')
  dataset_flags.define_flags(split='train')


def main(argv):
  del argv  # Unused.
  from nets import dataset_flags  # pylint: disable=g-import-not-at-top
  source = preprocess_fn = None
  if FLAGS.dataset_dir or FLAGS.image_dir:
    source = dataset_flags.source_from_flags()
    preprocess_fn = dataset_flags.preprocessing_fn(is_training=False)
  where, report = export_tflite(
      FLAGS.checkpoint_path, FLAGS.output, num_classes=FLAGS.num_classes,
      image_size=FLAGS.image_size, quantize=FLAGS.quantize, source=source,
      preprocess_fn=preprocess_fn,
      num_calibration_images=FLAGS.num_calibration_images,
      calibration=FLAGS.calibration, overwrite=FLAGS.overwrite,
      verify_output=FLAGS.verify,
      moving_average_decay=FLAGS.moving_average_decay)
  print('wrote %s: TensorFlow Lite Inception V3 (quantize %s), input %s '
        '[batch, %d, %d, 3], outputs %s' % (
            FLAGS.output, FLAGS.quantize, INPUT, FLAGS.image_size,
            FLAGS.image_size, ', '.join(name for name, _ in OUTPUTS)))
  if report is None:
    return
  if isinstance(report, QuantizedCheck):
    lines = report.lines()
  else:
    lines = ['%s %s' % (check.name, conversion.describe(check, RUNTIME))
             for check in report]
  for line in lines:
    print('verified on %s: %s' % (where, line))


if __name__ == '__main__':
  cli.run(main, define_flags)
