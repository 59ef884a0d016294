r"""Restores legacy slim checkpoints into Inception V3, and says why one won't.

`restore_fn` works like `slim.assign_from_checkpoint_fn`, but checks the
checkpoint against the model when it is built (before any session exists):
every model variable that is not excluded must be in the checkpoint with the
same shape. Otherwise it raises one `CheckpointMismatchError` that lists every
missing and mismatching variable and names the usual causes (1000 vs 1001
classes, an aux head built for a non-299 input, a model built without
`inception_v3_arg_scope()`).

A checkpoint path may be a V1 single file (the released slim checkpoints,
e.g. `inception_v3.ckpt` from `inception_v3_2016_08_28.tar.gz`), a V2 prefix
(`model.ckpt-1000` for `model.ckpt-1000.index` + `.data-*`), one of the V2
files, or a directory (its latest checkpoint). `load_checkpoint` opens one
once as a `Checkpoint` (path, format, reader, shapes, classes, global step,
EMA shadows, finite-checked reads) that every tool passes on.

Every error raised here is a `CheckpointError` (a ValueError) whose first
line is a one-line summary, fit for a command line, followed by details.

Command line: inspect a checkpoint against the model, exit 0 when it restores
cleanly and 1 when it does not:

  python -m nets.checkpoints --checkpoint_path=inception_v3.ckpt \
      [--num_classes=N] [--image_size=299] [--exclude_scopes=...]
"""

import collections
import collections.abc
import os
import sys

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import checkpoint_files
from nets import checkpoint_hints
from nets import inception_v3
from nets import nets_factory

# Finding and opening the files (nets.checkpoint_files), used from here.
CheckpointError = checkpoint_files.CheckpointError
CheckpointNotFoundError = checkpoint_files.CheckpointNotFoundError
CheckpointReadError = checkpoint_files.CheckpointReadError
CheckpointMismatchError = checkpoint_files.CheckpointMismatchError
MovingAveragesNotFoundError = checkpoint_files.MovingAveragesNotFoundError
resolve_checkpoint_path = checkpoint_files.resolve_checkpoint_path
checkpoint_format = checkpoint_files.checkpoint_format
open_checkpoint = checkpoint_files.open_checkpoint
read_tensor = checkpoint_files.read_tensor

LOGITS_WEIGHTS = inception_v3.LOGITS_LAYER + '/weights'
EMA_SUFFIX = checkpoint_hints.EMA_SUFFIX
GLOBAL_STEP = 'global_step'


# --- A checkpoint ready to use ----------------------------------------------

class NonFiniteWeightsError(CheckpointError):
  """A weight read with require_finite holds NaN or infinite values.

  Attributes: path, name (as looked up), nan, inf (counts), size.
  """

  def __init__(self, path, name, nan, inf, size):
    super().__init__('Checkpoint %s: %s has %d NaN and %d infinite values '
                     '(of %d).' % (path, name, nan, inf, size))
    self.path, self.name, self.nan, self.inf, self.size = (
        path, name, nan, inf, size)


def check_finite(value, name, path=None):
  """Raises NonFiniteWeightsError if the float array `value` has NaN or Inf."""
  if np.issubdtype(value.dtype, np.floating):
    finite = np.isfinite(value)
    if not finite.all():
      nan = int(np.isnan(value).sum())
      raise NonFiniteWeightsError(path, name, nan, value.size -
                                  int(finite.sum()) - nan, value.size)


