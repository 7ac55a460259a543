"""Render a study's :class:`~search._report.StudyFacts` as Markdown and as HTML (plots inline),
and write both to ``studies/<study>/`` and the parent run (:func:`publish_report`).

Both renderings come from the same sections (title, paragraphs, optional table), so they never
disagree. The HTML embeds the PNG plots as data URIs: it opens alone, offline, and inside the
MLflow UI's artifact viewer.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from data_pipeline import atomic_write_text
from search._plots import plot_folder
from search._progress import format_duration
from search._report import DATA_SETTINGS
from search._report import StudyFacts
from search._report import TrialFacts
from search._report import study_facts

if TYPE_CHECKING:
    import optuna
    from mlflow import MlflowClient

#: Plots shown inline in the HTML report, in this order.
REPORT_PLOTS = ("optimization_history", "intermediate_values", "param_importances")


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _score(trial: TrialFacts) -> str:
    if trial.selection is None:
        if trial.cv_std is not None:
            return f"{trial.value:.4f} ± {trial.cv_std:.4f} (std over folds)"
        return f"{trial.value:.4f} (one training, no interval)"
    interval = trial.interval()
    spread = f", 95 % interval {interval[0]:.4f}–{interval[1]:.4f}" if interval else ""
    return f"{trial.selection:.4f} over {trial.selection_n} trainings{spread}"


def sections(facts: StudyFacts) -> list[Section]:
    """The report's sections, in reading order."""
    champion, baseline = facts.champion, facts.baseline
    out = [
        Section("Which model to take", (_verdict(facts),)),
        Section("Advice", tuple(f"- {line}" for line in facts.advice)),
    ]
    data = [(k, facts.settings[k] or "(default)") for k in facts.settings if _is_data_setting(k)]
    out.append(Section("Data and split", header=("setting", "value"), rows=tuple(data)))
    compare = [t for t in (baseline, champion) if t is not None]
    if baseline is champion:
        compare = compare[:1]
    out.append(
        Section(
            "Baseline against champion",
            header=("", "trial", facts.objective, "selection score", "test macro-F1", "run id"),
            rows=tuple(
                (
                    "baseline (V2)" if t.baseline else "champion",
                    str(t.number),
                    _num(t.value),
                    _score(t),
                    _num(t.test),
                    str(t.run_id),
                )
                for t in compare
            ),
        )
    )
    out.append(
        Section(
            f"Top {min(len(facts.ranked), 10)} trials",
            header=(
                "rank",
                "trial",
                facts.objective,
                "selection score",
                "test macro-F1",
                "epochs",
                "run id",
            ),
            rows=tuple(
                (
                    str(i),
                    f"{t.number}{' (V2)' if t.baseline else ''}",
                    _num(t.value),
                    _num(t.selection),
                    _num(t.test),
                    str(t.epochs),
                    str(t.run_id),
                )
                for i, t in enumerate(facts.ranked[:10], 1)
            ),
        )
    )
    out.append(
        Section(
            "Parameter importances",
            () if facts.importances else ("Not enough complete trials to estimate them yet.",),
            header=("parameter", "importance") if facts.importances else (),
            rows=tuple((k, f"{v:.3f}") for k, v in facts.importances.items()),
        )
    )
    saved = facts.epochs_saved
    out.append(
        Section(
            "Pruning, time and failures",
            (
                (
                    f"- {facts.counts.get('COMPLETE', 0)} complete, {facts.counts.get('PRUNED', 0)} pruned, "
                    f"{facts.counts.get('FAIL', 0)} failed trials."
                ),
                "- Epochs saved by pruning: "
                + ("unknown" if saved is None else f"{saved} (of {facts.epochs_budget} per trial)")
                + ".",
                (
                    f"- Wall time {format_duration(facts.wall_seconds)} (first start to last end); "
                    f"training time {format_duration(facts.trial_seconds)} summed over trials."
                ),
                *(f"- failed {n}×: {error}" for error, n in facts.errors.items()),
            ),
        )
    )
    return out


def _verdict(facts: StudyFacts) -> str:
    champion = facts.champion
    if champion is None:
        return "No trial completed yet: there is no model to take."
    how_sure = (
        "confirmed by repeated trainings"
        if champion.interval()
        else "from one training on one validation split: not confirmed"
    )
    return (
        f"Take trial {champion.number} (run `{champion.run_id}`): {facts.objective} "
        f"{champion.value:.4f}, selection score {_score(champion)}, test macro-F1 "
        f"{_num(champion.test)} (reported, never optimised); {how_sure}."
        + (f" On new players: {facts.estimate}." if facts.estimate else "")
    )


def _is_data_setting(key: str) -> bool:
    return key in DATA_SETTINGS or any(w in key for w in ("split", "group", "label"))


def to_markdown(facts: StudyFacts, plots: dict[str, str]) -> str:
    """The report as Markdown; ``plots`` maps a plot name to its path relative to the report."""
    lines = [
        f"# Study `{facts.study}`",
        "",
        f"Objective: {facts.objective} ({facts.direction}).",
        "",
    ]
    for section in sections(facts):
        lines += [f"## {section.title}", "", *section.paragraphs]
        if section.paragraphs:
            lines.append("")
        if section.header:
            lines.append("| " + " | ".join(section.header) + " |")
            lines.append("|" + "---|" * len(section.header))
            lines += [
                "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                for row in section.rows
            ]
            lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{n}]({p})" for n, p in plots.items()] + [""]
    return "\n".join(lines)


def to_html(facts: StudyFacts, pngs: dict[str, Path]) -> str:
    """The report as one self-contained HTML page with the PNG plots inline."""
    parts = [
        f"<h1>Study <code>{html.escape(facts.study)}</code></h1>",
        f"<p>Objective: {html.escape(facts.objective)} ({facts.direction}).</p>",
    ]
    for section in sections(facts):
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        items = [p[2:] for p in section.paragraphs if p.startswith("- ")]
        if items:
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        parts += [f"<p>{_inline(p)}</p>" for p in section.paragraphs if not p.startswith("- ")]
        if section.header:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in section.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in section.rows
            )
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
    if pngs:
        parts.append("<h2>Plots</h2>")
    for name, path in pngs.items():
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(
            f"<h3>{html.escape(name.replace('_', ' '))}</h3>"
            f"<img alt='{name}' src='data:image/png;base64,{data}'>"
        )
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:"
        "collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
        "img{max-width:100%}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Study "
        f"{html.escape(facts.study)}</title><style>{style}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )


def _inline(text: str) -> str:
    """Markdown's inline code as <code>, the rest escaped."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def publish_report(
    study: optuna.Study, client: MlflowClient | None, parent_run_id: str | None
) -> Path:
    """Write ``studies/<study>/report.md`` and ``report.html``; log both to the parent run.

    Returns:
        The Markdown report's path.
    """
    facts = study_facts(study, client, parent_run_id)
    folder = plot_folder(study.study_name).parent
    folder.mkdir(parents=True, exist_ok=True)
    pngs = {n: folder / "plots" / f"{n}.png" for n in REPORT_PLOTS}
    pngs = {n: p for n, p in pngs.items() if p.is_file()}
    markdown = folder / "report.md"
    atomic_write_text(markdown, to_markdown(facts, {n: f"plots/{n}.png" for n in pngs}))
    atomic_write_text(folder / "report.html", to_html(facts, pngs))
    if client is not None and parent_run_id is not None:
        client.log_artifact(parent_run_id, str(markdown), "report")
        client.log_artifact(parent_run_id, str(folder / "report.html"), "report")
    return markdown
