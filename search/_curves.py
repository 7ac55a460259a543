"""The pruning picture that stays readable at 50+ trials: learning curves coloured by outcome.

Optuna's ``plot_intermediate_values`` gives each trial its own colour and legend entry (a
50-entry legend, trials 19–49 in one colour). Here a curve's colour says what happened to the
trial: pruned (grey, thin, an ``x`` where it was stopped), complete (blue), the best complete trial
(red, thick); the legend has those three entries. :func:`curve_data` computes, the two renderers draw the same data.
"""

from __future__ import annotations

from typing import Any
from typing import NamedTuple

import optuna
from optuna.trial import TrialState

STYLES = {  # outcome -> (colour, line width, opacity)
    "pruned": ("#9e9e9e", 1.0, 0.5),
    "complete": ("#1f77b4", 1.5, 0.8),
    "best": ("#d62728", 3.0, 1.0),
}


class Curve(NamedTuple):
    number: int
    outcome: str  # pruned, complete or best
    steps: list[int]
    values: list[float]


def curve_data(study: optuna.Study) -> list[Curve]:
    """One curve per finished trial with intermediate values, the best drawn last (on top)."""
    try:
        best = study.best_trial.number
    except ValueError:
        best = None
    curves = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if not trial.intermediate_values:
            continue
        steps = sorted(trial.intermediate_values)
        outcome = "pruned" if trial.state == TrialState.PRUNED else "complete"
        outcome = "best" if trial.number == best else outcome
        curves.append(
            Curve(trial.number, outcome, steps, [trial.intermediate_values[s] for s in steps])
        )
    if not curves:
        raise ValueError("no trial reported intermediate values yet")
    order = {"pruned": 0, "complete": 1, "best": 2}
    return sorted(curves, key=lambda c: order[c.outcome])


def plot_plotly(study: optuna.Study, y_label: str) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    shown: set[str] = set()
    for curve in curve_data(study):
        colour, width, opacity = STYLES[curve.outcome]
        figure.add_trace(
            go.Scatter(
                x=curve.steps,
                y=curve.values,
                mode="lines+markers" if curve.outcome == "pruned" else "lines",
                marker={"symbol": "x", "size": 7},
                line={"color": colour, "width": width},
                opacity=opacity,
                name=curve.outcome,
                legendgroup=curve.outcome,
                showlegend=curve.outcome not in shown,
                hovertemplate=f"trial {curve.number} ({curve.outcome})<br>epoch %{{x}}: %{{y}}",
            )
        )
        shown.add(curve.outcome)
    figure.update_layout(title="Intermediate values by outcome", xaxis_title="epoch")
    figure.update_yaxes(title_text=y_label)
    return figure


def plot_matplotlib(study: optuna.Study, y_label: str) -> Any:
    import matplotlib.pyplot as plt

    _, axes = plt.subplots()
    shown: set[str] = set()
    for curve in curve_data(study):
        colour, width, opacity = STYLES[curve.outcome]
        label = None if curve.outcome in shown else curve.outcome
        pruned = curve.outcome == "pruned"
        axes.plot(
            curve.steps,
            curve.values,
            color=colour,
            linewidth=width,
            alpha=opacity,
            label=label,
            marker="x" if pruned else None,
            markevery=[-1] if pruned else None,
        )
        shown.add(curve.outcome)
    axes.set_title("Intermediate values by outcome")
    axes.set_xlabel("epoch")
    axes.set_ylabel(y_label)
    axes.legend(loc="best")
    return axes