class Checkpoint(object):
  """A checkpoint ready to use: found, opened once, its contents known.

  Made by `load_checkpoint`. The functions here and in nets.inference that
  take a checkpoint path take one too, so a tool opens its checkpoint once
  and passes this on.

  Attributes:
    path: the resolved V1 file or V2 prefix (also its str()).
    format: 'V1' or 'V2'.
    reader: its tf.train.CheckpointReader.
    shapes: {tensor name: shape as a list}; dtypes: {tensor name: tf.DType}.
    num_classes: classes of its logits layer, None without one.
    has_moving_averages: whether it holds ExponentialMovingAverage shadows.
    global_step: its `global_step` (read when asked), None without one.
    require_finite: whether `read` rejects float tensors with NaN or
      infinite values (for tools whose output would carry them silently).
  """

  def __init__(self, path, reader, require_finite=False):
    self.path, self.reader = path, reader
    self.require_finite = require_finite
    self.format = checkpoint_format(path)
    self.shapes = reader.get_variable_to_shape_map()
    self.dtypes = reader.get_variable_to_dtype_map()
    self.num_classes = infer_num_classes(self.shapes)
    self.has_moving_averages = any(
        name.endswith('/' + EMA_SUFFIX) for name in self.shapes)

  def __str__(self):
    return self.path

  @property
  def global_step(self):
    if GLOBAL_STEP not in self.shapes:
      return None
    return int(self.read(GLOBAL_STEP))

  def read(self, name):
    """The tensor `name` as an np.ndarray.

    Raises:
      CheckpointReadError: truncated or corrupt data.
      NonFiniteWeightsError: with require_finite, a float tensor with NaN or
        infinite values.
    """
    value = read_tensor(self.reader, name, self.path)
    if self.require_finite:
      check_finite(value, name, self.path)
    return value

  def weights(self, names):
    """{variable name: np.ndarray}, each read when looked up (see `read`).

    Args:
      names: {variable name: checkpoint name}; a NonFiniteWeightsError
        names the variable.
    """
    return _LazyWeights(self, names)

  def check_is_inception_v3(self):
    """Raises CheckpointError unless it holds an Inception V3."""
    check_is_inception_v3(self.path, self.shapes)

  def classes(self, num_classes=None):
    """`num_classes` if given, else its logits' (checked to be there).

    Raises:
      CheckpointError: not an Inception V3, or no logits layer to count.
    """
    if num_classes is not None:
      return num_classes
    self.check_is_inception_v3()
    if self.num_classes is None:
      raise CheckpointError(
          'Cannot infer the number of classes of %s (it has no %s): pass '
          'num_classes.' % (self.path, LOGITS_WEIGHTS))
    return self.num_classes


class _LazyWeights(collections.abc.Mapping):
  """{variable name: np.ndarray} of a Checkpoint, each read when looked up."""

  def __init__(self, checkpoint, names):
    self._checkpoint, self._names = checkpoint, names

  def __getitem__(self, name):
    try:
      return self._checkpoint.read(self._names[name])
    except NonFiniteWeightsError as e:
      e.name = name
      raise

  def __iter__(self):
    return iter(self._names)

  def __len__(self):
    return len(self._names)


def load_checkpoint(path, require_finite=False):
  """The Checkpoint at `path`, opened (a Checkpoint is returned as it is).

  Args:
    path: a V1 file, a V2 prefix or file, a directory (see
      `resolve_checkpoint_path`), or a Checkpoint.
    require_finite: see `Checkpoint`.

  Raises:
    CheckpointNotFoundError: if there is no checkpoint at `path`.
    CheckpointReadError: if the file is not a readable checkpoint.
  """
  if isinstance(path, Checkpoint):
    return path
  path = _path_argument(path)
  return Checkpoint(*open_checkpoint(path), require_finite=require_finite)


def checkpoint_shapes(path):
  """{name: shape as a list} of every tensor in the checkpoint at `path`."""
  return load_checkpoint(path).shapes


def verify_checkpoint(path):
  """Reads every tensor of the checkpoint, to catch truncated data files.

  Returns:
    The resolved path.

  Raises:
    CheckpointNotFoundError, CheckpointReadError.
  """
  checkpoint = load_checkpoint(path)
  for name in sorted(checkpoint.shapes):
    checkpoint.read(name)
  return checkpoint.path




def infer_num_classes(shapes, scope=inception_v3.SCOPE):
  """Number of classes of the logits layer in `shapes`, or None.

  Args:
    shapes: {name: shape} of a checkpoint (see `checkpoint_shapes`).
    scope: the network's scope in the checkpoint.
  """
  for name in ('Logits/Conv2d_1c_1x1/weights', 'Logits/Conv2d_1c_1x1/biases',
               'AuxLogits/Conv2d_2b_1x1/weights'):
    shape = shapes.get(scope + '/' + name)
    if shape:
      return int(shape[-1])
  return None


