"""describe(): the guide's four architecture_summary formats and the per-layer parameters."""

from __future__ import annotations

import pytest

from data_pipeline.errors import ConfigError
from model.build import build_model
from model.describe import describe
from model.spec import ModelSpec

GUIDE_CASES = [
    # (lstm units, bidirectional, batch norm, dense units) -> guide example string
    ((64, 32), (False, False), False, (32,), "LSTM[64, 32] → Dense[32]"),
    ((64, 32), (False, False), True, (32,), "LSTM[64, 32] → Dense[32] + BatchNorm"),
    ((64, 64), (True, False), False, (64,), "Bidirectional-LSTM[128, 64] → Dense[64]"),
    ((64, 64), (True, False), True, (64,), "Bidirectional-LSTM[128, 64] → Dense[64] + BatchNorm"),
]


def _spec(lstm, bidirectional, batch_norm, dense) -> ModelSpec:
    return ModelSpec.baseline().replace(
        lstm_units=lstm,
        bidirectional=bidirectional,
        batch_norm=batch_norm,
        dense_units=dense,
        dropout=(0.3,) * len(lstm) + (0.2,) * len(dense),
    )


@pytest.mark.parametrize(("lstm", "bidirectional", "batch_norm", "dense", "expected"), GUIDE_CASES)
def test_describe_architecture_summary_guide_formats(
    lstm, bidirectional, batch_norm, dense, expected
):
    params = describe(build_model(_spec(lstm, bidirectional, batch_norm, dense), (45, 60), 2))
    # The summary string is exactly the guide's format.
    assert params["architecture_summary"] == expected
    # The flags are read from the built layers.
    assert params["uses_batch_normalization"] is batch_norm
    assert params["uses_bidirectional"] is any(bidirectional)


def test_describe_bidirectional_counts_total_output_units():
    params = describe(build_model(_spec((64, 64), (True, False), True, (64,)), (45, 60), 3))
    # Guide, Test 4: lstm_layer_1_units is 128 (64 x 2), the second layer stays 64.
    assert params["lstm_layer_1_units"] == 128
    assert params["lstm_layer_2_units"] == 64


def test_describe_baseline_parameters():
    params = describe(build_model(ModelSpec.baseline(), (45, 60), 2))
    # V2 = LSTM(64) -> LSTM(32) -> Dense(32), dropout .3/.3/.2; the softmax output is excluded.
    assert params == {
        "num_lstm_layers": 2,
        "num_dense_layers": 1,
        "uses_batch_normalization": False,
        "uses_bidirectional": False,
        "lstm_layer_1_units": 64,
        "lstm_layer_2_units": 32,
        "dense_layer_1_units": 32,
        "dropout_1_rate": 0.3,
        "dropout_2_rate": 0.3,
        "dropout_3_rate": 0.2,
        "architecture_summary": "LSTM[64, 32] → Dense[32]",
    }


def test_describe_three_layers_two_dense_and_no_dense():
    spec = _spec((128, 96, 64), (False,) * 3, False, (64, 32))
    params = describe(build_model(spec, (30, 60), 2))
    # Layer counts and indices follow the built model.
    assert (params["num_lstm_layers"], params["num_dense_layers"]) == (3, 2)
    assert params["dense_layer_2_units"] == 32 and params["dropout_5_rate"] == 0.2
    assert params["architecture_summary"] == "LSTM[128, 96, 64] → Dense[64, 32]"
    bare = describe(build_model(_spec((16,), (False,), False, ()), (30, 60), 2))
    # Without hidden dense layers the summary has no Dense part.
    assert bare["architecture_summary"] == "LSTM[16]" and bare["num_dense_layers"] == 0


def test_build_model_masking_and_output_shape():
    model = build_model(ModelSpec.baseline().replace(mask_missing=True), (45, 60), 4)
    # The output is a softmax over the classes.
    assert tuple(model.output_shape) == (None, 4)
    # Masking is the first layer when requested.
    assert model.layers[0].name == "missing_frames"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"lstm_units": ()}, "lstm_units"),
        ({"bidirectional": (True,)}, "one flag per LSTM layer"),
        ({"dropout": (0.3, 0.3)}, "needs 3 rates"),
        ({"dropout": (0.3, 1.0, 0.2)}, r"\[0, 1\)"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"optimizer": "adagrad"}, "optimizer must be one of"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"reduce_lr_factor": 1.5}, "reduce_lr_factor"),
        ({"units": 3}, "unknown model setting"),
    ],
)
def test_model_spec_rejects_invalid_settings(changes, match):
    # Every validation branch raises a ConfigError naming the setting.
    with pytest.raises(ConfigError, match=match):
        ModelSpec.baseline().replace(**changes)


def test_build_model_rejects_single_class():
    # A one-class "classifier" is a data problem, reported as such.
    with pytest.raises(ConfigError, match="at least 2 classes"):
        build_model(ModelSpec.baseline(), (45, 60), 1)
