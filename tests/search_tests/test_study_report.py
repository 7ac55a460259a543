"""What a user reads after a study: the progress line, the report, the plots' curves, the UI
address, and the read-only commands on a missing store (real SQLite and MLflow stores)."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from search import best
from search import plots
from search import report
from search._addresses import study_addresses
from search._attrs import RUN_ID_ATTR
from search._curves import curve_data
from search._plots import write_plots
from search._progress import TrialCallbacks
from search._progress import format_duration
from search._progress import progress_prefix
from search._report import study_facts
from search._report_render import publish_report
from search._selection import selection_intervals
from search._tracking import PARENT_RUN_ATTR

CONFIRMED = {2: (0.80, 0.02, 3), 4: (0.86, 0.01, 3)}  # trial -> selection score, std, n


@pytest.fixture
def stored_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[optuna.Study, str]:
    """Six trials (one pruned, one failed) with child runs; trials 2 and 4 were confirmed."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/m.db"
    client = MlflowClient(uri)
    experiment = client.create_experiment("report_experiment")
    study = optuna.create_study(
        study_name="rep", storage=f"sqlite:///{tmp_path}/o.db", direction="maximize"
    )
    study.set_user_attr("objective", "val_macro_avg_f1_score")
    parent = client.create_run(experiment, run_name="rep", tags={"optuna.study_name": "rep"})
    client.log_param(parent.info.run_id, "objective", "val_macro_avg_f1_score")
    client.log_param(parent.info.run_id, "direction", "maximize")
    study.set_user_attr(PARENT_RUN_ATTR, parent.info.run_id)
    values = [0.70, 0.75, 0.90, None, 0.85, "fail"]
    for number, value in enumerate(values):
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        trial.suggest_int("window_size", 20, 45)
        for epoch in range(3):
            trial.report(-1.0 + 0.1 * epoch, epoch)
        state = "COMPLETE" if isinstance(value, float) else ("PRUNED" if value is None else "FAIL")
        run = client.create_run(
            experiment,
            run_name=f"trial-{number}",
            tags={
                "optuna.study_name": "rep",
                "optuna.trial_number": str(number),
                "optuna.trial_state": state,
            },
        )
        trial.set_user_attr(RUN_ID_ATTR, run.info.run_id)
        trial.set_user_attr("epochs", 3 if state == "COMPLETE" else 1)
        if number == 0:
            trial.set_user_attr("baseline", "V2")
        if state == "COMPLETE":
            client.log_metric(run.info.run_id, "val_macro_avg_f1_score", value)
            client.log_metric(run.info.run_id, "macro_avg_f1_score", value - 0.2)
        if number in CONFIRMED:
            mean, std, n = CONFIRMED[number]
            client.log_metric(run.info.run_id, "selection_score", mean)
            client.log_metric(run.info.run_id, "selection_score_std", std)
            client.log_metric(run.info.run_id, "selection_score_n", n)
        if state == "FAIL":
            trial.set_user_attr("error", "ValueError: boom")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif state == "PRUNED":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    # What confirmation records in the study (search._confirm): the selection entries.
    study.set_user_attr("selection", {
        str(n): {"score": mean, "std": std, "n": n_runs, "values": [mean] * n_runs, "val_loss": 0.5}
        for n, (mean, std, n_runs) in CONFIRMED.items()
    })  # fmt: skip
    return study, uri


def test_report_champion_is_chosen_by_selection_score(
    stored_study: tuple[optuna.Study, str],
) -> None:
    study, uri = stored_study
    client = MlflowClient(uri)
    parent = study.user_attrs[PARENT_RUN_ATTR]
    facts = study_facts(study, client, parent)
    # trial 4 has the best selection score although trial 2 has the best objective
    assert facts.champion is not None and facts.champion.number == 4
    interval = facts.champion.interval()
    # a 95 % Student-t interval around the mean of three trainings
    assert interval is not None and interval[0] < 0.86 < interval[1]
    # the baseline is trial 0, pruning saved 2 epochs of the 3-epoch budget on the pruned trial
    assert facts.baseline is not None and facts.baseline.number == 0
    assert facts.epochs_saved == 2
    assert facts.errors == {"ValueError: boom": 1}


