"""pytest configuration for the tf.test.TestCase suites."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# One thread per op in every test process and the tools it runs: the suite
# runs one process per core, and TensorFlow's idle intra-op threads spin,
# which costs 25-40% more CPU per small session.run (AMD EPYC, 2 cores,
# Inception V3 at 107 pixels). The inter-op pool keeps its threads: blocking
# ops (the cluster trainer's queues) need more than one.
os.environ.setdefault('TF_NUM_INTRAOP_THREADS', '1')


def pytest_collection_modifyitems(items):
  # tf.test.TestCase defines a deprecated `test_session` context manager that
  # pytest would collect (and skip) as a test in every class.
  items[:] = [item for item in items if item.name != 'test_session']
