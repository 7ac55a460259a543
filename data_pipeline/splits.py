"""Grouped, stratified train / validation / test splits, class weights and grouped K-fold.

**Grouping.** Every window belongs to a group (a clip, or a ``groups.toml`` key such as the
player); a group's windows all land in one split, so no stroke, clip or player is in two.

**Stratification.** Groups are whole, so class proportions can only be approximated. The split
is the best of :data:`N_CANDIDATES` random assignments of groups to train / val / test drawn from
``SplitConfig.seed`` (deterministic for a seed), compared in this order:

1. classes missing from train, then from val, then from test (fewest first): every class
   appears in every split whenever the groups allow it, and train is served first;
2. the summed distance of each split's share of windows from its target fraction plus the
   summed distance of each split's class proportions from the whole dataset's.

Split sizes in groups: see :func:`split_sizes`; at least :data:`MIN_GROUPS` groups are needed.

Example:
    >>> from data_pipeline.config import SplitConfig
    >>> groups = np.repeat([f"clip{i}" for i in range(10)], 4)
    >>> y = np.tile([0, 1, 0, 1], 10)
    >>> s = split_groups(groups, y, n_classes=2, config=SplitConfig(seed=1))
    >>> len(s.train) + len(s.val) + len(s.test)
    40
    >>> class_weights(np.array([0, 0, 0, 1]), ("backhand", "fronthand"))
    {'backhand': 0.6666666666666666, 'fronthand': 2.0}
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from data_pipeline.config import SplitConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.windowed import SplitIndices

logger = logging.getLogger(__name__)

#: Random group assignments compared per split (see the module docstring).
N_CANDIDATES = 256
#: A grouped split needs one group for each of train, val and test.
MIN_GROUPS = 3


def split_sizes(n_groups: int, config: SplitConfig) -> tuple[int, int, int]:
    """``(n_train, n_val, n_test)`` groups for ``n_groups`` groups under ``config``.

    Val and test get ``max(1, round(fraction * n_groups))`` groups; when that leaves train no
    group, the larger held-out split gives one back (test on a tie) until train has one.
    """
    n_val = max(1, int(np.floor(config.val_fraction * n_groups + 0.5)))
    n_test = max(1, int(np.floor(config.test_fraction * n_groups + 0.5)))
    while n_groups - n_val - n_test < 1 and max(n_val, n_test) > 1:
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_groups - n_val - n_test, n_val, n_test


def split_groups(
    groups: np.ndarray, y: np.ndarray, *, n_classes: int, config: SplitConfig
) -> SplitIndices:
    """Split windows into train / val / test by group (see the module docstring).

    Groups named in ``config.test_groups`` / ``config.val_groups`` are held out as they are;
    the other held-out split (if not named) is drawn from the remaining groups.

    Args:
        groups: str ``[N]`` group of each window.
        y: int ``[N]`` class index of each window.
        n_classes: number of classes (``y`` holds ``0 .. n_classes - 1``).
        config: fractions, seed, grouping and explicit held-out groups.

    Returns:
        Sorted window indices per split.

    Raises:
        DataError: fewer than :data:`MIN_GROUPS` groups, a named group the data does not
            have, or named groups that leave no group for training.
    """
    names, group_of = np.unique(np.asarray(groups), return_inverse=True)
    n_train, n_val, n_test = split_sizes(len(names), config)
    if n_train < 1:
        raise DataError(
            f"a grouped train/val/test split by {config.group_by} needs at least {MIN_GROUPS} "
            f"groups (one each for train, val and test), but the data has {len(names)} "
            f"({', '.join(map(str, names[:10]))}); add clips, or group by a finer key."
        )
    fixed_val = _named_groups(names, config.val_groups, "--val-groups", config.group_by)
    fixed_test = _named_groups(names, config.test_groups, "--test-groups", config.group_by)
    free = np.setdiff1d(np.arange(len(names)), np.concatenate([fixed_val, fixed_test]))
    draw_val = 0 if len(fixed_val) else n_val
    draw_test = 0 if len(fixed_test) else n_test
    while len(free) - draw_val - draw_test < 1 and max(draw_val, draw_test) > 1:
        if draw_test >= draw_val:
            draw_test -= 1
        else:
            draw_val -= 1
    if len(free) - draw_val - draw_test < 1:
        raise DataError(
            f"the groups named by --val-groups/--test-groups leave no {config.group_by} for "
            f"training ({len(names)} groups in all); name fewer groups."
        )
    counts = np.zeros((len(names), n_classes), dtype=np.int64)
    np.add.at(counts, (group_of, np.asarray(y, dtype=np.int64)), 1)
    rng = np.random.default_rng(config.seed)
    sizes = np.array([len(free) - draw_val - draw_test, len(fixed_val) + draw_val,
                      len(fixed_test) + draw_test])  # fmt: skip
    targets = sizes / len(names)
    best_key, best = None, None
    for _ in range(N_CANDIDATES if draw_val + draw_test else 1):
        order = free[rng.permutation(len(free))]
        parts = (
            order[draw_val + draw_test:],
            np.concatenate([fixed_val, order[:draw_val]]),
            np.concatenate([fixed_test, order[draw_val:draw_val + draw_test]]),
        )
        key = _score(counts, parts, targets)
        if best_key is None or key < best_key:
            best_key, best = key, parts
    assert best is not None
    chosen = [np.isin(group_of, part) for part in best]
    split = SplitIndices(*(np.flatnonzero(member) for member in chosen))
    logger.info(
        "split by %s (seed %d): %d/%d/%d groups, %d/%d/%d windows", config.group_by,
        config.seed, *sizes, len(split.train), len(split.val), len(split.test),
    )
    return split


def _named_groups(names: np.ndarray, wanted: tuple[str, ...], flag: str, key: str) -> np.ndarray:
    """Indices into ``names`` of the groups a flag names; DataError listing them if unknown."""
    index = {str(name): i for i, name in enumerate(names)}
    unknown = [g for g in wanted if g not in index]
    if unknown:
        shown = ", ".join(map(str, names[:20])) + (" ..." if len(names) > 20 else "")
        raise DataError(
            f"{flag} names {unknown}, but the data has no such {key}; its {key} groups are: "
            f"{shown}."
        )
    return np.array([index[g] for g in wanted], dtype=np.int64)


def _score(
    counts: np.ndarray, parts: tuple[np.ndarray, ...], targets: np.ndarray
) -> tuple[int, int, int, float]:
    totals = counts.sum(axis=0)
    overall = totals / max(totals.sum(), 1)
    per_split = np.stack([counts[part].sum(axis=0) for part in parts])
    missing = ((per_split == 0) & (totals > 0)).sum(axis=1)
    sizes = per_split.sum(axis=1)
    share = np.abs(sizes / max(sizes.sum(), 1) - targets).sum()
    proportions = per_split / np.maximum(sizes, 1)[:, None]
    balance = np.abs(proportions - overall).sum()
    return int(missing[0]), int(missing[1]), int(missing[2]), float(share + balance)


def class_weights(y_train: np.ndarray, class_names: tuple[str, ...]) -> dict[str, float]:
    """Balanced weights ``n / (k * n_c)`` on the training windows.

    A class without training windows gets weight 0.0 (there is nothing to weight; logging 0
    makes the gap visible).
    """
    n_classes = len(class_names)
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes)
    total = int(counts.sum())
    return {
        name: (total / (n_classes * int(n)) if n else 0.0)
        for name, n in zip(class_names, counts)
    }


def group_folds(
    groups: np.ndarray, y: np.ndarray, index: np.ndarray, *, k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, stratified K-fold over the windows ``index`` (e.g. train + val, never test).

    Uses scikit-learn's ``StratifiedGroupKFold(shuffle=True, random_state=seed)``: folds never
    share a group and keep class proportions as far as the groups allow.

    Returns:
        ``k`` pairs ``(train_windows, val_windows)`` of indices into the full window arrays.

    Raises:
        ConfigError: ``k < 2``.
        DataError: fewer than ``k`` groups in ``index``.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise ConfigError(f"--cv must be at least 2 folds, but got cv={k}; or leave --cv out.")
    index = np.asarray(index, dtype=np.int64)
    sub_groups = np.asarray(groups)[index]
    n_groups = len(np.unique(sub_groups))
    if n_groups < k:
        raise DataError(
            f"{k}-fold cross-validation needs at least {k} groups outside the test split, but "
            f"there are {n_groups}; lower --cv to at most {n_groups} or add clips."
        )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only n members": expected with few groups.
        warnings.simplefilter("ignore", UserWarning)
        folds = list(splitter.split(index, np.asarray(y)[index], sub_groups))
    return [(index[train], index[val]) for train, val in folds]
