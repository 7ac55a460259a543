"""labels.toml, --labels and how classes, dropped labels and background classes reach the windows."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.cli_options import add_data_arguments
from data_pipeline.cli_options import labels_from_args
from data_pipeline.config import LabelConfig
from data_pipeline.config import WindowConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import DataError
from data_pipeline.labels import DROPPED
from data_pipeline.labels import identity_labels_toml
from data_pipeline.labels import load_label_file
from tests.data_pipeline_tests._clip_folder import make_clip_folder

STROKES = [("FH", 20, 40), ("bh", 100, 125), ("idle", 150, 190), ("warmup", 200, 250)]
SMALL = WindowConfig(window_size=20, overlap=10)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = make_clip_folder(tmp_path / "data", {f"c{i}": (300, 30.0, STROKES) for i in range(4)})
    (data / "labels.toml").write_text(
        '[labels]\nfh = "forehand"\nBH = "backhand"\nidle = "idle"\nwarmup = false\n'
    )
    return data


def test_labels_toml_names_the_classes_and_drops_labels(folder: Path) -> None:
    dataset = Dataset.open(folder)
    # The folder's own mapping: case-insensitive raw labels, its class names, warmup dropped.
    assert dataset.class_names == ("backhand", "forehand", "idle")
    segments = dataset.clips["c0"].annotation.segments
    assert [s.cls for s in segments] == ["forehand", "backhand", "idle", DROPPED]
    # Background classes (idle) train like any class: they have windows.
    data = dataset.windows(SMALL)
    assert data.class_counts("train")["idle"] + data.class_counts("val")["idle"] > 0
    assert dataset.labels.is_background("idle") and not dataset.labels.is_background("forehand")


def test_labels_flag_wins_over_the_folders_file(folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "merged.toml"
    other.write_text('background = []\n[labels]\nfh = "stroke"\nbh = "stroke"\nidle = false\n'
                     'warmup = false\n')
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    labels = labels_from_args(parser.parse_args(["--labels", str(other)]))
    # --labels FILE replaces the folder's labels.toml: two labels merge into one class.
    assert Dataset.open(folder, labels=labels).class_names == ("stroke",)


def test_unknown_label_names_the_file_to_edit(folder: Path) -> None:
    (folder / "labels.toml").write_text('[labels]\nfh = "forehand"\n')
    # The message names the label, the file and the line to add.
    with pytest.raises(DataError, match=r"unknown label 'bh'.*under \[labels\] in .*labels.toml"):
        Dataset.open(folder)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", r"needs a \[labels\] table"),
        ('[labels]\nfh = 3\n', "must be a class name or false"),
        ('background = "idle"\n[labels]\nfh = "forehand"\n', "background must be a list"),
        ("[labels\n", "is not a readable TOML file"),
    ],
)
def test_bad_label_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.toml"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_label_file(path, LabelConfig())


def test_identity_labels_toml_round_trips_and_marks_background(tmp_path: Path) -> None:
    path = tmp_path / "labels.toml"
    path.write_text(identity_labels_toml(["serve", "neutral", 'odd "one"', "serve"]))
    labels = load_label_file(path, LabelConfig())
    # Every label maps to itself (quotes survive); neutral is background by its name.
    assert labels.label_map == {"neutral": "neutral", 'odd "one"': 'odd "one"', "serve": "serve"}
    assert labels.background == ("neutral",)


def test_sequence_folder_applies_labels_toml(tmp_path: Path) -> None:
    np.savez(tmp_path / "sequences.npz", X=np.zeros((9, 10, 2), np.float32),
             y=np.array(["a", "b", "junk"] * 3), groups=np.array([f"g{i}" for i in range(9)]))
    # Without labels.toml the labels are the classes; with it they are mapped and dropped.
    assert Dataset.open(tmp_path).class_names == ("a", "b", "junk")
    (tmp_path / "labels.toml").write_text('[labels]\na = "alpha"\nb = "beta"\njunk = false\n')
    dataset = Dataset.open(tmp_path)
    assert dataset.class_names == ("alpha", "beta")
    assert len(dataset.sequences.y) == 6
