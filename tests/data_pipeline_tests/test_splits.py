"""Grouped stratified splits, class weights and grouped K-fold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from data_pipeline.config import SplitConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.splits import class_weights
from data_pipeline.splits import group_folds
from data_pipeline.splits import split_groups
from data_pipeline.splits import split_sizes


def _windows(classes_per_group: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Three windows per listed class per group: ``(groups, y)``."""
    groups, y = [], []
    for g, classes in enumerate(classes_per_group):
        for c in classes:
            groups += [f"clip{g:02d}"] * 3
            y += [c] * 3
    return np.array(groups), np.array(y)


@settings(max_examples=50, deadline=None)
@given(
    classes_per_group=st.lists(
        st.lists(st.integers(0, 2), min_size=1, max_size=3), min_size=3, max_size=30
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_split_groups_no_group_in_two_splits(
    classes_per_group: list[list[int]], seed: int
) -> None:
    groups, y = _windows(classes_per_group)
    split = split_groups(groups, y, n_classes=3, config=SplitConfig(seed=seed))
    parts = [set(groups[split.train]), set(groups[split.val]), set(groups[split.test])]
    # No group (clip) lands in two splits, and every window is in exactly one split.
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    everything = np.sort(np.concatenate([split.train, split.val, split.test]))
    assert everything.tolist() == list(range(len(y)))
    # Sizes in groups follow split_sizes.
    assert tuple(map(len, parts)) == split_sizes(len(set(groups)), SplitConfig())


def test_split_groups_every_class_in_every_split_when_groups_allow() -> None:
    # The rare class 2 lives in only 3 of 20 groups: one must go to each split.
    classes = [[0, 1]] * 17 + [[0, 2]] * 3
    groups, y = _windows(classes)
    for seed in range(5):
        split = split_groups(groups, y, n_classes=3, config=SplitConfig(seed=seed))
        for part in (split.train, split.val, split.test):
            # Every class appears in every split.
            assert set(y[part]) == {0, 1, 2}


def test_split_groups_train_served_first_when_a_class_is_too_rare() -> None:
    # Class 2 exists in a single group: it can only be in one split, and that is train.
    groups, y = _windows([[0, 1]] * 9 + [[0, 2]])
    split = split_groups(groups, y, n_classes=3, config=SplitConfig(seed=3))
    assert 2 in set(y[split.train])


def test_split_groups_deterministic_for_a_seed() -> None:
    groups, y = _windows([[0], [1], [0, 1]] * 6)
    first = split_groups(groups, y, n_classes=2, config=SplitConfig(seed=11))
    again = split_groups(groups, y, n_classes=2, config=SplitConfig(seed=11))
    other = split_groups(groups, y, n_classes=2, config=SplitConfig(seed=12))
    # Same seed, same split; another seed gives another split.
    assert first.test.tolist() == again.test.tolist() and first.val.tolist() == again.val.tolist()
    assert (first.test.tolist(), first.val.tolist()) != (other.test.tolist(), other.val.tolist())


def test_split_groups_too_few_groups_says_how_many_are_needed() -> None:
    groups, y = _windows([[0], [1]])
    # Two clips cannot fill train, val and test: the message gives the number needed.
    message = r"needs at least 3 groups \(one each .*\), but the data has 2"
    with pytest.raises(DataError, match=message):
        split_groups(groups, y, n_classes=2, config=SplitConfig())


@pytest.mark.parametrize(
    ("n_groups", "expected"),
    [(3, (1, 1, 1)), (4, (2, 1, 1)), (6, (3, 2, 1)), (20, (11, 5, 4)), (30, (16, 8, 6))],
)
def test_split_sizes_default_fractions(n_groups: int, expected: tuple[int, int, int]) -> None:
    # 15 % / 15 % of the groups, at least one each, the rest for train.
    assert split_sizes(n_groups, SplitConfig()) == expected


def test_split_sizes_large_held_out_fractions_still_leave_train_a_group() -> None:
    # 0.45 + 0.45 of 4 groups would round to 2 + 2; test gives one back so train keeps one.
    assert split_sizes(4, SplitConfig(val_fraction=0.45, test_fraction=0.45)) == (1, 2, 1)


def test_class_weights_balanced_on_training_counts() -> None:
    weights = class_weights(np.array([0, 0, 0, 0, 1, 2, 2, 2]), ("a", "b", "c"))
    # n / (k * n_c): 8 / (3 * 4), 8 / (3 * 1), 8 / (3 * 3).
    assert weights == pytest.approx({"a": 8 / 12, "b": 8 / 3, "c": 8 / 9})
    # A class with no training window gets 0.
    assert class_weights(np.array([0, 0]), ("a", "b"))["b"] == 0.0


def test_group_folds_disjoint_groups_cover_the_pool() -> None:
    groups, y = _windows([[0], [1], [0, 1]] * 4)
    pool = np.flatnonzero(~np.isin(groups, ["clip00", "clip01"]))  # clip00/01 play "test"
    folds = group_folds(groups, y, pool, k=3, seed=0)
    vals = [set(groups[val]) for _, val in folds]
    # Three folds; a group is in exactly one validation fold and never in its own training part.
    assert len(folds) == 3 and not (vals[0] & vals[1] or vals[0] & vals[2] or vals[1] & vals[2])
    for train, val in folds:
        assert not set(groups[train]) & set(groups[val])
        # Only pool windows are used (the test split stays out).
        assert set(np.concatenate([train, val]).tolist()) == set(pool.tolist())


@pytest.mark.parametrize(("k", "error", "message"), [
    (1, ConfigError, r"--cv must be at least 2"),
    (5, DataError, r"5-fold cross-validation needs at least 5 groups.*there are 4"),
])
def test_group_folds_bad_k(k: int, error: type, message: str) -> None:
    groups, y = _windows([[0], [1], [0], [1]])
    with pytest.raises(error, match=message):
        group_folds(groups, y, np.arange(len(y)), k=k, seed=0)


@settings(max_examples=40, deadline=None)
@given(n_groups=st.integers(5, 20), seed=st.integers(0, 1000), data=st.data())
def test_split_groups_named_groups_are_held_out_exactly(n_groups: int, seed: int, data) -> None:
    groups, y = _windows([[g % 3] for g in range(n_groups)])
    names = sorted(set(groups.tolist()))
    test = tuple(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)))
    rest = [n for n in names if n not in test]
    val = tuple(data.draw(st.lists(st.sampled_from(rest), max_size=1, unique=True)))
    config = SplitConfig(seed=seed, test_groups=test, val_groups=val)
    split = split_groups(groups, y, n_classes=3, config=config)
    # --test-groups are the test split exactly; --val-groups (when given) the validation split;
    # no group crosses splits and training keeps at least one group.
    assert set(groups[split.test]) == set(test)
    if val:
        assert set(groups[split.val]) == set(val)
    parts = [set(groups[getattr(split, s)]) for s in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert parts[0] and parts[1]


def test_split_groups_unknown_named_group_lists_the_groups() -> None:
    groups, y = _windows([[0], [1], [2], [0]])
    config = SplitConfig(group_by="player", test_groups=("clip09",))
    with pytest.raises(DataError, match=r"--test-groups names \['clip09'\].*no such player.*clip00"):
        split_groups(groups, y, n_classes=3, config=config)


def test_split_config_refuses_a_group_in_both_held_out_splits() -> None:
    with pytest.raises(ConfigError, match="must not share a group"):
        SplitConfig(test_groups=("a",), val_groups=("a", "b"))


def test_split_rule_names_key_seed_and_held_out_groups() -> None:
    rule = SplitConfig(group_by="group", seed=3, test_groups=("v1",), val_groups=("v2",)).rule
    assert rule == "grouped_by_group:train/val/test=0.55/0.25/0.20:seed=3:val=v2:test=v1"
