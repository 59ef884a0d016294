"""TF-slim's Inception V3 for graph-mode TensorFlow (see README.md).

Importing the package imports no TensorFlow and changes nothing: the
submodules load on first use, so `import nets` then `nets.inception_v3` or
`nets.inception.inception_v3(...)` works as with slim's `nets` package.

The modules, by role:

  network          inception_v3 (the layers, the released names, the size
                   facts), slim_compat (tf-slim 1.1.0 on current TensorFlow:
                   applies the patches of slim_compat_layers,
                   slim_compat_modules and slim_compat_metrics, each with
                   its probe; slim_compat_patching, how they reach tf-slim)
  slim's surface   inception, inception_utils, nets_factory (the one place
                   that builds "network under its arg scope");
                   inception_preprocessing, preprocessing_factory,
                   preprocessing (the old name of the eval preprocessing);
                   imagenet, flowers,
                   custom (your folders, as nets.convert_images writes
                   them), dataset_utils, dataset_factory
  checkpoints      checkpoints (the one Checkpoint object, opened once:
                   read, match, restore; the `python -m nets.checkpoints`
                   inspector), checkpoint_files (find and open the files),
                   checkpoint_hints (why a checkpoint does not fit), labels
                   (class names, + data/imagenet_synsets.txt)
  inference        inference (the one builder every tool and the benchmark
                   run a checkpoint through: ready model, frozen GraphDef,
                   NumPy outputs), folded (the --optimize network: BatchNorm
                   folded, constant weights)
  data             input_pipeline (tf.data batches from slim TFRecords or a
                   folder of class subfolders), dataset_flags (the data flags
                   of the eval and train tools)
  training         model_deploy (slim's clones, their losses and summed
                   gradients), training (slim's trainer as a library:
                   train(), resume or fine-tune; its parts' names):
                   training_config (TrainConfig), training_graph (the train
                   op, on model_deploy), training_loop (the monitored
                   session); deployment (replicas, a TensorFlow
                   cluster's servers and devices), train_dir (its lock and
                   the checkpoints a run resumes), interrupts (Ctrl-C while
                   TensorFlow blocks)
  tools            classify, export, to_keras, to_onnx, to_tflite,
                   convert_images, eval_image_classifier,
                   train_image_classifier (each `python -m nets.<tool>`;
                   benchmark.py at the top); conversion (what to_onnx and
                   to_tflite share)
  plumbing         cli (the tool contract: flags, one-line errors, --help),
                   outputs (writing: never over the user's files, never
                   half-written)
  benchmarking     the harness behind benchmark.py (configs, graphs, timing,
                   --compare, records)
"""

import importlib
import importlib.util


def __getattr__(name):
  """Imports the submodule `nets.<name>` on first access."""
  if not name.startswith('_') and importlib.util.find_spec(
      __name__ + '.' + name) is not None:
    return importlib.import_module(__name__ + '.' + name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))