def num_classes_of(checkpoint_path, num_classes=None):
  """`num_classes` if given, else the checkpoint's (see `infer_num_classes`).

  Raises:
    CheckpointNotFoundError, CheckpointReadError: no readable checkpoint.
    CheckpointError: if the checkpoint has no logits layer to count.
  """
  if num_classes is not None:
    return num_classes
  return load_checkpoint(checkpoint_path).classes()


def check_is_inception_v3(checkpoint_path, shapes):
  """Raises CheckpointError unless `shapes` holds an Inception V3."""
  if not checkpoint_hints.is_inception_v3(shapes):
    names = sorted(shapes)
    raise CheckpointError(
        'Checkpoint %s is not an Inception V3 checkpoint: it has no %s (its '
        '%d tensors start with %s).' % (
            checkpoint_path, checkpoint_hints.FIRST_LAYER_WEIGHTS, len(names),
            names[0] if names else '-'))


def resolve(checkpoint_path, num_classes=None):
  """The checkpoint a tool was given, and the model's number of classes.

  Args:
    checkpoint_path: a V1 file, a V2 prefix or a directory.
    num_classes: the classes asked for; None: the checkpoint's.

  Returns:
    (resolved path, num_classes).

  Raises:
    CheckpointError: no readable Inception V3 checkpoint, or no logits
      layer to count the classes of.
  """
  path = resolve_checkpoint_path(checkpoint_path)
  return path, num_classes_of(path, num_classes)


# --- Matching the model against the checkpoint -------------------------------

def _split_scopes(exclude_scopes):
  if isinstance(exclude_scopes, str):
    exclude_scopes = exclude_scopes.split(',')
  return tuple(s.strip() for s in exclude_scopes or () if s.strip())


def variables_to_restore(var_list=None, exclude_scopes=(),
                         moving_average_decay=None):
  """{checkpoint name: variable} to restore.

  Args:
    var_list: list of variables (restored under their own names) or a dict
      {checkpoint name: variable}; default: the model variables of the
      default graph (`slim.get_model_variables()`).
    exclude_scopes: variable-name prefixes to leave out, a sequence or a
      comma-separated string (like slim's --checkpoint_exclude_scopes).
    moving_average_decay: if set, each variable is restored from its
      ExponentialMovingAverage shadow (`<name>/ExponentialMovingAverage`).

  Returns:
    An ordered dict {checkpoint name: variable}.

  Raises:
    ValueError: if there are no variables, or the decay is not in (0, 1).
  """
  if var_list is None:
    var_list = slim.get_model_variables()
    if not var_list:
      raise ValueError('No model variables in the default graph: build the '
                       'model before calling restore_fn.')
  if isinstance(var_list, dict):
    items = list(var_list.items())
  else:
    items = [(var.op.name, var) for var in var_list]
  scopes = _split_scopes(exclude_scopes)
  if scopes:
    items = [(name, var) for name, var in items
             if not var.op.name.startswith(scopes)]
  if moving_average_decay is not None:
    if not 0.0 < moving_average_decay < 1.0:
      raise ValueError('moving_average_decay must be in (0, 1), got %r.' %
                       (moving_average_decay,))
    items = [(name + '/' + EMA_SUFFIX, var) for name, var in items]
  if not items:
    raise ValueError('Nothing to restore: exclude_scopes %s leaves no '
                     'variables.' % (','.join(scopes),))
  return collections.OrderedDict(items)


def _shape(var):
  return var.shape.as_list()


def compare(var_map, shapes, dtypes=None):
  """Checks {checkpoint name: variable} against a checkpoint's tensors.

  Args:
    var_map: {checkpoint name: variable}.
    shapes: {name: shape} of the checkpoint.
    dtypes: optional {name: tf.DType} of the checkpoint.

  Returns:
    (missing, mismatched): lists of (name, model shape) and
    (name, model shape or dtype, checkpoint shape or dtype).
  """
  missing, mismatched = [], []
  for name, var in var_map.items():
    if name not in shapes:
      missing.append((name, _shape(var)))
    elif list(shapes[name]) != _shape(var):
      mismatched.append((name, _shape(var), list(shapes[name])))
    elif dtypes and dtypes[name] != var.dtype.base_dtype:
      mismatched.append((name, var.dtype.base_dtype.name, dtypes[name].name))
  return missing, mismatched


