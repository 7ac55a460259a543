"""The study's plots: interactive HTML (plotly) and static PNG (matplotlib) from the same data.

Written after a run (never per trial) and by ``python -m search.plots`` to
``studies/<study>/plots/``: ``plots.html`` holds every figure with plotly.js embedded once (it
opens offline and inside the MLflow UI), and ``<name>.png`` is each figure's static version,
drawn by ``optuna.visualization.matplotlib`` (kaleido needs a Chrome download, which offline
machines lack).
A plot the study cannot support yet (e.g. importances with one complete trial) is skipped and named
in the returned notes.
"""

from __future__ import annotations

import html
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import optuna

from data_pipeline import atomic_write
from data_pipeline import atomic_write_text
from search import _curves as curves
from search._selection import selection_intervals

if TYPE_CHECKING:
    from mlflow import MlflowClient

PLOT_NAMES = (
    "optimization_history",
    "param_importances",
    "parallel_coordinate",
    "slice",
    "contour",
    "intermediate_values",
    "timeline",
)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlotSet:
    """What ``write_plots`` produced: the HTML file, the PNGs and the skipped plots (reasons)."""

    html: Path
    pngs: tuple[Path, ...]
    skipped: dict[str, str] = field(default_factory=dict)


def plot_folder(study_name: str, root: Path = Path("studies")) -> Path:
    """``studies/<study>/plots``."""
    return root / study_name / "plots"


def publish_plots(study: optuna.Study, client: MlflowClient, parent_run_id: str | None) -> PlotSet:
    """Write ``studies/<study>/plots`` and log the folder to the parent run (when there is one)."""
    objective = str(study.user_attrs.get("objective", "objective"))
    plots = write_plots(study, plot_folder(study.study_name), target_name=objective)
    if parent_run_id is not None:
        client.log_artifacts(parent_run_id, str(plots.html.parent), "plots")
    return plots


def _plot_arguments(study: optuna.Study, target_name: str) -> dict[str, dict[str, Any]]:
    """Keyword arguments of each plot; the contour gets the two most important parameters."""
    kwargs: dict[str, dict[str, Any]] = {
        name: {"target_name": target_name}
        for name in PLOT_NAMES
        if name not in ("intermediate_values", "timeline")
    }
    kwargs["intermediate_values"] = {}
    kwargs["timeline"] = {}
    try:
        with warnings.catch_warnings():  # "fewer than 2 trials per regime": early studies
            warnings.simplefilter("ignore", UserWarning)
            importances = optuna.importance.get_param_importances(study)
        kwargs["contour"]["params"] = list(importances)[:2]
    except (ValueError, RuntimeError) as exc:
        kwargs["contour"]["params"] = None
        _log.info("no parameter importances yet: %s", exc)
    return kwargs


def write_plots(study: optuna.Study, out_dir: Path, *, target_name: str) -> PlotSet:
    """Render every plot of ``study`` into ``out_dir`` (atomic writes).

    Args:
        study: the study.
        out_dir: the plots folder, created if missing.
        target_name: the objective's name, for the axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    y_label = study.user_attrs.get("intermediate_value", "intermediate value")
    sections, pngs, skipped = [], [], {}
    kwargs = _plot_arguments(study, target_name)
    for name in PLOT_NAMES:
        if name == "contour" and not kwargs[name]["params"]:
            skipped[name] = "needs parameter importances (at least two complete trials)"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "intermediate_values":  # coloured by outcome, no per-trial legend
                    figure = curves.plot_plotly(study, y_label)
                    axes = curves.plot_matplotlib(study, y_label)
                else:
                    figure = _render(optuna.visualization, name, study, kwargs[name])
                    axes = _render(optuna.visualization.matplotlib, name, study, kwargs[name])
        except (ValueError, RuntimeError, TypeError, KeyError, ZeroDivisionError) as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        if name == "optimization_history" and (note := _ties(study)):
            figure.update_layout(title=f"Optimization history ({note})")
            _first_axes(axes).set_title(f"Optimization history ({note})")
        if name == "optimization_history":
            _draw_selection(selection_intervals(study), figure, _first_axes(axes))
        sections.append(  # plotly.js embedded once, with the first figure
            f"<h2>{html.escape(name.replace('_', ' '))}</h2>"
            + figure.to_html(full_html=False, include_plotlyjs=not sections)
        )
        png = out_dir / f"{name}.png"
        fig = _first_axes(axes).get_figure()
        fig.set_size_inches(10, 6)
        with atomic_write(png) as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tight layout of crowded axes
            fig.savefig(handle, format="png", dpi=100, bbox_inches="tight")
        plt.close("all")
        pngs.append(png)
    notes = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in skipped.items())
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(study.study_name)}"
        f"</title></head><body><h1>Study {html.escape(study.study_name)}</h1>"
        f"{''.join(sections)}{f'<h2>skipped</h2><ul>{notes}</ul>' if notes else ''}</body></html>"
    )
    html_path = out_dir / "plots.html"
    atomic_write_text(html_path, page)
    return PlotSet(html=html_path, pngs=tuple(pngs), skipped=skipped)


def _draw_selection(rows: list[tuple[int, float, float]], figure: Any, axes: Any) -> None:
    """Confirmed trials' selection scores with their 95 % intervals, on both renderings."""
    if not rows:
        return
    numbers, scores, halves = (list(column) for column in zip(*rows))
    label = "selection score (95 % interval)"
    figure.add_scatter(x=numbers, y=scores, mode="markers", name=label,
                       error_y={"type": "data", "array": halves}, marker={"color": "black"})
    axes.errorbar(numbers, scores, yerr=halves, fmt="D", color="black", capsize=4, label=label)
    axes.legend()


def _ties(study: optuna.Study) -> str:
    """``"7 trials tie at the best value 1.0000"`` when the objective saturates, else ``""``."""
    try:
        best = study.best_value
    except ValueError:
        return ""
    values = [t.value for t in study.get_trials(deepcopy=False) if t.value is not None]
    ties = sum(1 for v in values if abs(v - best) < 1e-9)
    return f"{ties} trials tie at the best value {best:.4f}" if ties > 1 else ""


def _render(module: Any, name: str, study: optuna.Study, kwargs: dict[str, Any]) -> Any:
    function: Callable[..., Any] = getattr(module, f"plot_{name}")
    return function(study, **kwargs)


def _first_axes(axes: Any) -> Any:
    """Matplotlib plots return one Axes or an array of them (slice, contour)."""
    try:
        return axes.flat[0]
    except AttributeError:
        return axes
