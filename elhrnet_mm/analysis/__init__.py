"""Complexity measurement and the published numbers it is compared with.

One concept per module; import from the module that defines a name:

* :mod:`.counters` -- parameter and FLOP counters under the papers'
  conventions (mmengine, torchstat, conv MACs).
* :mod:`.hrnet_reference` -- MMPose's HRNet-W32 as the yardstick of the
  HRNet authors' GFLOPs scale.
* :mod:`.units` -- FLOPs units (G, M; decimal or binary), defined once.
* :mod:`.published` -- the papers' rows (``data/published_numbers.yaml``):
  loading, validation, look-up.
* :mod:`.report` -- the typed report of one measured config.
* :mod:`.paper_match` -- our counts in a published row's convention and
  unit, deviations, and the rows grouped for printing.
* :mod:`.measure` -- count a config and match its rows
  (:func:`~.measure.measure_config`).
* :mod:`.model_zoo` -- the model-zoo table and the metafiles' cost fields.
* :mod:`.paper_tables` -- the papers' tables rendered into READMEs.
* :mod:`.eval_results` -- evaluation results (metrics JSON, work dirs).
* :mod:`.speed_results` -- latency from ``benchmark_speed.py --json`` files.
* :mod:`.speed_comparison` -- the speed tool's baselines, ratios and tables.
* :mod:`.leaderboard_tables` -- the leaderboard's markdown tables.
* :mod:`.label_placement` -- non-overlapping point labels for plots.
* :mod:`.pareto_plot` -- the accuracy-against-cost figure.

The command lines in ``tools/`` parse arguments and print; everything they
compute lives here. Nothing under :mod:`elhrnet_mm.models` imports this
package (see ``docs/architecture.md``).
"""
