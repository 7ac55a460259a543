"""``groups.toml``: who, where and which hand, per clip.

Layout (every key optional; clip stems match case-insensitively)::

    [groups."secao_99"]
    player = "ana"
    camera = "gopro-left"
    handedness = "left"     # or "right"

``SplitConfig.group_by`` names the key that groups clips for the split (``clip`` needs no file:
every clip is its own group). Handedness given here wins over the annotations and over
inference (see ``Dataset.handedness``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from data_pipeline.errors import DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HANDEDNESS = ("left", "right")


@dataclass(frozen=True)
class ClipGroups:
    """The ``groups.toml`` entries of one data folder.

    Args:
        entries: clip stem (lower-case) -> its keys (``player``, ``camera``, ``handedness`` ...).
        path: the file they came from, for messages; None when there is no file.
    """

    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path | None = None

    def get(self, clip_id: str, key: str) -> str | None:
        """Value of ``key`` for ``clip_id``, or None when the file does not say."""
        return self.entries.get(clip_id.lower(), {}).get(key)

    def group_of(self, clip_id: str, key: str) -> str:
        """The group ``clip_id`` belongs to when grouping by ``key`` (``clip``: the clip itself).

        Raises:
            DataError: ``key`` is not ``clip`` and the file gives no ``key`` for the clip.
        """
        if key == "clip":
            return clip_id
        value = self.get(clip_id, key)
        if value is None:
            where = self.path if self.path is not None else "groups.toml (absent)"
            raise DataError(
                f"clip {clip_id!r} has no {key!r} in {where}, but the split groups by {key!r}; "
                f'add [groups."{clip_id}"] {key} = "..." or group by clip.'
            )
        return value

    def unknown_clips(self, clip_ids: Iterable[str]) -> list[str]:
        """Stems named in the file that are not among ``clip_ids`` (likely typos)."""
        known = {c.lower() for c in clip_ids}
        return sorted(stem for stem in self.entries if stem not in known)


def load_groups(path: str | Path) -> ClipGroups:
    """Read ``groups.toml``; a missing file means "no groups" (every clip is its own group).

    Raises:
        DataError: the file is not valid TOML, an entry is not a table, or a handedness is
            neither ``left`` nor ``right``.
    """
    path = Path(path)
    if not path.is_file():
        return ClipGroups()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid TOML ({exc}); fix the file or remove it.") from exc
    tables = doc.get("groups", {})
    if not isinstance(tables, dict):
        raise DataError(f"{path}: 'groups' must be a table of [groups.\"<clip>\"] entries.")
    entries: dict[str, dict[str, str]] = {}
    for stem, table in tables.items():
        if not isinstance(table, dict):
            raise DataError(
                f'{path}: groups.{stem} must be a table like [groups."{stem}"] player = "..."; '
                f"got {table!r}."
            )
        values = {str(k): str(v) for k, v in table.items()}
        hand = values.get("handedness")
        if hand is not None and hand.lower() not in HANDEDNESS:
            raise DataError(
                f"{path}: groups.{stem}.handedness must be 'left' or 'right', but got {hand!r}."
            )
        if hand is not None:
            values["handedness"] = hand.lower()
        entries[str(stem).lower()] = values
    return ClipGroups(entries=entries, path=path)
