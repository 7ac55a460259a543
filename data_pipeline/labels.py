"""``labels.toml``: which raw labels of a data folder become which classes, and which are dropped.

Layout (``DIR/labels.toml``, or any file passed with ``--labels FILE``)::

    background = ["neutral"]        # classes that are no stroke (optional; see below)

    [labels]                         # raw label (case and runs of spaces ignored) -> class
    forehand = "forehand"
    "slice direita" = "forehand"
    neutral = "neutral"
    warmup = false                   # false (or "") drops the label's segments

Where the mapping comes from, first match wins: ``--labels FILE``, then ``DIR/labels.toml``,
then :data:`data_pipeline.config.DEFAULT_LABEL_MAP` (the Label Studio labels of today's tennis
projects). ``import-keypoints`` writes the labels it found as an identity mapping, so an imported
folder works as it is and the file is the one place to rename, merge or drop classes.

**Dropped labels** keep their segments out of every class: windows over them are not samples and
never become ``neutral``. **Background classes** (``neutral``, ``idle`` ...) are ordinary classes
for training; they only never vote on a player's handedness. Without a ``background`` key, the
classes named in :data:`BACKGROUND_NAMES` are background.

Example:
    >>> parse_labels({"labels": {"FH": "forehand", "idle": "idle", "junk": False}}, "x.toml")
    ({'fh': 'forehand', 'idle': 'idle'}, ('junk',), ('idle',))
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from data_pipeline._io import atomic_write_text
from data_pipeline.config import BACKGROUND_NAMES
from data_pipeline.config import LabelConfig
from data_pipeline.errors import DataError
from data_pipeline.layout import LABELS_FILE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

logger = logging.getLogger(__name__)

#: Class of the segments of a dropped label: never a class of the data, never a sample.
DROPPED = "(dropped)"


def normalise_label(label: str) -> str:
    """Lower-case ``label``, collapse white space: `` Slice  Direita`` -> ``slice direita``."""
    return " ".join(str(label).split()).lower()


def map_label(
    label: str, labels: LabelConfig, *, source: str, data_dir: Path | None = None
) -> str:
    """Class of raw ``label`` (:data:`DROPPED` for a dropped one).

    Args:
        label: the raw label.
        labels: the label settings.
        source: where the label was read, for the message.
        data_dir: the data folder, whose ``labels.toml`` the message names when
            ``labels.file`` is None.

    Raises:
        DataError: the label is unknown; the message names the file to edit.
    """
    key = normalise_label(label)
    if key in labels.dropped:
        return DROPPED
    cls = _normalised_map(tuple(labels.label_map.items())).get(key)
    if cls is not None:
        return cls
    known = sorted(_normalised_map(tuple(labels.label_map.items())))
    if labels.file is not None:
        fix = f"add {_quote(key)} = \"<class>\" (or = false to drop it) under [labels] in {labels.file}"
    else:
        target = Path(data_dir or "DIR") / LABELS_FILE
        fix = (
            f"create {target} with a [labels] table ({_quote(key)} = \"<class>\", "
            "or = false to drop it; one line per raw label), or pass --labels FILE"
        )
    raise DataError(f"unknown label {label!r} in {source}; the label mapping knows {known}. To fix: {fix}.")


@functools.lru_cache(maxsize=16)
def _normalised_map(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {normalise_label(raw): cls for raw, cls in items}


def parse_labels(
    doc: Mapping[str, Any], where: str
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """``(label_map, dropped, background)`` from a parsed ``labels.toml``.

    Raises:
        DataError: no ``[labels]`` table, a value that is neither a class name nor ``false``,
            or a ``background`` that is not a list of names.
    """
    table = doc.get("labels")
    if not isinstance(table, dict) or not table:
        raise DataError(
            f"{where} needs a [labels] table of raw label = class lines (e.g. forehand = "
            '"forehand"); see `python -m data_pipeline inspect DIR` for the raw labels.'
        )
    mapping: dict[str, str] = {}
    dropped: list[str] = []
    for raw, cls in table.items():
        if cls is False or cls == "":
            dropped.append(normalise_label(raw))
        elif isinstance(cls, str):
            mapping[normalise_label(raw)] = cls.strip()
        else:
            raise DataError(
                f"{where}: labels.{raw!r} must be a class name or false (drop it), but got "
                f"{cls!r}."
            )
    background = doc.get("background")
    if background is None:
        names = tuple(sorted(n for n in set(mapping.values()) if n.lower() in BACKGROUND_NAMES))
    elif isinstance(background, list) and all(isinstance(b, str) for b in background):
        names = tuple(sorted(set(background)))
    else:
        raise DataError(f"{where}: background must be a list of class names, but got {background!r}.")
    return mapping, tuple(sorted(dropped)), names


def load_label_file(path: str | Path, base: LabelConfig) -> LabelConfig:
    """``base`` with its mapping, dropped labels and background classes read from ``path``.

    Raises:
        DataError: the file is missing, not TOML, or malformed (see :func:`parse_labels`).
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"label file {path} does not exist; check --labels.") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path} is not a readable TOML file ({exc}); fix or remove it.") from exc
    mapping, dropped, background = parse_labels(doc, str(path))
    return dataclasses.replace(
        base, label_map=mapping, dropped=dropped, background=background, file=str(path)
    )


def resolve_labels(labels: LabelConfig, data_dir: str | Path) -> LabelConfig:
    """The label settings a data folder is read with: ``labels.file``, else
    ``DIR/labels.toml``, else ``labels`` as given (see the module docstring)."""
    if labels.file is not None:
        return load_label_file(labels.file, labels)
    local = Path(data_dir) / LABELS_FILE
    return load_label_file(local, labels) if local.is_file() else labels


def identity_labels_toml(labels: Iterable[str]) -> str:
    """``labels.toml`` text mapping every raw label to itself (what an import writes)."""
    names = sorted({str(label).strip() for label in labels if str(label).strip()})
    background = [n for n in names if n.lower() in BACKGROUND_NAMES]
    lines = [
        "# Raw label -> class. Rename, merge (two labels, one class) or drop (label = false)",
        "# classes here; every command reads this file (or the one given with --labels FILE).",
        "# Background classes are trained like any class but never vote on handedness.",
        f"background = [{', '.join(_quote(n) for n in background)}]",
        "",
        "[labels]",
    ]
    lines += [f"{_quote(name)} = {_quote(name)}" for name in names]
    return "\n".join(lines) + "\n"


def write_label_file(data_dir: str | Path, labels: Iterable[str]) -> Path:
    """Write ``DIR/labels.toml`` as the identity mapping of ``labels``, unless it exists.

    An existing file is the user's (renamed, merged or dropped classes) and is kept.
    """
    path = Path(data_dir) / LABELS_FILE
    if path.is_file():
        logger.info("kept the existing %s (edit it to map new labels)", path)
    else:
        atomic_write_text(path, identity_labels_toml(labels))
    return path


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
