"""How far apart does one configuration score in two runs of the search benchmark?

With the same seed, the service, random search and the plain recipe draw the same random start-up
configurations (common random numbers), but at different trial numbers, so each trains them with
another training seed (``seed + trial number``). Every configuration that completed in two such
runs is a measurement of training noise *inside* the benchmark: the same search space, data,
epoch cap and machine, only the training seed differs. This script collects those pairs over the
committed ``bench_search`` results and reports, per dataset, the spread of the difference next to
the margins between searchers that a ranking "beyond seed noise" would have to show.

    python -m benchmarks.analysis.shared_draws                  # all committed results
    python -m benchmarks.analysis.shared_draws benchmarks/results/bench_search_synth8.json

Pairs trained at the same trial number (the same training seed, e.g. the service's and random
search's shared first trials) are left out: they differ only by floating-point order. A pair stored
in two result files (a 5-seed report and its 8-seed merge) counts once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.search_bench.committed import parse_results_args

from data_pipeline import atomic_write_text


def shared_pairs(paths: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """Per dataset: each configuration completed in two runs of a seed, at other trial numbers."""
    pairs: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for path in paths:
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
        for first, second in itertools.combinations(runs, 2):
            if (first["dataset"], first["seed"]) != (second["dataset"], second["seed"]):
                continue
            done = {
                json.dumps(t["params"], sort_keys=True): t
                for t in first["trials"]
                if t["state"] == "COMPLETE" and t.get("params")
            }
            for other in second["trials"]:
                if other["state"] != "COMPLETE" or not other.get("params"):
                    continue
                ours = done.get(json.dumps(other["params"], sort_keys=True))
                if ours is None or ours["number"] == other["number"]:
                    continue
                scores = sorted([ours["val_f1"], other["val_f1"]])
                key = json.dumps([first["dataset"], first["seed"], other["params"], scores])
                if key in seen:
                    continue
                seen.add(key)
                pairs.setdefault(first["dataset"], []).append({
                    "seed": first["seed"],
                    "runs": [first["contender"], second["contender"]],
                    "trials": [ours["number"], other["number"]],
                    "val_f1": [ours["val_f1"], other["val_f1"]],
                })  # fmt: skip
    return pairs


def summarise(pairs: list[dict[str, Any]]) -> dict[str, float]:
    """Size of the differences ``Δ``: mean, median and largest ``|Δ|``, one training's sd.

    One training's standard deviation is ``sqrt(mean(Δ²) / 2)``: the difference of two
    independent trainings of one configuration has twice a single training's variance.
    """
    differences = np.array([a - b for a, b in (p["val_f1"] for p in pairs)])
    return {
        "pairs": len(pairs),
        "mean_abs_difference": float(np.abs(differences).mean()),
        "median_abs_difference": float(np.median(np.abs(differences))),
        "max_abs_difference": float(np.abs(differences).max()),
        "single_training_sd": float(np.sqrt(np.mean(differences**2) / 2)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_results_args(__doc__.split("\n\n")[0], "shared_draws.json", argv)
    pairs = shared_pairs(args.results)
    summary = {dataset: summarise(found) for dataset, found in sorted(pairs.items())}
    for dataset, numbers in summary.items():
        print(
            f"{dataset}: {numbers['pairs']} configurations trained twice; |Δ val macro-F1| "
            f"mean {numbers['mean_abs_difference']:.3f}, "
            f"median {numbers['median_abs_difference']:.3f}, "
            f"max {numbers['max_abs_difference']:.3f}; "
            f"one training's sd {numbers['single_training_sd']:.3f}"
        )
    report = {"results": [p.name for p in args.results], "summary": summary, "pairs": pairs}
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
