r"""Exports a slim Inception V3 checkpoint as a SavedModel and a frozen graph.

The SavedModel is built in graph mode and loads in TF2 eager code with
`tf.saved_model.load(output_dir)` (and in TF Serving). Signatures:

  serving_default: images, float32 [batch, size, size, 3] in [-1, 1]
                   (already preprocessed) -> logits, probabilities.
  serving_bytes:   image_bytes, string [batch] of encoded JPEG/PNG/GIF/BMP
                   files; applies slim's eval preprocessing in the graph
                   -> logits, probabilities.

The frozen GraphDef is what slim's export_inference_graph + freeze_graph
produce: placeholder `input` float32 [batch, size, size, 3], outputs
`InceptionV3/Logits/SpatialSqueeze` and `InceptionV3/Predictions/Reshape_1`.

Outputs are written through `nets.outputs`: built under a temporary name
next to the target and renamed into place, so an interrupted export leaves
nothing half-written; an existing output (or one that appears while the
export runs) is refused unless `overwrite`, and then replaced only once the
new one is whole.

Command line:

  python -m nets.export --checkpoint_path=inception_v3.ckpt \
      --output_dir=/tmp/inception_v3 [--frozen_graph=/tmp/frozen.pb] \
      [--num_classes=N] [--image_size=299] [--overwrite]
"""

import contextlib
import os

from nets import cli

if __name__ == '__main__':
  cli.quiet_start_up()

import tensorflow.compat.v1 as tf

from nets import checkpoints
from nets import inception_v3
from nets import inference
from nets import outputs
from nets import preprocessing

BYTES_INPUT_NAME = 'image_bytes'
BYTES_SIGNATURE = 'serving_bytes'
_SAVED_MODEL_ENTRIES = ('saved_model.pb', 'variables', 'assets')


class ExportError(ValueError):
  """Outputs that cannot be used together (see also outputs.OutputError)."""


def _model_outputs(images, checkpoint, num_classes, **kwargs):
  model = inference.build(images, checkpoint, num_classes, **kwargs)
  return model, {'logits': model.logits,
                 'probabilities': model.probabilities}


def frozen_graph_def(checkpoint_path, num_classes=None, image_size=299,
                     moving_average_decay=None, optimize=False):
  """A frozen Inception V3 GraphDef, as slim's export + freeze_graph make it.

  Args:
    checkpoint_path: V1 file, V2 prefix or directory, or a
      `checkpoints.Checkpoint`.
    num_classes: classifier width; default: the checkpoint's.
    image_size: height and width of the `input` placeholder.
    moving_average_decay: freeze the EMA shadows instead (see
      `checkpoints.restore_fn`).
    optimize: BatchNorm folded into the convolutions, built without a
      session; same input and outputs.

  Returns:
    tf.GraphDef with placeholder `input` (float32 [None, size, size, 3], in
    [-1, 1]) and outputs inception_v3.LOGITS_OP and
    inception_v3.PREDICTIONS_OP (see `inference.frozen_graph_def`).

  Raises:
    checkpoints.CheckpointError: if the checkpoint is missing, unreadable or
      does not match the model.
  """
  return inference.frozen_graph_def(checkpoint_path, num_classes, image_size,
                                    moving_average_decay, optimize)


def _serving_graph(checkpoint, num_classes, image_size, moving_average_decay):
  """Builds both signatures' towers (shared variables) in the default graph.

  Returns:
    (the signature map, fn(session) restoring the checkpoint).
  """
  size = image_size
  images = tf.placeholder(tf.float32, [None, size, size, 3],
                          name=inception_v3.INPUT_NAME)
  model, outputs = _model_outputs(images, checkpoint, num_classes,
                                  moving_average_decay=moving_average_decay)
  encoded = tf.placeholder(tf.string, [None], name=BYTES_INPUT_NAME)
  decoded = tf.map_fn(
      lambda e: preprocessing.decode_and_preprocess(e, size, size), encoded,
      dtype=tf.float32, back_prop=False, name='decode_and_preprocess')
  decoded.set_shape([None, size, size, 3])
  _, bytes_outputs = _model_outputs(decoded, None, num_classes, reuse=True,
                                    scope='InceptionV3')
  signatures = tf.saved_model.signature_def_utils
  return model.initialize, {
      tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
          signatures.predict_signature_def({'images': images}, outputs),
      BYTES_SIGNATURE:
          signatures.predict_signature_def({BYTES_INPUT_NAME: encoded},
                                           bytes_outputs),
  }


def _write_graph_def(graph_def, path):
  with open(path, 'wb') as f:
    f.write(graph_def.SerializeToString())