def mismatch_error(path, var_map, missing, mismatched, shapes):
  """A CheckpointMismatchError listing everything that does not match."""
  summary, details, hints = checkpoint_hints.explain(
      path, list(var_map), missing, mismatched, shapes)
  return CheckpointMismatchError(summary, details, missing, mismatched, hints)


def _path_argument(checkpoint_path):
  """checkpoint_path as a str; ValueError naming it for anything else."""
  if isinstance(checkpoint_path, os.PathLike):
    checkpoint_path = os.fspath(checkpoint_path)
  if not isinstance(checkpoint_path, str):
    raise ValueError('checkpoint_path must be a path (a str or os.PathLike '
                     'of one), got %r' % (checkpoint_path,))
  return checkpoint_path


def check_moving_averages(checkpoint, moving_average_decay, variable_name):
  """MovingAveragesNotFoundError if moving_average_decay asks `checkpoint`
  (a Checkpoint) for EMA shadows it lacks; `variable_name`'s is named."""
  if moving_average_decay is not None and not checkpoint.has_moving_averages:
    raise MovingAveragesNotFoundError(
        'Checkpoint %s has no moving averages (no %s/%s): restore it without '
        'moving_average_decay.' % (checkpoint.path, variable_name, EMA_SUFFIX))


def checked_var_map(checkpoint_path, var_list=None, exclude_scopes=(),
                    ignore_missing_vars=False, moving_average_decay=None):
  """(Checkpoint, {checkpoint name: variable}) after `restore_fn`'s checks.

  The checking half of `restore_fn` (same arguments, same errors), for
  callers that read the values themselves instead of restoring them.
  """
  checkpoint = load_checkpoint(checkpoint_path)
  resolved, shapes = checkpoint.path, checkpoint.shapes
  var_map = variables_to_restore(var_list, exclude_scopes,
                                 moving_average_decay)
  check_moving_averages(checkpoint, moving_average_decay,
                        next(iter(var_map))[:-len(EMA_SUFFIX) - 1])
  missing, mismatched = compare(var_map, shapes, checkpoint.dtypes)
  if ignore_missing_vars and missing and len(missing) < len(var_map):
    for name, _ in missing:
      tf.logging.warning('Variable %s missing in checkpoint %s', name,
                         resolved)
    var_map = collections.OrderedDict(
        (n, v) for n, v in var_map.items() if n in shapes)
    missing = []
  if missing or mismatched:
    raise mismatch_error(resolved, var_map, missing, mismatched, shapes)
  return checkpoint, var_map


def restore_fn(checkpoint_path, var_list=None, exclude_scopes=(),
               ignore_missing_vars=False, moving_average_decay=None):
  """Returns fn(session) that restores the model from a checkpoint.

  Like `slim.assign_from_checkpoint_fn`, but everything is checked now, in
  the default graph, before any session exists.

  Args:
    checkpoint_path: a V1 file, a V2 prefix or a directory (see
      `resolve_checkpoint_path`), or a Checkpoint (`load_checkpoint`).
    var_list: variables to restore, a list or a dict {checkpoint name:
      variable}; default: the model variables of the default graph.
    exclude_scopes: variable-name prefixes not to restore (a sequence or a
      comma-separated string), e.g. 'InceptionV3/Logits,InceptionV3/AuxLogits'
      to fine-tune on other classes.
    ignore_missing_vars: skip (with a warning) variables that are not in the
      checkpoint instead of failing (unless none is); shape mismatches
      still fail.
    moving_average_decay: restore each variable from its
      ExponentialMovingAverage shadow, as slim's eval does.

  Returns:
    fn(session) restoring the variables; it has attributes `checkpoint_path`
    (resolved) and `var_map` ({checkpoint name: variable} it restores).

  Raises:
    CheckpointNotFoundError, CheckpointReadError: no readable checkpoint.
    MovingAveragesNotFoundError: moving_average_decay without EMA shadows.
    CheckpointMismatchError: variables missing or with other shapes.
    ValueError: nothing to restore, a checkpoint_path that is not a str
      (or os.PathLike of one), or a bad moving_average_decay.
  """
  checkpoint, var_map = checked_var_map(
      checkpoint_path, var_list, exclude_scopes, ignore_missing_vars,
      moving_average_decay)
  resolved = checkpoint.path
  saver = tf.train.Saver(var_map, reshape=False, allow_empty=False)

  def restore(session):
    try:
      with session.graph.as_default():  # Also when called outside the graph.
        saver.restore(session, resolved)
    except ValueError as e:  # The files went away since restore_fn ran.
      raise CheckpointNotFoundError(
          'No checkpoint at %s any more.' % resolved) from e
    except tf.errors.OpError as e:
      raise checkpoint_files.read_error(resolved, e) from e

  restore.checkpoint_path = resolved
  restore.var_map = var_map
  return restore


