"""Search-space file: loading, validation messages, clipping, and the values trials can take."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from data_pipeline.config import WindowConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import spelled_as
from model.spec import ModelSpec
from search._config import SPACE_SETTING_NAMES
from search._params import baseline_values
from search._params import grid_values
from search._params import suggest
from search._space import DEFAULT_SPACE
from search._space import GRID_SPACE
from search._space import SearchSpace
from search._space import entry_name

VALID = DEFAULT_SPACE.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_space_default_file_loads_with_guide_names() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    # the entries a user filters runs by carry the guide's spelling
    assert {
        "window_size",
        "uses_bidirectional",
        "uses_batch_normalization",
        "learning_rate",
    } <= set(space.params)


@pytest.mark.parametrize(
    ("replace", "by", "match"),
    [
        (
            '[batch_size]\ntype = "categorical"',
            '[batch_sise]\ntype = "categorical"',
            r"\[batch_sise\] is not a known",
        ),
        (
            "low = 1e-4\nhigh = 1e-2",
            "low = 1e-2\nhigh = 1e-4",
            r"\[learning_rate\] low must be <= high",
        ),
        (
            '[num_lstm_layers]\ntype = "int"',
            '[num_lstm_layers]\ntype = "integer"',
            r"type must be one of",
        ),
        ("choices = [16, 32, 64]", "choices = []", r"\[batch_size\] needs a non-empty list"),
        (
            "high = 0.5\n\n[num_lstm_layers]",
            "high = 1.0\n\n[num_lstm_layers]",
            r"\[overlap_fraction\] must be in \[0, 1\)",
        ),
        (
            "choices = [32, 64, 96, 128, 256]",
            "choices = [31, 64]",
            r"must be even when uses_bidirectional",
        ),
        ("\nepochs = 60 ", "\nepochs = 0 ", r"\[epochs\] must be an int >= 1"),
        (
            "\nearly_stopping_patience = 10 ",
            "\nearly_stopping_patience = 0 ",
            r"\[early_stopping_patience\] must be an int >= 1",
        ),
        ("[dropout_rate]", "[dropout_rates]", r"dropout_rates\] must be strings"),
    ],
)
def test_space_invalid_entry_is_refused_with_file_key_and_fix(
    tmp_path: Path, replace: str, by: str, match: str
) -> None:
    assert replace in VALID
    path = _write(tmp_path, VALID.replace(replace, by, 1))
    # each message names the file and the entry
    with pytest.raises(ConfigError, match=match) as info:
        SearchSpace.from_toml(path)
    assert str(path) in str(info.value)


def test_space_missing_entry_lists_it(tmp_path: Path) -> None:
    text = VALID.split("[batch_size]")[0]
    path = _write(tmp_path, text)
    # the missing entry is named, with where to copy it from
    with pytest.raises(ConfigError, match=r"batch_size.*default_space.toml"):
        SearchSpace.from_toml(path)


def test_space_absolute_overlap_must_stay_below_every_window(tmp_path: Path) -> None:
    block = VALID[VALID.index("[overlap_fraction]") : VALID.index("[num_lstm_layers]")]
    text = VALID.replace(block, '[overlap]\ntype = "categorical"\nchoices = [10, 15]\n\n')
    SearchSpace.from_toml(_write(tmp_path, text))  # windows start at 20: fine
    bad = text.replace("choices = [10, 15]", "choices = [10, 20]")
    # an overlap that can reach the smallest window is impossible by construction
    with pytest.raises(ConfigError, match=r"\[overlap\] can reach 20 frames.*overlap_fraction"):
        SearchSpace.from_toml(_write(tmp_path, bad))


def test_space_not_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        SearchSpace.from_toml(_write(tmp_path, "[window_size\n"))
    with pytest.raises(ConfigError, match="not found; pass an existing --space"):
        SearchSpace.from_toml(tmp_path / "nope.toml")


def test_space_clip_window_limits_to_data_and_refuses_empty() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    clipped = space.clip_window(1, 42)
    # no window longer than the data admits can be sampled
    assert clipped["window_size"].bounds() == (20, 40)
    with pytest.raises(ConfigError, match=r"data admits windows of 1\.\.12 frames"):
        space.clip_window(1, 12)


def test_suggest_overlap_is_always_below_window() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(200):
        params = suggest(study.ask(), space)
        # stride >= 1 for every sampled trial, and one dropout per layer
        assert 0 <= params.overlap < params.window_size
        assert len(params.dropout) == len(params.lstm_units) + len(params.dense_units)
        params.model_spec()  # always a valid ModelSpec


def test_suggest_bidirectional_units_are_total_output() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    study = optuna.create_study()
    study.enqueue_trial(
        {"uses_bidirectional": True, "num_lstm_layers": 1, "lstm_layer_1_units": 128}
    )
    params = suggest(study.ask(), space)
    # the guide logs a bidirectional layer's total output; each direction gets half
    assert params.sampled["lstm_layer_1_units"] == 128
    assert params.model_spec().lstm_units == (64,)
    assert params.model_spec().bidirectional == (True,)


def test_baseline_values_rebuild_the_v2_model() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    values = baseline_values(space, (1, 500))
    study = optuna.create_study()
    study.enqueue_trial(values)
    params = suggest(study.ask(), space)
    # every baseline value is inside the space and gives back the users' V2 settings
    assert all(space.contains(k, v) for k, v in values.items())
    assert (params.window_size, params.overlap) == (45, 15)
    # the model is V2's; its training budget is the space's (patience 10 / 5 instead of 20 / 10)
    assert params.model_spec(epochs=100) == ModelSpec.baseline().replace(
        early_stopping_patience=10, reduce_lr_patience=5
    )
    # features are fixed too, not drawn: the default space has no raw coordinates, so the nearest
    assert values["representation"] == "body_scaled"
    assert params.features["representation"] == "body_scaled"


def test_baseline_values_keep_the_users_raw_features_when_the_space_offers_them(
    tmp_path: Path,
) -> None:
    text = DEFAULT_SPACE.read_text().replace(
        'choices = ["body_scaled", "view_robust"]', 'choices = ["view_robust", "raw"]'
    )
    space = SearchSpace.from_toml(_write(tmp_path, text))
    assert baseline_values(space, (1, 500))["representation"] == "raw"


def test_space_training_entries_reach_the_model_spec(tmp_path: Path) -> None:
    text = VALID.replace("early_stopping_patience = 10 ", "early_stopping_patience = 3 ", 1)
    space = SearchSpace.from_toml(_write(tmp_path, text))
    spec = suggest(optuna.create_study().ask(), space).model_spec()
    # fixed training entries configure every trial's early stopping and LR decay
    assert (spec.early_stopping_patience, spec.reduce_lr_patience) == (3, 5)
    without = "\n".join(
        line for line in VALID.splitlines() if "_patience" not in line.split("#")[0]
    )
    space = SearchSpace.from_toml(_write(tmp_path, without))
    spec = suggest(optuna.create_study().ask(), space).model_spec()
    # absent, they keep ModelSpec's defaults (the users' 20 / 10)
    assert (spec.early_stopping_patience, spec.reduce_lr_patience) == (20, 10)


def test_grid_space_reproduces_the_users_grid() -> None:
    space = SearchSpace.from_toml(GRID_SPACE)
    grid = grid_values(space)
    sizes = [len(v) for v in grid.values()]
    # 3 windows x 3 overlaps x 4 stacks x 3 dense x 3 dropout sets x 2 x 2 x 3 lr x 3 batch
    assert sorted(sizes) == sorted([3, 3, 4, 3, 3, 2, 2, 3, 3])
    assert grid["dense_layer_1_units"] == [32, 64, 128]
    values = baseline_values(space, (1, 500))
    assert all(grid[k].count(v) == 1 for k, v in values.items())


def test_grid_refuses_sampled_layer_counts() -> None:
    space = SearchSpace.from_toml(DEFAULT_SPACE)
    with pytest.raises(ConfigError, match="grid sampler"):
        grid_values(space)


def test_entry_name_maps_per_layer_parameters() -> None:
    assert entry_name("lstm_layer_3_units") == "lstm_layer_units"
    assert entry_name("dense_layer_1_units") == "dense_layer_units"
    assert entry_name("dropout_2_rate") == "dropout_rate"
    assert entry_name("dropout_rates") == "dropout_rates"


def test_grid_sampler_runs_the_users_grid_points_after_the_baseline() -> None:
    from search._config import SearchConfig
    from search._study import make_sampler

    space = SearchSpace.from_toml(GRID_SPACE)
    sampler = make_sampler(SearchConfig(sampler="grid"), space)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.enqueue_trial(baseline_values(space, (1, 500)))
    grid = grid_values(space)
    first = suggest(study.ask(), space)
    # trial 0 is the baseline, expressed as one of the old grid's points
    assert first.sampled["lstm_units"] == "64,32" and first.dropout == (0.3, 0.3, 0.2)
    for _ in range(5):
        params = suggest(study.ask(), space)
        # every later trial is a grid point
        assert all(value in grid[name] for name, value in params.sampled.items())


def test_space_window_errors_name_the_space_tables() -> None:
    with spelled_as(SPACE_SETTING_NAMES):
        # under search.run a window error names the space file's tables, not inspect's flags
        with pytest.raises(ConfigError, match=r"lower the space's \[overlap\] or raise the"):
            WindowConfig(window_size=10, overlap=10)
    # outside, the data pipeline's own flags
    with pytest.raises(ConfigError, match="lower --overlap or raise --window-size"):
        WindowConfig(window_size=10, overlap=10)
