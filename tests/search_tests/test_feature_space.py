"""Feature choices as search-space entries: accepted, sampled, turned into FeatureConfig, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import tomllib

from data_pipeline.config import FeatureConfig
from data_pipeline.config import SplitConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import ConfigError
from search._params import suggest
from search._space import SearchSpace
from tests.search_tests.conftest import TINY_SPACE

FEATURES = {
    "representation": {"type": "categorical", "choices": list(FeatureConfig.REPRESENTATIONS)},
    "velocities": {"type": "bool"},
    "keep_visibility": {"type": "bool"},
    "canonical_handedness": {"type": "bool"},
}


def _space(**entries: object) -> SearchSpace:
    return SearchSpace.from_dict({**tomllib.loads(TINY_SPACE), **entries})


def test_space_feature_choices_reach_feature_config() -> None:
    space = _space(**FEATURES)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        params = suggest(trial, space)
        config = params.feature_config()
        # every sampled feature entry lands in the FeatureConfig under the same name
        for name in FEATURES:
            assert getattr(config, name) == trial.params[name] == params.sampled[name]
        seen.add(config.representation)
        study.tell(trial, 0.0)
    # the sampler explores the representations, not just one
    assert len(seen) > 1


def test_space_fixed_feature_value_is_not_a_trial_param() -> None:
    space = _space(representation="body_scaled", canonical_handedness=True)
    params = suggest(optuna.create_study().ask(), space)
    # a plain value fixes the choice: it reaches the config but is not sampled
    assert params.feature_config().representation == "body_scaled"
    assert params.feature_config().canonical_handedness is True
    assert "representation" not in params.sampled


@pytest.mark.parametrize(
    ("name", "choices", "message"),
    [
        ("representation", ["raw", "polar"], r"\[representation\] must be one of"),
        ("velocities", [0, 1], r"\[velocities\] must be true/false"),
        ("canonical_handedness", ["yes"], r"\[canonical_handedness\] must be true/false"),
    ],
)
def test_space_rejects_invalid_feature_values(name: str, choices: list, message: str) -> None:
    # an impossible feature value is refused at load time, naming the entry
    with pytest.raises(ConfigError, match=message):
        _space(**{name: {"type": "categorical", "choices": choices}})


def test_feature_choices_change_windows_and_are_cached(small_synthetic_dir: Path) -> None:
    dataset = Dataset.open(small_synthetic_dir)
    space = _space(window_size=30, overlap_fraction=0.0, representation="view_robust")
    params = suggest(optuna.create_study().ask(), space)
    window = params.window_config()
    robust = dataset.windows(window, params.feature_config())
    raw = dataset.windows(window, FeatureConfig())
    # the windows carry the chosen representation, with its own feature columns
    assert robust.features.representation == "view_robust"
    assert robust.feature_names != raw.feature_names
    # the same choice again is served from the per-choice cache
    assert dataset.windows(window, params.feature_config()) is robust


def test_canonical_handedness_choice_mirrors_only_left_handed_clips(
    small_synthetic_dir: Path,
) -> None:
    dataset = Dataset.open(small_synthetic_dir, split=SplitConfig(group_by="clip"))  # groups = clips
    space = _space(window_size=30, overlap_fraction=0.0, canonical_handedness=True)
    params = suggest(optuna.create_study().ask(), space)
    mirrored = dataset.windows(params.window_config(), params.feature_config())
    plain = dataset.windows(params.window_config(), FeatureConfig())
    hands = np.array([dataset.handedness(c) for c in plain.groups])
    same = np.all(np.isclose(mirrored.X, plain.X), axis=(1, 2))
    assert "left" in hands and "right" in hands
    # right-handed clips are untouched, every left-handed window is mirrored
    assert same[hands == "right"].all()
    assert not same[hands == "left"].any()
