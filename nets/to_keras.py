"""Converts a slim Inception V3 checkpoint into Keras InceptionV3 weights.

  python -m nets.to_keras --checkpoint_path=CKPT --output=FILE.weights.h5

writes a file that `tf.keras.applications.InceptionV3(weights=FILE)` loads as
it is (add `classifier_activation=None` for logits). Keras' InceptionV3 is the
network slim builds: its convolutions have no bias and its BatchNormalization
no scale, like the released checkpoints, with the same epsilon (0.001).

The 94 convolutions are paired by their position in the architecture: both
networks are walked from their output, the inputs of every concatenation in
order, so the k-th convolution reached in slim feeds the same channels as the
k-th in Keras. Layer names are never used (Keras' are auto-generated). Every
shape is checked, and the written file is verified against the slim graph on
random images before it replaces the output.

The logits layer (1x1x2048x1001 in the released checkpoints) becomes Keras'
Dense 'predictions' (2048x1000) without the background row (index 0). The
auxiliary head (AuxLogits) has no Keras counterpart and is dropped. A
checkpoint with another number of classes converts with --include_top=false
only: the trunk, for `InceptionV3(include_top=False, weights=FILE)`.
"""

import collections
import functools
import gc
import os
import sys

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

from absl import flags
import numpy as np
import tensorflow as tf
import tensorflow.compat.v1 as tf1
import tf_slim as slim

from nets import checkpoints
from nets import inception_v3
from nets import inference
from nets import outputs

LOGITS = inception_v3.LOGITS_LAYER
AUX_LOGITS = inception_v3.AUX_LOGITS_SCOPE + '/'
KERAS_CLASSES = 1000
IMAGE_SIZE = inception_v3.default_image_size
TOLERANCE = 1e-4  # relative to the largest output magnitude (at least 1)
SUFFIX = '.weights.h5'
H5PY_INSTALL = 'pip install h5py (Keras needs it to write .weights.h5 files)'
# HDF5 metadata on top of the weights' bytes, generously.
_H5_OVERHEAD_BYTES = 4 << 20

_hdf5_write_failed = False  # See _save_weights.

Conversion = collections.namedtuple(
    'Conversion', ['output', 'num_classes', 'include_top', 'dropped',
                   'error', 'tolerance'])
Conversion.__doc__ = """What `convert` wrote.

  output: path of the weights file.
  num_classes: classes of the checkpoint's logits layer (None without one).
  include_top: whether the file has Keras' 'predictions' layer.
  dropped: lines naming what the checkpoint had and the file has not.
  error, tolerance: largest |Keras - slim| output of the verification
    relative to the largest |slim| output (at least 1), and its bound (None
    when not verified).
"""


class ConversionError(ValueError):
  """A checkpoint or output that cannot become Keras InceptionV3 weights."""


def _postorder(root, inputs_of):
  """Nodes reachable from `root`, each after its inputs, inputs in order."""
  order, seen, stack = [], set(), [(root, False)]
  while stack:
    node, inputs_done = stack.pop()
    if inputs_done:
      order.append(node)
      continue
    if id(node) in seen:
      continue
    seen.add(id(node))
    stack.append((node, True))
    stack.extend((i, False) for i in reversed(inputs_of(node)))
  return order


def slim_conv_scopes():
  """Scopes of slim's 94 trunk convolutions, in architecture order (a new
  list each call)."""
  return list(_slim_conv_scopes())


@functools.lru_cache(maxsize=1)
def _slim_conv_scopes():
  """Found by building slim's trunk (about 2 CPU-s): the architecture is
  fixed, so once per process."""
  with tf1.Graph().as_default():
    images = tf1.placeholder(tf1.float32, [1, None, None, 3])
    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
      net, _ = inception_v3.inception_v3_base(images)
    ops = _postorder(net.op, lambda op: [t.op for t in op.inputs])
  return tuple(_variable_scope(op) for op in ops if op.type == 'Conv2D')


def _variable_scope(conv):
  """Scope of a slim Conv2D op's `weights` variable (op names may differ)."""
  weights = conv.inputs[1].op.inputs[0].op  # ReadVariableOp or Identity
  if not weights.name.endswith('/weights'):
    raise ConversionError('slim Conv2D %s reads %s, not weights.' %
                          (conv.name, weights.name))
  return weights.name[:-len('/weights')]


def _producer(keras_tensor):
  """The Keras layer whose output `keras_tensor` is."""
  return keras_tensor._keras_history[0]  # pylint: disable=protected-access


def _keras_inputs(layer):
  """The layers whose outputs `layer` takes, in argument order."""
  if isinstance(layer, tf.keras.layers.InputLayer):
    return []
  return [_producer(t) for t in tf.nest.flatten(layer.input)]


