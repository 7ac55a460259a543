"""Time to build windows for a new window size, and to get them again (memory, then disk cache).

For each window size, on the default synthetic dataset (32 clips, generated into a temporary
folder unless ``--data`` names one), three timings in one process, side by side:

  new      first ``Dataset.windows`` call for that size: features, windowing, split, cache write
  memory   the same call again on the same ``Dataset`` (a search's repeated trial)
  disk     the same call on a freshly opened ``Dataset`` (another process of the same search),
           including ``Dataset.open`` (fingerprint + annotations), which ``open`` times alone

Each is the median of ``--repeats`` runs; "new" clears both caches before every run. Usage::

    python benchmarks/bench_windows.py --window-sizes 30 45 60 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

from data_pipeline import atomic_write_text
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.synthetic import generate_dataset


def _median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(data_dir: Path, window_sizes: Sequence[int], repeats: int) -> list[dict[str, float]]:
    """One row per window size: seconds for a new, a memory-cached and a disk-cached call."""
    rows = []
    for size in window_sizes:
        window = WindowConfig(window_size=size, overlap=size // 3)
        cache = Path(tempfile.mkdtemp(prefix="bench_windows_"))

        def new() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            Dataset.open(data_dir, cache_dir=cache).windows(window)

        new_s = _median_seconds(new, repeats)
        dataset = Dataset.open(data_dir, cache_dir=cache)
        data = dataset.windows(window)
        memory_s = _median_seconds(lambda: dataset.windows(window), repeats)
        open_s = _median_seconds(lambda: Dataset.open(data_dir, cache_dir=cache), repeats)
        disk_s = _median_seconds(lambda: Dataset.open(data_dir, cache_dir=cache).windows(window),
                                 repeats)
        shutil.rmtree(cache, ignore_errors=True)
        rows.append({
            "window_size": size, "overlap": window.overlap, "n_windows": int(len(data.y)),
            "new_s": new_s, "memory_s": memory_s, "disk_s": disk_s, "open_s": open_s,
            "new_over_memory": new_s / memory_s, "new_over_disk": new_s / disk_s,
        })
        print(f"window {size:>3}: {len(data.y):>5} windows, new {new_s * 1e3:8.1f} ms, "
              f"memory {memory_s * 1e6:7.1f} us, disk {disk_s * 1e3:7.1f} ms "
              f"(open {open_s * 1e3:.1f} ms)")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="data folder; default: generate the synthetic dataset (seed 0)")
    parser.add_argument("--window-sizes", type=int, nargs="+", default=[30, 45, 60])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_windows.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_windows_data_") as tmp:
        data_dir = args.data or generate_dataset(Path(tmp) / "synthetic", seed=0)
        rows = bench(data_dir, args.window_sizes, args.repeats)
    if args.out is not None:
        atomic_write_text(args.out / "bench_windows.json", json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
