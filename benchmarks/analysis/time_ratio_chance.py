"""How often does one searcher reach a rival's best in a third of its time by chance?

The criterion: the service reaches a rival's final best validation macro-F1 in at most a third of the
time the rival took to reach it. This script counts, over committed ``bench_search`` results, the
paired seeds where the service did so, and the other way round (the rival reaching the service's
final best in a third of the service's time); and it simulates the rate for two equally good
searchers: both draw i.i.d. scores at the same pace, the rival's best of N trials is first reached
at its j-th, and the other searcher has made ``j // 3`` trials by a third of that time.

    python -m benchmarks.analysis.time_ratio_chance                  # all committed results
    python -m benchmarks.analysis.time_ratio_chance benchmarks/results/bench_search_synth8.json

Identical runs stored in two result files (a 5-seed report and its 8-seed merge) count once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.search_bench.committed import parse_results_args
from benchmarks.search_bench.report import curve
from benchmarks.search_bench.report import time_to_reach

from data_pipeline import atomic_write_text

RIVALS = ("plain", "grid")
TARGET_RATIO = 1 / 3


def within_third(ours: dict[str, Any], rival: dict[str, Any]) -> bool | None:
    """Did ``ours`` reach ``rival``'s final best within a third of ``rival``'s time to it?

    None when either run completed no trial inside its budget.
    """
    rival_curve, our_curve = curve(rival), curve(ours)
    if not rival_curve or not our_curve:
        return None
    time_of_best, best = rival_curve[-1]
    return time_to_reach(ours, best) / time_of_best <= TARGET_RATIO


def paired_counts(paths: Sequence[Path]) -> dict[str, dict[str, int]]:
    """Per rival: paired seeds, and how many met the target each way round."""
    counts = {rival: {"pairs": 0, "service_first": 0, "rival_first": 0} for rival in RIVALS}
    seen: set[str] = set()
    for path in paths:
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
        by_key = {(r["dataset"], r["contender"], r["seed"]): r for r in runs}
        for (dataset, contender, seed), ours in by_key.items():
            if contender != "service":
                continue
            for rival_name in RIVALS:
                rival = by_key.get((dataset, rival_name, seed))
                if rival is None:
                    continue
                fingerprint = json.dumps([ours["trials"], rival["trials"]])
                if fingerprint in seen:
                    continue
                seen.add(fingerprint)
                forward, backward = within_third(ours, rival), within_third(rival, ours)
                if forward is None or backward is None:
                    continue
                tally = counts[rival_name]
                tally["pairs"] += 1
                tally["service_first"] += forward
                tally["rival_first"] += backward
    return counts


def chance_rate(n_trials: int, repeats: int = 100_000, seed: int = 0) -> float:
    """Rate at which an equally good searcher meets the target against a rival of ``n_trials``."""
    rng = np.random.default_rng(seed)
    rival = rng.random((repeats, n_trials))
    ours = np.maximum.accumulate(rng.random((repeats, n_trials)), axis=1)
    draws_by_then = (rival.argmax(axis=1) + 1) // 3
    our_best = np.where(
        draws_by_then > 0, ours[np.arange(repeats), np.maximum(draws_by_then - 1, 0)], -1.0
    )
    return float((our_best >= rival.max(axis=1)).mean())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_results_args(__doc__.split("\n\n")[0], "time_ratio_chance.json", argv)
    counts = paired_counts(args.results)
    chance = {n: chance_rate(n) for n in (10, 20, 40)}
    for rival, tally in counts.items():
        print(
            f"service within 1/3 of {rival}'s time: {tally['service_first']}/{tally['pairs']}; "
            f"{rival} within 1/3 of the service's time: {tally['rival_first']}/{tally['pairs']}"
        )
    print("equal searchers, by chance: " + ", ".join(f"N={n}: {r:.3f}" for n, r in chance.items()))
    report = {"results": [p.name for p in args.results], "counts": counts, "chance_rate": chance}
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
