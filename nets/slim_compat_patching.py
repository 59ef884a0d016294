"""How nets.slim_compat's patches reach tf-slim's modules.

Two ways, both leaving TensorFlow's own modules alone: a function of
tf-slim replaced in every tf-slim module that holds it (`replace_everywhere`),
or a tf-slim module's name for a TensorFlow module pointed at an overlay of
it (`ModuleOverlay`).
"""

import sys
import types


class ModuleOverlay(types.ModuleType):
  """A module's attributes plus replacements (for one tf-slim module's use)."""

  def __init__(self, module, **replacements):
    super().__init__(module.__name__, module.__doc__)
    self.__dict__.update(replacements)
    self.overlaid_module = module

  def __getattr__(self, name):  # Only called for names not replaced.
    return getattr(self.overlaid_module, name)


def replace_everywhere(original, replacement):
  """Points every tf_slim module attribute bound to `original` at `replacement`."""
  for name, module in list(sys.modules.items()):
    if module is None or not (name == 'tf_slim' or name.startswith('tf_slim.')):
      continue
    for attr, value in list(vars(module).items()):
      if value is original:
        setattr(module, attr, replacement)
