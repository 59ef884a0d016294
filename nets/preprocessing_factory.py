"""Slim's preprocessing factory, for the networks that use Inception's.

A drop-in for research/slim's `preprocessing/preprocessing_factory.py`:
`get_preprocessing(name, is_training, use_grayscale)` returns
`preprocessing_fn(image, output_height, output_width, **kwargs)`, which calls
`inception_preprocessing.preprocess_image`. Only Inception preprocessing is
ported here, so only the names that slim maps to it are known; the names slim
maps to its cifarnet, lenet or vgg preprocessing raise a ValueError that says
so.
"""

from nets import inception_preprocessing
from nets import slim_compat

slim_compat.apply()

# The names of slim's preprocessing_fn_map that use inception_preprocessing.
INCEPTION_NAMES = (
    'inception',
    'inception_v1',
    'inception_v2',
    'inception_v3',
    'inception_v4',
    'inception_resnet_v2',
    'mobilenet_v1',
    'mobilenet_v2',
    'mobilenet_v2_035',
    'mobilenet_v2_140',
    'mobilenet_v3_small',
    'mobilenet_v3_large',
    'mobilenet_v3_small_minimalistic',
    'mobilenet_v3_large_minimalistic',
    'mobilenet_edgetpu',
    'mobilenet_edgetpu_075',
    'nasnet_mobile',
    'nasnet_large',
    'pnasnet_mobile',
    'pnasnet_large',
)

# The rest of slim's map: name -> its preprocessing module, not ported here.
OTHER_SLIM_NAMES = {
    'cifarnet': 'cifarnet_preprocessing',
    'lenet': 'lenet_preprocessing',
    'resnet_v1_50': 'vgg_preprocessing',
    'resnet_v1_101': 'vgg_preprocessing',
    'resnet_v1_152': 'vgg_preprocessing',
    'resnet_v1_200': 'vgg_preprocessing',
    'resnet_v2_50': 'vgg_preprocessing',
    'resnet_v2_101': 'vgg_preprocessing',
    'resnet_v2_152': 'vgg_preprocessing',
    'resnet_v2_200': 'vgg_preprocessing',
    'vgg': 'vgg_preprocessing',
    'vgg_a': 'vgg_preprocessing',
    'vgg_16': 'vgg_preprocessing',
    'vgg_19': 'vgg_preprocessing',
}


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns preprocessing_fn(image, output_height, output_width, **kwargs).

  Args:
    name: a network name of slim's map that uses Inception preprocessing
      (`INCEPTION_NAMES`).
    is_training: True for the training distortions, False for evaluation.
    use_grayscale: if True, the preprocessed image has 1 channel.

  Returns:
    preprocessing_fn(image, output_height, output_width, **kwargs): one image
    (before batching) through `inception_preprocessing.preprocess_image`;
    kwargs (bbox, fast_mode, add_image_summaries, crop_image) pass through.

  Raises:
    ValueError: if `name` is not one of `INCEPTION_NAMES`.
  """
  if name not in INCEPTION_NAMES:
    if isinstance(name, str) and name in OTHER_SLIM_NAMES:
      what = ('uses slim\'s %s, which is not part of this port' %
              OTHER_SLIM_NAMES[name])
    else:
      what = 'is not a known preprocessing name'
    raise ValueError(
        'name %r %s; only Inception preprocessing is here, for: %s' %
        (name, what, ', '.join(INCEPTION_NAMES)))

  def preprocessing_fn(image, output_height, output_width, **kwargs):
    return inception_preprocessing.preprocess_image(
        image, output_height, output_width, is_training=is_training,
        use_grayscale=use_grayscale, **kwargs)

  return preprocessing_fn
