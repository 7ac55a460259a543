"""Run plots: ``training_history.png`` (curves) and ``confusion_matrix.png`` (seaborn heatmap)."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from data_pipeline import atomic_write


def plot_training_history(
    history: Mapping[str, Sequence[float]], best_epoch: int, path: Path
) -> None:
    """Loss and accuracy per epoch (train and validation), the restored best epoch marked.

    Args:
        history: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        best_epoch: 1-based epoch whose weights the model keeps.
        path: PNG file to write (atomically).
    """
    figure = Figure(figsize=(11, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, name in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, history[name], label=f"train {name}")
        ax.plot(epochs, history[f"val_{name}"], label=f"validation {name}")
        ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"Model {name}")
        ax.grid(alpha=0.3)
        ax.legend()
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.91, wspace=0.22)
    _save(figure, path)


def plot_confusion_matrix(
    confusion: np.ndarray, class_names: Sequence[str], path: Path, *, title: str
) -> None:
    """Seaborn heatmap of ``confusion`` (rows true class, columns predicted class)."""
    import seaborn as sns

    size = 2.0 + 1.2 * len(class_names)
    figure = Figure(figsize=(size + 1.5, size))
    ax = figure.subplots()
    sns.heatmap(
        confusion,
        annot=True,
        fmt="d",
        cmap="Blues",
        xticklabels=list(class_names),
        yticklabels=list(class_names),
        ax=ax,
    )
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_title(title)
    figure.subplots_adjust(left=0.25, right=0.98, bottom=0.15, top=0.9)
    _save(figure, path)


def _save(figure: Figure, path: Path) -> None:
    # Fixed margins instead of tight_layout: the layout pass costs a third of the plotting time.
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
