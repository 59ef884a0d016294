"""Helpers shared by the checkpoints, export and classify tests."""

import os
import subprocess
import sys

import numpy as np
import tensorflow.compat.v1 as tf

from nets import preprocessing
from nets_test import testing

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(module, *args, prelude=''):
  """Runs `python -m module args`; returns (rc, stdout, non-empty stderr lines).

  `prelude` is Python run first in the same process (e.g. to hide a package).
  TF_CPP_MIN_LOG_LEVEL is left unset, as a user's shell has it: the tools
  must keep TensorFlow's C++ start-up lines off stderr themselves.
  """
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  command = [sys.executable, '-m', module]
  if prelude:
    command = [sys.executable, '-c', 'import runpy, sys\n%s\nsys.argv[1:] = %r\n'
               'runpy.run_module(%r, run_name="__main__", alter_sys=True)' %
               (prelude, list(args), module)]
    args = ()
  proc = subprocess.run(command + list(args), capture_output=True, text=True,
                        cwd=REPO_ROOT, env=env, timeout=300)
  stderr = [line for line in proc.stderr.splitlines() if line.strip()]
  return proc.returncode, proc.stdout, stderr


def softmax(logits):
  e = np.exp(logits - logits.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def session_outputs(values, num_classes, size, images, encoded_images=()):
  """Logits of the model with `values` assigned directly (no nets.checkpoints).

  Args:
    values: {variable name: value}, as `testing.write_checkpoint` returns.
    num_classes: classifier width.
    size: input height and width.
    images: float32 [batch, size, size, 3].
    encoded_images: encoded image files, decoded and preprocessed with
      `nets.preprocessing` and run as one batch.

  Returns:
    (logits of `images`, logits of the `encoded_images` batch or None).
  """
  with tf.Graph().as_default():
    batch = tf.placeholder(tf.float32, [None, size, size, 3])
    logits, _ = testing.build_classifier(batch, num_classes=num_classes,
                                         create_aux_logits=False)
    encoded = tf.placeholder(tf.string, [])
    decoded = preprocessing.decode_and_preprocess(encoded, size, size)
    variables = tf.global_variables()
    with tf.Session() as sess:
      sess.run([v.initializer for v in variables],
               {v.initializer.inputs[1]: values[v.op.name] for v in variables})
      from_images = sess.run(logits, {batch: images})
      from_bytes = None
      if encoded_images:
        decoded_batch = [sess.run(decoded, {encoded: e})
                         for e in encoded_images]
        from_bytes = sess.run(logits, {batch: decoded_batch})
  return from_images, from_bytes
