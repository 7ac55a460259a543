"""The five contenders, each run in-process on its own copy of the data and its own stores.

1. ``service``: this service's defaults (TPE, median pruning on val_loss, window cache), driven
   through ``search.prepare_study`` and ``search.run_study`` exactly as ``python -m search.run``
   drives them.
2. ``plain``: the Optuna + MLflow docs recipe: ``optuna.create_study`` with its default TPE,
   ``optuna_integration.MLflowCallback``, no pruning, the windows rebuilt every trial (a fresh
   ``Dataset`` with an empty cache), the same space, model builder and ``train_model``.
3. ``random``: ``--sampler random`` on our machinery.
4. ``grid``: ``--sampler grid`` (the old grid, ``search/grid_space.toml``) on our machinery;
   Optuna's GridSampler visits the grid in an order shuffled with the seed, so a budget covers
   a random sub-grid instead of the first corner of the old grid's nested loops.
5. ``hyperband``: KerasTuner Hyperband over the same space (read from ``default_space.toml``
   through an adapter), windows from our ``Dataset`` cache, the same builder and fit settings.

Variants of the service, run only when named with ``--contenders`` (``VARIANTS``), measure a
changed default side by side with the current one before it becomes the default:
``service-patience3`` wraps the median pruner in ``PatientPruner(patience=3)`` (``--patience 3``);
``service-sha`` prunes by asynchronous successive halving (``--pruner successive-halving``);
``service-warmup10`` never prunes a trial's first 10 epochs (``--n-warmup-steps 10``);
``service-startup10`` draws 10 random start-up trials before TPE and the pruner act
(``--n-startup-trials 10``, as Optuna's own TPE default); ``service-percentile75`` prunes only
the worst quarter of the complete trials at the same epoch (``--pruner percentile``);
``service-nopruning`` trains every trial to the end (``--pruner none``), as the plain recipe does.

Every contender gets the same :class:`RunSpec`: data, seed, wall-clock budget and epoch cap.
"""

from __future__ import annotations

import io
import tempfile
import time
import warnings
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import optuna

from data_pipeline.dataset import Dataset
from model.build import build_model
from model.evaluation import evaluate
from model.training import fit_batches
from model.training import train_model
from search import DEFAULT_SPACE
from search import SearchSpace
from search import suggest
from .clock import FitClock
from .clock import Trial

CONTENDERS = ("service", "plain", "random", "grid", "hyperband")
#: Service variant -> the ``SearchConfig`` settings it changes.
VARIANTS: dict[str, dict[str, Any]] = {
    "service-patience3": {"patience": 3},
    "service-sha": {"pruner": "successive-halving"},
    "service-warmup10": {"n_warmup_steps": 10},
    "service-startup10": {"n_startup_trials": 10},
    "service-percentile75": {"pruner": "percentile", "percentile": 75.0},
    "service-nopruning": {"pruner": "none"},
}
_MANY = 100_000  # n_trials: the budget, not the count, ends every run


@dataclass(frozen=True)
class RunSpec:
    """One contender run.

    Args:
        contender: one of ``CONTENDERS``.
        data: the run's private copy of the data folder (cold window cache).
        workdir: the run's folder for its stores.
        seed: seed of the sampler / tuner and of the trials' training.
        budget: wall-clock seconds, counted from the first call into the tool.
        epochs: epoch cap of every trial (None: the space's own, as the service's default).
    """

    contender: str
    data: Path
    workdir: Path
    seed: int
    budget: float
    epochs: int | None


def run_contender(spec: RunSpec) -> tuple[list[Trial], float]:
    """Run ``spec`` until its budget is spent; return its trials and the fit seconds in budget."""
    t0 = time.time()
    clock = FitClock(deadline=t0 + spec.budget)
    if spec.contender in VARIANTS:
        trials = _service(spec, clock, t0, **VARIANTS[spec.contender])
    else:
        trials = {
            "service": lambda: _service(spec, clock, t0),
            "random": lambda: _service(spec, clock, t0, sampler="random"),
            "grid": lambda: _service(spec, clock, t0, sampler="grid"),
            "plain": lambda: _plain(spec, clock, t0),
            "hyperband": lambda: _hyperband(spec, clock, t0),
        }[spec.contender]()
    return trials, clock.total_fit_seconds(t0, spec.budget)


def macro_f1(model: keras.Model, data: Any, split: str) -> float:
    """Macro-F1 of ``model`` on split ``split`` of ``data`` (a ``WindowedData``)."""
    return float(
        evaluate(model, *data.subset(split), data.class_names).averages["macro"]["f1_score"]
    )


