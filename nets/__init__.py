"""TF-slim's Inception V3 for graph-mode TensorFlow (see README.md).

Importing the package imports no TensorFlow and changes nothing: the
submodules load on first use, so `import nets` then `nets.inception_v3` or
`nets.inception.inception_v3(...)` works as with slim's `nets` package.
"""

import importlib
import importlib.util


def __getattr__(name):
  """Imports the submodule `nets.<name>` on first access."""
  if not name.startswith('_') and importlib.util.find_spec(
      __name__ + '.' + name) is not None:
    return importlib.import_module(__name__ + '.' + name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))
