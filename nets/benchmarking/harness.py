"""A benchmark run: a configuration timed as the original script did, or a
comparison.

  record = harness.run(config.RunSettings(config.Config(batch_size=1),
                                          num_batches=10,
                                          json_output='/tmp/run.json'))

The files a run writes (the JSON record, the Chrome trace) have their disk
space claimed before anything is built (`nets.outputs.reserve`): a full disk
fails at once, not after the timing. They are moved into place whole at the
end, never over an existing file without `overwrite`, not even one that
appeared meanwhile (another run writing the same file); an interrupted or
failed run leaves none of them behind.
"""

import contextlib
import dataclasses
import sys

from absl import logging
import tensorflow.compat.v1 as tf
from tensorflow.python.client import timeline

from nets import inference
from nets import outputs
from nets.benchmarking import compare
from nets.benchmarking import config as config_lib
from nets.benchmarking import devices
from nets.benchmarking import graphs
from nets.benchmarking import records
from nets.benchmarking import timing as timing_lib
from nets.benchmarking import weights as weights_lib

BenchmarkError = config_lib.BenchmarkError


def run(settings, out=None, available_devices=None, flags=None):
  """The benchmark `settings` describe; returns its record.

  Args:
    settings: a RunSettings.
    out: stream for the lines and the table (default sys.stdout).
    available_devices: device names a session on settings.target sees
      (from devices.list_devices); None: listed here.
    flags: {name: value} of the command line, kept in the record.

  Returns:
    The JSON record (also written to settings.json_output, if set).

  Raises:
    BenchmarkError: for a configuration that cannot run (see
      graphs.build_model, compare.run_compare, run_config).
    outputs.OutputError: for an output file that exists (without
      overwrite), appeared meanwhile, or does not fit on its disk.
  """
  config = settings.config
  if config.xla or 'xla' in settings.compare:
    devices.enable_xla_on_cpu()  # In time only if no session ran yet.
  with contextlib.ExitStack() as stack:
    record_file = None
    if settings.json_output:
      record_file = stack.enter_context(outputs.reserve(
          settings.json_output, settings.overwrite,
          records.json_size(settings), create_parent=False))
    if available_devices is None:
      available_devices = devices.list_devices(settings.target,
                                               len(config.devices))
    if settings.compare:
      record = records.record_header(config, available_devices, flags)
      record.update(compare.run_compare(settings, out))
    else:
      timing, stats = run_config(
          config, settings.num_batches, settings.num_warmup_batches,
          settings.display_every, settings.target, settings.trace_file,
          settings.overwrite, out)
      record = records.run_record(config, timing, stats, available_devices,
                                  flags)
    if record_file:
      record_file.write(records.to_json(record))
      logging.info('Wrote %s', settings.json_output)
  return record


def run_config(config, num_batches, num_warmup_batches=10, display_every=10,
               target='', trace_file=None, overwrite=False, out=None):
  """Builds and times one configuration, printing the original script's lines.

  Args:
    config: a Config.
    num_batches, num_warmup_batches, display_every: as for
      timing.time_steps.
    target: session target ('' = in-process, or grpc://host:port).
    trace_file: if set, write a Chrome trace of one extra step there (its
      space claimed before the build).
    overwrite: whether trace_file may replace an existing file.
    out: stream for the step and result lines (default sys.stdout).

  Returns:
    (timing.Timing, statistics dict).

  Raises:
    BenchmarkError: see `graphs.build_model`; for a reduced precision,
      also when its logits are not within nets.inference.TOLERANCES of
      float32.
    outputs.OutputError: for a trace file that cannot be written.
  """
  out = out or sys.stdout
  graphs.check_buildable(config)  # Before the weights, which take a while.
  with contextlib.ExitStack() as stack:
    trace = None
    if trace_file:
      trace = stack.enter_context(outputs.reserve(
          trace_file, overwrite, records.trace_size(config),
          create_parent=False))
    logging.info(
        'Building Inception V3 %s%s: batch %d, %dx%dx3, %d classes, %s, on '
        '%s%s', config.mode,
        ' (optimized, %s)' % config.precision if config.optimize else '',
        config.batch_size, config.image_size, config.image_size,
        config.num_classes, config.data_format, ', '.join(config.devices),
        ' via ' + target if target else '')
    weights = weights_lib.load_weights(config) if config.optimize else None
    model = graphs.build_model(config, weights)
    if config.precision == 'fp32':
      weights = None  # The graph holds them now.
    with graphs.start_session(model, config, target) as session:
      logging.info('Burn-in: %d steps (not counted), then %d timed steps',
                   num_warmup_batches, num_batches)
      timing = timing_lib.time_steps(
          session.make_callable(model.fetch), num_batches,
          num_warmup_batches, display_every, config.info_string, out)
      stats = timing_lib.statistics(timing, config)
      print(timing_lib.summary_line(stats), file=out, flush=True)
      if trace:
        trace.write(traced_step(session, model.fetch))
        logging.info('Wrote the trace of one step to %s', trace_file)
      if config.precision != 'fp32':
        images = weights_lib.fixed_images(config)
        logits = session.run(model.fetch, {model.images[0]: images})
        print(check_precision(config, weights, images, logits), file=out,
              flush=True)
  return timing, stats


def traced_step(session, fetch):
  """Runs one traced step; returns its Chrome trace (JSON text)."""
  run_metadata = tf.RunMetadata()
  session.run(fetch,
              options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
              run_metadata=run_metadata)
  return timeline.Timeline(
      run_metadata.step_stats).generate_chrome_trace_format()


def check_precision(config, weights, images, logits):
  """Checks reduced-precision logits against float32 on the same weights.

  Returns:
    The line saying how far they are.

  Raises:
    BenchmarkError: if they differ by more than the precision's tolerance.
  """
  reference_config = dataclasses.replace(config, precision='fp32')
  reference = graphs.build_model(reference_config, weights)
  with graphs.start_session(reference, reference_config) as session:
    expected = session.run(reference.fetch, {reference.images[0]: images})
  error = inference.logits_error(logits, expected)
  tolerance = inference.TOLERANCES[config.precision]
  if not error <= tolerance:
    raise BenchmarkError(
        '--precision=%s: logits differ from float32 by %.2g of the largest '
        'logit (tolerance %g)' % (config.precision, error, tolerance))
  return ('%s: %s logits vs float32 on the same weights and images: max '
          '|diff| %.2g of the largest logit (tolerance %g)' % (
              timing_lib.now(), config.precision, error, tolerance))