def test_report_files_name_the_champion_and_are_logged(
    stored_study: tuple[optuna.Study, str], tmp_path: Path
) -> None:
    study, uri = stored_study
    client = MlflowClient(uri)
    parent = study.user_attrs[PARENT_RUN_ATTR]
    path = publish_report(study, client, parent)
    text = path.read_text(encoding="utf-8")
    champion_run = study.trials[4].user_attrs[RUN_ID_ATTR]
    # the report says which model to take, with its run id and its interval
    assert f"Take trial 4 (run `{champion_run}`)" in text
    assert "95 % interval" in text
    # the HTML rendering exists next to it, and both went to the parent run
    assert (tmp_path / "studies" / "rep" / "report.html").is_file()
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert logged == {"report/report.md", "report/report.html"}


def test_report_command_rewrites_a_stored_study(
    stored_study: tuple[optuna.Study, str], tmp_path: Path
) -> None:
    _, uri = stored_study
    args = ["--study", "rep", "--storage", f"sqlite:///{tmp_path}/o.db", "--tracking-uri", uri]
    # the command succeeds and writes studies/<study>/report.md
    assert report.main(args) == 0
    assert (tmp_path / "studies" / "rep" / "report.md").is_file()


def test_ui_address_sorts_the_study_by_selection_score(
    stored_study: tuple[optuna.Study, str],
) -> None:
    study, uri = stored_study
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("report_experiment").experiment_id
    found = study_addresses(client, experiment, "rep", "http://127.0.0.1:5000/")
    assert found is not None
    table, champion = found
    # the table opens on the study's complete trials, best selection score first
    assert "orderByKey=metrics.%60selection_score%60&orderByAsc=false" in table
    assert "searchFilter=tags.%60optuna.study_name%60%20%3D%20%27rep%27" in table
    # the champion page is trial 4's run
    assert champion.endswith(study.trials[4].user_attrs[RUN_ID_ATTR])


def test_curves_are_coloured_by_outcome(stored_study: tuple[optuna.Study, str]) -> None:
    study, _ = stored_study
    outcomes = {curve.number: curve.outcome for curve in curve_data(study)}
    # the study's best trial is highlighted; the pruned one is marked as pruned
    assert outcomes == {0: "complete", 1: "complete", 2: "best", 3: "pruned", 4: "complete"}


@pytest.mark.parametrize("command", [best, plots, report])
def test_read_only_commands_never_create_a_store(
    command: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "o.db"
    tracking = tmp_path / "m.db"
    argv = [
        "--study",
        "x",
        "--storage",
        f"sqlite:///{store}",
        "--tracking-uri",
        f"sqlite:///{tracking}",
    ]
    # a missing store is a usage error, and neither database file appears
    assert command.main(argv) == 2  # type: ignore[attr-defined]
    assert "no study store" in capsys.readouterr().err
    assert not store.exists() and not tracking.exists()


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0s"), (42.4, "42s"), (336, "5m36s"), (7500, "2h05m")]
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_progress_line_counts_trials_and_estimates_time_left() -> None:
    study = optuna.create_study(direction="maximize")
    started = datetime.datetime.now() - datetime.timedelta(seconds=20)
    out = io.StringIO()
    callbacks = TrialCallbacks(
        objective="score", max_failures=3, on_complete=lambda s, t: None, out=out, n_trials=10
    )
    callbacks.started = started
    study.optimize(lambda trial: 0.5, n_trials=2, callbacks=[callbacks])
    first, second = out.getvalue().splitlines()
    # done / N leads the line; two trials in ~20 s leave 8 trials, about 80 s
    assert first.startswith("[ 1/10] trial   0  COMPLETE")
    assert second.startswith("[ 2/10] trial   1")
    assert "elapsed 20s, ~1m20s left" in second
    now = started + datetime.timedelta(seconds=60)
    # a finished study says so instead of estimating
    assert progress_prefix(study, 2, started, now) == ("[2/2]", "elapsed 1m00s, done")


def test_optimisation_history_draws_the_confirmed_selection_intervals(
    stored_study: tuple[optuna.Study, str], tmp_path: Path
) -> None:
    study, _ = stored_study
    rows = selection_intervals(study)
    # One row per confirmed trial: its selection score and a 95 % t half-width over 3 trainings.
    assert [(n, score) for n, score, _ in rows] == [(2, 0.80), (4, 0.86)]
    assert rows[1][2] == pytest.approx(4.303 * 0.01 / 3**0.5, rel=1e-3)
    page = write_plots(study, tmp_path / "plots", target_name="val_macro_avg_f1_score")
    assert "selection score (95 % interval)" in page.html.read_text()
