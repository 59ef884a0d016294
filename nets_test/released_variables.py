"""The variables of the released `inception_v3_2016_08_28` slim checkpoint.

Written out by hand from the architecture (kernel, input and output channels
of every convolution), independent of `nets/`, so the tests can compare the
model's variables against it. Every conv has `weights` and BatchNorm `beta`,
`moving_mean`, `moving_variance` (no gamma); the two classifier convs have
`weights` and `biases` instead.
"""

# (scope, kernel height, kernel width, input channels, output channels)
_STEM = [
    ('Conv2d_1a_3x3', 3, 3, 3, 32),
    ('Conv2d_2a_3x3', 3, 3, 32, 32),
    ('Conv2d_2b_3x3', 3, 3, 32, 64),
    ('Conv2d_3b_1x1', 1, 1, 64, 80),
    ('Conv2d_4a_3x3', 3, 3, 80, 192),
]


def _module_35(cin, pool_out, branch_1_names=('Conv2d_0a_1x1', 'Conv2d_0b_5x5')):
  first, second = branch_1_names
  return [
      ('Branch_0/Conv2d_0a_1x1', 1, 1, cin, 64),
      ('Branch_1/' + first, 1, 1, cin, 48),
      ('Branch_1/' + second, 5, 5, 48, 64),
      ('Branch_2/Conv2d_0a_1x1', 1, 1, cin, 64),
      ('Branch_2/Conv2d_0b_3x3', 3, 3, 64, 96),
      ('Branch_2/Conv2d_0c_3x3', 3, 3, 96, 96),
      ('Branch_3/Conv2d_0b_1x1', 1, 1, cin, pool_out),
  ]


def _module_17(c):
  return [
      ('Branch_0/Conv2d_0a_1x1', 1, 1, 768, 192),
      ('Branch_1/Conv2d_0a_1x1', 1, 1, 768, c),
      ('Branch_1/Conv2d_0b_1x7', 1, 7, c, c),
      ('Branch_1/Conv2d_0c_7x1', 7, 1, c, 192),
      ('Branch_2/Conv2d_0a_1x1', 1, 1, 768, c),
      ('Branch_2/Conv2d_0b_7x1', 7, 1, c, c),
      ('Branch_2/Conv2d_0c_1x7', 1, 7, c, c),
      ('Branch_2/Conv2d_0d_7x1', 7, 1, c, c),
      ('Branch_2/Conv2d_0e_1x7', 1, 7, c, 192),
      ('Branch_3/Conv2d_0b_1x1', 1, 1, 768, 192),
  ]


def _module_8(cin, branch_1_second):
  return [
      ('Branch_0/Conv2d_0a_1x1', 1, 1, cin, 320),
      ('Branch_1/Conv2d_0a_1x1', 1, 1, cin, 384),
      ('Branch_1/Conv2d_0b_1x3', 1, 3, 384, 384),
      ('Branch_1/' + branch_1_second, 3, 1, 384, 384),
      ('Branch_2/Conv2d_0a_1x1', 1, 1, cin, 448),
      ('Branch_2/Conv2d_0b_3x3', 3, 3, 448, 384),
      ('Branch_2/Conv2d_0c_1x3', 1, 3, 384, 384),
      ('Branch_2/Conv2d_0d_3x1', 3, 1, 384, 384),
      ('Branch_3/Conv2d_0b_1x1', 1, 1, cin, 192),
  ]


MODULE_CONVS = {
    'Mixed_5b': _module_35(192, 32),
    'Mixed_5c': _module_35(256, 64, ('Conv2d_0b_1x1', 'Conv_1_0c_5x5')),
    'Mixed_5d': _module_35(288, 64),
    'Mixed_6a': [
        ('Branch_0/Conv2d_1a_1x1', 3, 3, 288, 384),
        ('Branch_1/Conv2d_0a_1x1', 1, 1, 288, 64),
        ('Branch_1/Conv2d_0b_3x3', 3, 3, 64, 96),
        ('Branch_1/Conv2d_1a_1x1', 3, 3, 96, 96),
    ],
    'Mixed_6b': _module_17(128),
    'Mixed_6c': _module_17(160),
    'Mixed_6d': _module_17(160),
    'Mixed_6e': _module_17(192),
    'Mixed_7a': [
        ('Branch_0/Conv2d_0a_1x1', 1, 1, 768, 192),
        ('Branch_0/Conv2d_1a_3x3', 3, 3, 192, 320),
        ('Branch_1/Conv2d_0a_1x1', 1, 1, 768, 192),
        ('Branch_1/Conv2d_0b_1x7', 1, 7, 192, 192),
        ('Branch_1/Conv2d_0c_7x1', 7, 1, 192, 192),
        ('Branch_1/Conv2d_1a_3x3', 3, 3, 192, 192),
    ],
    'Mixed_7b': _module_8(1280, 'Conv2d_0b_3x1'),
    'Mixed_7c': _module_8(2048, 'Conv2d_0c_3x1'),
}

_AUX = [
    ('AuxLogits/Conv2d_1b_1x1', 1, 1, 768, 128),
    ('AuxLogits/Conv2d_2a_5x5', 5, 5, 128, 768),
]


def base_convs():
  """(scope, kh, kw, cin, cout) of every BatchNorm conv of the trunk."""
  convs = list(_STEM)
  for name, module in MODULE_CONVS.items():
    convs += [(name + '/' + scope, kh, kw, cin, cout)
              for scope, kh, kw, cin, cout in module]
  return convs


def _bn_conv_variables(scope, kh, kw, cin, cout, with_gamma=False):
  names = [(scope + '/weights', [kh, kw, cin, cout]),
           (scope + '/BatchNorm/beta', [cout])]
  if with_gamma:
    names.append((scope + '/BatchNorm/gamma', [cout]))
  names += [(scope + '/BatchNorm/moving_mean', [cout]),
            (scope + '/BatchNorm/moving_variance', [cout])]
  return names


def released_variables(num_classes=1001, with_gamma=False):
  """{name: shape} of the full classifier at 299x299 (aux head included)."""
  variables = {}
  for conv in base_convs() + _AUX:
    for name, shape in _bn_conv_variables(*conv, with_gamma=with_gamma):
      variables['InceptionV3/' + name] = shape
  for head, cin in (('AuxLogits/Conv2d_2b_1x1', 768), ('Logits/Conv2d_1c_1x1', 2048)):
    variables['InceptionV3/%s/weights' % head] = [1, 1, cin, num_classes]
    variables['InceptionV3/%s/biases' % head] = [num_classes]
  return variables
