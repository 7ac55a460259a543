"""``describe``: the logged architecture parameters, read from a built Keras model."""

from __future__ import annotations

import keras


def describe(model: keras.Model) -> dict[str, object]:
    """Architecture parameters of ``model`` under the logged names (docs/tracking.md).

    Everything is derived from the model's layers, not from the spec that built it:
    ``num_lstm_layers``, ``num_dense_layers`` (the last Dense, the output, excluded),
    ``uses_batch_normalization``, ``uses_bidirectional``, ``lstm_layer_{i}_units`` (total output
    units, so a concatenating ``Bidirectional`` layer counts twice its LSTM's units),
    ``dense_layer_{i}_units``, ``dropout_{i}_rate`` (in layer order) and ``architecture_summary``.

    The summary has the logged formats: ``LSTM[64, 32] → Dense[32]``, with `` + BatchNorm`` when
    any BatchNormalization layer exists and a ``Bidirectional-`` prefix when any LSTM layer is
    bidirectional, e.g. ``Bidirectional-LSTM[128, 64] → Dense[64] + BatchNorm``. A model
    without hidden dense layers reads ``LSTM[64, 32]``.

    Args:
        model: a built model (as returned by ``build_model``).

    Returns:
        Parameter name -> value (ints, floats, bools and the summary string).

    Example:
        >>> from model.build import build_model
        >>> from model.spec import ModelSpec
        >>> describe(build_model(ModelSpec.baseline(), (45, 60), 2))["architecture_summary"]
        'LSTM[64, 32] → Dense[32]'
    """
    lstm_units: list[int] = []
    dense_units: list[int] = []
    dropout_rates: list[float] = []
    bidirectional = batch_norm = False
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            bidirectional = True
            lstm_units.append(_bidirectional_units(layer))
        elif isinstance(layer, keras.layers.LSTM):
            lstm_units.append(int(layer.units))
        elif isinstance(layer, keras.layers.Dense):
            dense_units.append(int(layer.units))
        elif isinstance(layer, keras.layers.Dropout):
            dropout_rates.append(float(layer.rate))
        elif isinstance(layer, keras.layers.BatchNormalization):
            batch_norm = True
    hidden_dense = dense_units[:-1]
    params: dict[str, object] = {
        "num_lstm_layers": len(lstm_units),
        "num_dense_layers": len(hidden_dense),
        "uses_batch_normalization": batch_norm,
        "uses_bidirectional": bidirectional,
    }
    params.update({f"lstm_layer_{i}_units": u for i, u in enumerate(lstm_units, start=1)})
    params.update({f"dense_layer_{i}_units": u for i, u in enumerate(hidden_dense, start=1)})
    params.update({f"dropout_{i}_rate": r for i, r in enumerate(dropout_rates, start=1)})
    params["architecture_summary"] = _summary(lstm_units, hidden_dense, bidirectional, batch_norm)
    return params


def _bidirectional_units(layer: keras.layers.Bidirectional) -> int:
    forward, backward = int(layer.forward_layer.units), int(layer.backward_layer.units)
    return forward + backward if layer.merge_mode == "concat" else forward


def _summary(lstm: list[int], dense: list[int], bidirectional: bool, batch_norm: bool) -> str:
    text = ("Bidirectional-" if bidirectional else "") + f"LSTM[{', '.join(map(str, lstm))}]"
    if dense:
        text += f" → Dense[{', '.join(map(str, dense))}]"
    return text + (" + BatchNorm" if batch_norm else "")
