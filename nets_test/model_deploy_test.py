"""Tests of nets.model_deploy: research/slim's model_deploy_test cases.

The cases (devices, scopes, variable counts, op names, the BatchNorm
statistics after ten steps) are slim's; the models are small ones.
"""

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import model_deploy

WORKER_GPU = '/job:worker/device:GPU:%d'
WORKER_CPU = '/job:worker/device:CPU:0'
PS_CPU = '/job:ps/task:%d/device:CPU:0'


def logistic_classifier(inputs, labels):
  """One sigmoid unit and its log loss: 2 variables, no update ops."""
  with tf.variable_scope(None, 'LogisticClassifier', [inputs, labels]):
    predictions = slim.fully_connected(inputs, 1, activation_fn=tf.sigmoid,
                                       scope='fully_connected')
    slim.losses.log_loss(predictions, labels)
    return predictions


def batch_norm_classifier(inputs, labels):
  """BatchNorm then the sigmoid unit: 5 variables, 2 update ops a clone."""
  with tf.variable_scope(None, 'BatchNormClassifier', [inputs, labels]):
    inputs = slim.batch_norm(inputs, decay=0.1, fused=True)
    predictions = slim.fully_connected(inputs, 1, activation_fn=tf.sigmoid,
                                       scope='fully_connected')
    slim.losses.log_loss(predictions, labels)
    return predictions


def training_set():
  """slim's easy set: 16 one-hot rows of 4, the hot column tells the label."""
  rng = np.random.RandomState(0)
  labels = rng.randint(0, 2, size=(16, 1)).astype(np.float32)
  inputs = np.zeros((16, 4), np.float32)
  for i in range(16):
    inputs[i, int(2 * labels[i, 0]) + rng.randint(0, 2)] = 1
  return inputs, labels