def _service(spec: RunSpec, clock: FitClock, t0: float, **settings: Any) -> list[Trial]:
    """The service's defaults, with ``settings`` (``SearchConfig`` fields) changed."""
    from mlflow import MlflowClient

    from search import RUN_ID_ATTR
    from search import SearchConfig
    from search import prepare_study
    from search import run_study

    config = SearchConfig(
        study="bench", experiment="bench", data=spec.data, n_trials=_MANY,
        storage=f"sqlite:///{spec.workdir}/studies/optuna.db",
        tracking_uri=f"sqlite:///{spec.workdir}/mlruns/mlflow.db",
        epochs=spec.epochs, seed=spec.seed, **settings,
    )  # fmt: skip
    session = prepare_study(config)
    config = replace(config, timeout=max(0.001, clock.deadline - time.time()))
    clock.until_budget(
        lambda: run_study(config, session=session, callbacks=[clock], out=io.StringIO())
    )
    client: MlflowClient = session.tracker.client
    client.set_terminated(session.tracker.parent_run_id, status="KILLED")

    def test_f1(trial: optuna.trial.FrozenTrial) -> float | None:
        metrics = client.get_run(trial.user_attrs[RUN_ID_ATTR]).data.metrics
        return metrics.get("macro_avg_f1_score")

    return optuna_trials(session.study, clock, t0, test_f1)


def _plain(spec: RunSpec, clock: FitClock, t0: float) -> list[Trial]:
    study, tracking = plain_study(spec)
    objective = plain_objective(spec, callbacks=[clock])
    clock.until_budget(
        lambda: study.optimize(
            objective, timeout=max(0.001, clock.deadline - time.time()), callbacks=[tracking]
        )
    )
    return optuna_trials(study, clock, t0, lambda t: t.user_attrs.get("test_f1"))


def plain_study(spec: RunSpec, *, load_if_exists: bool = False) -> tuple[optuna.Study, Any]:
    """The plain recipe's study (default TPE seeded with ``spec.seed``) and its MLflowCallback.

    Both stores live in ``spec.workdir`` (``optuna.db``, ``mlflow.db``). ``load_if_exists``
    reopens an interrupted study, as a user reruns the recipe's script.
    """
    from optuna_integration import MLflowCallback

    study = optuna.create_study(
        study_name="plain", storage=f"sqlite:///{spec.workdir}/optuna.db", direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=spec.seed), load_if_exists=load_if_exists,
    )  # fmt: skip
    with warnings.catch_warnings():  # deprecated since Optuna 4.9, still what the docs show
        warnings.simplefilter("ignore", FutureWarning)
        tracking = MLflowCallback(
            tracking_uri=f"sqlite:///{spec.workdir}/mlflow.db",
            metric_name="val_macro_avg_f1_score",
        )
    return study, tracking


#: Called with the trial, its trained model and its windows after every plain trial's training.
AfterTraining = Callable[[optuna.Trial, keras.Model, Any], None]


def plain_objective(
    spec: RunSpec,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    after_training: AfterTraining | None = None,
) -> Callable[[optuna.Trial], float]:
    """The plain recipe's objective: the same space, builder and ``train_model``, no pruning,
    the windows rebuilt every trial; validation macro-F1 is the value, test macro-F1 a user
    attribute (``test_f1``). ``after_training`` sees each trained model (extra scoring)."""
    window_range = Dataset.open(
        spec.data, cache_dir=spec.workdir / "probe"
    ).admissible_window_range()
    space = SearchSpace.from_toml(DEFAULT_SPACE).clip_window(*window_range)

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        with tempfile.TemporaryDirectory(dir=spec.workdir) as cache:  # no cache between trials
            dataset = Dataset.open(spec.data, cache_dir=Path(cache))
            data = dataset.windows(params.window_config(), params.feature_config())
        result = train_model(
            params.model_spec(epochs=spec.epochs), data, seed=spec.seed + trial.number,
            callbacks=list(callbacks),
        )  # fmt: skip
        trial.set_user_attr("test_f1", macro_f1(result.model, data, "test"))
        if after_training is not None:
            after_training(trial, result.model, data)
        return macro_f1(result.model, data, "val")

    return objective


