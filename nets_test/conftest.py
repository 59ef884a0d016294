"""pytest configuration for the tf.test.TestCase suites."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def pytest_collection_modifyitems(items):
  # tf.test.TestCase defines a deprecated `test_session` context manager that
  # pytest would collect (and skip) as a test in every class.
  items[:] = [item for item in items if item.name != 'test_session']
