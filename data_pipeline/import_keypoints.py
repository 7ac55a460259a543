"""Keypoints from other pose estimators (per-sample CSV files) -> a clip data folder.

Input: ``SRC/**/*.csv``, one file per sample, one row per frame, one column per keypoint
coordinate named ``<keypoint>_<channel>``:

- ``<keypoint>``: a MediaPipe landmark name (:data:`data_pipeline.landmarks.MEDIAPIPE_LANDMARKS`).
  The COCO-17 and MoveNet keypoints (``nose``, ``left_eye`` ... ``right_ankle``) carry the same
  names as their MediaPipe counterparts; camelCase (``leftWrist``) and a few aliases
  (``left_big_toe`` -> ``left_foot_index``) are accepted. Other keypoints (``neck``) are ignored
  with a warning.
- ``<channel>``: ``x``, ``y`` (required per keypoint), ``z`` (optional, else 0) and a confidence
  ``score`` / ``visibility`` / ``confidence`` (optional, else 1 where x and y are given).
- Coordinates are normalised image coordinates in [0, 1]; pixel coordinates need ``image_size``.

**Missing values.** A landmark the CSV does not have at all, or whose x or y cell is empty/NaN in
a frame, is stored as (0, 0, 0, visibility 0) in that frame: visibility 0 is the per-landmark
"missing" mark (the cache's per-frame mask cannot say which landmark is missing). A frame with
no landmark at all is masked.

**Labels.** From a label column (the first of :data:`LABEL_COLUMNS` the header has: ``label``,
``shot``, ``stroke``, ``class``), else from the file name without a trailing number
(``forehand_012.csv`` -> ``forehand``). A label column may change within a file: every run of
one non-empty label becomes one segment; empty cells are "no stroke".

**Output** (see :mod:`data_pipeline.layout`): ``OUT/poses/<stem>.npz`` per CSV, a Label Studio
shaped ``OUT/annotations/<stem>.json`` with the labelled frame ranges (1-based, inclusive, as
Label Studio writes them), and ``OUT/groups.toml`` with ``group = "<parent folder name>"`` per
clip (the split groups by it unless the clips name a ``player``), and ``OUT/labels.toml`` mapping
every label found to itself (kept when the folder already has one, so edits survive a re-import;
see :mod:`data_pipeline.labels`). ``<stem>`` is the CSV's path below
SRC with ``/`` replaced by ``__``, so equal file names in different folders stay apart.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_pipeline._io import atomic_write_text
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.labels import write_label_file
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import MEDIAPIPE_LANDMARKS
from data_pipeline.landmarks import N_LANDMARKS
from data_pipeline.layout import ANNOTATIONS_DIR
from data_pipeline.layout import GROUPS_FILE
from data_pipeline.layout import POSES_DIR
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import save_pose_clip
from data_pipeline.pose_model import file_sha256

logger = logging.getLogger(__name__)

#: Other estimators' names for MediaPipe landmarks (COCO-17 / MoveNet need none).
ALIASES: dict[str, str] = {
    "left_big_toe": "left_foot_index",
    "right_big_toe": "right_foot_index",
    "left_toe": "left_foot_index",
    "right_toe": "right_foot_index",
}
_CHANNELS = {"x": 0, "y": 1, "z": 2, "score": 3, "visibility": 3, "confidence": 3}
_COLUMN = re.compile(r"^(?P<keypoint>.+)_(?P<channel>x|y|z|score|visibility|confidence)$")
_TRAILING_NUMBER = re.compile(r"[\s_\-]*\d+$")
#: Header names of the per-row label column, in order of preference (case-insensitive).
LABEL_COLUMNS = ("label", "shot", "stroke", "class")


@dataclass(frozen=True)
class KeypointImport:
    """What :func:`import_keypoint_csvs` wrote.

    Args:
        clips: stems of the pose files written.
        n_frames: frames over all clips.
        ignored_columns: keypoint columns with no MediaPipe counterpart.
    """

    clips: tuple[str, ...]
    n_frames: int
    ignored_columns: tuple[str, ...]


def import_keypoint_csvs(
    src: str | Path,
    out_dir: str | Path,
    *,
    fps: float = 30.0,
    image_size: tuple[int, int] | None = None,
) -> KeypointImport:
    """Convert every CSV below ``src`` into pose files, annotations and ``groups.toml``.

    Args:
        src: folder searched recursively for ``*.csv``.
        out_dir: clip data folder to write.
        fps: frame rate of the rows. Defaults to 30.
        image_size: ``(width, height)`` in pixels when the coordinates are pixels; None means
            they are normalised to [0, 1]. Defaults to None.

    Raises:
        DataError: no CSV, a file without usable keypoints or labels, a non-numeric cell.
        ConfigError: ``fps`` or ``image_size`` is not positive.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise ConfigError(f"--fps must be positive, but got fps={fps}.")
    if image_size is not None and min(image_size) <= 0:
        raise ConfigError(f"--image-size must be positive, but got {image_size}.")
    src, out = Path(src), Path(out_dir)
    files = sorted(src.rglob("*.csv")) if src.is_dir() else []
    if not files:
        raise DataError(f"--src {src} holds no .csv file; give the folder of the keypoint CSVs.")
    groups: dict[str, str] = {}
    ignored: set[str] = set()
    found: set[str] = set()
    n_frames = 0
    for path in files:
        relative = path.relative_to(src)
        stem = "__".join(relative.with_suffix("").parts)
        landmarks, mask, labels, skipped = _read_csv(path, image_size)
        ignored |= skipped
        meta = {
            "source": "import-keypoints",
            "csv": relative.as_posix(),
            "csv_sha256": file_sha256(path),
        }
        clip = PoseClip(landmarks=landmarks, mask=mask, fps=fps, meta=meta)
        segments = _segments(labels or [_label_from_name(path)] * len(landmarks))
        if not segments:
            raise DataError(f"{path}: the label column is empty in every row; label the strokes.")
        found |= {label for label, _, _ in segments}
        save_pose_clip(out / POSES_DIR / f"{stem}.npz", clip)
        atomic_write_text(out / ANNOTATIONS_DIR / f"{stem}.json", _label_studio(stem, segments))
        groups[stem] = relative.parent.name or src.resolve().name
        n_frames += clip.n_frames
    atomic_write_text(out / GROUPS_FILE, _groups_toml(groups))
    write_label_file(out, found)
    if ignored:
        logger.warning("ignored keypoints without a MediaPipe counterpart: %s", sorted(ignored))
    return KeypointImport(tuple(groups), n_frames, tuple(sorted(ignored)))


