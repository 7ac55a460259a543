"""``python -m data_pipeline inspect DIR``: what a data folder holds and what windows it makes.

Reports the clips (fps, length, strokes, handedness and where it came from), the classes, the
stroke-length statistics per class (in reference frames, before widening) and the windows per
class and split for ``--window-size`` / ``--overlap``. ``--json`` prints the same as one JSON
object. For a sequence folder it reports the samples instead of clips.

Example::

    python -m data_pipeline inspect data/synthetic --window-size 30 --overlap 10 --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.resample import rescale_frames

SPLITS = ("train", "val", "test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` flags to ``parser``."""
    defaults = WindowConfig()
    parser.add_argument("data", type=Path, help="data folder (clips or sequences.npz)")
    parser.add_argument("--window-size", type=int, default=defaults.window_size,
                        help="frames per window at the reference fps")
    parser.add_argument("--overlap", type=int, default=defaults.overlap,
                        help="frames shared by consecutive windows")
    parser.add_argument("--annotation-fps", type=float, default=None,
                        help="frame rate Label Studio numbered frames in (None: the video's)")
    parser.add_argument("--drop-serve", action="store_true", help="drop the serve class")
    parser.add_argument("--neutral", action="store_true",
                        help="add a neutral class for windows without strokes")
    parser.add_argument("--group-by", default=SplitConfig().group_by,
                        help="split groups: clip, or a groups.toml key such as player")
    parser.add_argument("--seed", type=int, default=SplitConfig().seed, help="split seed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Open the folder, window it once, print the report."""
    window = WindowConfig(window_size=args.window_size, overlap=args.overlap)
    labels = LabelConfig(
        drop_serve=args.drop_serve, annotation_fps=args.annotation_fps, neutral_class=args.neutral
    )
    dataset = Dataset.open(
        args.data, labels=labels, split=SplitConfig(seed=args.seed, group_by=args.group_by)
    )
    report = inspect(dataset, window)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def inspect(dataset: Dataset, window: WindowConfig) -> dict[str, Any]:
    """The report as plain data (what ``--json`` prints)."""
    data = dataset.windows(window)
    report: dict[str, Any] = {
        "path": str(dataset.path),
        "kind": dataset.kind,
        "fingerprint": dataset.fingerprint,
        "classes": list(data.class_names),
        "admissible_window_range": list(dataset.admissible_window_range(window.reference_fps)),
    }
    if dataset.sequences is not None:
        seq = dataset.sequences
        report["sequences"] = {
            "n_samples": int(seq.X.shape[0]), "length": int(seq.X.shape[1]),
            "n_features": int(seq.X.shape[2]), "fps": seq.fps, "n_groups": len(dataset.clip_ids),
            "samples_per_class": {c: int((seq.y == c).sum()) for c in data.class_names},
        }
    else:
        report["clips"] = [_clip_row(dataset, clip_id) for clip_id in dataset.clip_ids]
        report["segment_frames"] = _segment_stats(dataset, window.reference_fps)
    report["windows"] = {
        "window_size": window.window_size, "overlap": window.overlap, "stride": window.stride,
        "reference_fps": window.reference_fps, "total": int(len(data.y)),
        "split_rule": data.split_rule,
        "per_split": {name: data.class_counts(name) for name in SPLITS},
        "groups_per_split": {
            name: len(set(data.groups[getattr(data.split, name)].tolist())) for name in SPLITS
        },
    }
    return report


def _clip_row(dataset: Dataset, clip_id: str) -> dict[str, Any]:
    info = dataset.clips[clip_id]
    return {
        "clip": clip_id, "fps": info.fps, "n_frames": info.n_frames,
        "seconds": round(info.n_frames / info.fps, 2),
        "strokes": None if info.annotation is None else len(info.annotation.segments),
        "handedness": dataset.handedness(clip_id),
        "handedness_source": dataset.handedness_source(clip_id),
    }


def _segment_stats(dataset: Dataset, reference_fps: float) -> dict[str, dict[str, float]]:
    """Count, min, median, max stroke length per class in reference frames (before widening)."""
    lengths: dict[str, list[int]] = {}
    for info in dataset.clips.values():
        for s in info.annotation.segments if info.annotation else []:
            start, end = rescale_frames(np.array([s.start, s.end]), info.fps, reference_fps)
            lengths.setdefault(s.cls, []).append(int(end - start))
    return {
        cls: {"count": len(v), "min": min(v), "median": float(np.median(v)), "max": max(v)}
        for cls, v in sorted(lengths.items())
    }


def render(report: dict[str, Any]) -> str:
    """The report as aligned text tables."""
    lines = [f"{report['path']}: {report['kind']}, classes {', '.join(report['classes'])}, "
             f"fingerprint {report['fingerprint'][:12]}"]
    if "sequences" in report:
        seq = report["sequences"]
        lines.append(f"{seq['n_samples']} samples x {seq['length']} steps x {seq['n_features']} "
                     f"features, fps {seq['fps']}, {seq['n_groups']} groups")
        lines += [f"  {c:<24} {n:>6} samples" for c, n in seq["samples_per_class"].items()]
    else:
        lines.append(f"{'clip':<24} {'fps':>6} {'frames':>7} {'seconds':>8} {'strokes':>8}  "
                     "handedness")
        for row in report["clips"]:
            strokes = "-" if row["strokes"] is None else row["strokes"]
            lines.append(f"{row['clip']:<24} {row['fps']:>6g} {row['n_frames']:>7} "
                         f"{row['seconds']:>8} {strokes:>8}  {row['handedness']} "
                         f"({row['handedness_source']})")
        win = report["windows"]
        lines.append(f"stroke length per class (frames at {win['reference_fps']:g} fps):")
        lines.append(f"  {'class':<22} {'count':>6} {'min':>5} {'median':>7} {'max':>5}")
        for cls, s in report["segment_frames"].items():
            lines.append(f"  {cls:<22} {s['count']:>6} {s['min']:>5} {s['median']:>7g} "
                         f"{s['max']:>5}")
    win = report["windows"]
    lines.append(f"windows: size {win['window_size']}, overlap {win['overlap']}, stride "
                 f"{win['stride']}, total {win['total']} ({win['split_rule']}):")
    lines.append(f"  {'class':<22} " + " ".join(f"{s:>6}" for s in SPLITS))
    for cls in report["classes"]:
        counts = " ".join(f"{win['per_split'][s][cls]:>6}" for s in SPLITS)
        lines.append(f"  {cls:<22} {counts}")
    groups = " ".join(f"{win['groups_per_split'][s]:>6}" for s in SPLITS)
    lines.append(f"  {'(groups)':<22} {groups}")
    return "\n".join(lines)
