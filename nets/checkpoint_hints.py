"""Why a checkpoint does not fit the model: ranked, actionable hints.

Pure functions of names and shapes (no TensorFlow), so every hint can be
tested on small dicts. `nets.checkpoints` raises their result as a
CheckpointMismatchError. The usual causes, most specific first: another
scope or network, 1000 vs 1001 classes, an aux head built for a non-299
input, a model built without `inception_v3_arg_scope()`, another BatchNorm
variant, partial moving averages, other channel depths.
"""

import collections
import re

EMA_SUFFIX = 'ExponentialMovingAverage'
# Inception V3's first convolution, under whatever scope the network was in.
FIRST_LAYER_WEIGHTS = 'Conv2d_1a_3x3/weights'


def is_inception_v3(names):
  """Whether checkpoint names `names` hold an Inception V3 (any scope)."""
  return any(name.endswith('/' + FIRST_LAYER_WEIGHTS) or
             name == FIRST_LAYER_WEIGHTS for name in names)


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


def _hint_scope(model_names, missing, shapes):
  """Nothing matches: another scope, or not an Inception V3 checkpoint."""
  if len(missing) != len(model_names) or not shapes:
    return None
  model_scopes = collections.Counter(_scope_of(n) for n in model_names)
  ckpt_scopes = collections.Counter(_scope_of(n) for n in shapes)
  mine = model_scopes.most_common(1)[0][0]
  theirs = ckpt_scopes.most_common(1)[0][0]
  if not is_inception_v3(shapes):
    return (
        'it is not an Inception V3 checkpoint (its variables are under %s/)'
        % theirs,
        'The checkpoint has no Inception V3 stem (no %s): it holds another '
        "network, whose variables are mostly under '%s/'." % (
            FIRST_LAYER_WEIGHTS, theirs))
  if mine != theirs:
    return (
        "none of the model's variables is in the checkpoint (scope %s vs %s)"
        % (mine, theirs),
        "None of the model's variables is in the checkpoint: the model's "
        "names start with '%s/', the checkpoint's with '%s/'. Build the model "
        'under the same scope, or pass var_list as a dict {checkpoint name: '
        'variable}.' % (mine, theirs))
  return None


def _hint_moving_averages(model_names, missing):
  """Some EMA shadows present, some not."""
  shadows = [n for n in model_names if n.endswith('/' + EMA_SUFFIX)]
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


def mismatch_hints(model_names, missing, mismatched, shapes):
  """Probable causes of a mismatch, most specific first.

  Returns:
    A list of (short, long) explanations.
  """
  scope = collections.Counter(
      _scope_of(n) for n in model_names).most_common(1)[0][0]
  hints = [
      _hint_scope(model_names, missing, shapes),
      _hint_classes(mismatched, scope),
      _hint_aux_size(missing, shapes, scope),
      _hint_no_arg_scope(missing, shapes),
      _hint_batch_norm_variant(missing, shapes),
      _hint_moving_averages(model_names, missing),
  ]
  hints = [h for h in hints if h]
  if not any(hints):
    hints = [h for h in [_hint_depth(mismatched)] if h]
  return hints


def _plural(n, word):
  return '%d %s%s' % (n, word, '' if n == 1 else 's')


def explain(path, model_names, missing, mismatched, shapes):
  """What a CheckpointMismatchError says.

  Args:
    path: the checkpoint.
    model_names: checkpoint names of the variables to restore.
    missing: [(name, model shape)] not in the checkpoint.
    mismatched: [(name, model shape or dtype, checkpoint shape or dtype)].
    shapes: {name: shape} of the checkpoint.

  Returns:
    (summary line, details, hints): hints as `mismatch_hints` returns them.
  """
  problems = []
  if mismatched:
    problems.append('%s with another shape' % _plural(len(mismatched),
                                                      'variable'))
  if missing:
    problems.append('%s missing' % _plural(len(missing), 'variable'))
  hints = mismatch_hints(model_names, missing, mismatched, shapes)
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
  return summary, '\n'.join(lines), hints
