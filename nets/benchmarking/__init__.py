"""The benchmark harness behind `benchmark.py`: parameters in, records out.

No absl flags here: `benchmark.py` turns its flags into a `config.Config`
(the configuration timed) and a `config.RunSettings` (steps, outputs, a
comparison) and calls `harness.run(settings)`; a program can do the same.

  config     Config, RunSettings, BenchmarkError: what a run is, as data
  devices    the devices a session sees, the towers' devices, --target, XLA
  network    the one place the network is built (this port's or tf-slim's)
  weights    variable shapes and FLOPs; synthetic or checkpoint weights
  graphs     the timed graphs (towers, training step, optimized, 16-bit)
             and their sessions
  timing     the original script's timing loop and lines, statistics,
             peak memory
  runners    --compare's configurations: a registry of name -> builder
  compare    --compare: interleaved timing, memory probes, logits, table
  records    the JSON record, the environment, output size estimates
  harness    run(settings): one configuration or a comparison, outputs
             reserved at the start and written at the end

Importing this package imports nothing; its modules import TensorFlow.
"""
