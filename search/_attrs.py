"""Names of the Optuna user attributes a study and its trials carry (no heavy imports, so the
read-only commands can name them before deciding what to load)."""

#: Trial user attribute: the trial's MLflow run id.
RUN_ID_ATTR = "mlflow_run_id"
#: Trial user attribute: test macro F1, accuracy and windows per held-out group.
PER_GROUP_ATTR = "test_per_group"
#: Trial user attribute: validation loss, which breaks ties between equal objective values.
VAL_LOSS_ATTR = "val_loss"
#: Trial user attribute: macro F1 on the test groups (reported, never optimised).
TEST_ATTR = "test_macro_f1"
#: Study user attribute: selection score entries of the confirmed trials.
SELECTION_ATTR = "selection"
#: Study user attribute: the crowned trial's number.
CHAMPION_ATTR = "champion_trial"
#: Study user attributes ``confirm:<trial>:<repeat>`` hold the confirmation results.
RESULT_PREFIX = "confirm:"
