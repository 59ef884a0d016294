"""Every road from a checkpoint to outputs, at sizes on both sides of the
size rules, and the number of times each tool opens its checkpoint.

The size rules (nets_factory.inference_options): no aux head (it fits from
107 pixels only), global pooling above 362. Each tool is run as a user runs
it, at 75, 107 and 363 pixels, on one small checkpoint; the checkpoint
opens are counted by wrapping TensorFlow's reader constructor in the run.
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

  def run_ok(self, tool, *args, count_opens=False):
    """(stdout, checkpoint readers made) of a tool run that must succeed."""
    counter = os.path.join(self.get_temp_dir(), 'opens')
    prelude = COUNT_OPENS % counter if count_opens else ''
    status, out, err = testing.run_tool(tool, *args, prelude=prelude)
    self.assertEqual(status, 0, '\n'.join(err))
    if not count_opens:
      return out, None
    with open(counter) as f:
      return out, int(f.read())

  def check_classify(self, size, optimize, count_opens=False):
    out, opens = self.run_ok(
        'nets.classify', '--checkpoint_path=' + self.ckpt,
        '--image_size=%d' % size, '--top_k=2', '--optimize=%s' % optimize,
        self.image, count_opens=count_opens)
    lines = out.splitlines()
    self.assertEqual(lines[0], self.image)
    self.assertLen(lines, 3)
    self.assertRegex(lines[1], r'^  \d\.\d{4}  class \d$')
    return opens

  def check_export(self, size, optimize, count_opens=False):
    work = os.path.join(self.get_temp_dir(), 'export%d%s' % (size, optimize))
    frozen = os.path.join(work, 'frozen.pb')
    _, opens = self.run_ok(
        'nets.export', '--checkpoint_path=' + self.ckpt,
        '--output_dir=' + os.path.join(work, 'model'),
        '--frozen_graph=' + frozen, '--image_size=%d' % size,
        '--optimize=%s' % optimize, count_opens=count_opens)
    graph_def = tf.GraphDef()
    with open(frozen, 'rb') as f:
      graph_def.ParseFromString(f.read())
    shape = [n for n in graph_def.node if n.name == 'input'][0].attr['shape']
    self.assertEqual([d.size for d in shape.shape.dim], [-1, size, size, 3])
    return opens

  def check_eval(self, size, optimize, count_opens=False):
    out, opens = self.run_ok(
        'nets.eval_image_classifier', '--checkpoint_path=' + self.ckpt,
        '--image_dir=' + self.images, '--eval_image_size=%d' % size,
        '--batch_size=2', '--optimize=%s' % optimize, count_opens=count_opens)
    self.assertRegex(out.splitlines()[-1],
                     r'^Accuracy \d\.\d{4} \(\d/5\), Recall_5 1\.0000 \(5/5\) '
                     r'on 5 images; .* at step 3; ')
    return opens

  def check_onnx(self, size, count_opens=False):
    output = os.path.join(self.get_temp_dir(), 'model%d.onnx' % size)
    out, opens = self.run_ok(
        'nets.to_onnx', '--checkpoint_path=' + self.ckpt,
        '--output=' + output, '--image_size=%d' % size, '--overwrite',
        count_opens=count_opens)
    self.assertIn('input input [batch, %d, %d, 3]' % (size, size), out)
    self.assertIn('verified on 2 random images: logits', out)
    return opens

  def check_tflite(self, size, count_opens=False):
    output = os.path.join(self.get_temp_dir(), 'model%d.tflite' % size)
    out, opens = self.run_ok(
        'nets.to_tflite', '--checkpoint_path=' + self.ckpt,
        '--output=' + output, '--image_size=%d' % size, '--overwrite',
        count_opens=count_opens)
    self.assertIn('input input [batch, %d, %d, 3]' % (size, size), out)
    self.assertIn('verified on 2 random images: logits', out)
    return opens

  def check_benchmark(self, size, *flags, count_opens=False):
    record = os.path.join(self.get_temp_dir(), 'bench.json')
    _, opens = self.run_ok(
        'benchmark.py', '--batch_size=1', '--image_size=%d' % size,
        '--num_batches=2', '--num_warmup_batches=0', '--display_every=1',
        '--json_output=' + record, '--overwrite', *flags,
        count_opens=count_opens)
    with open(record) as f:
      record = json.load(f)
    self.assertEqual(record['config']['image_size'], size)
    return opens

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
    self.check_benchmark(75)
    self.check_benchmark(107, '--optimize')
    # Above 362 these two ended with "too large for the fixed 8x8/2 final
    # pool": the FLOP count built its own network without global pooling.
    self.check_benchmark(363, '--optimize')
    self.check_benchmark(363, '--compare=plain,optimized', '--matmul_size=64')

  def testEachToolOpensTheCheckpointOnce(self):
    size = 75
    ckpt = ('--checkpoint_path=' + self.ckpt,
            '--num_classes=%d' % NUM_CLASSES)  # The benchmark's flags.
    opens = {
        'classify': self.check_classify(size, False, count_opens=True),
        'classify --optimize': self.check_classify(size, True,
                                                   count_opens=True),
        'export': self.check_export(size, False, count_opens=True),
        'export --optimize': self.check_export(size, True, count_opens=True),
        'eval': self.check_eval(size, False, count_opens=True),
        'eval --optimize': self.check_eval(size, True, count_opens=True),
        'to_onnx': self.check_onnx(size, count_opens=True),
        'to_tflite': self.check_tflite(size, count_opens=True),
        'benchmark': self.check_benchmark(size, *ckpt, count_opens=True),
        'benchmark --optimize': self.check_benchmark(
            size, '--optimize', *ckpt, count_opens=True),
        'benchmark --compare': self.check_benchmark(
            size, '--compare=plain,optimized', '--matmul_size=64', *ckpt,
            count_opens=True),
    }
    _, opens['to_keras'] = self.run_ok(
        'nets.to_keras', '--checkpoint_path=' + self.ckpt,
        '--output=' + os.path.join(self.get_temp_dir(), 'k.weights.h5'),
        '--include_top=false', '--overwrite', count_opens=True)
    _, opens['checkpoints'] = self.run_ok(
        'nets.checkpoints', '--checkpoint_path=' + self.ckpt,
        '--image_size=107', count_opens=True)  # Its aux head's size.
    self.assertEqual(opens, dict.fromkeys(opens, 1))