def landmark_of(keypoint: str) -> int | None:
    """MediaPipe index of an estimator's keypoint name (any case style), or None."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", keypoint.strip())
    name = re.sub(r"[\s.\-]+", "_", name).lower()
    return LANDMARK_INDEX.get(ALIASES.get(name, name))


def _read_csv(
    path: Path, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, list[str] | None, set[str]]:
    """``(landmarks [T, 33, 4], mask [T], per-row labels or None, ignored keypoint names)``."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        raise DataError(f"{path} has no data rows (a header and one row per frame expected).")
    header = [h.strip() for h in rows[0]]
    columns, ignored = _columns(header)
    if not columns:
        raise DataError(
            f"{path} has no keypoint columns like 'left_wrist_x'; columns are {header[:8]}..."
        )
    half = sorted({i for i, c in columns if c < 2 and ((i, 0) in columns) != ((i, 1) in columns)})
    if half:
        names = [MEDIAPIPE_LANDMARKS[i] for i in half]
        raise DataError(f"{path}: keypoints {names} need both an _x and a _y column.")
    values = np.full((len(rows) - 1, N_LANDMARKS, 4), np.nan, dtype=np.float64)
    for (index, channel), column in columns.items():
        values[:, index, channel] = [
            _number(row, column, path, i) for i, row in enumerate(rows[1:], start=2)
        ]
    landmarks, mask = _to_cache(values, path, image_size)
    lowered = [h.lower() for h in header]
    labels = None
    name = next((c for c in LABEL_COLUMNS if c in lowered), None)
    if name is not None:
        column = lowered.index(name)
        labels = [row[column].strip() if column < len(row) else "" for row in rows[1:]]
    return landmarks, mask, labels, ignored


