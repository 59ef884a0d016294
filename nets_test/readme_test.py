"""The README's commands pass only flags their tools define.

Every command in README.md that runs one of the project's tools
(`python -m nets.<tool>` or `python benchmark.py`, through `python`,
`python3` or `.venv/bin/python`), in a fenced block or an inline code span,
is read as a shell line: continuation lines joined, the block's `NAME="..."`
variables expanded. Each `--flag` it passes (absl's `--noflag` for a boolean
one) must be among the flags the tool lists in its own `--helpfull`, so a
renamed or removed flag fails here instead of in a reader's terminal.
"""

import collections
import os
import re
import shlex
import unittest

from nets_test import testing

README = os.path.join(testing.REPO_ROOT, 'README.md')

# Where a line runs a tool: the python (any path) then the module or script.
_INVOCATION = re.compile(
    r'(?:^|[\s;&|(])(?:\S*/)?python3?\s+(?:-m\s+nets\.\w+|benchmark\.py)')
_PYTHON = re.compile(r'^(?:\S*/)?python3?$')
_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?([A-Za-z_]\w*)=(.*)$')
_FENCE = re.compile(r'^```.*?\n(.*?)^```', re.M | re.S)
# A flag's entry in --helpfull: two spaces, its name (with [no] if boolean),
# a colon; its help text continues on lines indented further.
_HELP_FLAG = re.compile(r'^  (?:-\S+,)?--(\[no\])?(\w+):', re.M)

Command = collections.namedtuple('Command', 'tool args text')


def _words(line):
  """Shell words and operators of `line`; comments dropped."""
  lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
  lexer.whitespace_split = True
  return list(lexer)


def _commands_in_line(line):
  """The tool runs in one shell line: [Command]."""
  if not _INVOCATION.search(line):
    return []
  words, found = _words(line), []
  for i, word in enumerate(words[:-1]):
    if not _PYTHON.match(word):
      continue
    if words[i + 1] == 'benchmark.py':
      tool, start = 'benchmark.py', i + 2
    elif (words[i + 1] == '-m' and i + 2 < len(words) and
          words[i + 2].startswith('nets.')):
      tool, start = words[i + 2], i + 3
    else:
      continue
    args = []
    for arg in words[start:]:
      if set(arg) <= set('();<>|&'):  # the command ends at an operator
        break
      args.append(arg)
    found.append(Command(tool, args, line.strip()))
  return found


def commands_in_block(block):
  """The tool runs in a shell block, its `NAME="..."` variables expanded."""
  variables, found = {}, []

  def expand(text):
    return re.sub(r'\$\{?([A-Za-z_]\w*)\}?',
                  lambda m: variables.get(m.group(1), m.group(0)), text)

  for line in block.replace('\\\n', ' ').split('\n'):
    line = expand(line)
    assignment = _ASSIGNMENT.match(line)
    if assignment:
      try:
        value = ' '.join(_words(assignment.group(2)))
      except ValueError:  # not a shell value (e.g. Python in a heredoc)
        value = None
      if value is not None:
        variables[assignment.group(1)] = value
        found.extend(_commands_in_line(value))
        continue
    found.extend(_commands_in_line(line))
  return found


def readme_commands(text):
  """Every tool run in the fenced blocks and inline code spans of `text`."""
  found = []
  for block in _FENCE.findall(text):
    found.extend(commands_in_block(block))
  prose = _FENCE.sub('', text)
  for span in re.findall(r'`([^`]+)`', prose):
    found.extend(_commands_in_line(' '.join(span.split())))
  return found


def flag_names(arg):
  """The absl flag an argument names, or None: '[--seed=0]' -> 'seed'."""
  arg = arg.strip('[]')
  if not arg.startswith('-') or arg == '-':
    return None
  return arg.lstrip('-').split('=', 1)[0]


def unknown_flags(command, tool_flags):
  """The flags of `command` its tool does not define.

  Args:
    command: a Command.
    tool_flags: {flag name: whether it is boolean} of the tool.
  """
  unknown = []
  for arg in command.args:
    name = flag_names(arg)
    if name is None or name in tool_flags:
      continue
    if (name.startswith('no') and tool_flags.get(name[2:]) and
        '=' not in arg):
      continue
    unknown.append(arg)
  return unknown


def parse_helpfull(text):
  """{flag name: whether it is boolean} from absl's --helpfull output.

  Only the flag list is read, not the tool's usage text above it.
  """
  flag_list = text.split('\nflags:\n', 1)[-1]
  return {name: bool(negatable)
          for negatable, name in _HELP_FLAG.findall(flag_list)}