# --- Command line -------------------------------------------------------------

def _group(name):
  """'InceptionV3/Mixed_5b/Branch_0/...' -> 'Mixed_5b' (for the summary)."""
  parts = name.split('/')
  return parts[1] if len(parts) > 2 else parts[0]


def inspect(checkpoint_path, num_classes=None, image_size=299,
            exclude_scopes=(), moving_average_decay=None, out=sys.stdout):
  """Prints how the checkpoint matches the model, block by block.

  Args:
    checkpoint_path: see `resolve_checkpoint_path`.
    num_classes: model width; default: inferred from the checkpoint.
    image_size: input size the model is built for (the aux head depends on
      it).
    exclude_scopes, moving_average_decay: as for `restore_fn`.
    out: where to print.

  Raises:
    CheckpointNotFoundError, CheckpointReadError, MovingAveragesNotFoundError.
    CheckpointError: not an Inception V3 checkpoint.
    CheckpointMismatchError: after printing the details, when it does not
      restore.
  """
  checkpoint = load_checkpoint(checkpoint_path)
  resolved, shapes = verify_checkpoint(checkpoint), checkpoint.shapes
  checkpoint.check_is_inception_v3()
  write = lambda s='': print(s, file=out)
  write('Checkpoint: %s (%s, %d tensors)' % (
      resolved, checkpoint.format, len(shapes)))
  if num_classes is None:
    num_classes = infer_num_classes(shapes)
    if num_classes is None:
      num_classes = inception_v3.RELEASED_NUM_CLASSES
      write('Classes: %d (not inferred: no %s in the checkpoint)' %
            (num_classes, LOGITS_WEIGHTS))
    else:
      write('Classes: %d (inferred from %s)' % (num_classes, LOGITS_WEIGHTS))
  else:
    write('Classes: %d' % num_classes)
  write('Model: Inception V3, %dx%d input, inception_v3_arg_scope()' %
        (image_size, image_size))
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, image_size, image_size, 3])
    nets_factory.build_for_inference(
        images, num_classes,
        create_aux_logits=inception_v3.aux_logits_fit(image_size))
    try:
      fn = restore_fn(checkpoint, exclude_scopes=exclude_scopes,
                      moving_average_decay=moving_average_decay)
    except CheckpointMismatchError as e:
      error = e
      var_map = variables_to_restore(None, exclude_scopes,
                                     moving_average_decay)
    else:
      error = None
      var_map = fn.var_map
  bad = set()
  if error:
    bad = {m[0] for m in error.missing + error.mismatched}
  groups = collections.OrderedDict()
  for name in var_map:
    ok, total = groups.get(_group(name), (0, 0))
    groups[_group(name)] = (ok + (name not in bad), total + 1)
  write('Matching variables by block (matched/total):')
  for group, (ok, total) in groups.items():
    write(('  %-16s %3d/%-3d%s' % (
        group, ok, total, '' if ok == total else '  <- MISMATCH')).rstrip())
  unused = sorted(set(shapes) - set(var_map))
  if unused:
    shown = ', '.join(unused[:5]) + (', ...' if len(unused) > 5 else '')
    write('Checkpoint tensors not used by the model: %d (%s)' %
          (len(unused), shown))
  if error:
    write()
    write(error.details)
    raise error
  write('OK: all %d model variables restore cleanly.' % len(var_map))


def main(argv):
  del argv  # Unused.
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  inspect(f.checkpoint_path, f.num_classes, f.image_size, f.exclude_scopes,
          f.moving_average_decay)


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', required=['checkpoint_path'])
  flags.DEFINE_list('exclude_scopes', [],
                    'Comma-separated variable scopes not to check.')


if __name__ == '__main__':
  cli.run(main, define_flags)
