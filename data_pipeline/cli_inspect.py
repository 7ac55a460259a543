"""``python -m data_pipeline inspect DIR``: what a data folder holds and what windows it makes.

Reports the labels (each raw label, its class and count, where the mapping came from), the clips
(fps, length, strokes, group, handedness and where it came from), handedness per player (or
group), the stroke-length statistics per class (in reference frames, before widening), the
windows per class for ``--window-size`` / ``--overlap`` and, where the data can be split, the
windows and groups per split. A folder that cannot be split (one clip, say) or windowed still
gets its report, with a line saying why. ``--json`` prints the same as one JSON object. For a
sequence folder it reports the samples instead of clips.

Example::

    python -m data_pipeline inspect data/synthetic --window-size 30 --overlap 10 --json
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from data_pipeline.cli_options import add_data_arguments
from data_pipeline.cli_options import labels_from_args
from data_pipeline.cli_options import split_from_args
from data_pipeline.config import LabelConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ProjectError
from data_pipeline.resample import rescale_frames

SPLITS = ("train", "val", "test")
logger = logging.getLogger(__name__)


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
    add_data_arguments(parser)
    parser.add_argument("--seed", type=int, dest="old_seed", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Open the folder, window it once, print the report."""
    if args.old_seed is not None:  # renamed: --split-seed, as on every command that splits
        logger.warning("inspect --seed is now --split-seed (the old name goes in a later release)")
        args.split_seed = args.split_seed if args.split_seed is not None else args.old_seed
    window = WindowConfig(window_size=args.window_size, overlap=args.overlap)
    labels = labels_from_args(args, LabelConfig(
        drop_serve=args.drop_serve, annotation_fps=args.annotation_fps, neutral_class=args.neutral
    ))  # fmt: skip
    dataset = Dataset.open(args.data, labels=labels, split=split_from_args(args))
    report = inspect(dataset, window)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def inspect(dataset: Dataset, window: WindowConfig) -> dict[str, Any]:
    """The report as plain data (what ``--json`` prints)."""
    report: dict[str, Any] = {
        "path": str(dataset.path),
        "kind": dataset.kind,
        "fingerprint": dataset.fingerprint,
        "classes": list(dataset.class_names),
        "labels": _labels(dataset),
        "admissible_window_range": list(dataset.admissible_window_range(window.reference_fps)),
    }
    if dataset.sequences is not None:
        seq = dataset.sequences
        report["sequences"] = {
            "n_samples": int(seq.X.shape[0]), "length": int(seq.X.shape[1]),
            "n_features": int(seq.X.shape[2]), "fps": seq.fps, "n_groups": len(dataset.clip_ids),
            "samples_per_class": {c: int((seq.y == c).sum()) for c in dataset.class_names},
        }
    else:
        report["clips"] = [_clip_row(dataset, clip_id) for clip_id in dataset.clip_ids]
        report["handedness"] = _handedness(dataset)
        report["segment_frames"] = _segment_stats(dataset, window.reference_fps)
    report["windows"] = _windows(dataset, window)
    return report


def _labels(dataset: Dataset) -> dict[str, Any]:
    """Raw label -> class and count, the mapping's source, background and dropped labels."""
    labels = dataset.labels
    counts: Counter[tuple[str, str]] = Counter()
    if dataset.sequences is not None:
        seq = dataset.sequences
        counts.update((raw, seq.label_classes[raw]) for raw in seq.raw_labels.tolist())
    for info in dataset.clips.values():
        counts.update((s.label, s.cls) for s in (info.annotation.segments if info.annotation else []))
    default = "labels as classes" if dataset.sequences is not None else "Label Studio tennis labels"
    return {
        "source": labels.file or f"built-in ({default})",
        "raw": [{"label": raw, "class": cls, "count": n} for (raw, cls), n in sorted(counts.items())],
        "background": [c for c in dataset.class_names if labels.is_background(c)],
    }


def _clip_row(dataset: Dataset, clip_id: str) -> dict[str, Any]:
    info = dataset.clips[clip_id]
    return {
        "clip": clip_id, "fps": info.fps, "n_frames": info.n_frames,
        "seconds": round(info.n_frames / info.fps, 2),
        "strokes": None if info.annotation is None else len(info.annotation.segments),
        "group": dataset.group_of(clip_id),
        "handedness": dataset.handedness(clip_id),
        "handedness_source": dataset.handedness_source(clip_id),
    }


