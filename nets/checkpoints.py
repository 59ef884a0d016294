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
files, or a directory (its latest checkpoint).

Every error raised here is a `CheckpointError` (a ValueError) whose first
line is a one-line summary, fit for a command line, followed by details.

Command line: inspect a checkpoint against the model, exit 0 when it restores
cleanly and 1 when it does not:

  python -m nets.checkpoints --checkpoint_path=inception_v3.ckpt \
      [--num_classes=N] [--image_size=299] [--exclude_scopes=...]
"""

import collections
import os
import re
import sys

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import checkpoint_hints
from nets import inception_v3
from nets import nets_factory

LOGITS_WEIGHTS = inception_v3.LOGITS_LAYER + '/weights'
EMA_SUFFIX = checkpoint_hints.EMA_SUFFIX

# Files in a directory that can be a V1 checkpoint: `x.ckpt`, `x.ckpt-123`.
_V1_NAME = re.compile(r'\.ckpt(-\d+)?$')
_V2_DATA = re.compile(r'\.data-\d+-of-\d+$')


class CheckpointError(ValueError):
  """A checkpoint that cannot be used; str() = summary line + details."""

  def __init__(self, summary, details=''):
    self.summary = summary
    self.details = details
    super().__init__(summary + ('\n' + details if details else ''))


class CheckpointNotFoundError(CheckpointError):
  """No checkpoint at the given path."""


class CheckpointReadError(CheckpointError):
  """The file exists but is not a readable checkpoint (corrupt, truncated)."""


class CheckpointMismatchError(CheckpointError):
  """Model variables missing from the checkpoint or with another shape.

  Attributes:
    missing: list of (checkpoint name, model shape).
    mismatched: list of (checkpoint name, model shape, checkpoint shape); a
      dtype mismatch is listed with the dtypes in place of the shapes.
    hints: list of (short, long) explanations of the probable cause.
  """

  def __init__(self, summary, details, missing, mismatched, hints):
    super().__init__(summary, details)
    self.missing = missing
    self.mismatched = mismatched
    self.hints = hints


class MovingAveragesNotFoundError(CheckpointError):
  """moving_average_decay was given but the checkpoint has no EMA shadows."""


# --- Finding and reading checkpoints -----------------------------------------

def _v1_candidates(directory):
  """V1 files and V2 prefixes in `directory`, newest first."""
  found = []
  for name in tf.io.gfile.listdir(directory):
    full = os.path.join(directory, name)
    if name.endswith('.index'):
      found.append((full, full[:-len('.index')]))
    elif _V1_NAME.search(name) and not tf.io.gfile.isdir(full):
      found.append((full, full))
  found.sort(key=lambda f: (tf.io.gfile.stat(f[0]).mtime_nsec, f[1]),
             reverse=True)
  return [prefix for _, prefix in found]


def _is_checkpoint(prefix):
  """Whether a V2 prefix (its .index) or a V1 file exists at `prefix`."""
  return (tf.io.gfile.exists(prefix + '.index') or
          (tf.io.gfile.exists(prefix) and not tf.io.gfile.isdir(prefix)))


def _latest_in_state_file(directory):
  """The latest checkpoint of `directory`'s `checkpoint` file, or None.

  Unlike tf.train.latest_checkpoint, a stale entry is an error that names
  it (and TensorFlow logs nothing).

  Raises:
    CheckpointNotFoundError: the state file names a checkpoint that is gone.
    CheckpointReadError: the state file cannot be parsed.
  """
  state_file = os.path.join(directory, 'checkpoint')
  if not tf.io.gfile.exists(state_file):
    return None
  try:
    state = tf.train.get_checkpoint_state(directory)
  except Exception as e:  # pylint: disable=broad-except (text_format errors)
    raise CheckpointReadError('Cannot read the checkpoint state file %s (%s).'
                              % (state_file, cli.reason(e))) from e
  if state is None or not state.model_checkpoint_path:
    return None
  latest = state.model_checkpoint_path
  if not os.path.isabs(latest):
    latest = os.path.join(directory, latest)
  if not _is_checkpoint(latest):
    raise CheckpointNotFoundError(
        'The checkpoint state file %s names %s, which does not exist '
        '(deleted?): pass a checkpoint file or prefix, or fix the state file.'
        % (state_file, state.model_checkpoint_path))
  return latest


def resolve_checkpoint_path(path):
  """The V1 file or V2 prefix that `path` names.

  Args:
    path: a V1 checkpoint file, a V2 prefix, a V2 `.index`/`.data-*` file, or
      a directory: its `checkpoint` state file's latest checkpoint, else the
      newest `*.ckpt`, `*.ckpt-N` or `*.index` checkpoint in it.

  Returns:
    The path to pass to a checkpoint reader or `Saver.restore`.

  Raises:
    CheckpointNotFoundError: if there is no checkpoint there.
  """
  if not path:
    raise CheckpointNotFoundError('No checkpoint path given.')
  path = os.path.expanduser(path)
  if tf.io.gfile.isdir(path):
    latest = _latest_in_state_file(path)
    if latest:
      return latest
    candidates = _v1_candidates(path)
    if not candidates:
      raise CheckpointNotFoundError(
          'No checkpoint in directory %s.' % path,
          'Expected a `checkpoint` state file, a V1 checkpoint file (*.ckpt) '
          'or a V2 checkpoint (*.index with *.data-*).')
    return candidates[0]
  if tf.io.gfile.exists(path + '.index'):
    return path
  if path.endswith('.index') and tf.io.gfile.exists(path):
    return path[:-len('.index')]
  if _V2_DATA.search(path) and tf.io.gfile.exists(path):
    return _V2_DATA.sub('', path)
  if tf.io.gfile.exists(path):
    return path
  raise CheckpointNotFoundError(
      'No checkpoint at %s: no such file, V2 prefix (%s.index) or directory.'
      % (path, path))


def checkpoint_format(resolved_path):
  """'V2' when `resolved_path` is a V2 prefix, else 'V1'."""
  return 'V2' if tf.io.gfile.exists(resolved_path + '.index') else 'V1'


def _read_error(path, error):
  return CheckpointReadError(
      'Cannot read checkpoint %s: corrupt, truncated or not a TensorFlow '
      'checkpoint (%s).' % (path, cli.reason(error)))


def open_checkpoint(path):
  """Resolves `path` and opens a reader on it.

  Returns:
    (resolved path, tf.train.CheckpointReader).

  Raises:
    CheckpointNotFoundError: if there is no checkpoint at `path`.
    CheckpointReadError: if the file is not a readable checkpoint.
  """
  resolved = resolve_checkpoint_path(path)
  missing = _missing_data_files(resolved)
  if missing:
    raise CheckpointReadError(
        'Checkpoint %s has its index (%s.index) but not its data: %s is '
        'missing.' % (resolved, os.path.basename(resolved),
                      ', '.join(os.path.basename(m) for m in missing)))
  try:
    return resolved, tf.train.load_checkpoint(resolved)
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise _read_error(resolved, e) from e


def _missing_data_files(prefix):
  """The `.data-K-of-N` files of a V2 checkpoint that are not there."""
  if not tf.io.gfile.exists(prefix + '.index'):
    return []
  present = tf.io.gfile.glob(prefix + '.data-*-of-*')
  counts = {int(m.group(1)) for m in map(re.compile(
      r'\.data-\d+-of-(\d+)$').search, present) if m} or {1}
  expected = ['%s.data-%05d-of-%05d' % (prefix, k, n)
              for n in sorted(counts) for k in range(n)]
  return [name for name in expected if name not in present]


def read_tensor(reader, name, path):
  """reader.get_tensor(name), a truncated or corrupt file as one error.

  Raises:
    CheckpointReadError: if the tensor cannot be read.
  """
  try:
    return reader.get_tensor(name)
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise CheckpointReadError(
        'Cannot read checkpoint %s: %s is truncated or corrupt (%s).' %
        (path, name, cli.reason(e))) from e


def checkpoint_shapes(path):
  """{name: shape as a list} of every tensor in the checkpoint at `path`."""
  _, reader = open_checkpoint(path)
  return reader.get_variable_to_shape_map()


def verify_checkpoint(path):
  """Reads every tensor of the checkpoint, to catch truncated data files.

  Returns:
    The resolved path.

  Raises:
    CheckpointNotFoundError, CheckpointReadError.
  """
  resolved, reader = open_checkpoint(path)
  for name in sorted(reader.get_variable_to_shape_map()):
    read_tensor(reader, name, resolved)
  return resolved


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
  shapes = checkpoint_shapes(checkpoint_path)
  check_is_inception_v3(checkpoint_path, shapes)
  found = infer_num_classes(shapes)
  if found is None:
    raise CheckpointError(
        'Cannot infer the number of classes of %s (it has no %s): pass '
        'num_classes.' % (checkpoint_path, LOGITS_WEIGHTS))
  return found


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


def restore_fn(checkpoint_path, var_list=None, exclude_scopes=(),
               ignore_missing_vars=False, moving_average_decay=None):
  """Returns fn(session) that restores the model from a checkpoint.

  Like `slim.assign_from_checkpoint_fn`, but everything is checked now, in
  the default graph, before any session exists.

  Args:
    checkpoint_path: a V1 file, a V2 prefix or a directory (see
      `resolve_checkpoint_path`).
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
  checkpoint_path = _path_argument(checkpoint_path)
  resolved, reader = open_checkpoint(checkpoint_path)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  var_map = variables_to_restore(var_list, exclude_scopes,
                                 moving_average_decay)
  if moving_average_decay is not None and not any(
      name.endswith('/' + EMA_SUFFIX) for name in shapes):
    raise MovingAveragesNotFoundError(
        'Checkpoint %s has no moving averages (no %s/%s): restore it without '
        'moving_average_decay.' % (resolved, next(iter(var_map))[:-len(
            EMA_SUFFIX) - 1], EMA_SUFFIX))
  missing, mismatched = compare(var_map, shapes, dtypes)
  if ignore_missing_vars and missing and len(missing) < len(var_map):
    for name, _ in missing:
      tf.logging.warning('Variable %s missing in checkpoint %s', name,
                         resolved)
    var_map = collections.OrderedDict(
        (n, v) for n, v in var_map.items() if n in shapes)
    missing = []
  if missing or mismatched:
    raise mismatch_error(resolved, var_map, missing, mismatched, shapes)
  saver = tf.train.Saver(var_map, reshape=False, allow_empty=False)

  def restore(session):
    try:
      with session.graph.as_default():  # Also when called outside the graph.
        saver.restore(session, resolved)
    except ValueError as e:  # The files went away since restore_fn ran.
      raise CheckpointNotFoundError(
          'No checkpoint at %s any more.' % resolved) from e
    except tf.errors.OpError as e:
      raise _read_error(resolved, e) from e

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
  resolved = verify_checkpoint(checkpoint_path)
  shapes = checkpoint_shapes(resolved)
  check_is_inception_v3(resolved, shapes)
  write = lambda s='': print(s, file=out)
  write('Checkpoint: %s (%s, %d tensors)' % (
      resolved, checkpoint_format(resolved), len(shapes)))
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
      fn = restore_fn(resolved, exclude_scopes=exclude_scopes,
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


def _define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', required=['checkpoint_path'])
  flags.DEFINE_list('exclude_scopes', [],
                    'Comma-separated variable scopes not to check.')


if __name__ == '__main__':
  cli.run(main, _define_flags)
