"""Event-level scoring of detected strokes against annotated ones.

- **Match.** A detected event matches an annotated stroke of the *same class* when their temporal
  IoU (intersection over union of the frame ranges ``[start, end)``) is at least the threshold.
  Pairs are taken greedily, highest IoU first, each event and each stroke at most once.
- **Scores.** Per class: precision = matched / detected, recall = matched / annotated,
  F1 = their harmonic mean (0 when undefined); ``micro`` pools every class, ``macro`` averages
  the classes that are detected or annotated at all. Annotated strokes of a class the model does
  not know (e.g. serves under ``drop_serve``) are left out and counted in ``ignored_strokes``.
- **Onset error.** For matched pairs, ``detected start - annotated start`` in frames; reported as
  mean absolute and mean signed error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import numpy as np


@dataclass
class ClassCounts:
    """Matched (true positive), unmatched detected and unmatched annotated events of a class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass
class DetectionReport:
    """Event-level scores of detection on some clips.

    Args:
        iou_threshold: minimum temporal IoU of a match.
        per_class: counts per stroke class.
        onset_errors: ``detected start - annotated start`` (video frames) of every match.
        clips: the clips evaluated.
        ignored_strokes: annotated strokes of classes the model does not know.
        settings: the event rule settings the detections were made with.
        per_group: the same scores per split group (player, video ...) of the clips.
    """

    iou_threshold: float
    per_class: dict[str, ClassCounts]
    onset_errors: list[int] = field(default_factory=list)
    clips: list[str] = field(default_factory=list)
    ignored_strokes: int = 0
    settings: dict[str, object] = field(default_factory=dict)
    per_group: dict[str, DetectionReport] = field(default_factory=dict)

    def group(self, name: str) -> DetectionReport:
        """The sub-report of group ``name`` (created empty, same classes and IoU)."""
        if name not in self.per_group:
            self.per_group[name] = DetectionReport(
                iou_threshold=self.iou_threshold,
                per_class={c: ClassCounts() for c in self.per_class},
            )
        return self.per_group[name]

    @property
    def micro(self) -> ClassCounts:
        return ClassCounts(
            tp=sum(c.tp for c in self.per_class.values()),
            fp=sum(c.fp for c in self.per_class.values()),
            fn=sum(c.fn for c in self.per_class.values()),
        )

    @property
    def macro_f1(self) -> float:
        seen = [c.f1 for c in self.per_class.values() if c.tp + c.fp + c.fn]
        return float(np.mean(seen)) if seen else 0.0

    def as_metrics(self, prefix: str = "detection_") -> dict[str, float]:
        """Flat metric names: ``detection_fronthand_f1_score``, ``detection_micro_f1_score``..."""
        metrics: dict[str, float] = {}
        for name, counts in {**self.per_class, "micro": self.micro}.items():
            metrics[f"{prefix}{name}_precision"] = counts.precision
            metrics[f"{prefix}{name}_recall"] = counts.recall
            metrics[f"{prefix}{name}_f1_score"] = counts.f1
            metrics[f"{prefix}{name}_support"] = float(counts.tp + counts.fn)
        metrics[f"{prefix}macro_f1_score"] = self.macro_f1
        errors = np.asarray(self.onset_errors, dtype=np.float64)
        if errors.size:
            metrics[f"{prefix}onset_error_frames_mean_abs"] = float(np.abs(errors).mean())
            metrics[f"{prefix}onset_error_frames_mean"] = float(errors.mean())
        return metrics

    def to_dict(self) -> dict[str, object]:
        """Everything in the report, JSON-ready (``detection_report.json``)."""
        return {
            "iou_threshold": self.iou_threshold,
            "clips": self.clips,
            "ignored_strokes": self.ignored_strokes,
            "settings": self.settings,
            "counts": {
                name: {"tp": c.tp, "fp": c.fp, "fn": c.fn}
                for name, c in {**self.per_class, "micro": self.micro}.items()
            },
            "onset_errors_frames": self.onset_errors,
            "metrics": self.as_metrics(),
            "per_group": {name: g.summary() for name, g in sorted(self.per_group.items())},
        }

    def summary(self) -> dict[str, object]:
        """Clips, strokes, macro and micro F1: one row of the per-group table."""
        return {"clips": self.clips, "strokes": self.micro.tp + self.micro.fn,
                "macro_f1": self.macro_f1, "micro_f1": self.micro.f1}

    def table(self) -> str:
        """Per-class precision, recall, F1 and support as aligned text."""
        rows = [f"{'class':<12}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
        for name, c in {**self.per_class, "micro": self.micro}.items():
            rows.append(
                f"{name:<12}{c.precision:>10.3f}{c.recall:>8.3f}{c.f1:>8.3f}{c.tp + c.fn:>9d}"
            )
        rows.append(f"{'macro f1':<12}{self.macro_f1:>26.3f}")
        metrics = self.as_metrics()
        if "detection_onset_error_frames_mean_abs" in metrics:
            rows.append(
                "onset error (frames): mean abs "
                f"{metrics['detection_onset_error_frames_mean_abs']:.1f}, mean signed "
                f"{metrics['detection_onset_error_frames_mean']:+.1f}"
            )
        if self.per_group:
            rows.append(f"{'group':<16}{'clips':>6}{'strokes':>9}{'macro f1':>10}{'micro f1':>10}")
            for name, g in sorted(self.per_group.items()):
                rows.append(f"{name:<16}{len(g.clips):>6}{g.micro.tp + g.micro.fn:>9}"
                            f"{g.macro_f1:>10.3f}{g.micro.f1:>10.3f}")  # fmt: skip
        return "\n".join(rows)


def temporal_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of frame ranges ``[start, end)``.

    Example:
        >>> temporal_iou((0, 10), (5, 15))
        0.3333333333333333
    """
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - intersection
    return intersection / union if union > 0 else 0.0


def match_events(
    detected: Sequence[tuple[int, int]], annotated: Sequence[tuple[int, int]], *, iou: float
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of same-class ranges by IoU (highest first, at least ``iou``).

    Returns:
        ``(detected index, annotated index)`` pairs.

    Example:
        >>> match_events([(0, 10), (20, 30)], [(2, 12), (40, 50)], iou=0.3)
        [(0, 0)]
    """
    candidates = sorted(
        (
            (temporal_iou(d, a), i, j)
            for i, d in enumerate(detected)
            for j, a in enumerate(annotated)
        ),
        reverse=True,
    )
    used_detected: set[int] = set()
    used_annotated: set[int] = set()
    pairs = []
    for overlap, i, j in candidates:
        if overlap < iou or overlap <= 0:
            break
        if i in used_detected or j in used_annotated:
            continue
        used_detected.add(i)
        used_annotated.add(j)
        pairs.append((i, j))
    return sorted(pairs)


def score_clip(
    report: DetectionReport,
    detected: Sequence[tuple[str, int, int]],
    annotated: Sequence[tuple[str, int, int]],
) -> None:
    """Add one clip's ``(class, start, end)`` events and strokes (video frames) to ``report``."""
    for cls, counts in report.per_class.items():
        mine = [(s, e) for c, s, e in detected if c == cls]
        truth = [(s, e) for c, s, e in annotated if c == cls]
        pairs = match_events(mine, truth, iou=report.iou_threshold)
        counts.tp += len(pairs)
        counts.fp += len(mine) - len(pairs)
        counts.fn += len(truth) - len(pairs)
        report.onset_errors.extend(mine[i][0] - truth[j][0] for i, j in pairs)
    report.ignored_strokes += sum(1 for c, _, _ in annotated if c not in report.per_class)
