"""`--compare`: several configurations timed side by side, as a table.

The configurations (`runners.RUNNERS`) are built in one process and timed
in interleaved turns (A B C, B C A, C A B, ...) so that drift of a shared
machine cancels, with an n x n float32 matmul timed in the same rounds as
the ceiling. Each one's logits are held against the plain graph's on the
same weights and images, and its peak memory is measured in a short run of
benchmark.py of its own (the command is a parameter).
"""

import json
import os
import subprocess
import sys
import tempfile

from absl import logging
import numpy as np
import tensorflow.compat.v1 as tf

from nets import cli
from nets import inference
from nets.benchmarking import config as config_lib
from nets.benchmarking import records
from nets.benchmarking import runners
from nets.benchmarking import timing as timing_lib
from nets.benchmarking import weights as weights_lib

BenchmarkError = config_lib.BenchmarkError
MEMORY_PROBE_TIMEOUT_S = 1800


def time_interleaved(runner_list, num_batches, num_warmup_batches=10,
                     display_every=10, steps_per_turn=1):
  """Times the runners in rounds: A B C, then B C A, then C A B, ...

  Every runner first runs its burn-in steps; then each round gives every
  runner a turn of `steps_per_turn` steps, the order rotating so that none
  always follows another, until each has run `num_batches` timed steps.

  Returns:
    A timing.Timing per runner, in their order.
  """
  for runner in runner_list:
    logging.info('Burn-in of %s: %d steps', runner.name, num_warmup_batches)
  warmup = [[timing_lib.timed(r.step) for _ in range(num_warmup_batches)]
            for r in runner_list]
  durations = [[] for _ in runner_list]
  count = len(runner_list)
  rounds = -(-num_batches // steps_per_turn)
  for i in range(rounds):
    steps = min(steps_per_turn, num_batches - i * steps_per_turn)
    for k in [(i + j) % count for j in range(count)]:
      durations[k].extend(timing_lib.timed(runner_list[k].step)
                          for _ in range(steps))
    if i % display_every == 0 or i == rounds - 1:
      logging.info('Round %d of %d: %s', i + 1, rounds, ', '.join(
          '%s %.3f' % (r.name, d[-1]) for r, d in zip(runner_list,
                                                       durations)))
  return [timing_lib.Timing(d, w, *timing_lib.mean_and_sd(d))
          for d, w in zip(durations, warmup)]


def peak_memory_of(name, config, command, onnx_model=None,
                   timeout_s=MEMORY_PROBE_TIMEOUT_S):
  """Peak RSS (MiB) of `name` alone: a short --compare=name run of its own.

  Args:
    name: a --compare name.
    config: the plain graph's Config.
    command: argv list that runs benchmark.py (its flags are added).
    onnx_model: the ONNX file of the ONNX runners, or None.
    timeout_s: how long the run may take.

  Returns:
    (MiB or None, the reason when None).
  """
  with tempfile.TemporaryDirectory() as tmp:
    json_path = os.path.join(tmp, 'run.json')
    args = list(command) + [
        '--compare=' + name, '--batch_size=%d' % config.batch_size,
        '--image_size=%d' % config.image_size,
        '--num_classes=%d' % config.num_classes,
        '--device=' + config.devices[0], '--num_batches=2',
        '--num_warmup_batches=1', '--matmul_size=0', '--nocompare_memory',
        '--json_output=' + json_path,
        '--num_intra_threads=%d' % config.num_intra_threads,
        '--num_inter_threads=%d' % config.num_inter_threads]
    if config.checkpoint_path:
      args.append('--checkpoint_path=' + config.checkpoint_path)
    if onnx_model:
      args.append('--onnx_model=' + onnx_model)
    try:
      result = subprocess.run(args, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
      return None, 'timed out'
    if result.returncode:
      lines = result.stderr.strip().splitlines()
      return None, lines[-1] if lines else 'exit status %d' % (
          result.returncode)
    with open(json_path) as f:
      record = json.load(f)
  return record['configurations'][0]['peak_rss_mib'], None


def reference_name(names):
  """The configuration the others' logits are compared with: plain, else slim."""
  return next((name for name in ('plain', 'slim') if name in names), None)


def check_logits(runner_list, config):
  """Logits error of each runner against the plain (else slim) graph's.

  Returns:
    {name: (error, tolerance)}; the reference has (0.0, tolerance), runners
    without comparable logits are absent.
  """
  name = reference_name([r.name for r in runner_list])
  if name is None:
    return {}
  images = weights_lib.fixed_images(config)
  expected = next(r for r in runner_list if r.name == name).logits(images)
  errors = {}
  for runner in runner_list:
    if runner.logits is not None:
      errors[runner.name] = (
          inference.logits_error(runner.logits(images), expected),
          runner.logits_tolerance or inference.TOLERANCES[runner.precision])
  return errors


def comparison_rows(runner_list, timings, config, flops, ceiling, memory,
                    errors):
  """One dict of table numbers per runner."""
  rows = []
  for runner, timing in zip(runner_list, timings):
    stats = timing_lib.statistics(timing, config)
    stats.pop('peak_rss_mib')  # All configurations together: not theirs.
    gflops = flops * config.images_per_step / stats['median_sec'] / 1e9
    rows.append({
        'name': runner.name, 'statistics': stats,
        'durations_sec': timing.durations,
        'warmup_durations_sec': timing.warmup_durations,
        'gflops_per_sec': gflops,
        'percent_of_ceiling': 100.0 * gflops / ceiling if ceiling else None,
        'peak_rss_mib': memory.get(runner.name),
        'logits_error': errors.get(runner.name, (None, None))[0],
        'logits_tolerance': errors.get(runner.name, (None, None))[1],
    })
  first = rows[0]['statistics']['median_sec']
  for row in rows:
    row['time_ratio'] = row['statistics']['median_sec'] / first
  return rows


def _cell(value, fmt, missing='-'):
  return missing if value is None else fmt % value


def comparison_table(rows, reference):
  """The Markdown table of comparison_rows (`reference`: reference_name)."""
  lines = [
      '| configuration | median s | p90 s | images/s | GFLOP/s | %% of ceiling'
      ' | peak RSS MiB | time vs %s | logits vs %s |' % (
          rows[0]['name'], reference or '-'),
      '|---|---|---|---|---|---|---|---|---|']
  for row in rows:
    stats = row['statistics']
    if row['name'] == reference:
      logits = 'reference'
    elif row['logits_error'] is None:
      logits = 'n/a'
    else:
      logits = '%.1e%s' % (row['logits_error'],
                           '' if row['logits_error'] <= row['logits_tolerance']
                           else ' (over %g!)' % row['logits_tolerance'])
    lines.append('| %s | %.3f | %.3f | %.1f | %.1f | %s | %s | %.2fx | %s |'
                 % (row['name'], stats['median_sec'], stats['p90_sec'],
                    stats['images_per_sec'], row['gflops_per_sec'],
                    _cell(row['percent_of_ceiling'], '%.0f%%'),
                    _cell(row['peak_rss_mib'], '%.0f'), row['time_ratio'],
                    logits))
  return '\n'.join(lines)


def _build_runners(names, config, weights, cache):
  """(runners, {skipped name: why}); a missing package skips its row."""
  built, skipped = [], {}
  try:
    for name in names:
      logging.info('Building %s', name)
      try:
        built.append(runners.make_runner(name, config, weights, cache))
      except cli.MissingDependencyError as e:
        skipped[name] = str(e)
        logging.warning('Skipping %s: %s', name, e)
  except BaseException:
    for runner in built:
      runner.close()
    raise
  return built, skipped


def _measure_memory(runner_list, settings, onnx_model):
  memory = {}
  for runner in runner_list:
    logging.info('Measuring the peak memory of %s alone', runner.name)
    memory[runner.name], reason = peak_memory_of(
        runner.name, settings.config, settings.memory_probe_command,
        onnx_model)
    if reason:
      logging.warning('No peak memory for %s: %s', runner.name, reason)
  return memory


def run_compare(settings, out=None):
  """Builds the named configurations, times them interleaved, prints a table.

  Args:
    settings: a RunSettings with `compare` set; its config is the plain
      graph's (batch, size, classes, device, threads, checkpoint).
    out: stream for the table (default sys.stdout).

  Returns:
    The comparison's part of the JSON record.

  Raises:
    BenchmarkError: when none of the configurations can run here, or a
      checkpoint does not fit.
  """
  out = out or sys.stdout
  config, names = settings.config, list(settings.compare)
  shapes, flops = weights_lib.model_facts(config.num_classes,
                                          config.image_size)
  cache = {}
  if settings.onnx_model:
    with open(settings.onnx_model, 'rb') as f:
      cache['onnx'] = f.read()
  weights = None
  if len(names) > 1 or runners.needs_weights(names, 'onnx' in cache):
    weights = weights_lib.load_weights(config, shapes)  # The same for all.
  built, skipped = _build_runners(names, config, weights, cache)
  weights = None  # The graphs hold them now.
  matmul = []
  with tempfile.TemporaryDirectory() as tmp:
    try:
      onnx_model = settings.onnx_model
      if settings.compare_memory and 'onnx' in cache and not onnx_model:
        onnx_model = os.path.join(tmp, 'model.onnx')  # For the memory runs.
        with open(onnx_model, 'wb') as f:
          f.write(cache['onnx'])
      cache.clear()
      if not built:
        raise BenchmarkError('--compare=%s: nothing can run here (%s)' % (
            ','.join(names), '; '.join(skipped.values())))
      if settings.matmul_size:
        matmul.append(runners.matmul_runner(config, settings.matmul_size))
      timings = time_interleaved(built + matmul, settings.num_batches,
                                 settings.num_warmup_batches,
                                 settings.display_every,
                                 settings.steps_per_turn)
      errors = check_logits(built, config)
      process_peak = timing_lib.peak_rss_mib()
    finally:
      for runner in built + matmul:
        runner.close()
    memory = {}
    if settings.compare_memory:
      memory = _measure_memory(built, settings, onnx_model)
    elif len(built) == 1:
      memory[built[0].name] = process_peak
  ceiling_timing = timings.pop() if matmul else None
  ceiling = None
  if ceiling_timing:
    ceiling = (2.0 * settings.matmul_size**3 /
               np.median(ceiling_timing.durations) / 1e9)
  rows = comparison_rows(built, timings, config, flops, ceiling, memory,
                         errors)
  table = comparison_table(rows, reference_name([r['name'] for r in rows]))
  notes = _comparison_notes(settings, flops, ceiling, ceiling_timing,
                            skipped)
  print(table + '\n\n' + '\n'.join(notes), file=out, flush=True)
  return {
      'configurations': rows, 'skipped': skipped,
      'flops_per_image': flops,
      'ceiling': {'matmul_size': settings.matmul_size,
                  'gflops_per_sec': ceiling,
                  'durations_sec': (ceiling_timing.durations
                                    if ceiling_timing else None)},
      'table': table, 'notes': notes,
  }


def _comparison_notes(settings, flops, ceiling, ceiling_timing, skipped):
  """The lines under the table: what was measured, how, on what."""
  config, matmul_size = settings.config, settings.matmul_size
  notes = []
  if ceiling:
    notes.append('Ceiling: %dx%d float32 matmul in the same rounds, median '
                 '%.3f s = %.1f GFLOP/s.' % (
                     matmul_size, matmul_size,
                     np.median(ceiling_timing.durations), ceiling))
  notes.append(
      'Work: %.2f GFLOP per %dx%d image (convolutions and pools on the '
      'logits path, counted from the graph). Batch %d, %d classes; %d '
      'timed steps of each configuration, %s, after %d burn-in steps; peak '
      'RSS of each configuration alone in a process of its own.' % (
          flops / 1e9, config.image_size, config.image_size,
          config.batch_size, config.num_classes, settings.num_batches,
          'interleaved one by one' if settings.steps_per_turn == 1 else
          'interleaved in turns of %d' % settings.steps_per_turn,
          settings.num_warmup_batches))
  notes.append('TensorFlow %s, %s, %d CPUs, %s.' % (
      tf.__version__, records.cpu_name(), os.cpu_count(), config.devices[0]))
  for name, reason in skipped.items():
    notes.append('Skipped %s: %s.' % (name, reason))
  return notes
