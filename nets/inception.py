"""slim's `nets.inception` module: the Inception networks under one name.

research/slim's and tf.contrib.slim's `nets/inception.py` gather Inception
V1 to V4 and Inception-ResNet-V2; this port has Inception V3 only. The other
networks' names raise an AttributeError that says so (the released
checkpoints of those networks have other variables, and porting each is a
network of its own):

  from nets import inception
  with slim.arg_scope(inception.inception_v3_arg_scope()):
    logits, end_points = inception.inception_v3(images, num_classes=1001)
"""

from nets import slim_compat
from nets.inception_v3 import inception_v3
from nets.inception_v3 import inception_v3_arg_scope
from nets.inception_v3 import inception_v3_base

slim_compat.apply()

__all__ = ['inception_v3', 'inception_v3_arg_scope', 'inception_v3_base']

# slim's other networks in this module (each with `_base` and `_arg_scope`).
NOT_PORTED = ('inception_v1', 'inception_v2', 'inception_v4',
              'inception_resnet_v2')


def __getattr__(name):
  for network in NOT_PORTED:
    if name in (network, network + '_base', network + '_arg_scope'):
      raise AttributeError(
          'nets.inception.%s: only Inception V3 is in this port '
          '(inception_v3, inception_v3_base, inception_v3_arg_scope); %s is '
          'not' % (name, network))
  raise AttributeError('module %r has no attribute %r' % (__name__, name))
