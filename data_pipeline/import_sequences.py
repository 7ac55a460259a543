"""Generic labelled sequences (not poses) -> a sequence data folder (``DIR/sequences.npz``).

Two inputs:

- **NPZ**: one ``.npz`` file with ``X [N, T, F]``, ``y [N]`` and optionally ``groups [N]``,
  ``feature_names [F]``, ``fps`` (scalar) and ``source_split [N]``.
- **sktime/aeon ``.ts``** (e.g. the UEA archive's ``<Name>_TRAIN.ts`` and ``<Name>_TEST.ts``):
  header lines ``@dimensions``, ``@seriesLength``, ``@classLabel true <labels>``..., then one
  sample per line after ``@data``: ``dim1 values:dim2 values:...:label``, values comma-separated,
  ``?`` for a missing value. Only equal-length series without timestamps are supported.

Every ``.ts`` file of the folder is imported; each sample is its own group, named
``<split>-<index>`` so TRAIN and TEST samples never share a group, and ``source_split [N]``
records the file each sample came from (``train`` / ``test``, from the ``_TRAIN`` / ``_TEST``
file-name suffix). The dataset's own grouped split ignores it; a caller who wants the archive's
published train/test split selects samples by ``source_split``.

Validation (all inputs): ``X`` is 3-D and numeric, ``y`` (and ``groups``, ``source_split``) have
one entry per sample, ``feature_names`` one per feature, at least two classes, no infinite value.
NaN marks a missing frame (the dataset masks every frame with a NaN), but a sample must keep at
least one complete frame.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_pipeline._io import atomic_write
from data_pipeline.errors import DataError
from data_pipeline.labels import write_label_file
from data_pipeline.layout import SEQUENCES_FILE

logger = logging.getLogger(__name__)

_KNOWN_KEYS = ("X", "y", "groups", "feature_names", "fps", "source_split")
_SPLIT_SUFFIX = re.compile(r"_(train|test)$", re.IGNORECASE)


def write_sequences(
    out_dir: str | Path,
    X: np.ndarray,
    y: Sequence[object] | np.ndarray,
    *,
    groups: Sequence[object] | np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    fps: float | None = None,
    source_split: Sequence[str] | np.ndarray | None = None,
) -> Path:
    """Validate the arrays and write ``out_dir/sequences.npz`` atomically.

    Args:
        out_dir: the sequence data folder to write.
        X: values ``[N, T, F]``; NaN marks a missing frame.
        y: one label per sample (stored as strings).
        groups: one group per sample; None makes every sample its own group.
        feature_names: one name per feature; None names them ``feature_<i>``.
        fps: sampling rate of the steps; None means the steps are reference frames.
        source_split: one entry per sample naming the split it came from, or None.

    Returns:
        The written file (``labels.toml`` beside it maps every class to itself unless the
        folder has one already).

    Raises:
        DataError: a rule of the module docstring is broken (the message names it).
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.dtype.kind not in "fiu" or 0 in X.shape:
        raise DataError(
            f"X must be a non-empty numeric array [N, T, F], but got shape {X.shape} of dtype "
            f"{X.dtype}; give one [T, F] sequence per sample."
        )
    X = X.astype(np.float32)
    n, _, n_features = X.shape
    arrays: dict[str, np.ndarray] = {"X": X}
    arrays["y"] = _per_sample("y", y, n)
    if groups is not None:
        arrays["groups"] = _per_sample("groups", groups, n)
    if source_split is not None:
        arrays["source_split"] = _per_sample("source_split", source_split, n)
    if feature_names is not None:
        names = np.asarray(feature_names).astype(str)
        if names.shape != (n_features,):
            raise DataError(
                f"feature_names must have one name per feature ({n_features}), but got "
                f"{names.shape[0] if names.ndim == 1 else names.shape}."
            )
        arrays["feature_names"] = names
    if fps is not None:
        if not (math.isfinite(fps) and fps > 0):
            raise DataError(f"fps must be positive, but got fps={fps}; fix --fps.")
        arrays["fps"] = np.array(float(fps))
    _check_values(X)
    classes = sorted(set(arrays["y"].tolist()))
    if len(classes) < 2:
        raise DataError(
            f"a classification dataset needs at least 2 classes, but y has {classes}; "
            "check the label column or array."
        )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    target = Path(out_dir) / SEQUENCES_FILE
    with atomic_write(target) as handle:
        handle.write(buffer.getvalue())
    write_label_file(out_dir, classes)
    logger.info("%s: %d samples x %d steps x %d features, classes %s", target, *X.shape, classes)
    return target


def import_npz(src: str | Path, out_dir: str | Path, *, fps: float | None = None) -> Path:
    """Import one NPZ file (``src`` itself, or the only ``.npz`` in folder ``src``).

    Args:
        src: the file, or a folder holding exactly one ``.npz``.
        out_dir: the sequence data folder to write.
        fps: sampling rate; overrides an ``fps`` stored in the file. Defaults to the file's.

    Raises:
        DataError: no single NPZ file, unreadable, or invalid arrays.
    """
    path = _single_file(Path(src), ".npz")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable .npz of plain arrays ({exc}); save it with "
            "numpy.savez(X=..., y=...) and string arrays, not objects."
        ) from exc
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise DataError(f"{path} lacks {missing}; it holds {sorted(arrays)}.")
    extra = sorted(set(arrays) - set(_KNOWN_KEYS))
    if extra:
        logger.warning("%s: ignoring arrays %s (known: %s)", path, extra, _KNOWN_KEYS)
    stored_fps = float(arrays["fps"]) if "fps" in arrays else None
    return write_sequences(
        out_dir,
        arrays["X"],
        arrays["y"],
        groups=arrays.get("groups"),
        feature_names=arrays.get("feature_names"),
        fps=fps if fps is not None else stored_fps,
        source_split=arrays.get("source_split"),
    )