def _columns(header: list[str]) -> tuple[dict[tuple[int, int], int], set[str]]:
    """``(landmark, channel) -> column`` and the unknown keypoint names."""
    columns: dict[tuple[int, int], int] = {}
    ignored: set[str] = set()
    for column, name in enumerate(header):
        match = _COLUMN.match(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower())
        if match is None:
            continue
        index = landmark_of(match["keypoint"])
        if index is None:
            ignored.add(match["keypoint"])
            continue
        columns[(index, _CHANNELS[match["channel"]])] = column
    return columns, ignored


def _number(row: list[str], column: int, path: Path, line: int) -> float:
    cell = row[column].strip() if column < len(row) else ""
    if cell == "" or cell.lower() in ("nan", "na", "null", "none"):
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise DataError(
            f"{path}:{line}: {cell!r} in column {column + 1} is not a number."
        ) from None


def _to_cache(
    values: np.ndarray, path: Path, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Scale pixels, fill defaults, zero every missing landmark; return ``(landmarks, mask)``."""
    if image_size is not None:
        width, height = image_size
        values[:, :, (0, 2)] /= width
        values[:, :, 1] /= height
    observed = ~np.isnan(values[:, :, 0]) & ~np.isnan(values[:, :, 1])
    if not observed.any():
        raise DataError(f"{path}: no frame has any keypoint; check the coordinate columns.")
    largest = float(np.abs(values[:, :, 0:2][observed]).max())
    if largest > 2.0:
        raise DataError(
            f"{path}: coordinates reach {largest:g}, so they look like pixels; pass "
            "--image-size WIDTHxHEIGHT to normalise them to [0, 1]."
        )
    values[:, :, 2] = np.nan_to_num(values[:, :, 2], nan=0.0)
    values[:, :, 3] = np.nan_to_num(values[:, :, 3], nan=1.0)
    values[~observed] = 0.0
    return values.astype(np.float32), observed.any(axis=1)


def _segments(labels: list[str]) -> list[tuple[str, int, int]]:
    """Runs of one non-empty label -> ``(label, first row, last row)`` (0-based, inclusive)."""
    segments: list[tuple[str, int, int]] = []
    for row, label in enumerate(labels):
        if not label:
            continue
        if segments and segments[-1][0] == label and segments[-1][2] == row - 1:
            segments[-1] = (label, segments[-1][1], row)
        else:
            segments.append((label, row, row))
    return segments


def _label_from_name(path: Path) -> str:
    return _TRAILING_NUMBER.sub("", path.stem) or path.stem


def _label_studio(stem: str, segments: list[tuple[str, int, int]]) -> str:
    """One Label Studio task; ranges are 1-based and inclusive, as Label Studio exports them."""
    result = [
        {
            "type": "timelinelabels",
            "from_name": "movimentos",
            "to_name": "video",
            "value": {
                "ranges": [{"start": first + 1, "end": last + 1}],
                "timelinelabels": [label],
            },
        }
        for label, first, last in segments
    ]
    task = {
        "id": 1,
        "data": {"video": f"{stem}.csv"},
        "annotations": [{"id": 1, "was_cancelled": False, "result": result}],
    }
    return json.dumps([task], indent=1) + "\n"


def _groups_toml(groups: dict[str, str]) -> str:
    lines = ["# Written by `python -m data_pipeline import-keypoints`: group = parent folder.\n"]
    for stem, group in groups.items():
        lines.append(f"[groups.{json.dumps(stem)}]\ngroup = {json.dumps(group)}\n")
    return "\n".join(lines)
