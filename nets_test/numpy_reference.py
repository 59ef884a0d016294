"""An independent NumPy Inception V3 (inference), for numerical tests.

Written from the paper's table and slim's variable names, sharing no code with
`nets/`: convolutions with TensorFlow's SAME/VALID padding rule, inference
BatchNorm (moving statistics, epsilon 0.001, beta and no gamma), ReLU, max and
average pooling (SAME average pooling divides by the number of real inputs),
concatenation on channels in branch order.

Each module is a list of branches; a branch is a list of steps:
  ('conv', scope, stride, padding)        slim conv2d + BatchNorm + ReLU
  ('max' | 'avg', size, stride, padding)  pooling
  ('split', [steps], [steps])             two sub-branches, concatenated
Kernel sizes come from the weights, so the specs name only what the weights
cannot tell: scopes, strides, paddings, pools and the order of the branches.
"""

import numpy as np

EPSILON = 0.001


def _same_padding(size, kernel, stride):
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def _pad_amounts(x, kernel, stride, padding):
  if padding == 'VALID':
    return (0, 0), (0, 0)
  return (_same_padding(x.shape[1], kernel[0], stride),
          _same_padding(x.shape[2], kernel[1], stride))


def _windows(x, kernel, stride):
  """[N, H, W, C] -> [N, OH, OW, KH, KW, C] views of every window."""
  n, h, w, c = x.shape
  kh, kw = kernel
  oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
  sn, sh, sw, sc = x.strides
  return np.lib.stride_tricks.as_strided(
      x, (n, oh, ow, kh, kw, c), (sn, sh * stride, sw * stride, sh, sw, sc),
      writeable=False)


def conv2d(x, weights, stride, padding):
  """Convolution with TF's padding rule; weights are [KH, KW, IN, OUT]."""
  kh, kw, cin, cout = weights.shape
  ph, pw = _pad_amounts(x, (kh, kw), stride, padding)
  x = np.pad(x, ((0, 0), ph, pw, (0, 0)))
  cols = _windows(x, (kh, kw), stride)
  n, oh, ow = cols.shape[:3]
  out = cols.reshape(n * oh * ow, kh * kw * cin).astype(np.float64) @ (
      weights.reshape(kh * kw * cin, cout).astype(np.float64))
  return out.reshape(n, oh, ow, cout)


def batch_norm(x, beta, mean, variance, gamma=None):
  scale = 1.0 / np.sqrt(variance.astype(np.float64) + EPSILON)
  if gamma is not None:
    scale = scale * gamma
  return (x - mean) * scale + beta


def relu(x):
  return np.maximum(x, 0.0)


def max_pool(x, size, stride, padding):
  ph, pw = _pad_amounts(x, (size, size), stride, padding)
  x = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=-np.inf)
  return _windows(x, (size, size), stride).max(axis=(3, 4))


def avg_pool(x, size, stride, padding):
  ph, pw = _pad_amounts(x, (size, size), stride, padding)
  padded = np.pad(x, ((0, 0), ph, pw, (0, 0)))
  ones = np.pad(np.ones(x.shape[:3] + (1,)), ((0, 0), ph, pw, (0, 0)))
  total = _windows(padded, (size, size), stride).sum(axis=(3, 4))
  count = _windows(ones, (size, size), stride).sum(axis=(3, 4))
  return total / count


def conv_bn_relu(x, weights, scope, stride, padding):
  """slim.conv2d under inception_v3_arg_scope, at inference."""
  y = conv2d(x, weights[scope + '/weights'], stride, padding)
  y = batch_norm(y, weights[scope + '/BatchNorm/beta'],
                 weights[scope + '/BatchNorm/moving_mean'],
                 weights[scope + '/BatchNorm/moving_variance'],
                 weights.get(scope + '/BatchNorm/gamma'))
  return relu(y)


def run_steps(x, steps, weights, prefix):
  for step in steps:
    kind = step[0]
    if kind == 'conv':
      _, scope, stride, padding = step
      x = conv_bn_relu(x, weights, prefix + scope, stride, padding)
    elif kind == 'max':
      x = max_pool(x, *step[1:])
    elif kind == 'avg':
      x = avg_pool(x, *step[1:])
    elif kind == 'split':
      x = np.concatenate([run_steps(x, sub, weights, prefix) for sub in step[1:]],
                         axis=3)
    else:
      raise ValueError('unknown step %r' % (step,))
  return x


def run_module(x, branches, weights, prefix):
  """A mixed module: every branch on x, concatenated in order."""
  return np.concatenate([run_steps(x, b, weights, prefix) for b in branches],
                        axis=3)


def _c(scope, stride=1, padding='SAME'):
  return ('conv', scope, stride, padding)


STEM = [
    _c('Conv2d_1a_3x3', 2, 'VALID'),
    _c('Conv2d_2a_3x3', 1, 'VALID'),
    _c('Conv2d_2b_3x3', 1, 'SAME'),
    ('max', 3, 2, 'VALID'),
    _c('Conv2d_3b_1x1', 1, 'VALID'),
    _c('Conv2d_4a_3x3', 1, 'VALID'),
    ('max', 3, 2, 'VALID'),
]

