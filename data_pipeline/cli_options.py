"""The data flags every command that reads a data folder shares: labels and the split.

``--labels FILE`` picks the label mapping (default: the data folder's ``labels.toml``, see
:mod:`data_pipeline.labels`); ``--group-by``, ``--split-seed``, ``--test-groups`` and
``--val-groups`` shape the grouped split (:class:`data_pipeline.config.SplitConfig`). A flag left
out keeps the value of the base settings (a ``--config`` file's ``[split]`` table, say).

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_data_arguments(parser)
    >>> args = parser.parse_args(["--group-by", "group", "--test-groups", "v1,v2"])
    >>> split_from_args(args).test_groups
    ('v1', 'v2')
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from data_pipeline.config import LabelConfig
from data_pipeline.config import SplitConfig


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--labels``, ``--group-by``, ``--split-seed``, ``--test-groups``, ``--val-groups``."""
    defaults = SplitConfig()
    parser.add_argument(
        "--labels", type=Path, default=None, metavar="FILE",
        help="label mapping TOML: raw label -> class, dropped labels, background classes "
        "(default: the data folder's labels.toml, else the Label Studio tennis labels)",
    )  # fmt: skip
    parser.add_argument(
        "--group-by", default=None, metavar="KEY",
        help="split groups: a groups.toml key (player, group, camera), clip, or auto = player "
        f"where every clip names one, else group, else clip (default: {defaults.group_by})",
    )  # fmt: skip
    parser.add_argument(
        "--split-seed", type=int, default=None, metavar="N",
        help=f"seed of the train/val/test split (default: {defaults.seed})",
    )  # fmt: skip
    parser.add_argument(
        "--test-groups", type=_names, default=None, metavar="A,B",
        help="groups held out as test, comma-separated (default: drawn by the seed)",
    )  # fmt: skip
    parser.add_argument(
        "--val-groups", type=_names, default=None, metavar="C",
        help="groups held out as validation, comma-separated (default: drawn by the seed)",
    )  # fmt: skip


def split_from_args(args: argparse.Namespace, base: SplitConfig = SplitConfig()) -> SplitConfig:
    """``base`` with the split flags that were given."""
    given = {
        "group_by": args.group_by, "seed": args.split_seed,
        "test_groups": args.test_groups, "val_groups": args.val_groups,
    }  # fmt: skip
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def labels_from_args(args: argparse.Namespace, base: LabelConfig = LabelConfig()) -> LabelConfig:
    """``base`` reading its mapping from ``--labels FILE`` when given."""
    if args.labels is None:
        return base
    return dataclasses.replace(base, file=str(args.labels))
