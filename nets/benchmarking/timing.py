"""The original script's timing loop and lines, a run's statistics, memory.

`time_steps` is the original script's (benchmark.py's docstring says which)
time_tensorflow_run: burn-in steps, then timed steps with a line every
`display_every`, then

  2026-11-27 12:02:17.000000: Forward across 100 steps, 1.370 +/- 0.012 sec / batch

(the mean and population standard deviation of the step times).
`summary_line` follows it: images/sec from the mean step time, the median,
p90 and p99 step times, and the peak resident memory.
"""

import dataclasses
import datetime
import math
import resource
import sys
import time

import numpy as np


@dataclasses.dataclass
class Timing:
  """The original script's numbers for one timed run (seconds)."""
  durations: list
  warmup_durations: list
  mean: float
  sd: float


def now():
  """The original script's timestamp (str(datetime.now())), always with
  microseconds."""
  return datetime.datetime.now().isoformat(' ', 'microseconds')


def mean_and_sd(durations):
  """The original script's mean and population standard deviation (from the
  sum and the sum of squares).

  The variance is clamped at 0: rounding can make it slightly negative.
  """
  n = len(durations)
  mean = sum(durations) / n
  variance = sum(d * d for d in durations) / n - mean * mean
  return mean, math.sqrt(max(variance, 0.0))


def timed(fn):
  """Seconds that fn() took."""
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def time_steps(run_step, num_batches, num_warmup_batches=10, display_every=10,
               info_string='Forward', out=None):
  """The original script's time_tensorflow_run: burn-in, timed steps, its
  lines.

  Args:
    run_step: callable running one step (e.g. a session.run of the fetch).
    num_batches: timed steps.
    num_warmup_batches: burn-in steps first, not counted.
    display_every: print a step line every this many timed steps.
    info_string: label of the final line ('Forward', 'Forward-backward').
    out: stream for the lines (default sys.stdout).

  Returns:
    A Timing.
  """
  out = out or sys.stdout
  durations, warmup = [], []
  for i in range(num_warmup_batches + num_batches):
    duration = timed(run_step)
    if i < num_warmup_batches:
      warmup.append(duration)
      continue
    step = i - num_warmup_batches
    if step % display_every == 0:
      print('%s: step %d, duration = %.3f' % (now(), step, duration),
            file=out, flush=True)
    durations.append(duration)
  mean, sd = mean_and_sd(durations)
  print('%s: %s across %d steps, %.3f +/- %.3f sec / batch' %
        (now(), info_string, num_batches, mean, sd), file=out, flush=True)
  return Timing(durations, warmup, mean, sd)


def peak_rss_mib():
  """Peak resident memory of this process so far, MiB.

  Linux's VmHWM where there is one: getrusage's ru_maxrss also counts the
  parent a process was started from (it survives fork and exec), which
  would give every --compare memory run its parent's peak.
  """
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return peak / (2.0**20 if sys.platform == 'darwin' else 2.0**10)


def statistics(timing, config):
  """Summary numbers of a Timing: the original script's, percentiles,
  throughput.

  Throughput (images_per_sec) is from the mean step time, as the original
  script's line; the median and percentiles are beside it.
  """
  median, p90, p99 = np.percentile(timing.durations, [50, 90, 99])
  per_tower = config.batch_size / timing.mean
  return {
      'mean_sec': timing.mean,
      'sd_sec': timing.sd,
      'median_sec': float(median),
      'p90_sec': float(p90),
      'p99_sec': float(p99),
      'min_sec': min(timing.durations),
      'max_sec': max(timing.durations),
      'images_per_sec': config.images_per_step / timing.mean,
      'images_per_sec_per_tower': per_tower,
      'num_towers': len(config.devices),
      'peak_rss_mib': peak_rss_mib(),
  }


def summary_line(stats):
  """The line printed after the original script's: throughput, percentiles,
  memory."""
  return ('%s: %.1f images/sec (%.1f per tower x %d), median %.3f, p90 %.3f, '
          'p99 %.3f sec / batch, peak RSS %.0f MiB' % (
              now(), stats['images_per_sec'],
              stats['images_per_sec_per_tower'], stats['num_towers'],
              stats['median_sec'], stats['p90_sec'], stats['p99_sec'],
              stats['peak_rss_mib']))
