"""Helpers shared by the tests: build the network, write slim-style
checkpoints and TFRecords, read them back through slim's data pipeline, run
the tools as a user's shell would (in processes forked from a warm
interpreter, `warm_tools`, unless the test is about the start-up)."""

import atexit
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils
from nets import inception_v3
from nets import nets_factory
from nets import preprocessing
from nets_test import warm_tools

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Long enough for a tool that builds and runs the full network on 2 busy cores.
SUBPROCESS_TIMEOUT_S = 600


def user_env(**overrides):
  """os.environ as a user's shell has it: TF_CPP_MIN_LOG_LEVEL unset.

  The tools must keep TensorFlow's C++ start-up lines off stderr themselves.
  """
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  env.update(overrides)
  return env


def run_python(args, env=None, timeout=SUBPROCESS_TIMEOUT_S, **kwargs):
  """`python args` in the repository root; returns the CompletedProcess."""
  return subprocess.run([sys.executable] + list(args), cwd=REPO_ROOT,
                        env=user_env() if env is None else env,
                        capture_output=True, text=True, timeout=timeout,
                        **kwargs)


_WARM_SERVER = []


def _warm_server():
  """This test process's warm_tools.Server, started on first use."""
  if not _WARM_SERVER:
    _WARM_SERVER.append(warm_tools.Server(REPO_ROOT, user_env()))
    atexit.register(_WARM_SERVER[0].close)
  return _WARM_SERVER[0]


def tool_process(tool, *args, prelude='', env=None, fresh=False,
                 timeout=SUBPROCESS_TIMEOUT_S):
  """Runs a tool as a user would; returns the CompletedProcess (text).

  Args:
    tool: a module ('nets.classify') or a script in the root ('benchmark.py').
    *args: its command-line arguments.
    prelude: Python run first in the same process (e.g. to hide a package).
    env: the environment; default `user_env()`. Given, the tool runs in a
      new interpreter (the environment may matter at import).
    fresh: a new interpreter even without `env`, for tests of the start-up
      (TensorFlow's import and its native lines); otherwise a fork of a warm
      one (`warm_tools`: the same run without repeating the import).
    timeout: seconds.
  """
  if env is None and not fresh:
    return _warm_server().run(tool, args, prelude, timeout)
  if prelude:
    run = ('runpy.run_path(%r, run_name="__main__")' % tool
           if tool.endswith('.py') else
           'runpy.run_module(%r, run_name="__main__", alter_sys=True)' % tool)
    command = ['-c', 'import runpy, sys\n%s\nsys.argv[1:] = %r\n%s' % (
        prelude, list(args), run)]
  elif tool.endswith('.py'):
    command = [tool] + list(args)
  else:
    command = ['-m', tool] + list(args)
  return run_python(command, env=env, timeout=timeout)


