"""Evaluation, the layer above the metrics (`billow.metrics`, pure functions of fields and
images) and the baselines (`billow.baselines`): `billow eval` over VDB sequences (`sequences`
reads and lines them up, `evaluate` measures, `report` writes the HTML and JSON report) and
the one `MetricAccumulator` that `billow eval` and the held-out benchmarks
(`billow.train.heldout`) share.
"""

from .accumulator import MetricAccumulator

__all__ = ["MetricAccumulator"]
