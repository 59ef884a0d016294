"""Class indices and names of the released slim ImageNet checkpoints.

The released checkpoints have 1001 outputs: 0 is "background", 1..1000 are
the 1000 ImageNet classes in the usual (synset-sorted) order. So output i of a
1001-class model is ImageNet index i - 1; a 1000-class model's output i is
ImageNet index i.
"""

import functools
import importlib.resources
import re

BACKGROUND = 'background'
IMAGENET_CLASSES = 1000
# The names of the 1000 classes shipped with the package (relative to it).
SYNSETS_FILE = 'data/imagenet_synsets.txt'

_SLIM_LINE = re.compile(r'^(\d+):(.*)$')


class LabelsError(ValueError):
  """A labels file that cannot be read or does not fit the model."""


def has_background(num_classes):
  """True for the 1001-class layout (0 = background)."""
  return num_classes == IMAGENET_CLASSES + 1


def to_imagenet_index(index, num_classes=IMAGENET_CLASSES + 1):
  """ImageNet index (0..999) of model output `index`, or None for background.

  Args:
    index: output index of the model.
    num_classes: the model's number of outputs (1001 or 1000; any other
      count is returned unchanged).
  """
  if has_background(num_classes):
    return None if index == 0 else index - 1
  return index


def _names(lines, path):
  """Names from plain lines, or from slim's `index:name` lines in order."""
  matches = [_SLIM_LINE.match(line) for line in lines]
  if not lines or not all(matches):
    for number, line in enumerate(lines, 1):
      if not line.strip():
        raise LabelsError('Labels file %s: line %d is empty.' % (path, number))
    return [line.strip() for line in lines]
  by_index = {int(m.group(1)): m.group(2).strip() for m in matches}
  if sorted(by_index) != list(range(len(lines))):
    raise LabelsError('Labels file %s: the `index:name` lines do not number '
                      '0..%d once each.' % (path, len(lines) - 1))
  return [by_index[i] for i in range(len(lines))]


def read_labels(path, num_classes):
  """Reads class names, one per line, and fits them to the model's outputs.

  Accepts 1000 names (ImageNet order) or 1001 (with "background" first), as
  plain lines or in slim's `0:background` format. A 1000-name file is given a
  "background" entry for a 1001-class model; a 1001-name file loses its first
  entry for a 1000-class model. Any other count must equal num_classes.

  Args:
    path: the labels file.
    num_classes: the model's number of outputs.

  Returns:
    A list of num_classes names, index = model output.

  Raises:
    LabelsError: if the file cannot be read or its count does not fit.
  """
  try:
    with open(path, encoding='utf-8') as f:
      lines = f.read().splitlines()
  except (OSError, UnicodeDecodeError) as e:
    raise LabelsError('Cannot read labels file %s: %s' % (path, e)) from e
  while lines and not lines[-1].strip():
    lines.pop()
  names = _names(lines, path)
  if len(names) == num_classes:
    return names
  if len(names) == IMAGENET_CLASSES and has_background(num_classes):
    return [BACKGROUND] + names
  if len(names) == IMAGENET_CLASSES + 1 and num_classes == IMAGENET_CLASSES:
    return names[1:]
  raise LabelsError('Labels file %s has %d names; the model has %d classes '
                    '(expected %s names).' % (
                        path, len(names), num_classes,
                        '1000 or 1001' if num_classes in (1000, 1001)
                        else num_classes))


@functools.lru_cache(maxsize=None)
def synsets_and_names():
  """The shipped ((synset, names), ...) of the 1000 classes, in label order."""
  text = importlib.resources.files('nets').joinpath(SYNSETS_FILE).read_text(
      encoding='utf-8')
  return tuple(tuple(line.split('\t')) for line in text.splitlines()
               if line and not line.startswith('#'))


def imagenet_names(num_classes):
  """The ImageNet class names for a 1001- or 1000-class model, else None.

  From the names the package ships (no download), as
  `nets.imagenet.create_readable_names_for_imagenet_labels` has them:
  index 0 of a 1001-class model is "background".
  """
  if num_classes not in (IMAGENET_CLASSES, IMAGENET_CLASSES + 1):
    return None
  names = [names for _, names in synsets_and_names()]
  return [BACKGROUND] + names if has_background(num_classes) else names


def default_name(index, num_classes):
  """The name of output `index` without a labels file: background or None."""
  if has_background(num_classes) and index == 0:
    return BACKGROUND
  return None
