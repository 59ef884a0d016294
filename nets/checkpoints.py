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

from nets import inception_v3

LOGITS_WEIGHTS = 'InceptionV3/Logits/Conv2d_1c_1x1/weights'
HEAD_SCOPES = ('InceptionV3/Logits', 'InceptionV3/AuxLogits')
EMA_SUFFIX = 'ExponentialMovingAverage'

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
    latest = tf.train.latest_checkpoint(path)
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


def tf_error_reason(error):
  """The informative line of a TensorFlow error message (no stack traces)."""
  skip = ('Graph execution error', 'Detected at node', 'Node:',
          'Original stack trace', 'Restoring from checkpoint failed',
          'Unsuccessful TensorSliceReader', 'File ', '[[', 'Instructions')
  message = getattr(error, 'message', None) or str(error)
  for line in message.splitlines():
    line = line.strip()
    if line and not line.startswith(skip):
      return line
  return message.strip().splitlines()[0] if message.strip() else repr(error)


def _read_error(path, error):
  return CheckpointReadError(
      'Cannot read checkpoint %s: corrupt, truncated or not a TensorFlow '
      'checkpoint (%s).' % (path, tf_error_reason(error)))


def open_checkpoint(path):
  """Resolves `path` and opens a reader on it.

  Returns:
    (resolved path, tf.train.CheckpointReader).

  Raises:
    CheckpointNotFoundError: if there is no checkpoint at `path`.
    CheckpointReadError: if the file is not a readable checkpoint.
  """
  resolved = resolve_checkpoint_path(path)
  try:
    return resolved, tf.train.load_checkpoint(resolved)
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise _read_error(resolved, e) from e


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
    try:
      reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as e:
      raise CheckpointReadError(
          'Cannot read checkpoint %s: %s is truncated or corrupt (%s).' %
          (resolved, name, tf_error_reason(e))) from e
  return resolved


def infer_num_classes(shapes, scope='InceptionV3'):
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
  found = infer_num_classes(checkpoint_shapes(checkpoint_path))
  if found is None:
    raise CheckpointError(
        'Cannot infer the number of classes of %s (it has no %s): pass '
        'num_classes.' % (checkpoint_path, LOGITS_WEIGHTS))
  return found


def build_inference_model(images, num_classes, create_aux_logits=False,
                          **kwargs):
  """Inception V3 for inference, as the released checkpoints expect it.

  Under `inception_v3_arg_scope()` (BatchNorm, no conv biases), in eval mode.

  Args:
    images: float32 [batch, height, width, 3] in [-1, 1].
    num_classes: classifier width (1001 for the released checkpoints).
    create_aux_logits: build the auxiliary head (unused at inference; off by
      default so any input size restores from a 299 checkpoint).
    **kwargs: more arguments of `inception_v3.inception_v3` (e.g. reuse).

  Returns:
    (logits, end_points) of `inception_v3.inception_v3`.
  """
  with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
    return inception_v3.inception_v3(
        images, num_classes=num_classes, is_training=False,
        create_aux_logits=create_aux_logits, **kwargs)


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


def _scope_of(name):
  return name.split('/', 1)[0]


def _hint_classes(mismatched, scope):
  """1000 vs 1001 classes (or any other class count) in the logits layers."""
  heads = ('/Logits/Conv2d_1c_1x1/', '/AuxLogits/Conv2d_2b_1x1/')
  for name, model, ckpt in mismatched:
    if (any(h in name for h in heads) and isinstance(model, list) and
        len(model) == len(ckpt) and model[:-1] == ckpt[:-1]):
      mine, theirs = model[-1], ckpt[-1]
      exclude = '%s/Logits,%s/AuxLogits' % (scope, scope)
      background = ''
      if theirs == mine + 1:
        background = (' The released slim checkpoints have 1001 classes, '
                      'index 0 being "background".')
      return (
          'the checkpoint has %d classes, the model %d: use num_classes=%d, '
          'or exclude %s to fine-tune' % (theirs, mine, theirs, exclude),
          'The checkpoint has %d classes and the model %d.%s To use the '
          "checkpoint's classifier, build the model with num_classes=%d. To "
          'fine-tune on your own classes, restore everything but the heads: '
          "exclude_scopes='%s' (slim's --checkpoint_exclude_scopes)." %
          (theirs, mine, background, theirs, exclude))
  return None