def keras_conv_layers(model):
  """(Conv2D, BatchNormalization) pairs of Keras' InceptionV3, in order.

  The order is the architecture's, as `slim_conv_scopes` walks slim's.
  """
  layers = _postorder(_producer(model.outputs[0]), _keras_inputs)
  pairs = []
  for layer in layers:
    if isinstance(layer, tf.keras.layers.BatchNormalization):
      conv, = _keras_inputs(layer)
      if not isinstance(conv, tf.keras.layers.Conv2D):
        raise ConversionError('Keras InceptionV3 has a BatchNormalization '
                              'after a %s, not a Conv2D.' % type(conv).__name__)
      pairs.append((conv, layer))
  convs = [l for l in layers if isinstance(l, tf.keras.layers.Conv2D)]
  if [conv for conv, _ in pairs] != convs:
    raise ConversionError('Keras InceptionV3 has a Conv2D without '
                          'BatchNormalization: another network.')
  return pairs


def keras_model(include_top=True, weights=None):
  """Keras' InceptionV3 returning logits (or pooled features)."""
  return tf.keras.applications.InceptionV3(
      include_top=include_top, weights=weights, classes=KERAS_CLASSES,
      classifier_activation=None, pooling=None if include_top else 'avg')


def _read(ckpt, name):
  """The tensor `name` of a checkpoints.Checkpoint, there and finite."""
  if name not in ckpt.shapes:
    raise ConversionError('checkpoint %s has no variable %s; is it an '
                          'Inception V3 with depth_multiplier=1?' %
                          (ckpt.path, name))
  try:
    return ckpt.read(name)
  except checkpoints.NonFiniteWeightsError as e:
    raise ConversionError(
        'checkpoint %s: the weights are not finite (%s has NaN or Inf '
        'values); nothing was written' % (ckpt.path, name)) from e


def _assign(variable, value, source):
  """variable.assign(value) after checking the shapes are equal."""
  if tuple(variable.shape) != tuple(value.shape):
    raise ConversionError(
        'checkpoint variable %s has shape %s; Keras InceptionV3 needs %s '
        '(%s)' % (source, list(value.shape), list(variable.shape),
                  variable.path))
  variable.assign(value)


def _check_is_inception_v3(ckpt):
  """Rejects checkpoints of other networks and of BatchNorm with scale."""
  first_conv = inception_v3.SCOPE + '/Conv2d_1a_3x3/weights'
  if first_conv not in ckpt.shapes:
    names = sorted(ckpt.shapes)
    raise ConversionError(
        'checkpoint %s is not an Inception V3 checkpoint: it has no %s '
        '(its %d variables start with %s)' % (
            ckpt.path, first_conv, len(names), names[0] if names else '-'))
  gammas = [n for n in ckpt.shapes
            if n.endswith('/BatchNorm/gamma') and not n.startswith(AUX_LOGITS)]
  if gammas:
    raise ConversionError(
        'checkpoint has BatchNorm gamma (e.g. %s): it was trained with '
        'batch_norm_scale=True, and Keras InceptionV3 has no BatchNorm scale'
        % sorted(gammas)[0])


def _fill_trunk(model, ckpt):
  """Loads the 94 conv + BatchNorm layers of `model` from the checkpoint.

  Returns:
    The set of checkpoint names read.
  """
  scopes = slim_conv_scopes()
  pairs = keras_conv_layers(model)
  if len(scopes) != len(pairs):
    raise ConversionError('Keras InceptionV3 has %d convolutions, slim %d.' %
                          (len(pairs), len(scopes)))
  used = set()
  for scope, (conv, bn) in zip(scopes, pairs):
    if conv.use_bias or bn.scale or bn.epsilon != 0.001:
      raise ConversionError(
          'Keras layer %s/%s differs from slim (conv bias, BatchNorm scale or '
          'epsilon).' % (conv.name, bn.name))
    for variable, name in ((conv.kernel, 'weights'),
                           (bn.beta, 'BatchNorm/beta'),
                           (bn.moving_mean, 'BatchNorm/moving_mean'),
                           (bn.moving_variance, 'BatchNorm/moving_variance')):
      source = '%s/%s' % (scope, name)
      _assign(variable, _read(ckpt, source), source)
      used.add(source)
  return used