class DeploymentConfigTest(tf.test.TestCase):

  def assertDevices(self, config, clones, optimizer, inputs, variables=None):
    for i, device in enumerate(clones):
      self.assertDeviceEqual(config.clone_device(i), device)
    self.assertDeviceEqual(config.optimizer_device(), optimizer)
    self.assertDeviceEqual(config.inputs_device(), inputs)
    if variables is not None:
      self.assertDeviceEqual(config.variables_device(), variables)

  def testDefaults(self):
    config = model_deploy.DeploymentConfig()
    self.assertEqual((config.num_clones, config.clone_on_cpu,
                      config.replica_id, config.num_replicas,
                      config.num_ps_tasks), (1, False, 0, 1, 0))
    self.assertIsNone(config.caching_device())
    self.assertEqual(config.clone_scope(0), '')
    self.assertDevices(config, ['GPU:0'], 'CPU:0', 'CPU:0', 'CPU:0')

  def testCpuOnly(self):
    config = model_deploy.DeploymentConfig(clone_on_cpu=True)
    self.assertIsNone(config.caching_device())
    self.assertEqual(config.clone_scope(0), '')
    self.assertDevices(config, ['CPU:0'], 'CPU:0', 'CPU:0', 'CPU:0')

  def testMultiGpu(self):
    config = model_deploy.DeploymentConfig(num_clones=2)
    self.assertIsNone(config.caching_device())
    self.assertEqual([config.clone_scope(0), config.clone_scope(1)],
                     ['clone_0', 'clone_1'])
    self.assertDevices(config, ['GPU:0', 'GPU:1'], 'CPU:0', 'CPU:0',
                       'CPU:0')

  def testPs(self):
    config = model_deploy.DeploymentConfig(num_clones=1, num_ps_tasks=1)
    self.assertEqual(config.clone_scope(0), '')
    self.assertDevices(config, [WORKER_GPU % 0], WORKER_CPU, WORKER_CPU)
    with tf.Graph().as_default():
      with tf.device(config.variables_device()):
        a = tf.Variable(0)
        b = tf.Variable(0)
        c = tf.no_op()
        d = slim.variable('a', [], caching_device=config.caching_device())
      self.assertDeviceEqual(a.device, PS_CPU % 0)
      self.assertDeviceEqual(b.device, PS_CPU % 0)
      self.assertDeviceEqual(c.device, '')
      self.assertDeviceEqual(d.device, PS_CPU % 0)
      self.assertDeviceEqual(d.value().device, '')  # Cached where read.

  def testMultiGpuPs(self):
    config = model_deploy.DeploymentConfig(num_clones=2, num_ps_tasks=1)
    with tf.Graph().as_default():
      self.assertEqual(config.caching_device()(tf.no_op()), '')
    self.assertEqual([config.clone_scope(0), config.clone_scope(1)],
                     ['clone_0', 'clone_1'])
    self.assertDevices(config, [WORKER_GPU % 0, WORKER_GPU % 1], WORKER_CPU,
                       WORKER_CPU)

  def testReplicasPs(self):
    config = model_deploy.DeploymentConfig(num_replicas=2, num_ps_tasks=2)
    self.assertEqual(config.clone_scope(0), '')
    self.assertDevices(config, [WORKER_GPU % 0], WORKER_CPU, WORKER_CPU)

  def testReplicasMultiGpuPs(self):
    config = model_deploy.DeploymentConfig(num_replicas=2, num_clones=2,
                                           num_ps_tasks=2)
    self.assertEqual([config.clone_scope(0), config.clone_scope(1)],
                     ['clone_0', 'clone_1'])
    self.assertDevices(config, [WORKER_GPU % 0, WORKER_GPU % 1], WORKER_CPU,
                       WORKER_CPU)

  def testVariablesRoundRobinOnTheParameterServers(self):
    config = model_deploy.DeploymentConfig(num_ps_tasks=2)
    with tf.Graph().as_default():
      with tf.device(config.variables_device()):
        a = tf.Variable(0)
        b = tf.Variable(0)
        c = tf.no_op()
        d = slim.variable('a', [], caching_device=config.caching_device())
      self.assertDeviceEqual(a.device, PS_CPU % 0)
      self.assertDeviceEqual(b.device, PS_CPU % 1)
      self.assertDeviceEqual(c.device, '')
      self.assertDeviceEqual(d.device, PS_CPU % 0)
      self.assertDeviceEqual(d.value().device, '')

  def testBadArguments(self):
    for kwargs, message in [
        (dict(num_replicas=2), 'num_ps_tasks must be positive'),
        (dict(num_ps_tasks=1, worker_job_name=''), 'worker_job_name'),
        (dict(num_ps_tasks=1, ps_job_name=''), 'ps_job_name'),
        (dict(replica_id=1), 'replica_id must be less than num_replicas=1'),
    ]:
      with self.assertRaisesRegex(ValueError, message):
        model_deploy.DeploymentConfig(**kwargs)
    config = model_deploy.DeploymentConfig(num_clones=2)
    with self.assertRaisesRegex(ValueError, r'clone_index must be in \[0, '
                                'num_clones=2\\), got 2'):
      config.clone_device(2)
    with self.assertRaisesRegex(ValueError, 'clone_index'):
      config.clone_scope(2)


class ClonesTestCase(tf.test.TestCase):
  """Each test runs in a new default graph (slim's ran each in its own)."""

  def run(self, result=None):
    with tf.Graph().as_default():
      return super().run(result)

  @property
  def args(self):
    """The training set as constants of the default graph."""
    inputs, labels = training_set()
    return tf.constant(inputs), tf.constant(labels)

  def clones(self, model_fn, **config):
    self.assertEqual(slim.get_variables(), [])
    return model_deploy.create_clones(
        model_deploy.DeploymentConfig(**config), model_fn, self.args)


