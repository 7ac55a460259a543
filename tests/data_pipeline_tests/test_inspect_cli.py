"""``python -m data_pipeline inspect``: the report's numbers, JSON and text, and bad calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.__main__ import main
from tests.data_pipeline_tests._clip_folder import make_clip_folder

REPO = Path(__file__).resolve().parents[2]
# Strokes in Label Studio frames (1-based, inclusive): lengths 21, 26 and 51 frames at 30 fps.
STROKES = [("Fronthand", 20, 40), ("backhand", 100, 125), ("saque", 200, 250)]


@pytest.fixture
def clip_dir(tmp_path: Path) -> Path:
    clips = {f"clip{i}": (300, 30.0, STROKES) for i in range(3)}
    clips["clip3"] = (600, 60.0, [("Fronthand", 39, 80)])  # 42 frames at 60 fps = 21 at 30
    return make_clip_folder(tmp_path / "data", clips,
                            groups_toml='[groups."clip0"]\nhandedness = "left"\n')


def _inspect_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["inspect", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_inspect_json_reports_clips_segments_and_windows(
    clip_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _inspect_json(capsys, str(clip_dir), "--window-size", "30", "--overlap", "10")
    clips = {row["clip"]: row for row in report["clips"]}
    # Per clip: fps, length, stroke count, handedness and where it came from.
    assert (clips["clip3"]["fps"], clips["clip3"]["n_frames"], clips["clip3"]["strokes"]) == (
        60.0, 600, 1)
    assert (clips["clip0"]["handedness"], clips["clip0"]["handedness_source"]) == (
        "left", "groups.toml")
    assert clips["clip1"]["handedness_source"] == "inferred"
    # Stroke lengths per class in reference frames: the 60 fps stroke counts as 21 frames.
    assert report["segment_frames"]["fronthand"] == {
        "count": 4, "min": 21, "median": 21.0, "max": 21}
    assert report["segment_frames"]["serve"]["max"] == 51
    windows = report["windows"]
    # Windows per class and split add up to the total; every split holds at least one group.
    total = sum(n for split in windows["per_split"].values() for n in split.values())
    assert total == windows["total"] > 0 and windows["stride"] == 20
    assert all(len(names) >= 1 for names in windows["groups_per_split"].values())


def test_inspect_drop_serve_and_neutral_change_the_classes(
    clip_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _inspect_json(capsys, str(clip_dir), "--window-size", "30", "--overlap", "10",
                           "--drop-serve", "--neutral")
    assert report["classes"] == ["backhand", "fronthand", "neutral"]


def test_inspect_text_output_is_a_table(
    clip_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(clip_dir), "--window-size", "30", "--overlap", "10"]) == 0
    out = capsys.readouterr().out
    # The text report names the clips, the per-class stroke lengths and the window table.
    assert "clip3" in out and "left (groups.toml)" in out
    assert "stroke length per class (frames at 30 fps)" in out
    assert "windows: size 30, overlap 10, stride 20" in out


def test_inspect_sequence_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "sequences.npz", X=np.zeros((6, 30, 3), np.float32),
             y=np.array(["a", "b"] * 3), groups=np.array(["g0", "g1", "g2"] * 2))
    report = _inspect_json(capsys, str(tmp_path), "--window-size", "30", "--overlap", "0")
    # Samples, their length and classes replace the clip table; one window per sample.
    assert report["sequences"]["n_samples"] == 6 and report["sequences"]["length"] == 30
    assert report["admissible_window_range"] == [1, 30] and report["windows"]["total"] == 6


def test_inspect_subprocess_bad_overlap_one_line_error(clip_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "data_pipeline", "inspect", str(clip_dir), "--window-size", "30",
         "--overlap", "30"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )
    # Non-zero exit, one line on stderr naming the rule and the fix, no traceback.
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --overlap must be smaller than --window-size (the stride would be 0), but got "
        "overlap=30, window_size=30; lower --overlap or raise --window-size."
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: root, "has no clips"),
    ],
)
def test_inspect_bad_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    folder = make(tmp_path)  # type: ignore[operator]
    assert main(["inspect", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_inspect_window_longer_than_every_clip_still_reports_the_folder(
    clip_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(clip_dir), "--window-size", "301", "--overlap", "0"]) == 0
    out = capsys.readouterr().out
    # The clips are described; the window line names the longest clip and the largest window.
    assert "clip3" in out and "choose --window-size <= 300" in out
    assert not list((clip_dir / ".cache" / "windows").glob("*"))


def test_inspect_single_clip_says_why_no_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_clip_folder(tmp_path / "one", {"only": (300, 30.0, STROKES)})
    report = _inspect_json(capsys, str(folder), "--window-size", "30", "--overlap", "10")
    # One clip: clips, classes and windows per class are reported; the split says why not.
    assert [row["clip"] for row in report["clips"]] == ["only"]
    assert report["windows"]["per_class"]["serve"] >= 1
    assert "needs at least 3 groups" in report["windows"]["split_error"]


def test_inspect_lists_raw_labels_classes_and_the_mapping_file(
    clip_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clip_dir / "labels.toml").write_text(
        'background = []\n[labels]\nfronthand = "forehand"\nbackhand = "backhand"\nsaque = false\n'
    )
    report = _inspect_json(capsys, str(clip_dir), "--window-size", "30", "--overlap", "10")
    rows = {(r["label"], r["class"]): r["count"] for r in report["labels"]["raw"]}
    # Each raw label with its class and count; a dropped label is listed as dropped.
    assert rows[("Fronthand", "forehand")] == 4 and rows[("saque", "(dropped)")] == 3
    assert report["classes"] == ["backhand", "forehand"]
    assert report["labels"]["source"].endswith("labels.toml")
