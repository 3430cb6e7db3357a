"""Cost of `billow upres --preview` (issue 20: under 5% of the upres time).

Runs the same frames through `upres_sequence` with and without a preview of every frame,
interleaved A/B/A/B in one process, and prints the median time ratio, and (less noisy on a
loaded machine) the share of the run spent inside the preview's own calls.

    python benchmarks/upres_preview_cost.py '/tmp/x/vdb/sim_0000/lr.####.vdb' --frames 25-36
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    from billow.commands.common import input_output_frames
    from billow.infer import UpresConfig, load_card, make_backend, upres_sequence
    from billow.infer.models import default_model
    from billow.infer.preview import UpresPreview
    from billow.io import ReadOptions

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input")
    p.add_argument("--frames", default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--every", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="billow-preview-"))
    card = load_card(default_model())
    backend = make_backend(card, threads=1)
    jobs = input_output_frames(a.input, str(work / "o" / "up.####.vdb"), a.frames)
    ratios, shares = [], []
    spent = [0.0]
    add, close = UpresPreview.add, UpresPreview.close

    def timed(fn):
        def wrapper(*args, **kw):
            s = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                spent[0] += time.perf_counter() - s
        return wrapper

    UpresPreview.add, UpresPreview.close = timed(add), timed(close)
    for r in range(a.rounds):
        t = {}
        for mode in ("plain", "preview"):
            preview = (UpresPreview(work / f"pv{r}", a.every, scale=4, label=card.name)
                       if mode == "preview" else None)
            spent[0] = 0.0
            s = time.perf_counter()
            upres_sequence(jobs, backend, card, UpresConfig(), ReadOptions(),
                           progress_mode="none", preview=preview)
            if preview is not None:
                preview.close()
            t[mode] = time.perf_counter() - s
        ratios.append(t["preview"] / t["plain"])
        shares.append(spent[0] / t["preview"])
        print(f"round {r + 1}: with preview / without {ratios[-1]:.3f}; time inside the "
              f"preview {shares[-1]:.1%} of the run", flush=True)
    print(f"{len(jobs)} frames, preview every {a.every}: upres with preview / without = "
          f"{statistics.median(ratios):.3f} (median of {a.rounds}; target < 1.05); time spent "
          f"making previews: {statistics.median(shares):.1%} of the upres time")


if __name__ == "__main__":
    main()