def import_ts(src: str | Path, out_dir: str | Path, *, fps: float | None = None) -> Path:
    """Import every ``.ts`` file of folder ``src`` (or the single file ``src``).

    Args:
        src: folder with ``<Name>_TRAIN.ts`` / ``<Name>_TEST.ts`` (any ``.ts`` files), or one file.
        out_dir: the sequence data folder to write.
        fps: sampling rate of the series; None stores none. Defaults to None.

    Raises:
        DataError: no ``.ts`` file, a malformed one (file and line named), or files whose
            series shapes differ.
    """
    src = Path(src)
    files = [src] if src.is_file() else sorted(src.glob("*.ts"), key=_train_first)
    if not files:
        raise DataError(f"--src {src} holds no .ts file; give the folder of the .ts files.")
    Xs, ys, groups, splits = [], [], [], []
    for path in files:
        X, y = read_ts(path)
        if Xs and X.shape[1:] != Xs[0].shape[1:]:
            raise DataError(
                f"{path} has series of shape [T, F]={list(X.shape[1:])}, but {files[0]} has "
                f"{list(Xs[0].shape[1:])}; import files of one problem only."
            )
        match = _SPLIT_SUFFIX.search(path.stem)
        split = match.group(1).lower() if match else path.stem.lower()
        Xs.append(X)
        ys.extend(y)
        groups.extend(f"{split}-{i:04d}" for i in range(len(y)))
        splits.extend([split] * len(y))
    n_features = Xs[0].shape[2]
    return write_sequences(
        out_dir,
        np.concatenate(Xs),
        ys,
        groups=groups,
        source_split=splits,
        fps=fps,
        feature_names=[f"dim_{i}" for i in range(n_features)],
    )


def read_ts(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Parse one equal-length, classification ``.ts`` file into ``(X [N, T, F], labels)``.

    Raises:
        DataError: the header or a data line breaks the format (file and line named).
    """
    path = Path(path)
    header: dict[str, str] = {}
    samples: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path.name}:{number}"
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{where}: expected a @header line or @data, got {line[:40]!r}.")
            key, _, value = line[1:].partition(" ")
            header[key.lower()] = value.strip()
            in_data = key.lower() == "data"
            continue
        sample, label = _ts_line(line, header, where)
        if samples and sample.shape != samples[0].shape:
            raise DataError(
                f"{where}: series of shape [T, F]={list(sample.shape)}, but earlier lines have "
                f"{list(samples[0].shape)}; only equal-length series are supported."
            )
        samples.append(sample)
        labels.append(label)
    if not samples:
        raise DataError(f"{path} has no data lines (is @data missing?).")
    return np.stack(samples), labels


def _ts_line(line: str, header: dict[str, str], where: str) -> tuple[np.ndarray, str]:
    if header.get("timestamps", "false").lower() == "true":
        raise DataError(f"{where}: series with timestamps (@timeStamps true) are not supported.")
    class_label = header.get("classlabel", "").split()
    if not class_label or class_label[0].lower() != "true":
        raise DataError(
            f"{where}: only classification files (@classLabel true ...) are supported."
        )
    *dims, label = line.split(":")
    label = label.strip()
    if len(class_label) > 1 and label not in class_label[1:]:
        raise DataError(
            f"{where}: label {label!r} is not declared in @classLabel {class_label[1:]}."
        )
    declared = header.get("dimensions", str(len(dims)))
    if not declared.isdigit():
        raise DataError(f"{where}: @dimensions must be a whole number, but got {declared!r}.")
    if len(dims) != int(declared) or not dims:
        raise DataError(f"{where}: {len(dims)} dimensions, but @dimensions says {declared}.")
    try:
        series = [[math.nan if v.strip() == "?" else float(v) for v in d.split(",")] for d in dims]
    except ValueError as exc:
        raise DataError(f"{where}: a value is not a number ({exc}).") from exc
    if len({len(s) for s in series}) != 1:
        raise DataError(f"{where}: dimensions have different lengths {[len(s) for s in series]}.")
    return np.asarray(series, dtype=np.float32).T, label


def _train_first(path: Path) -> tuple[bool, str]:
    return (not path.stem.lower().endswith("_train"), path.name)


def _per_sample(name: str, values: Sequence[object] | np.ndarray, n: int) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (n,):
        raise DataError(
            f"{name} must have one entry per sample ({n}), but got shape {array.shape}."
        )
    return array.astype(str)


def _check_values(X: np.ndarray) -> None:
    if np.isinf(X).any():
        raise DataError(f"X holds {int(np.isinf(X).sum())} infinite values; replace them by NaN.")
    complete = ~np.isnan(X).any(axis=2)
    empty = np.flatnonzero(~complete.any(axis=1))
    if empty.size:
        raise DataError(
            f"{empty.size} samples have no complete frame (NaN in every step), e.g. sample "
            f"{int(empty[0])}; drop them or fill the missing values."
        )
    if not complete.all():
        logger.warning("%d frames hold NaN; they will be masked", int((~complete).sum()))


def _single_file(src: Path, suffix: str) -> Path:
    if src.is_file():
        return src
    files = sorted(src.glob(f"*{suffix}")) if src.is_dir() else []
    if len(files) != 1:
        raise DataError(
            f"--src {src} must be a {suffix} file or a folder with exactly one, but it holds "
            f"{len(files)}: {[f.name for f in files][:5]}."
        )
    return files[0]