def export(checkpoint_path, output_dir, num_classes=None, image_size=299,
           frozen_graph=None, overwrite=False, moving_average_decay=None,
           optimize=False):
  """Writes the SavedModel to `output_dir` (and optionally a frozen graph).

  Args:
    checkpoint_path: V1 file, V2 prefix or directory.
    output_dir: SavedModel directory; must not exist or be empty unless
      `overwrite`.
    num_classes: classifier width; default: the checkpoint's.
    image_size: height and width the model takes.
    frozen_graph: optional path of a frozen GraphDef (.pb) to write too; it
      may lie inside `output_dir`.
    overwrite: replace existing outputs (after the new ones are complete).
    moving_average_decay: export the EMA shadows instead.
    optimize: write the frozen graph with BatchNorm folded (see
      `frozen_graph_def`); the SavedModel is the same.

  Returns:
    {'saved_model': path, 'frozen_graph': path or None}.

  Raises:
    outputs.OutputError: if an output exists (or appears meanwhile) and
      `overwrite` is False, or cannot be written (full disk, read-only).
    ExportError: if the frozen graph would land on a SavedModel file.
    checkpoints.CheckpointError: if the checkpoint is missing, unreadable or
      does not match the model.
  """
  output_dir = outputs.check(output_dir, overwrite, directory=True)
  frozen_in_model = None
  if frozen_graph:
    frozen_graph = os.path.abspath(frozen_graph)
    relative = os.path.relpath(frozen_graph, output_dir)
    if relative == '.':
      raise ExportError('--frozen_graph must differ from --output_dir.')
    if not relative.startswith(os.pardir):
      if relative.split(os.sep)[0] in _SAVED_MODEL_ENTRIES:
        raise ExportError('--frozen_graph %s would overwrite a SavedModel '
                          'file.' % frozen_graph)
      frozen_in_model = relative
    else:
      outputs.check(frozen_graph, overwrite)
  checkpoint = checkpoints.load_checkpoint(checkpoint_path)
  num_classes = checkpoint.classes(num_classes)
  with tf.Graph().as_default() as graph:
    restore, signature_map = _serving_graph(checkpoint, num_classes,
                                            image_size, moving_average_decay)
    with contextlib.ExitStack() as stack:
      # Entered first, left last: the SavedModel is in place before the
      # frozen graph, and neither is unless both were written.
      frozen_temp = None
      if frozen_graph and not frozen_in_model:
        frozen_temp = stack.enter_context(outputs.staged(frozen_graph,
                                                         overwrite))
      model_dir = stack.enter_context(
          outputs.staged(output_dir, overwrite, directory=True))
      frozen = None
      with tf.Session(graph=graph) as sess:
        restore(sess)
        builder = tf.saved_model.Builder(model_dir)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map=signature_map, strip_default_attrs=True)
        builder.save()
        if frozen_graph and not optimize:
          # The default signature's tower, restored already: no second build.
          frozen = inference.freeze(sess)
      if frozen_in_model:
        frozen_temp = os.path.join(model_dir, frozen_in_model)
        os.makedirs(os.path.dirname(frozen_temp), exist_ok=True)
      if frozen_temp:
        if frozen is None:  # Folded: built from the weights, no session.
          frozen = frozen_graph_def(checkpoint, num_classes, image_size,
                                    moving_average_decay, optimize)
        _write_graph_def(frozen, frozen_temp)
  return {'saved_model': output_dir, 'frozen_graph': frozen_graph}


# --- Command line -------------------------------------------------------------

def main(argv):
  del argv  # Unused.
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  written = export(f.checkpoint_path, f.output_dir, f.num_classes,
                   f.image_size, f.frozen_graph, f.overwrite,
                   f.moving_average_decay, f.optimize)
  print('SavedModel: %s' % written['saved_model'])
  if written['frozen_graph']:
    print('Frozen graph: %s (input: %s, outputs: %s, %s)' % (
        written['frozen_graph'], inception_v3.INPUT_NAME,
        inception_v3.LOGITS_OP, inception_v3.PREDICTIONS_OP))
  return 0


def define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  cli.define_shared_flags('checkpoint_path', 'num_classes', 'image_size',
                          'moving_average_decay', 'overwrite',
                          required=['checkpoint_path'])
  flags.DEFINE_string('output_dir', None, 'SavedModel directory to write.')
  flags.DEFINE_string('frozen_graph', None,
                      'Also write a frozen GraphDef (.pb) here.')
  cli.define_shared_flags('optimize', notes={
      'optimize': 'Applies to the frozen graph (run it under '
                  'inference.session_config()); the SavedModel is the same.'})
  flags.mark_flag_as_required('output_dir')


if __name__ == '__main__':
  cli.run(main, define_flags)