class CreateClonesTest(ClonesTestCase):

  def assertVariablesOn(self, device, count):
    self.assertLen(slim.get_variables(), count)
    for v in slim.get_variables():
      self.assertDeviceEqual(v.device, device)
      if v.op.type != 'VarHandleOp':  # A resource variable's reads are
        self.assertDeviceEqual(v.value().device, device)  # placed by use.

  def testLogisticClassifier(self):
    [clone] = self.clones(logistic_classifier)
    self.assertVariablesOn('CPU:0', 2)
    self.assertEqual(clone.outputs.op.name,
                     'LogisticClassifier/fully_connected/Sigmoid')
    self.assertEqual(clone.scope, '')
    self.assertDeviceEqual(clone.device, 'GPU:0')
    self.assertLen(slim.losses.get_losses(), 1)
    self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])

  def testSingleClone(self):
    [clone] = self.clones(batch_norm_classifier)
    self.assertVariablesOn('CPU:0', 5)
    self.assertEqual(clone.outputs.op.name,
                     'BatchNormClassifier/fully_connected/Sigmoid')
    self.assertEqual(clone.scope, '')
    self.assertDeviceEqual(clone.device, 'GPU:0')
    self.assertLen(slim.losses.get_losses(), 1)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)

  def testFourClonesShareTheVariables(self):
    clones = self.clones(batch_norm_classifier, num_clones=4)
    self.assertVariablesOn('CPU:0', 5)
    self.assertLen(clones, 4)
    for i, clone in enumerate(clones):
      self.assertEqual(
          clone.outputs.op.name,
          'clone_%d/BatchNormClassifier/fully_connected/Sigmoid' % i)
      self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS, clone.scope),
                     2)
      self.assertEqual(clone.scope, 'clone_%d/' % i)
      self.assertDeviceEqual(clone.device, 'GPU:%d' % i)

  def testOneCloneWithPs(self):
    [clone] = self.clones(batch_norm_classifier, num_ps_tasks=1)
    self.assertEqual(clone.outputs.op.name,
                     'BatchNormClassifier/fully_connected/Sigmoid')
    self.assertDeviceEqual(clone.device, WORKER_GPU % 0)
    self.assertEqual(clone.scope, '')
    self.assertVariablesOn(PS_CPU % 0, 5)

  def testRefVariablesAsSlimHadThem(self):
    with tf.variable_scope(tf.get_variable_scope(), use_resource=False):
      self.clones(batch_norm_classifier, num_clones=2)
    self.assertEqual({v.op.type for v in slim.get_variables()},
                     {'VariableV2'})
    self.assertVariablesOn('CPU:0', 5)

  def testTwoClonesWithTwoPs(self):
    clones = self.clones(batch_norm_classifier, num_clones=2, num_ps_tasks=2)
    self.assertLen(slim.get_variables(), 5)
    for i, v in enumerate(slim.get_variables()):
      self.assertDeviceEqual(v.device, PS_CPU % (i % 2))
    self.assertLen(clones, 2)
    for i, clone in enumerate(clones):
      self.assertEqual(
          clone.outputs.op.name,
          'clone_%d/BatchNormClassifier/fully_connected/Sigmoid' % i)
      self.assertEqual(clone.scope, 'clone_%d/' % i)
      self.assertDeviceEqual(clone.device, WORKER_GPU % i)

  def testArgsAndKwargsReachModelFn(self):
    calls = []
    config = model_deploy.DeploymentConfig(num_clones=2)
    clones = model_deploy.create_clones(
        config, lambda *a, **k: calls.append((a, k)) or len(calls), [1],
        {'x': 2})
    self.assertEqual(calls, [((1,), {'x': 2})] * 2)
    self.assertEqual([c.outputs for c in clones], [1, 2])


