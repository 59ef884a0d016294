"""Helpers shared by the tests: build the network, write slim-style checkpoints."""

import os

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_v3


def build_classifier(images, num_classes=1001, is_training=False, **kwargs):
  """inception_v3 under its arg_scope, as a user of the released checkpoint builds it."""
  with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
    return inception_v3.inception_v3(
        images, num_classes=num_classes, is_training=is_training, **kwargs)


def random_values(variables, seed=0):
  """Non-trivial values for `variables`: N(0, 0.05) weights/betas/means, variances in [0.5, 1.5]."""
  rng = np.random.RandomState(seed)
  values = {}
  for var in variables:
    shape = var.shape.as_list()
    name = var.op.name
    if name.endswith('moving_variance'):
      values[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif name.endswith('gamma'):
      values[name] = rng.uniform(0.8, 1.2, shape).astype(np.float32)
    else:
      values[name] = (0.05 * rng.randn(*shape)).astype(np.float32)
  return values


def write_checkpoint(path, num_classes=1001, image_size=299, version='V2',
                     seed=0, extra_variables=None):
  """Writes a checkpoint with the released slim variable names and random values.

  Args:
    path: checkpoint prefix (V2) or file (V1).
    num_classes: classifier width (1001 for the released checkpoints).
    image_size: input size the graph is built for (changes the aux head's
      kernel below 299).
    version: 'V1' (single file, like the released checkpoints) or 'V2'.
    seed: seed of the random values.
    extra_variables: optional {name: np.ndarray} saved alongside (for
      example `global_step` or EMA shadows).

  Returns:
    {variable name: np.ndarray} of everything written.
  """
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, image_size, image_size, 3])
    build_classifier(images, num_classes=num_classes)
    model_vars = tf.global_variables()
    values = random_values(model_vars, seed)
    for name, value in (extra_variables or {}).items():
      tf.Variable(value, name=name)
    all_vars = tf.global_variables()
    values.update(extra_variables or {})
    saver = tf.train.Saver(
        var_list={v.op.name: v for v in all_vars},
        write_version=getattr(tf.train.SaverDef, version))
    with tf.Session() as sess:
      # One run feeding every initial value: per-variable `load` calls build
      # one executor each and take ~13 s for the full network.
      sess.run([var.initializer for var in all_vars],
               {var.initializer.inputs[1]: values[var.op.name]
                for var in all_vars})
      os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
      saver.save(sess, path, write_meta_graph=False)
  return values
