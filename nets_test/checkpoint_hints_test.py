"""Tests of nets.checkpoint_hints on hand-written names and shapes (no graphs)."""

import unittest

from nets import checkpoint_hints

LOGITS = 'InceptionV3/Logits/Conv2d_1c_1x1/'
AUX = 'InceptionV3/AuxLogits/'
STEM = 'InceptionV3/Conv2d_1a_3x3/'


def _trunk(scope='InceptionV3'):
  return {scope + '/Conv2d_1a_3x3/weights': [3, 3, 3, 32],
          scope + '/Conv2d_1a_3x3/BatchNorm/beta': [32],
          scope + '/Conv2d_1a_3x3/BatchNorm/moving_mean': [32],
          scope + '/Conv2d_1a_3x3/BatchNorm/moving_variance': [32]}


def _hints(model, checkpoint):
  """The short hints for a model {name: shape} against a checkpoint's."""
  missing = [(n, s) for n, s in model.items() if n not in checkpoint]
  mismatched = [(n, s, checkpoint[n]) for n, s in model.items()
                if n in checkpoint and checkpoint[n] != s]
  return [short for short, _ in checkpoint_hints.mismatch_hints(
      list(model), missing, mismatched, checkpoint)]


class HintsTest(unittest.TestCase):

  def testClassCountNamesBackgroundAndTheExcludeScopes(self):
    model = dict(_trunk(), **{LOGITS + 'weights': [1, 1, 2048, 1000]})
    checkpoint = dict(_trunk(), **{LOGITS + 'weights': [1, 1, 2048, 1001]})
    (short, long), = checkpoint_hints.mismatch_hints(
        list(model), [], [(LOGITS + 'weights', [1, 1, 2048, 1000],
                           [1, 1, 2048, 1001])], checkpoint)
    self.assertEqual(short, 'the checkpoint has 1001 classes, the model 1000: '
                     'use num_classes=1001, or exclude InceptionV3/Logits,'
                     'InceptionV3/AuxLogits to fine-tune')
    self.assertIn('index 0 being "background"', long)
    self.assertEqual(_hints(model, checkpoint), [short])

  def testAuxHeadBuiltForASmallerInput(self):
    model = dict(_trunk(), **{AUX + 'Conv2d_2a_3x3/weights': [3, 3, 128, 768]})
    checkpoint = dict(_trunk(), **{AUX + 'Conv2d_2a_5x5/weights':
                                   [5, 5, 128, 768]})
    self.assertEqual(_hints(model, checkpoint), [
        'the aux head was built for a non-299 input (Conv2d_2a_3x3, the '
        'checkpoint has Conv2d_2a_5x5): use create_aux_logits=False or '
        'exclude InceptionV3/AuxLogits'])

  def testBiasesWhereTheCheckpointHasBatchNorm(self):
    model = {STEM + 'weights': [3, 3, 3, 32], STEM + 'biases': [32]}
    self.assertEqual(_hints(model, _trunk()), [
        'the model was built without inception_v3_arg_scope() (conv biases '
        'instead of BatchNorm)'])

  def testBatchNormVariants(self):
    model = dict(_trunk(), **{STEM + 'BatchNorm/gamma': [32]})
    self.assertEqual(_hints(model, _trunk()), [
        'the model has BatchNorm gamma (batch_norm_scale=True), the checkpoint '
        'has none'])
    no_batch_norm = {STEM + 'weights': [3, 3, 3, 32], STEM + 'biases': [32]}
    self.assertEqual(_hints(_trunk(), no_batch_norm), [
        'the checkpoint has conv biases instead of BatchNorm: build the model '
        'with inception_v3_arg_scope(use_batch_norm=False)'])

  def testAnotherScopeAndAnotherNetwork(self):
    self.assertEqual(_hints(_trunk(), _trunk('Tower')), [
        "none of the model's variables is in the checkpoint (scope "
        'InceptionV3 vs Tower)'])
    vgg = {'vgg_16/conv1/conv1_1/weights': [3, 3, 3, 64],
           'vgg_16/fc8/weights': [1, 1, 4096, 1000]}
    self.assertEqual(_hints(_trunk(), vgg), [
        'it is not an Inception V3 checkpoint (its variables are under '
        'vgg_16/)'])
    self.assertTrue(checkpoint_hints.is_inception_v3(_trunk('Tower')))
    self.assertFalse(checkpoint_hints.is_inception_v3(vgg))

  def testPartialMovingAverages(self):
    ema = '/ExponentialMovingAverage'
    model = {n + ema: s for n, s in _trunk().items()}
    checkpoint = dict(_trunk(), **{STEM + 'weights' + ema: [3, 3, 3, 32]})
    self.assertEqual(_hints(model, checkpoint), [
        'the checkpoint has moving averages for only 1 of 4 variables'])

  def testDepthsOnlyWhenNothingElseExplainsIt(self):
    model = {STEM + 'weights': [3, 3, 3, 16]}
    self.assertEqual(_hints(model, _trunk()), [
        'channel depths differ (depth_multiplier or min_depth?)'])

  def testExplainSummaryAndDetails(self):
    model = dict(_trunk(), **{LOGITS + 'weights': [1, 1, 2048, 10],
                              LOGITS + 'biases': [10]})
    checkpoint = dict(_trunk(), **{LOGITS + 'weights': [1, 1, 2048, 1001]})
    summary, details, hints = checkpoint_hints.explain(
        '/ckpt', list(model), [(LOGITS + 'biases', [10])],
        [(LOGITS + 'weights', [1, 1, 2048, 10], [1, 1, 2048, 1001])],
        checkpoint)
    self.assertEqual(summary, 'Checkpoint /ckpt does not match the model: 1 '
                     'variable with another shape, 1 variable missing; '
                     'probably %s.' % hints[0][0])
    self.assertEqual(details.splitlines()[2:], [
        'Different in the checkpoint (1; model vs checkpoint):',
        '  %sweights: [1, 1, 2048, 10] vs [1, 1, 2048, 1001]' % LOGITS,
        'Missing from the checkpoint (1):',
        '  %sbiases [10]' % LOGITS])


if __name__ == '__main__':
  unittest.main()