def _hint_aux_size(missing, shapes, scope):
  """An aux head whose kernel shrank because the input is not 299x299."""
  pattern = re.compile(r'/AuxLogits/(Conv2d_2a_\d+x\d+)/')
  for name, _ in missing:
    match = pattern.search(name)
    theirs = sorted({m.group(1) for m in map(pattern.search, shapes) if m})
    if not match or match.group(1) in theirs:
      continue
    where = ('the checkpoint has %s' % ', '.join(theirs)) if theirs else (
        'the checkpoint has no such layer')
    return (
        'the aux head was built for a non-299 input (%s, %s): use '
        'create_aux_logits=False or exclude %s/AuxLogits' %
        (match.group(1), where, scope),
        "The model's auxiliary head has %s but %s: its kernel shrinks to the "
        'feature map for inputs smaller than 299x299, which renames the '
        'layer. The aux head only matters for training: build the model with '
        "create_aux_logits=False, or exclude_scopes='%s/AuxLogits', or build "
        'it for 299x299 (or unknown height and width) inputs.' %
        (match.group(1), where, scope))
  return None


def _hint_no_arg_scope(missing, shapes):
  """Conv biases where the checkpoint has BatchNorm: no inception_v3_arg_scope."""
  for name, _ in missing:
    if name.endswith('/biases'):
      layer = name[:-len('biases')]
      if layer + 'BatchNorm/beta' in shapes or (
          layer + 'BatchNorm/moving_mean' in shapes):
        return (
            'the model was built without inception_v3_arg_scope() (conv '
            'biases instead of BatchNorm)',
            'The model has convolution biases where the checkpoint has '
            'BatchNorm (e.g. %s vs %sBatchNorm/beta): it was built without '
            'inception_v3_arg_scope(). Build it under '
            '`with slim.arg_scope(inception_v3.inception_v3_arg_scope()):`.'
            % (name, layer))
  return None


def _hint_batch_norm_variant(missing, shapes):
  """BatchNorm in the model but biases (or gamma) missing in the checkpoint."""
  for name, _ in missing:
    if name.endswith('/BatchNorm/gamma'):
      return (
          'the model has BatchNorm gamma (batch_norm_scale=True), the '
          'checkpoint has none',
          'The model has BatchNorm scale variables (%s) the checkpoint lacks:'
          ' the released checkpoints have none; keep '
          'inception_v3_arg_scope(batch_norm_scale=False).' % name)
    if name.endswith('/BatchNorm/beta'):
      layer = name[:-len('BatchNorm/beta')]
      if layer + 'biases' in shapes:
        return (
            'the checkpoint has conv biases instead of BatchNorm: build the '
            'model with inception_v3_arg_scope(use_batch_norm=False)',
            'The checkpoint has convolution biases where the model has '
            'BatchNorm (%sbiases): it comes from a model without BatchNorm; '
            'build the model with inception_v3_arg_scope(use_batch_norm='
            'False).' % layer)
  return None


def _hint_scope(var_map, missing, shapes):
  """Nothing matches: another scope, or not an Inception V3 checkpoint."""
  if len(missing) != len(var_map) or not shapes:
    return None
  model_scopes = collections.Counter(_scope_of(n) for n in var_map)
  ckpt_scopes = collections.Counter(_scope_of(n) for n in shapes)
  mine = model_scopes.most_common(1)[0][0]
  theirs = ckpt_scopes.most_common(1)[0][0]
  if mine != theirs:
    return (
        "none of the model's variables is in the checkpoint (scope %s vs %s)"
        % (mine, theirs),
        "None of the model's variables is in the checkpoint: the model's "
        "names start with '%s/', the checkpoint's with '%s/'. Build the model "
        'under the same scope, or pass var_list as a dict {checkpoint name: '
        'variable}.' % (mine, theirs))
  return None


def _hint_moving_averages(var_map, missing):
  """Some EMA shadows present, some not."""
  shadows = [n for n in var_map if n.endswith('/' + EMA_SUFFIX)]
  absent = [n for n, _ in missing if n.endswith('/' + EMA_SUFFIX)]
  if shadows and absent:
    return (
        'the checkpoint has moving averages for only %d of %d variables' %
        (len(shadows) - len(absent), len(shadows)),
        'With moving_average_decay every variable is restored from its '
        'ExponentialMovingAverage shadow, as slim\'s eval does; the '
        'checkpoint has them for only %d of %d variables.' %
        (len(shadows) - len(absent), len(shadows)))
  return None


def _hint_depth(mismatched):
  """Channel counts differ outside the heads: depth_multiplier/min_depth."""
  for name, model, ckpt in mismatched:
    if '/Logits/' not in name and isinstance(model, list) and model != ckpt:
      return (
          'channel depths differ (depth_multiplier or min_depth?)',
          'Layers outside the classifier have other shapes than in the '
          'checkpoint (e.g. %s): was the model built with another '
          'depth_multiplier or min_depth?' % name)
  return None