class OptimizeClonesTest(ClonesTestCase):

  def optimize(self, clones):
    optimizer = tf.train.GradientDescentOptimizer(learning_rate=1.0)
    total_loss, grads_and_vars = model_deploy.optimize_clones(clones,
                                                              optimizer)
    self.assertLen(grads_and_vars, len(tf.trainable_variables()))
    self.assertEqual(total_loss.op.name, 'total_loss')
    return total_loss, grads_and_vars

  def assertGradientsOn(self, grads_and_vars, grad_device, var_device):
    for g, v in grads_and_vars:
      self.assertDeviceEqual(g.device, grad_device)
      self.assertDeviceEqual(v.device, var_device)

  def testLogisticClassifier(self):
    clones = self.clones(logistic_classifier)
    self.assertLen(slim.get_variables(), 2)
    self.assertEqual(tf.get_collection(tf.GraphKeys.UPDATE_OPS), [])
    self.assertGradientsOn(self.optimize(clones)[1], 'GPU:0', 'CPU:0')

  def testSingleClone(self):
    clones = self.clones(batch_norm_classifier)
    self.assertLen(slim.get_variables(), 5)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)
    self.assertGradientsOn(self.optimize(clones)[1], 'GPU:0', 'CPU:0')

  def testFourClones(self):
    clones = self.clones(batch_norm_classifier, num_clones=4)
    self.assertLen(slim.get_variables(), 5)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 8)
    # The sums of the clones' gradients are built on no device of theirs.
    self.assertGradientsOn(self.optimize(clones)[1], '', 'CPU:0')

  def testFourClonesOnCpu(self):
    clones = self.clones(batch_norm_classifier, num_clones=4,
                         clone_on_cpu=True)
    self.assertLen(slim.get_variables(), 5)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 8)
    self.assertGradientsOn(self.optimize(clones)[1], '', 'CPU:0')

  def testOneCloneWithPs(self):
    clones = self.clones(batch_norm_classifier, num_ps_tasks=1)
    self.assertLen(slim.get_variables(), 5)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)
    self.assertGradientsOn(self.optimize(clones)[1], WORKER_GPU % 0,
                           PS_CPU % 0)

  def testKeywordArgumentsReachComputeGradients(self):
    """slim's trainer passes var_list=variables_to_train."""
    clones = self.clones(batch_norm_classifier, num_clones=2)
    weights = slim.get_variables_by_name('weights')
    _, grads_and_vars = model_deploy.optimize_clones(
        clones, tf.train.GradientDescentOptimizer(1.0), var_list=weights)
    self.assertEqual([v for _, v in grads_and_vars], weights)
    self.assertEqual(grads_and_vars[0][0].op.name,
                     'BatchNormClassifier/fully_connected/weights/sum_grads')

  def testLossesScaledGradientsSummedRegularizationOnce(self):
    """2 clones of a regularized layer: the mean of the losses, decay once."""
    weight_decay = 0.5

    def model_fn(inputs, labels):
      predictions = slim.fully_connected(
          inputs, 1, activation_fn=None, scope='linear',
          weights_regularizer=slim.l2_regularizer(weight_decay))
      tf.losses.mean_squared_error(labels, predictions)

    clones = self.clones(model_fn, num_clones=2, clone_on_cpu=True)
    total_loss, grads_and_vars = self.optimize(clones)
    inputs, labels = training_set()
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      weights, biases = sess.run(tf.trainable_variables())
      loss, grads = sess.run([total_loss, [g for g, _ in grads_and_vars]])
    errors = inputs.dot(weights) + biases - labels
    expected_loss = (errors ** 2).mean() + (
        weight_decay * 0.5 * (weights ** 2).sum())
    self.assertAllClose(loss, expected_loss, rtol=1e-5)
    expected_weights_grad = (2 * inputs.T.dot(errors) / len(inputs) +
                             weight_decay * weights)
    self.assertAllClose(grads[0], expected_weights_grad, rtol=1e-5)
    self.assertAllClose(grads[1], [2 * errors.mean()], rtol=1e-5)
    graph = tf.get_default_graph()
    self.assertEqual(graph.get_tensor_by_name(
        'clone_1/scaled_clone_loss:0').op.inputs[1].op.type, 'Const')
    graph.get_operation_by_name('clone_0/regularization_loss')
    self.assertFalse([op.name for op in graph.get_operations()
                      if op.name.startswith('clone_1/') and
                      'regularization' in op.name])