class ReadmeCommandsParsingTest(unittest.TestCase):
  """The extraction and the check, on text written here."""

  def testBlocksVariablesContinuationsAndInlineSpans(self):
    text = '\n'.join([
        '```sh',
        'HOSTS="--ps_hosts=ps0:2222 \\',
        '  --worker_hosts=w0:2222"',
        'python -m nets.train_image_classifier $HOSTS --task=0  # a comment',
        'python3 -m venv .venv && .venv/bin/python benchmark.py --num_batches=5'
        ' 2>/dev/null | tail -1',
        'EVAL="python -m nets.eval_image_classifier --batch_size=32"',
        'echo "$($EVAL --optimize)"',
        '```',
        'Then `python -m nets.convert_images --image_dir=DIR [--seed=0]`, not',
        '`nets.classify --top_k=5` (no python).',
        '```python',
        'import os',
        '```',
    ])
    self.assertEqual(
        [(c.tool, c.args) for c in readme_commands(text)],
        [('nets.train_image_classifier',
          ['--ps_hosts=ps0:2222', '--worker_hosts=w0:2222', '--task=0']),
         ('benchmark.py', ['--num_batches=5', '2']),
         ('nets.eval_image_classifier', ['--batch_size=32']),
         ('nets.convert_images', ['--image_dir=DIR', '[--seed=0]'])])

  def testUnknownFlagsAndAbslBooleans(self):
    tool_flags = {'overwrite': True, 'output': False, 'verify': True}
    command = Command('nets.to_onnx', [
        '--output=m.onnx', '--overwrite', '--noverify', '--nooutput',
        '--bogus_flag=1', '[--seed=0]', 'cat.jpg', '--noverify=1'], '')
    self.assertEqual(unknown_flags(command, tool_flags),
                     ['--nooutput', '--bogus_flag=1', '[--seed=0]',
                      '--noverify=1'])

  def testParseHelpfull(self):
    text = ('Usage text.\n  --not_a_flag in the usage\nflags:\n\n'
            'nets.to_onnx:\n  --checkpoint_path: A checkpoint.\n'
            '    (default: None)\n  --[no]verify: Check it, as\n'
            '    --verify: this line says.\n'
            'absl.flags:\n  -?,--[no]help: show this help\n'
            '  --flagfile: Insert flag definitions.\n')
    self.assertEqual(parse_helpfull(text),
                     {'checkpoint_path': False, 'verify': True, 'help': True,
                      'flagfile': False})


class ReadmeCommandsTest(unittest.TestCase):
  """README.md's own commands against the tools' own --helpfull."""

  @classmethod
  def setUpClass(cls):
    with open(README, encoding='utf-8') as f:
      cls.commands = readme_commands(f.read())
    cls.tool_flags = {}
    for tool in sorted({c.tool for c in cls.commands}):
      if tool != 'benchmark.py' and not os.path.isfile(os.path.join(
          testing.REPO_ROOT, *tool.split('.')) + '.py'):
        continue  # testEveryToolExists names it
      status, stdout, stderr = testing.run_tool(tool, '--helpfull')
      if status != 0:
        raise AssertionError('%s --helpfull: exit %d: %s' %
                             (tool, status, stderr[-3:]))
      cls.tool_flags[tool] = parse_helpfull(stdout)

  def testTheReadmeRunsEveryTool(self):
    tools = {c.tool for c in self.commands}
    self.assertGreaterEqual(tools, {
        'benchmark.py', 'nets.checkpoints', 'nets.classify', 'nets.export',
        'nets.to_keras', 'nets.to_onnx', 'nets.convert_images',
        'nets.eval_image_classifier', 'nets.train_image_classifier'})
    self.assertGreater(sum(len(c.args) for c in self.commands), 100)

  def testEveryToolExists(self):
    for command in self.commands:
      self.assertTrue(command.tool in self.tool_flags,
                      'no such tool: %s' % command.text)

  def testEveryFlagExists(self):
    bad = ['%s: %s' % (' '.join(unknown_flags(c, self.tool_flags[c.tool])),
                       c.text)
           for c in self.commands if c.tool in self.tool_flags and
           unknown_flags(c, self.tool_flags[c.tool])]
    self.assertEqual(bad, [], 'README commands with flags their tool lacks')


if __name__ == '__main__':
  unittest.main()