def mismatch_hints(var_map, missing, mismatched, shapes):
  """Probable causes of a mismatch, most specific first.

  Returns:
    A list of (short, long) explanations.
  """
  scope = collections.Counter(
      _scope_of(n) for n in var_map).most_common(1)[0][0]
  hints = [
      _hint_scope(var_map, missing, shapes),
      _hint_classes(mismatched, scope),
      _hint_aux_size(missing, shapes, scope),
      _hint_no_arg_scope(missing, shapes),
      _hint_batch_norm_variant(missing, shapes),
      _hint_moving_averages(var_map, missing),
  ]
  hints = [h for h in hints if h]
  if not any(hints):
    hints = [h for h in [_hint_depth(mismatched)] if h]
  return hints


def _plural(n, word):
  return '%d %s%s' % (n, word, '' if n == 1 else 's')


def mismatch_error(path, var_map, missing, mismatched, shapes):
  """A CheckpointMismatchError listing everything that does not match."""
  problems = []
  if mismatched:
    problems.append('%s with another shape' % _plural(len(mismatched),
                                                      'variable'))
  if missing:
    problems.append('%s missing' % _plural(len(missing), 'variable'))
  hints = mismatch_hints(var_map, missing, mismatched, shapes)
  summary = 'Checkpoint %s does not match the model: %s' % (
      path, ', '.join(problems))
  summary += ('; probably %s.' % hints[0][0]) if hints else '.'
  lines = []
  if hints:
    lines.append('Probable cause%s:' % ('s' if len(hints) > 1 else ''))
    lines.extend('  - ' + long for _, long in hints)
  if mismatched:
    lines.append('Different in the checkpoint (%d; model vs checkpoint):' %
                 len(mismatched))
    lines.extend('  %s: %s vs %s' % m for m in mismatched)
  if missing:
    lines.append('Missing from the checkpoint (%d):' % len(missing))
    lines.extend('  %s %s' % m for m in missing)
  return CheckpointMismatchError(summary, '\n'.join(lines), missing,
                                 mismatched, hints)


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
    ValueError: nothing to restore, or a bad moving_average_decay.
  """
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
  """Prints how the checkpoint matches the model; True when it restores.

  Args:
    checkpoint_path: see `resolve_checkpoint_path`.
    num_classes: model width; default: inferred from the checkpoint.
    image_size: input size the model is built for (the aux head depends on
      it).
    exclude_scopes, moving_average_decay: as for `restore_fn`.
    out: where to print.

  Raises:
    CheckpointNotFoundError, CheckpointReadError, MovingAveragesNotFoundError.
  """
  resolved = verify_checkpoint(checkpoint_path)
  shapes = checkpoint_shapes(resolved)
  write = lambda s='': print(s, file=out)
  write('Checkpoint: %s (%s, %d tensors)' % (
      resolved, checkpoint_format(resolved), len(shapes)))
  if num_classes is None:
    num_classes = infer_num_classes(shapes)
    if num_classes is None:
      num_classes = 1001
      write('Classes: 1001 (not inferred: no %s in the checkpoint)' %
            LOGITS_WEIGHTS)
    else:
      write('Classes: %d (inferred from %s)' % (num_classes, LOGITS_WEIGHTS))
  else:
    write('Classes: %d' % num_classes)
  write('Model: Inception V3, %dx%d input, inception_v3_arg_scope()' %
        (image_size, image_size))
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, image_size, image_size, 3])
    build_inference_model(images, num_classes, create_aux_logits=True)
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
    write(str(error))
    print(error.summary, file=sys.stderr)
    return False
  write('OK: all %d model variables restore cleanly.' % len(var_map))
  return True


def main(argv):
  del argv  # Unused.
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  ok = inspect(f.checkpoint_path, f.num_classes, f.image_size,
               f.exclude_scopes, f.moving_average_decay)
  return 0 if ok else 1


def _define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('checkpoint_path', None,
                      'V1 checkpoint file, V2 prefix or directory.')
  flags.DEFINE_integer('num_classes', None,
                       'Classes of the model; default: from the checkpoint.',
                       lower_bound=1)
  flags.DEFINE_integer('image_size', 299, 'Input size of the model.',
                       lower_bound=75)
  flags.DEFINE_list('exclude_scopes', [],
                    'Comma-separated variable scopes not to check.')
  flags.DEFINE_float('moving_average_decay', None,
                     'Check the ExponentialMovingAverage shadows instead.')
  flags.mark_flag_as_required('checkpoint_path')


if __name__ == '__main__':
  cli.run(main, _define_flags)