def optuna_trials(
    study: optuna.Study,
    clock: FitClock,
    t0: float,
    test_f1: Callable[[optuna.trial.FrozenTrial], float | None],
) -> list[Trial]:
    """The study's started trials as benchmark records (times relative to ``t0``)."""
    trials = []
    for frozen in study.get_trials(deepcopy=False):
        if frozen.datetime_start is None:
            continue  # an enqueued retry that never ran
        start = frozen.datetime_start.timestamp() - t0
        done = frozen.datetime_complete is not None and frozen.state.name != "FAIL"
        end = frozen.datetime_complete.timestamp() - t0 if done else None
        fit_s, epochs = clock.fit_seconds(start, end if end is not None else float("inf"), t0)
        complete = frozen.state == optuna.trial.TrialState.COMPLETE
        trials.append(
            Trial(
                number=frozen.number,
                start=start,
                end=end,
                state=frozen.state.name,
                val_f1=frozen.value if complete else None,
                test_f1=test_f1(frozen) if complete else None,
                epochs=epochs,
                fit_s=fit_s,
                params=dict(frozen.params),
            )
        )
    return trials


class HpTrial:
    """Lets ``search.suggest`` sample from KerasTuner ``HyperParameters`` (same space).

    Args:
        hp: the tuner's hyperparameters of one trial.
    """

    def __init__(self, hp: Any) -> None:
        self.hp = hp

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return self.hp.Int(name, low, high, step=step, sampling="log" if log else "linear")

    def suggest_float(
        self, name: str, low: float, high: float, step: float | None = None, log: bool = False
    ) -> float:
        return self.hp.Float(name, low, high, step=step, sampling="log" if log else "linear")

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return self.hp.Choice(name, choices)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.hp.values)


def _hyperband(spec: RunSpec, clock: FitClock, t0: float) -> list[Trial]:
    import keras_tuner

    dataset = Dataset.open(spec.data)
    space = SearchSpace.from_toml(DEFAULT_SPACE).clip_window(*dataset.admissible_window_range())
    trials: list[Trial] = []

    class StrokeHyperModel(keras_tuner.HyperModel):
        """Same space and builder as the service; windows from the dataset's cache."""

        def build(self, hp: Any) -> keras.Model:
            params = suggest(HpTrial(hp), space)
            data = dataset.windows(params.window_config(), params.feature_config())
            return build_model(
                params.model_spec(epochs=spec.epochs), data.input_shape, data.n_classes
            )

        def fit(self, hp: Any, model: keras.Model, *args: Any, **kwargs: Any) -> dict[str, float]:
            params = suggest(HpTrial(hp), space)
            model_spec = params.model_spec(epochs=spec.epochs)
            data = dataset.windows(params.window_config(), params.feature_config())
            callbacks = [
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=model_spec.early_stopping_patience,
                    restore_best_weights=True,
                ),
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=model_spec.reduce_lr_factor,
                    patience=model_spec.reduce_lr_patience,
                ),
                *kwargs.pop("callbacks", []),
            ]  # fmt: skip
            batches, val_batches = fit_batches(
                data, data.split.train, data.split.val, batch_size=model_spec.batch_size,
                class_weights=data.class_weights, seed=spec.seed + len(trials),
            )  # fmt: skip
            model.fit(
                batches, validation_data=val_batches, shuffle=False, callbacks=callbacks,
                verbose=0, epochs=kwargs.get("epochs", spec.epochs),
                initial_epoch=kwargs.get("initial_epoch", 0),
            )  # fmt: skip
            record = trials[-1]
            record.val_f1, record.test_f1 = (
                macro_f1(model, data, "val"),
                macro_f1(model, data, "test"),
            )
            record.end, record.state = time.time() - t0, "COMPLETE"
            record.fit_s, record.epochs = clock.fit_seconds(record.start, record.end, t0)
            return {"val_macro_f1": record.val_f1}

    class RecordingHyperband(keras_tuner.Hyperband):
        """Opens one benchmark record per trial and seeds its weights."""

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            trials.append(
                Trial(number=len(trials), start=time.time() - t0, end=None, state="FAIL")
            )
            keras.utils.set_random_seed(spec.seed + len(trials))
            return super().run_trial(trial, *args, **kwargs)

    tuner = RecordingHyperband(
        StrokeHyperModel(), objective=keras_tuner.Objective("val_macro_f1", "max"),
        max_epochs=spec.epochs, factor=3, hyperband_iterations=_MANY, seed=spec.seed,
        directory=str(spec.workdir), project_name="hyperband", overwrite=True,
    )  # fmt: skip
    clock.until_budget(lambda: tuner.search(callbacks=[clock], verbose=0))
    return trials