def _head_classes(ckpt, include_top):
  """Classes of the checkpoint's logits (None: none); checks include_top."""
  shape = ckpt.shapes.get(LOGITS + '/weights')
  num_classes = shape[-1] if shape else None
  if include_top and num_classes is None:
    raise ConversionError(
        'checkpoint has no logits layer (%s); convert with --include_top=false'
        % LOGITS)
  if include_top and num_classes not in (KERAS_CLASSES, KERAS_CLASSES + 1):
    raise ConversionError(
        'checkpoint has %d classes; Keras InceptionV3 with include_top takes '
        '%d (%d with background in slim); convert the trunk with '
        '--include_top=false' % (num_classes, KERAS_CLASSES, KERAS_CLASSES + 1))
  return num_classes


def _fill_top(model, ckpt, num_classes):
  """Loads Keras' Dense 'predictions' from slim's 1x1 logits conv."""
  dense = _producer(model.outputs[0])
  if not isinstance(dense, tf.keras.layers.Dense):
    raise ConversionError('Keras InceptionV3 does not end with a Dense layer.')
  offset = num_classes - KERAS_CLASSES  # 1 drops slim's background class
  weights = _read(ckpt, LOGITS + '/weights')
  if weights.shape[:2] != (1, 1):
    raise ConversionError('%s/weights has shape %s, not 1x1xDxC.' %
                          (LOGITS, list(weights.shape)))
  _assign(dense.kernel, weights[0, 0, :, offset:], LOGITS + '/weights')
  _assign(dense.bias, _read(ckpt, LOGITS + '/biases')[offset:],
          LOGITS + '/biases')


def _dropped(ckpt, num_classes, include_top, used):
  """Lines naming what the checkpoint has and the Keras file does not."""
  dropped = []
  aux = [n for n in ckpt.shapes if n.startswith(AUX_LOGITS)]
  if aux:
    dropped.append('AuxLogits (%d variables): no Keras counterpart' % len(aux))
  if num_classes and not include_top:
    dropped.append('Logits/Conv2d_1c_1x1 (%d classes): --include_top=false'
                   % num_classes)
  if include_top and num_classes == KERAS_CLASSES + 1:
    dropped.append('class 0 (background) of the %d-class logits' % num_classes)
  other = sorted(set(ckpt.shapes) - used - set(aux) -
                 {LOGITS + '/weights', LOGITS + '/biases'})
  if other:
    dropped.append('%d other variable(s), e.g. %s' % (len(other), other[0]))
  return dropped


def slim_outputs(checkpoint_path, images, num_classes, include_top=True):
  """Logits of the slim graph without background (or its pooled features)."""
  outputs = inference.predict(checkpoint_path, images,
                              num_classes if include_top else 0)[0]
  if include_top:
    return outputs[:, -KERAS_CLASSES:]
  return outputs.reshape([len(images), -1])


def verify(checkpoint_path, weights_path, num_classes, include_top=True,
           batch_size=2, seed=0):
  """Compares Keras loading `weights_path` with the slim graph on random images.

  Args:
    checkpoint_path: the slim checkpoint (or a checkpoints.Checkpoint).
    weights_path: the Keras .weights.h5 file.
    num_classes: classes of the checkpoint's logits layer.
    include_top: compare logits (True) or pooled 2048-d features (False).
    batch_size: number of random 299x299 images in [-1, 1].
    seed: seed of the images.

  Returns:
    (largest |Keras - slim| output relative to the largest |slim| output
    (at least 1), TOLERANCE).

  Raises:
    ConversionError: if the difference exceeds the tolerance.
  """
  images = np.random.RandomState(seed).uniform(
      -1, 1, [batch_size, IMAGE_SIZE, IMAGE_SIZE, 3]).astype(np.float32)
  expected = slim_outputs(checkpoint_path, images, num_classes, include_top)
  model = keras_model(include_top, weights=weights_path)
  actual = np.asarray(model(images, training=False))
  error = float(np.max(np.abs(actual - expected))) / max(
      1.0, float(np.max(np.abs(expected))))
  if not error <= TOLERANCE:
    raise ConversionError(
        'verification failed: Keras outputs differ from the slim graph by '
        '%.2g of the largest output (tolerance %.0e); nothing was written' %
        (error, TOLERANCE))
  return error, TOLERANCE


def _save_weights(model, path):
  """model.save_weights(path), a failure as one ConversionError.

  When a write fails (a disk that filled up meanwhile; `convert` checks the
  free space first), h5py prints its clean-up errors and HDF5 keeps broken
  state that crashes the process at exit: the file is emptied to free the
  space, its handles collected quietly, and `_hdf5_write_failed` set so the
  command line can exit without HDF5's exit handler.
  """
  global _hdf5_write_failed
  failure = None
  hook, sys.unraisablehook = sys.unraisablehook, lambda _: None
  try:
    with cli.quiet_native_stderr(show_on_error=False):
      try:
        model.save_weights(path)
      except Exception as e:  # pylint: disable=broad-except (h5py's types)
        failure = ConversionError('Keras could not write %s: %s' % (
            path, ' '.join(str(e).split())))
      if failure is not None:  # The traceback is gone: collect its handles.
        if os.path.exists(path):
          os.truncate(path, 0)
        gc.collect()
  finally:
    sys.unraisablehook = hook
  if failure is not None:
    _hdf5_write_failed = True
    raise failure