class DeployTest(ClonesTestCase):

  def testLocalTrainOp(self):
    optimizer = tf.train.GradientDescentOptimizer(learning_rate=1.0)
    self.assertEqual(slim.get_variables(), [])
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True),
        batch_norm_classifier, self.args, optimizer=optimizer)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 4)
    self.assertLen(model.clones, 2)
    self.assertEqual(model.total_loss.op.name, 'total_loss')
    self.assertEqual(model.summary_op.op.name, 'summary_op/summary_op')
    self.assertEqual(model.train_op.op.name, 'train_op')
    moving_mean = slim.get_variables_by_name('moving_mean')[0]
    moving_variance = slim.get_variables_by_name('moving_variance')[0]
    with self.session() as sess:
      sess.run(tf.global_variables_initializer())
      initial_loss = sess.run(model.total_loss)
      mean, variance = sess.run([moving_mean, moving_variance])
      self.assertAllClose(mean, [0.0] * 4)
      self.assertAllClose(variance, [1.0] * 4)
      for _ in range(10):
        sess.run(model.train_op)
      final_loss = sess.run(model.total_loss)
      self.assertLess(final_loss, initial_loss / 5.0)
      mean, variance = sess.run([moving_mean, moving_variance])
      self.assertEqual(sess.run(tf.train.get_global_step()), 10)
    # decay=0.1: the statistics are the batch's (the first clone's update
    # ops only), the variance unbiased.
    inputs, _ = training_set()
    self.assertAllClose(mean, [0.125, 0.25, 0.375, 0.25])
    self.assertAllClose(mean, inputs.mean(axis=0))
    self.assertAllClose(variance, np.array(
        [0.109375, 0.1875, 0.234375, 0.1875]) * 16 / 15)
    self.assertAllClose(variance, inputs.var(axis=0, ddof=1))

  def regularized_model_fn(self):
    inputs = tf.constant(1.0, shape=(10, 20), dtype=tf.float32)
    slim.fully_connected(inputs, 30,
                         weights_regularizer=slim.l2_regularizer(0.001))

  def testNoSummariesOnGpu(self):
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(num_clones=2),
        self.regularized_model_fn,
        optimizer=tf.train.GradientDescentOptimizer(1.0))
    self.assertTrue(model.summary_op.op.inputs)
    for summary in model.summary_op.op.inputs:
      self.assertEqual(summary.device, '/device:CPU:0')

  def testNoSummariesOnGpuForEvals(self):
    model = model_deploy.deploy(model_deploy.DeploymentConfig(num_clones=2),
                                self.regularized_model_fn)
    self.assertIsNone(model.train_op)
    self.assertEqual(model.total_loss.op.name, 'total_loss')
    self.assertTrue(model.summary_op.op.inputs)
    for summary in model.summary_op.op.inputs:
      self.assertEqual(summary.device, '/device:CPU:0')

  def testSummarizeGradients(self):
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(clone_on_cpu=True),
        self.regularized_model_fn,
        optimizer=tf.train.GradientDescentOptimizer(1.0),
        summarize_gradients=True)
    summaries = {(op.type, op.name) for op in tf.get_default_graph()
                 .get_operations() if op.outputs and
                 op.outputs[0] in model.summary_op.op.inputs}
    self.assertIn(('HistogramSummary', 'fully_connected/weights/gradient'),
                  summaries)
    self.assertIn(('ScalarSummary', 'fully_connected/weights/gradient_norm'),
                  summaries)


if __name__ == '__main__':
  tf.test.main()