def start_tool(tool, *args, prelude='', fresh=False):
  """A tool started as a user's shell starts it, stdout and stderr piped.

  Returns a subprocess.Popen (text) when `fresh` (a new interpreter, for
  tests of the start-up), else a warm_tools.StartedTool that acts like one.
  prelude: Python run first in the warm fork (e.g. to make it stop itself
  at a chosen point); not with `fresh`.
  """
  if not fresh:
    return _warm_server().start(tool, args, prelude)
  if prelude:
    raise ValueError('start_tool: prelude is for warm forks, not fresh=True')
  command = [tool] if tool.endswith('.py') else ['-m', tool]
  return subprocess.Popen([sys.executable] + command + list(args),
                          cwd=REPO_ROOT, env=user_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_tool(tool, *args, **kwargs):
  """tool_process's (exit status, stdout, non-empty stderr lines)."""
  proc = tool_process(tool, *args, **kwargs)
  stderr = [line for line in proc.stderr.splitlines() if line.strip()]
  return proc.returncode, proc.stdout, stderr


def in_small_filesystem(directory, command, size='256k', read_only=False):
  """`command` (a list) run with a fresh tmpfs of `size` mounted on `directory`.

  The mount lives in a mount namespace of its own (`small_disk`; as a user
  who is not root, in a user namespace too, as `unshare -rm`), so it
  vanishes with the command: a full disk or a read-only folder on demand.
  See `tmpfs_problem`.
  """
  option = '--read_only' if read_only else '--size=' + size
  return [sys.executable, os.path.join(REPO_ROOT, 'nets_test', 'small_disk.py'),
          option, directory] + list(command)


_TMPFS_PROBE = []


def tmpfs_problem():
  """None if `in_small_filesystem` and `run_tool_on_small_disk` work here,
  else why not (probed once, in a new interpreter: their `small_disk`)."""
  if not _TMPFS_PROBE:
    probe = os.path.join('/tmp', 'nets-tmpfs-probe-%d' % os.getpid())
    os.makedirs(probe, exist_ok=True)
    command = in_small_filesystem(probe, ['true'])
    try:
      result = subprocess.run(command, capture_output=True, text=True,
                              timeout=60)
      problem = None if result.returncode == 0 else (
          'small_disk.py exited %d: %s' % (result.returncode,
                                           result.stderr.strip()[-300:]))
    except (OSError, subprocess.SubprocessError) as e:
      problem = 'small_disk.py: %s' % e
    finally:
      os.rmdir(probe)
    _TMPFS_PROBE.append(problem)
  return _TMPFS_PROBE[0]


def needs_tmpfs(test):
  """Skips `test` (a method or class), saying why, where no tmpfs can be mounted."""
  problem = tmpfs_problem()
  return unittest.skipIf(
      problem is not None,
      'needs a tmpfs mounted in a mount namespace (a full disk on demand): '
      '%s' % problem)(test)


def build_classifier(images, num_classes=1001, is_training=False, **kwargs):
  """inception_v3 under inception_v3_arg_scope()'s defaults, weight decay too."""
  network_fn = nets_factory.get_network_fn(
      'inception_v3', num_classes, inception_utils.WEIGHT_DECAY, is_training)
  return network_fn(images, **kwargs)


def random_values(variables, seed=0):
  """Non-trivial values for `variables`: N(0, 0.05) weights/betas/means, variances in [0.5, 1.5]."""
  return _random_values([(v.op.name, v.shape.as_list()) for v in variables],
                        seed)


def _random_values(names_and_shapes, seed):
  """random_values for (name, shape) pairs, in their order."""
  rng = np.random.RandomState(seed)
  values = {}
  for name, shape in names_and_shapes:
    if name.endswith('moving_variance'):
      values[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif name.endswith('gamma'):
      values[name] = rng.uniform(0.8, 1.2, shape).astype(np.float32)
    else:
      values[name] = (0.05 * rng.randn(*shape)).astype(np.float32)
  return values


def assign(sess, variables, values):
  """Initializes `variables` to `values` ({name: array}) in one session.run.

  One run for all of them: a `Variable.load` per variable costs a run (and a
  new callable) each, about 0.1 s, so 388 of them take most of a minute.
  """
  variables = list(variables)
  sess.run([v.initializer for v in variables],
           {v.initializer.inputs[1]: values[v.op.name] for v in variables})


_BUILT_VARIABLES = []  # [(name, shape)] of one build: 299 pixels, 1001 classes.


def model_variables(num_classes=1001, image_size=299):
  """[(name, shape)] of the classifier's variables, in creation order.

  The network is built once per test process (building it costs more than
  writing its checkpoint); other sizes and class counts differ only in the
  heads' class dimension and the aux conv's kernel (and name), shrunk to
  the pooled Mixed_6e map as inception_v3 shrinks it.
  """
  if not _BUILT_VARIABLES:
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [1, 299, 299, 3])
      build_classifier(images, num_classes=1001)
      _BUILT_VARIABLES.extend((v.op.name, v.shape.as_list())
                              for v in tf.global_variables())
  aux_map = (inception_v3.feature_map_size(image_size, 'Mixed_6e') - 5) // 3 + 1
  aux_kernel = min(aux_map, 5)
  variables = []
  for name, shape in _BUILT_VARIABLES:
    if name.startswith(inception_v3.HEAD_SCOPES) and shape[-1] == 1001:
      shape = shape[:-1] + [num_classes]
    aux_conv = inception_v3.AUX_LOGITS_SCOPE + '/Conv2d_2a_5x5/'
    if name.startswith(aux_conv):  # Named by its kernel, as built.
      name = name.replace('5x5', '%dx%d' % (aux_kernel, aux_kernel))
      if name.endswith('/weights'):
        shape = [aux_kernel, aux_kernel] + shape[2:]
    variables.append((name, shape))
  return variables


def random_model_values(num_classes=1001, image_size=299, seed=0):
  """random_values of the classifier's variables, without building it again."""
  return _random_values(model_variables(num_classes, image_size), seed)


def save_tensors(path, values, version='V2'):
  """Writes {name: array} as a checkpoint at `path`, as tf.train.Saver does.

  The same files (V1: one file; V2: `.index` + `.data-*`) and the directory's
  `checkpoint` state file, from the save op a Saver builds, without building
  the variables first.
  """
  names = list(values)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with tf.Graph().as_default():
    feeds = [tf.placeholder(tf.as_dtype(np.asarray(values[n]).dtype))
             for n in names]
    slices = [''] * len(names)
    if version == 'V1':
      save = tf.raw_ops.SaveSlices(filename=path, tensor_names=names,
                                   shapes_and_slices=slices, data=feeds)
    elif version == 'V2':
      save = tf.raw_ops.SaveV2(prefix=path, tensor_names=names,
                               shape_and_slices=slices, tensors=feeds)
    else:
      raise ValueError('version must be V1 or V2, got %r' % (version,))
    with tf.Session() as sess:
      sess.run(save, {f: values[n] for f, n in zip(feeds, names)})
  tf.train.update_checkpoint_state(os.path.dirname(os.path.abspath(path)),
                                   path)


def write_checkpoint(path, num_classes=1001, image_size=299, version='V2',
                     seed=0, extra_variables=None, overrides=None):
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
    overrides: optional {variable name: np.ndarray} replacing the random
      values of those variables (e.g. NaN weights).

  Returns:
    {variable name: np.ndarray} of everything written.
  """
  values = random_model_values(num_classes, image_size, seed)
  values.update(overrides or {})
  values.update(extra_variables or {})
  save_tensors(path, values, version)
  return values


def write_he_checkpoint(path):
  """A 1001-class checkpoint whose random trunk passes its input on.

  He-scaled random weights, BatchNorm the identity in inference mode
  (moving mean 0, variance 1, beta 0, gamma 1): `write_checkpoint`'s plain
  random values wash the input out over the 94 layers.
  """
  values = write_checkpoint(path)
  rng = np.random.RandomState(1)
  overrides = {}
  for name, value in values.items():
    if name.endswith('/weights'):
      fan_in = np.prod(value.shape[:-1])
      overrides[name] = (rng.randn(*value.shape) *
                         np.sqrt(2.0 / fan_in)).astype(np.float32)
    elif name.endswith(('moving_mean', 'beta')):
      overrides[name] = np.zeros_like(value)
    elif name.endswith(('moving_variance', 'gamma')):
      overrides[name] = np.ones_like(value)
  return write_checkpoint(path, overrides=overrides)


def write_truncated_copy(source, prefix):
  """Copies V2 checkpoint `source` to `prefix` with its data cut in half."""
  os.makedirs(os.path.dirname(prefix))
  shutil.copy(source + '.index', prefix + '.index')
  data = '.data-00000-of-00001'
  with open(source + data, 'rb') as f:
    content = f.read()
  with open(prefix + data, 'wb') as f:
    f.write(content[:len(content) // 2])


def read_checkpoint(path):
  """{tensor name: np.ndarray} of everything a checkpoint holds."""
  reader = tf.train.load_checkpoint(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


_SHARED_GRAPHS = {}


def shared_graph(key, build):
  """(graph, build()'s result), build() run in a graph of its own once per
  test process and key.

  For tests that only read a network (names, shapes, end points, variables,
  collections): a build of Inception V3 costs ~4 CPU-s at any image size.
  `key` says what build() makes, e.g. ('inception_v3', 1000, (5, 299, 299,
  3)). The graph is finalized: a test cannot add to it (an op a session
  needs, such as an initializer, is made by build()).
  """
  if key not in _SHARED_GRAPHS:
    graph = tf.Graph()
    with graph.as_default():
      built = build()
    graph.finalize()
    _SHARED_GRAPHS[key] = graph, built
  return _SHARED_GRAPHS[key]


def reference_graph(num_classes, height, width):
  """The slim classifier (no aux head) for inputs of height x width, with
  the ops a reference run needs; a `shared_graph`, one per shape.

  Returns:
    A dict: graph, inputs (float32 [None, height, width, 3]), logits,
    end_points, saver (of every variable), encoded (a string placeholder)
    and decoded (it through `nets.preprocessing`, height x width).
  """

  def build():
    inputs = tf.placeholder(tf.float32, [None, height, width, 3])
    logits, end_points = build_classifier(inputs, num_classes,
                                          create_aux_logits=False)
    encoded = tf.placeholder(tf.string, [])
    return dict(inputs=inputs, logits=logits, end_points=end_points,
                saver=tf.train.Saver(tf.global_variables()), encoded=encoded,
                decoded=preprocessing.decode_and_preprocess(encoded, height,
                                                            width))

  graph, ops = shared_graph(('reference', num_classes, height, width), build)
  return dict(ops, graph=graph)


def restored_outputs(checkpoint_path, images, num_classes=1001,
                     end_points=('Predictions',)):
  """[logits, *end_points] of the slim graph restored with a plain Saver.

  No nets.checkpoints or nets tools involved: the reference the tools'
  outputs are compared with.
  """
  model = reference_graph(num_classes, *images.shape[1:3])
  with tf.Session(graph=model['graph']) as sess:
    model['saver'].restore(sess, checkpoint_path)
    return sess.run([model['logits']] +
                    [model['end_points'][name] for name in end_points],
                    {model['inputs']: images})


def run_tool_on_small_disk(tool, directory, *args, size='2m',
                           read_only=False, full=False, prelude='', copy=None):
  """run_tool with a fresh tmpfs of `size` (or read-only) on `directory`.

  In a fork of the warm interpreter (`warm_tools`), as run_tool. What the
  tmpfs holds once the tool has exited (it vanishes with the run) is
  listed, one name a line, in the file `directory + '.after'`.

  full: fill the tmpfs first (a file `.filler` takes all of it), so that
    the tool's first write that needs space fails.
  prelude: as run_tool's.
  copy: (a folder in the tmpfs, a path outside it): the folder is copied
    out after the run.
  """
  spec = dict(directory=directory, size=size, read_only=read_only, full=full,
              after=directory + '.after', copy=copy)
  proc = _warm_server().run(tool, args, prelude, SUBPROCESS_TIMEOUT_S,
                            disk=spec)
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
  model = reference_graph(num_classes, size, size)
  with model['graph'].as_default(), tf.Session() as sess:
    assign(sess, tf.global_variables(), values)
    from_images = sess.run(model['logits'], {model['inputs']: images})
    from_bytes = None
    if encoded_images:
      decoded_batch = [sess.run(model['decoded'], {model['encoded']: e})
                       for e in encoded_images]
      from_bytes = sess.run(model['logits'], {model['inputs']: decoded_batch})
  return from_images, from_bytes


def encode_images(images, image_format):
  """PNG or JPEG (quality 95) bytes of uint8 [h, w, c] arrays, encoded by TF."""
  with tf.Graph().as_default():
    image = tf.placeholder(tf.uint8, [None, None, None])
    if image_format == 'png':
      encoded = tf.io.encode_png(image)
    else:
      encoded = tf.io.encode_jpeg(image, quality=95)
    with tf.Session() as sess:
      return [sess.run(encoded, {image: value}) for value in images]


def write_tfrecord(path, examples):
  """Writes tf.train.Examples to one TFRecord file."""
  with tf.io.TFRecordWriter(path) as writer:
    for example in examples:
      writer.write(example.SerializeToString())


def read_items(dataset, items, count, **provider_kwargs):
  """`count` tuples of `items` read through slim's DatasetDataProvider.

  Args:
    dataset: a slim Dataset.
    items: item names, e.g. ['image', 'label'].
    count: how many examples to read.
    **provider_kwargs: DatasetDataProvider arguments; default one reader,
      no shuffling.

  Returns:
    A list of `count` tuples of NumPy values, in the order read.
  """
  provider_kwargs = dict(dict(num_readers=1, shuffle=False), **provider_kwargs)
  with tf.Graph().as_default():
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, **provider_kwargs)
    tensors = provider.get(items)
    with tf.Session() as sess:
      with slim.queues.QueueRunners(sess):
        return [tuple(sess.run(tensors)) for _ in range(count)]


def tiny_classifier(images, num_classes):
  """Two slim.conv2d layers (4 3x3/2 filters, then a VALID conv to logits)."""
  net = slim.conv2d(images, 4, [3, 3], stride=2, scope='conv1')
  net = slim.conv2d(net, num_classes, net.shape[1:3], padding='VALID',
                    activation_fn=None, scope='logits')
  return tf.squeeze(net, [1, 2], name='logits/squeeze')


def summary_values(logdir):
  """{tag: [simple values]} of every summary in the event files of logdir."""
  values = {}
  for path in tf.io.gfile.glob(os.path.join(logdir, 'events.out.tfevents.*')):
    for event in tf.train.summary_iterator(path):
      for value in event.summary.value:
        values.setdefault(value.tag, []).append(value.simple_value)
  return values