def _check_output(output, overwrite):
  """Rejects an output Keras cannot write or that exists without overwrite."""
  if not output.endswith(SUFFIX):
    raise ConversionError('--output must end with %s (Keras 3 weights '
                          'file), got %s' % (SUFFIX, output))
  return outputs.check(output, overwrite)


def convert(checkpoint_path, output, include_top=True, overwrite=False,
            verify_output=True):
  """Writes a slim Inception V3 checkpoint as Keras InceptionV3 weights.

  The file is written next to `output` under a temporary name, verified, and
  moved into place (nets.outputs), so a failure leaves no partial file and
  keeps an existing one.

  Args:
    checkpoint_path: slim checkpoint (V1 file, V2 prefix or directory).
    output: path of the Keras weights file; must end with '.weights.h5'.
    include_top: include the 1000-class 'predictions' layer; needs a
      checkpoint with 1000 or 1001 classes.
    overwrite: replace `output` if it exists.
    verify_output: compare Keras with the slim graph before writing.

  Returns:
    A Conversion.

  Raises:
    ConversionError: with a one-line message, for a checkpoint that is not
      Inception V3, has weights that are not finite or a head Keras cannot
      take, an output name Keras cannot write, or a failed verification.
    cli.MissingDependencyError: h5py is not installed.
    outputs.OutputError: an existing output without overwrite, or one that
      cannot be written (full disk, read-only folder).
    checkpoints.CheckpointError: no readable checkpoint at the path.
  """
  cli.require('h5py', H5PY_INSTALL)
  output = _check_output(output, overwrite)
  ckpt = checkpoints.load_checkpoint(checkpoint_path, require_finite=True)
  _check_is_inception_v3(ckpt)
  num_classes = _head_classes(ckpt, include_top)

  model = keras_model(include_top)
  used = _fill_trunk(model, ckpt)
  if include_top:
    _fill_top(model, ckpt, num_classes)
  dropped = _dropped(ckpt, num_classes, include_top, used)

  outputs.check_free_space(output, _H5_OVERHEAD_BYTES + sum(
      int(np.prod(w.shape)) * 4 for w in model.weights))
  error = tolerance = None
  with outputs.staged(output, overwrite, suffix=SUFFIX) as temp:
    _save_weights(model, temp)
    if verify_output:
      error, tolerance = verify(ckpt, temp, num_classes, include_top)
  return Conversion(output, num_classes, include_top, dropped, error,
                    tolerance)


FLAGS = flags.FLAGS


def define_flags():
  cli.define_shared_flags('checkpoint_path', 'overwrite', 'output',
                          required=['checkpoint_path', 'output'],
                          notes={'output': 'Keras weights; must end with '
                                           '.weights.h5.'})
  flags.DEFINE_boolean('include_top', True,
                       'Include the 1000-class predictions layer (needs a '
                       '1000 or 1001-class checkpoint). false: the trunk only, '
                       'for InceptionV3(include_top=False, weights=FILE).')
  flags.DEFINE_boolean('verify', True,
                       'Check Keras against the slim graph on 2 random '
                       'images before writing (about 10 s).')


def main(argv):
  del argv  # Unused.
  try:
    result = convert(FLAGS.checkpoint_path, FLAGS.output,
                     include_top=FLAGS.include_top, overwrite=FLAGS.overwrite,
                     verify_output=FLAGS.verify)
  except ValueError as e:
    if not _hdf5_write_failed:
      raise
    cli.fail(cli.reason(e), skip_exit_handlers=True)
  top = ('include_top=True, %d classes' % KERAS_CLASSES if result.include_top
         else 'include_top=False')
  print('wrote %s: Keras InceptionV3 weights (%s) from %s' %
        (result.output, top, FLAGS.checkpoint_path))
  for line in result.dropped:
    print('dropped: %s' % line)
  if result.error is not None:
    print('verified: Keras %s equal the slim graph\'s on 2 random images: '
          'max |Keras - slim| / max |slim| = %.1e (tolerance %.0e)' % (
              'logits' if result.include_top else 'pooled features',
              result.error, result.tolerance))


if __name__ == '__main__':
  cli.run(main, define_flags)
