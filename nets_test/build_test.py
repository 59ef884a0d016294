"""Keeps the project files honest: BUILD lists every file, setup.py and BUILD
ship the data files, CI runs the README.

BUILD is Starlark, which for these rules is also Python: it is evaluated here
with recording stand-ins for the Bazel rules. Where `bazel` is installed
(Debian's bazel-bootstrap), `bazel query //...` must parse it too.
"""

import ast
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from nets_test import testing

REPO_ROOT = testing.REPO_ROOT


def load_build_rules(path):
  """{target name: (rule kind, attributes)} of the BUILD file at `path`."""
  rules = {}

  def rule(kind):
    def record(name, **attributes):
      if name in rules:
        raise AssertionError('target %r defined twice' % name)
      rules[name] = (kind, attributes)
    return record

  namespace = {kind: rule(kind) for kind in ('py_library', 'py_test', 'py_binary')}
  namespace.update(package=lambda **_: None, licenses=lambda _: None,
                   exports_files=lambda *_, **__: None)
  with open(path, encoding='utf-8') as build_file:
    exec(compile(build_file.read(), path, 'exec'), namespace)  # pylint: disable=exec-used
  return rules


def setup_keyword(name):
  """The literal value of keyword `name` in setup.py's setup() call."""
  with open(os.path.join(REPO_ROOT, 'setup.py'), encoding='utf-8') as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.keyword) and node.arg == name:
      return ast.literal_eval(node.value)
  raise AssertionError('setup.py has no %s=' % name)


def library_name(module):
  """BUILD's py_library of a module: nets/x.py -> x, nets/benchmarking/y.py ->
  benchmarking_y."""
  return '_'.join(module[:-len('.py')].split('/')[1:])


def imported_modules(path):
  """The project modules (files) the module at `path` imports."""
  with open(os.path.join(REPO_ROOT, path), encoding='utf-8') as f:
    tree = ast.parse(f.read())
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module:
      if node.module in ('nets', 'nets.benchmarking'):
        names.update(node.module + '.' + a.name for a in node.names)
      elif node.module.startswith('nets.'):
        names.add(node.module)
    elif isinstance(node, ast.Import):
      names.update(a.name for a in node.names if a.name.startswith('nets.'))
  files = {name.replace('.', '/') + '.py' for name in names}
  return sorted(f for f in files if f != path and
                os.path.isfile(os.path.join(REPO_ROOT, f)))


def _repo_files(pattern):
  return sorted(os.path.relpath(p, REPO_ROOT)
                for p in glob.glob(os.path.join(REPO_ROOT, pattern)))


class BuildFileTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.rules = load_build_rules(os.path.join(REPO_ROOT, 'BUILD'))

  def _srcs(self, kind=None):
    return [src for rule_kind, attributes in self.rules.values()
            if kind in (None, rule_kind) for src in attributes.get('srcs', [])]

  def testEveryListedSourceExists(self):
    for src in self._srcs():
      self.assertTrue(os.path.isfile(os.path.join(REPO_ROOT, src)), src)

  def testEveryModuleHasItsLibraryWithItsImportsAsDeps(self):
    modules = [m for m in _repo_files('nets/*.py') +
               _repo_files('nets/benchmarking/*.py')
               if not m.endswith('__init__.py')]
    self.assertIn('nets/inception_v3.py', modules)
    self.assertEqual(sorted(self.rules['package'][1]['srcs']),
                     ['nets/__init__.py', 'nets/benchmarking/__init__.py'])
    for module in modules:
      name = library_name(module)
      self.assertIn(name, self.rules, module)
      kind, attributes = self.rules[name]
      self.assertEqual((kind, attributes['srcs']), ('py_library', [module]))
      self.assertEqual(
          sorted(attributes['deps']),
          sorted({':' + library_name(m) for m in imported_modules(module)} |
                 {':package'}), module)
    umbrella = self.rules['nets'][1]['deps']
    self.assertEqual(sorted(umbrella),
                     sorted(':' + library_name(m) for m in modules))

  def testTheNetworkDoesNotNeedTheTools(self):
    needed, todo = set(), [':inception_v3', ':nets_factory']
    while todo:
      name = todo.pop().lstrip(':')
      if name not in needed:
        needed.add(name)
        todo.extend(self.rules[name][1].get('deps', []))
    self.assertEqual(needed & {'to_keras', 'to_onnx', 'export', 'classify',
                               'benchmarking_harness'}, set())

  def testEveryToolHasItsBinary(self):
    for module in _repo_files('nets/*.py'):
      with open(os.path.join(REPO_ROOT, module), encoding='utf-8') as f:
        if "if __name__ == '__main__':" not in f.read():
          continue
      name = os.path.basename(module)[:-len('.py')] + '_tool'
      kind, attributes = self.rules.get(name, (None, {}))
      self.assertEqual((kind, attributes.get('main')), ('py_binary', module))
      self.assertEqual(attributes['deps'], [':' + library_name(module)])

  def testEveryTestFileHasItsOwnPyTest(self):
    test_files = _repo_files('nets_test/*_test.py')
    self.assertIn('nets_test/build_test.py', test_files)
    for test_file in test_files:
      name = os.path.basename(test_file)[:-len('.py')]
      self.assertIn(name, self.rules, test_file)
      kind, attributes = self.rules[name]
      self.assertEqual(kind, 'py_test')
      self.assertEqual(attributes['srcs'], [test_file])
    self.assertEqual(sorted(self._srcs('py_test')), test_files)

  def testDataFilesAreShippedByBuildAndSetup(self):
    data_files = _repo_files('nets/data/*')
    self.assertIn('nets/data/imagenet_synsets.txt', data_files)
    self.assertEqual(sorted(self.rules['labels'][1]['data']), data_files)
    packaged = {os.path.relpath(path, REPO_ROOT)
                for pattern in setup_keyword('package_data')['nets']
                for path in glob.glob(os.path.join(REPO_ROOT, 'nets', pattern))}
    self.assertEqual(sorted(packaged), data_files)

  def testTestHelpersAreInTheTestLibrary(self):
    helpers = [f for f in _repo_files('nets_test/*.py')
               if not f.endswith('_test.py') and not f.endswith('conftest.py')]
    self.assertEqual(sorted(self.rules['nets_test_lib'][1]['srcs']), helpers)

  def testBenchmarkBinary(self):
    kind, attributes = self.rules['benchmark']
    self.assertEqual(kind, 'py_binary')
    self.assertEqual(attributes['srcs'], ['benchmark.py'])
    self.assertIn(':benchmarking_harness', attributes['deps'])

  def testDepsPointAtDefinedTargets(self):
    for kind, attributes in self.rules.values():
      for dep in attributes.get('deps', []):
        self.assertIn(dep.lstrip(':'), self.rules, '%s dep %s' % (kind, dep))

  def testCiRunsTheReadmeTestCommand(self):
    with open(os.path.join(REPO_ROOT, '.ci', 'run'), encoding='utf-8') as f:
      ci_lines = f.read().splitlines()
    marker = ci_lines.index("# The README's test command, verbatim "
                            "(nets_test/build_test.py checks this).")
    command = ci_lines[marker + 1]
    with open(os.path.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
      readme_lines = f.read().splitlines()
    self.assertIn('pytest', command)
    self.assertIn(command, readme_lines)

  @unittest.skipIf(shutil.which('bazel') is None,
                   'bazel not installed (apt-get install bazel-bootstrap)')
  def testBazelQueryParsesIt(self):
    output_root = tempfile.mkdtemp(prefix='bazel_output_')
    try:
      result = subprocess.run(
          ['bazel', '--output_user_root=' + output_root, '--batch', 'query',
           '//...'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    finally:
      shutil.rmtree(output_root, ignore_errors=True)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    queried = sorted(line.split(':', 1)[1] for line in result.stdout.split())
    self.assertEqual(queried, sorted(self.rules))


if __name__ == '__main__':
  unittest.main()