_MODULE_35 = [
    [_c('Branch_0/Conv2d_0a_1x1')],
    [_c('Branch_1/Conv2d_0a_1x1'), _c('Branch_1/Conv2d_0b_5x5')],
    [_c('Branch_2/Conv2d_0a_1x1'), _c('Branch_2/Conv2d_0b_3x3'),
     _c('Branch_2/Conv2d_0c_3x3')],
    [('avg', 3, 1, 'SAME'), _c('Branch_3/Conv2d_0b_1x1')],
]

_MODULE_17 = [
    [_c('Branch_0/Conv2d_0a_1x1')],
    [_c('Branch_1/Conv2d_0a_1x1'), _c('Branch_1/Conv2d_0b_1x7'),
     _c('Branch_1/Conv2d_0c_7x1')],
    [_c('Branch_2/Conv2d_0a_1x1'), _c('Branch_2/Conv2d_0b_7x1'),
     _c('Branch_2/Conv2d_0c_1x7'), _c('Branch_2/Conv2d_0d_7x1'),
     _c('Branch_2/Conv2d_0e_1x7')],
    [('avg', 3, 1, 'SAME'), _c('Branch_3/Conv2d_0b_1x1')],
]


def _module_8(branch_1_second):
  return [
      [_c('Branch_0/Conv2d_0a_1x1')],
      [_c('Branch_1/Conv2d_0a_1x1'),
       ('split', [_c('Branch_1/Conv2d_0b_1x3')],
        [_c('Branch_1/' + branch_1_second)])],
      [_c('Branch_2/Conv2d_0a_1x1'), _c('Branch_2/Conv2d_0b_3x3'),
       ('split', [_c('Branch_2/Conv2d_0c_1x3')], [_c('Branch_2/Conv2d_0d_3x1')])],
      [('avg', 3, 1, 'SAME'), _c('Branch_3/Conv2d_0b_1x1')],
  ]


MODULES = {
    'Mixed_5b': _MODULE_35,
    'Mixed_5c': [
        [_c('Branch_0/Conv2d_0a_1x1')],
        [_c('Branch_1/Conv2d_0b_1x1'), _c('Branch_1/Conv_1_0c_5x5')],
        _MODULE_35[2],
        _MODULE_35[3],
    ],
    'Mixed_5d': _MODULE_35,
    'Mixed_6a': [
        [_c('Branch_0/Conv2d_1a_1x1', 2, 'VALID')],
        [_c('Branch_1/Conv2d_0a_1x1'), _c('Branch_1/Conv2d_0b_3x3'),
         _c('Branch_1/Conv2d_1a_1x1', 2, 'VALID')],
        [('max', 3, 2, 'VALID')],
    ],
    'Mixed_6b': _MODULE_17,
    'Mixed_6c': _MODULE_17,
    'Mixed_6d': _MODULE_17,
    'Mixed_6e': _MODULE_17,
    'Mixed_7a': [
        [_c('Branch_0/Conv2d_0a_1x1'), _c('Branch_0/Conv2d_1a_3x3', 2, 'VALID')],
        [_c('Branch_1/Conv2d_0a_1x1'), _c('Branch_1/Conv2d_0b_1x7'),
         _c('Branch_1/Conv2d_0c_7x1'), _c('Branch_1/Conv2d_1a_3x3', 2, 'VALID')],
        [('max', 3, 2, 'VALID')],
    ],
    'Mixed_7b': _module_8('Conv2d_0b_3x1'),
    'Mixed_7c': _module_8('Conv2d_0c_3x1'),
}


def stem(images, weights, scope='InceptionV3/'):
  return run_steps(images, STEM, weights, scope)


def module(name, x, weights, scope='InceptionV3/'):
  return run_module(x, MODULES[name], weights, scope + name + '/')


def logits_head(mixed_7c, weights, scope='InceptionV3/'):
  """Average pool over the whole 8x8 map, 1x1 conv with biases (no BN, no ReLU)."""
  pooled = mixed_7c.mean(axis=(1, 2), keepdims=True)
  name = scope + 'Logits/Conv2d_1c_1x1/'
  out = conv2d(pooled, weights[name + 'weights'], 1, 'VALID') + weights[name + 'biases']
  return out[:, 0, 0, :]


def aux_head(mixed_6e, weights, scope='InceptionV3/'):
  """AuxLogits at 299: 5x5/3 avg pool, 1x1 conv, 5x5 conv, 1x1 conv with biases."""
  prefix = scope + 'AuxLogits/'
  x = avg_pool(mixed_6e, 5, 3, 'VALID')
  x = conv_bn_relu(x, weights, prefix + 'Conv2d_1b_1x1', 1, 'SAME')
  x = conv_bn_relu(x, weights, prefix + 'Conv2d_2a_5x5', 1, 'VALID')
  name = prefix + 'Conv2d_2b_1x1/'
  out = conv2d(x, weights[name + 'weights'], 1, 'SAME') + weights[name + 'biases']
  return out[:, 0, 0, :]


def softmax(logits):
  z = np.exp(logits - logits.max(axis=1, keepdims=True))
  return z / z.sum(axis=1, keepdims=True)