def _handedness(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """Per owner of an inferred handedness (player, group or clip): hand and what it rests on;
    given handedness is listed per clip in the clip table."""
    owners: dict[str, dict[str, Any]] = {}
    for clip_id in dataset.clip_ids:
        if dataset.handedness_source(clip_id) != "inferred":
            continue
        detail = dataset.handedness_detail(clip_id)
        owner, _, evidence = detail.partition(": ")
        owners.setdefault(owner, {"handedness": dataset.handedness(clip_id),
                                  "evidence": evidence, "clips": 0})["clips"] += 1  # fmt: skip
    return owners


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


def _windows(dataset: Dataset, window: WindowConfig) -> dict[str, Any]:
    """Windows per class, and per split where a split is possible (else why not)."""
    report: dict[str, Any] = {
        "window_size": window.window_size, "overlap": window.overlap, "stride": window.stride,
        "reference_fps": window.reference_fps,
    }
    try:
        raw = dataset.unsplit_windows(window)
    except ProjectError as exc:
        return {**report, "total": 0, "error": str(exc)}
    counts = Counter(raw.labels.tolist())
    report["total"] = len(raw.labels)
    report["per_class"] = {c: int(counts.get(c, 0)) for c in dataset.class_names}
    report["group_by"] = dataset.split_config.group_by
    try:
        data = dataset.windows(window)
    except ProjectError as exc:
        report["split_error"] = str(exc)
        return report
    report["split_rule"] = data.split_rule
    report["per_split"] = {name: data.class_counts(name) for name in SPLITS}
    report["groups_per_split"] = {
        name: sorted(set(data.groups[getattr(data.split, name)].tolist())) for name in SPLITS
    }
    return report


def render(report: dict[str, Any]) -> str:
    """The report as aligned text tables."""
    lines = [(f"{report['path']}: {report['kind']}, classes {', '.join(report['classes'])}, "
              f"fingerprint {report['fingerprint'][:12]}")]
    labels = report["labels"]
    lines.append(f"labels (mapping: {labels['source']}; background: "
                 f"{', '.join(labels['background']) or 'none'}):")
    lines += [f"  {r['label']!r:<24} -> {r['class']:<16} {r['count']:>6}" for r in labels["raw"]]
    if "sequences" in report:
        seq = report["sequences"]
        lines.append(f"{seq['n_samples']} samples x {seq['length']} steps x {seq['n_features']} "
                     f"features, fps {seq['fps']}, {seq['n_groups']} groups")
        lines += [f"  {c:<24} {n:>6} samples" for c, n in seq["samples_per_class"].items()]
    else:
        lines += _render_clips(report)
    return "\n".join(lines + _render_windows(report["windows"], report["classes"]))


def _render_clips(report: dict[str, Any]) -> list[str]:
    lines = [(f"{'clip':<24} {'fps':>6} {'frames':>7} {'seconds':>8} {'strokes':>8}  "
              f"{'group':<12} handedness")]
    for row in report["clips"]:
        strokes = "-" if row["strokes"] is None else row["strokes"]
        lines.append(f"{row['clip']:<24} {row['fps']:>6g} {row['n_frames']:>7} "
                     f"{row['seconds']:>8} {strokes:>8}  {row['group']:<12} {row['handedness']} "
                     f"({row['handedness_source']})")
    for owner, row in report["handedness"].items():
        lines.append(f"handedness of {owner}: {row['handedness']} (inferred: {row['evidence']}, "
                     f"{row['clips']} clips)")
    lines.append("stroke length per class (frames at 30 fps):")
    lines.append(f"  {'class':<22} {'count':>6} {'min':>5} {'median':>7} {'max':>5}")
    for cls, s in report["segment_frames"].items():
        lines.append(f"  {cls:<22} {s['count']:>6} {s['min']:>5} {s['median']:>7g} {s['max']:>5}")
    return lines


def _render_windows(win: dict[str, Any], classes: list[str]) -> list[str]:
    head = (f"windows: size {win['window_size']}, overlap {win['overlap']}, stride "
            f"{win['stride']}, total {win['total']}")
    if "error" in win:
        return [f"{head}: {win['error']}"]
    if "split_error" in win:
        lines = [f"{head}; no split by {win['group_by']}: {win['split_error']}"]
        return lines + [f"  {c:<22} {win['per_class'][c]:>6}" for c in classes]
    lines = [f"{head} ({win['split_rule']}):",
             f"  {'class':<22} " + " ".join(f"{s:>6}" for s in SPLITS)]
    for cls in classes:
        lines.append(f"  {cls:<22} " + " ".join(f"{win['per_split'][s][cls]:>6}" for s in SPLITS))
    groups = win["groups_per_split"]
    lines.append(f"  {'(groups)':<22} " + " ".join(f"{len(groups[s]):>6}" for s in SPLITS))
    lines += [f"  {s} groups: {', '.join(groups[s])}" for s in ("val", "test")]
    return lines
