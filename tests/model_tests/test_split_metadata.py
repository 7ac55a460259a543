"""A model stores its training split, so evaluation re-derives the same held-out groups."""

from __future__ import annotations

import json
from pathlib import Path

from data_pipeline.config import SplitConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from model.artifacts import PreprocessingSettings
from model.detection.evaluate import held_out_clips


def test_preprocessing_stores_the_split_and_evaluation_re_derives_it(
    small_synthetic_dir: Path,
) -> None:
    split = SplitConfig(seed=5, test_groups=("p01",))  # grouping key: auto -> player
    data = Dataset.open(small_synthetic_dir, split=split).windows(WindowConfig(30, 10))
    stored = PreprocessingSettings.from_dict(
        json.loads(json.dumps(PreprocessingSettings.from_data(data).to_dict()))
    )
    # The stored split names the resolved grouping key, the seed and the held-out group.
    assert stored.split == SplitConfig(seed=5, group_by="player", test_groups=("p01",))
    # Opened with the stored split, the data folder gives back the same test windows, and the
    # held-out clips are exactly that player's clips.
    reopened = Dataset.open(small_synthetic_dir, split=stored.split)
    again = reopened.windows(WindowConfig(30, 10))
    assert again.split.test.tolist() == data.split.test.tolist()
    clips = held_out_clips(reopened, stored)
    assert clips and {reopened.group_of(c) for c in clips} == {"p01"}


def test_preprocessing_without_a_split_still_loads() -> None:
    values = {
        "format_version": 1, "window_size": 30, "overlap": 10, "reference_fps": 30.0,
        "features": {"landmark_subset": [0, 11]}, "class_names": ["a", "b"],
        "feature_names": ["x", "y"],
    }  # fmt: skip
    # Models saved before splits were stored load with split None (evaluation uses defaults).
    assert PreprocessingSettings.from_dict(values).split is None
