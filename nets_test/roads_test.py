"""Every road from a checkpoint to outputs, at sizes on both sides of the
size rules, each run counting the times its tool opens the checkpoint.

The size rules (nets_factory.inference_options): no aux head (it fits from
107 pixels only), global pooling above 362. Each tool is run as a user runs
it, at 75, 107 and 363 pixels, on one small checkpoint; every run counts
the checkpoint opens by wrapping TensorFlow's reader constructor, and must
open it once (none without a checkpoint).
"""

import json
import os
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

from nets_test import testing

SIZES = (75, 107, 363)  # Below the aux head's 107, at it, above 362.
NUM_CLASSES = 5
# Counts the Python checkpoint readers a tool makes (tf.train.load_checkpoint
# and every other reader go through NewCheckpointReader) into a file.
COUNT_OPENS = '''
import atexit
from tensorflow.python.training import py_checkpoint_reader as _r
_opens = []
_new = _r.NewCheckpointReader
def _counted(*args, **kwargs):
  _opens.append(args)
  return _new(*args, **kwargs)
_r.NewCheckpointReader = _counted
atexit.register(lambda: open(%r, 'w').write(str(len(_opens))))
'''


class RoadsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(tf.test.get_temp_dir(), 'roads_test')
    cls.ckpt = os.path.join(cls.dir, 'train', 'model.ckpt-3')
    testing.write_checkpoint(cls.ckpt, NUM_CLASSES, image_size=107, seed=3,
                             extra_variables={'global_step': np.int64(3)})
    rng = np.random.RandomState(0)
    pixels = [rng.randint(0, 256, [40, 50, 3]).astype(np.uint8)
              for _ in range(NUM_CLASSES)]
    cls.images = os.path.join(cls.dir, 'images')
    for label, encoded in enumerate(testing.encode_images(pixels, 'png')):
      folder = os.path.join(cls.images, 'class%d' % label)
      os.makedirs(folder)
      with open(os.path.join(folder, 'a.png'), 'wb') as f:
        f.write(encoded)
    cls.image = os.path.join(cls.images, 'class0', 'a.png')

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def run_ok(self, tool, *args):
    """The stdout of a tool run that must succeed and open its checkpoint
    once (a run without one must open none)."""
    counter = os.path.join(self.get_temp_dir(), 'opens')
    status, out, err = testing.run_tool(tool, *args,
                                        prelude=COUNT_OPENS % counter)
    self.assertEqual(status, 0, '\n'.join(err))
    with open(counter) as f:
      opens = int(f.read())
    with_checkpoint = any(a.startswith('--checkpoint_path=') for a in args)
    self.assertEqual(opens, int(with_checkpoint), (tool,) + args)
    return out

  def check_classify(self, size, optimize):
    out = self.run_ok(
        'nets.classify', '--checkpoint_path=' + self.ckpt,
        '--image_size=%d' % size, '--top_k=2', '--optimize=%s' % optimize,
        self.image)
    lines = out.splitlines()
    self.assertEqual(lines[0], self.image)
    self.assertLen(lines, 3)
    self.assertRegex(lines[1], r'^  \d\.\d{4}  class \d$')

  def check_export(self, size, optimize):
    work = os.path.join(self.get_temp_dir(), 'export%d%s' % (size, optimize))
    frozen = os.path.join(work, 'frozen.pb')
    self.run_ok(
        'nets.export', '--checkpoint_path=' + self.ckpt,
        '--output_dir=' + os.path.join(work, 'model'),
        '--frozen_graph=' + frozen, '--image_size=%d' % size,
        '--optimize=%s' % optimize)
    graph_def = tf.GraphDef()
    with open(frozen, 'rb') as f:
      graph_def.ParseFromString(f.read())
    shape = [n for n in graph_def.node if n.name == 'input'][0].attr['shape']
    self.assertEqual([d.size for d in shape.shape.dim], [-1, size, size, 3])

  def check_eval(self, size, optimize):
    out = self.run_ok(
        'nets.eval_image_classifier', '--checkpoint_path=' + self.ckpt,
        '--image_dir=' + self.images, '--eval_image_size=%d' % size,
        '--batch_size=2', '--optimize=%s' % optimize)
    self.assertRegex(out.splitlines()[-1],
                     r'^Accuracy \d\.\d{4} \(\d/5\), Recall_5 1\.0000 \(5/5\) '
                     r'on 5 images; .* at step 3; ')

  def check_onnx(self, size):
    output = os.path.join(self.get_temp_dir(), 'model%d.onnx' % size)
    out = self.run_ok(
        'nets.to_onnx', '--checkpoint_path=' + self.ckpt,
        '--output=' + output, '--image_size=%d' % size, '--overwrite')
    self.assertIn('input input [batch, %d, %d, 3]' % (size, size), out)
    self.assertIn('verified on 2 random images: logits', out)

  def check_tflite(self, size):
    output = os.path.join(self.get_temp_dir(), 'model%d.tflite' % size)
    out = self.run_ok(
        'nets.to_tflite', '--checkpoint_path=' + self.ckpt,
        '--output=' + output, '--image_size=%d' % size, '--overwrite')
    self.assertIn('input input [batch, %d, %d, 3]' % (size, size), out)
    self.assertIn('verified on 2 random images: logits', out)

  def check_benchmark(self, size, *flags):
    record = os.path.join(self.get_temp_dir(), 'bench.json')
    self.run_ok(
        'benchmark.py', '--batch_size=1', '--image_size=%d' % size,
        '--num_batches=2', '--num_warmup_batches=0', '--display_every=1',
        '--json_output=' + record, '--overwrite', *flags)
    with open(record) as f:
      record = json.load(f)
    self.assertEqual(record['config']['image_size'], size)

  # Each road at each size; plain and optimized on both sides of 362 (the
  # builds differ: slim's layers or the folded ones).
  RUNS = ((75, False), (107, True), (363, False), (363, True))

  def testClassifyAtEverySize(self):
    for size, optimize in self.RUNS:
      self.check_classify(size, optimize)

  def testEvalAtEverySize(self):
    for size, optimize in self.RUNS:
      self.check_eval(size, optimize)

  def testExportAtEverySize(self):
    # --optimize writes the plain SavedModel and the optimized frozen graph.
    for size, optimize in ((75, False), (107, True), (363, True)):
      self.check_export(size, optimize)

  def testOnnxAtEverySize(self):
    for size in SIZES:
      self.check_onnx(size)

  def testBenchmarkAtEverySize(self):
    # On the checkpoint (the benchmark's flags for it) and on random weights.
    ckpt = ('--checkpoint_path=' + self.ckpt, '--num_classes=%d' % NUM_CLASSES)
    self.check_benchmark(75, *ckpt)
    self.check_benchmark(107, '--optimize')
    # Above 362 these two ended with "too large for the fixed 8x8/2 final
    # pool": the FLOP count built its own network without global pooling.
    self.check_benchmark(363, '--optimize', *ckpt)
    # Without the peak-memory runs: each is a fresh `benchmark.py
    # --compare=NAME` of one of these configurations (its own interpreter,
    # whose opens this test does not count); benchmark_test covers them.
    self.check_benchmark(363, '--compare=plain,optimized', '--matmul_size=64',
                         '--nocompare_memory', *ckpt)

  def testTfliteBelowAndAbove362(self):
    for size in 75, 363:
      self.check_tflite(size)

  def testTheOtherToolsOpenTheCheckpointOnce(self):
    # (Every run above counts its opens too.)
    self.run_ok('nets.to_keras', '--checkpoint_path=' + self.ckpt,
                '--output=' + os.path.join(self.get_temp_dir(), 'k.weights.h5'),
                '--include_top=false', '--overwrite')
    self.run_ok('nets.checkpoints', '--checkpoint_path=' + self.ckpt,
                '--image_size=107')  # Its aux head's size.
