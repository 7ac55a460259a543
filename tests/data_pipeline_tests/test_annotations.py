"""Label Studio exports -> segments: both shapes, every documented rule, every bad input."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from data_pipeline.annotations import Segment
from data_pipeline.annotations import VideoInfo
from data_pipeline.annotations import load_annotations
from data_pipeline.annotations import videos_from_poses
from data_pipeline.config import LabelConfig
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from tests.data_pipeline_tests._clip_folder import write_pose

FIXTURES = Path(__file__).parent / "fixtures"
VIDEOS = {
    "secao_99": VideoInfo(fps=30.0, n_frames=1000),
    "secao_100": VideoInfo(fps=30.0, n_frames=500),
    "secao_101": VideoInfo(fps=30.0, n_frames=100),
}


def test_load_annotations_list_shape_reads_every_task_and_range() -> None:
    clips = load_annotations(FIXTURES / "list_of_tasks.json", videos=VIDEOS)
    # Task 903 has only a cancelled annotation: skipped; the other two are read.
    assert [c.video for c in clips] == ["secao_100", "secao_99"]
    # Every timelinelabels item and every range of it becomes a segment; "choices" is ignored.
    assert [(s.cls, s.start, s.end) for s in clips[1].segments] == [
        ("fronthand", 119, 141), ("serve", 199, 249), ("fronthand", 299, 320),
    ]


def test_load_annotations_single_object_shape() -> None:
    clips = load_annotations(FIXTURES / "single_annotation.json", videos=VIDEOS)
    # The {"task": ..., "result": [...]} shape with a URL-quoted path resolves like a task list.
    assert clips[0].video == "secao_99"
    assert clips[0].segments == [Segment(label="Backhand", cls="backhand", start=11, end=24)]


def test_load_annotations_frames_one_based_inclusive_become_zero_based_half_open(
    tmp_path: Path,
) -> None:
    clips = load_annotations(FIXTURES / "upload_prefix.json", videos=VIDEOS)
    # Label Studio's full range 1..n_frames covers exactly the video's frames [0, n_frames).
    assert (clips[0].segments[0].start, clips[0].segments[0].end) == (0, 1000)
    export = json.loads((FIXTURES / "upload_prefix.json").read_text())
    export[0]["annotations"][0]["result"][0]["value"]["ranges"] = [{"start": 5, "end": 5}]
    (tmp_path / "one_click.json").write_text(json.dumps(export))
    one_click = load_annotations(tmp_path / "one_click.json", videos=VIDEOS)[0].segments[0]
    # A one-click region {start: 5, end: 5} is exactly video frame 4.
    assert (one_click.start, one_click.end) == (4, 5)


def test_load_annotations_uses_most_recent_non_cancelled_annotation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="data_pipeline.annotations"):
        clips = load_annotations(FIXTURES / "list_of_tasks.json", videos=VIDEOS)
    secao_99 = {c.video: c for c in clips}["secao_99"]
    # Annotation 6 (updated last among the non-cancelled) wins over 5; cancelled 7 is ignored.
    assert [s.start for s in secao_99.segments] == [119, 199, 299]
    # The choice is logged, naming the annotation used.
    assert "using the most recent one (id 6" in caplog.text


def test_load_annotations_label_mapping_ignores_case_and_spaces() -> None:
    secao_100 = load_annotations(FIXTURES / "list_of_tasks.json", videos=VIDEOS)[0]
    # " Slice  Direita " -> fronthand and "slice esquerda" -> backhand (slices to their side).
    assert [(s.label, s.cls) for s in secao_100.segments] == [
        (" Slice  Direita ", "fronthand"), ("slice esquerda", "backhand"),
    ]


def test_load_annotations_custom_label_map_and_serve_kept_for_windowing() -> None:
    labels = LabelConfig(label_map={"serve": "saque"}, drop_serve=True)
    clips = load_annotations(FIXTURES / "upload_prefix.json", labels=labels, videos=VIDEOS)
    # The mapping is configurable; drop_serve does not remove segments here (windowing does).
    assert [s.cls for s in clips[0].segments] == ["saque"]


def test_load_annotations_annotation_fps_rescales_to_video_fps() -> None:
    videos = {"secao_99": VideoInfo(fps=48.0, n_frames=1000)}
    labels = LabelConfig(annotation_fps=24.0)
    clips = load_annotations(FIXTURES / "single_annotation.json", labels=labels, videos=videos)
    # Frames 12..24 at 24 fps are [11, 24) -> the same instants at 48 fps: [22, 48).
    assert (clips[0].segments[0].start, clips[0].segments[0].end) == (22, 48)


def test_load_annotations_video_stem_matches_case_insensitively_and_upload_prefix() -> None:
    clips = load_annotations(FIXTURES / "upload_prefix.json", videos=VIDEOS)
    # "/data/upload/1/0a1b2c3d-secao_99.mp4": Label Studio's upload hash prefix is stripped.
    assert clips[0].video == "secao_99"


def test_load_annotations_handedness_from_task_data() -> None:
    clips = {c.video: c for c in load_annotations(FIXTURES / "list_of_tasks.json", videos=VIDEOS)}
    # data.handedness "Left" is read (lower-cased); absent means None.
    assert (clips["secao_100"].handedness, clips["secao_99"].handedness) == ("left", None)


def test_load_annotations_without_videos_keeps_exported_stems() -> None:
    clips = load_annotations(FIXTURES / "list_of_tasks.json")
    # No videos given: stems as exported, frames only converted (no rescaling, no length check).
    assert [c.video for c in clips] == ["Secao_100", "secao_99"]


def test_load_annotations_reads_every_file_of_a_folder(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "list_of_tasks.json", tmp_path / "a.json")
    shutil.copy(FIXTURES / "single_annotation.json", tmp_path / "b.json")
    # secao_99 is in both files: a duplicate task is refused, naming both sources.
    with pytest.raises(DataError, match=r"annotated twice: a.json#task 901 and b.json#task 77"):
        load_annotations(tmp_path, videos=VIDEOS)
    (tmp_path / "b.json").unlink()
    assert len(load_annotations(tmp_path, videos=VIDEOS)) == 2


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("malformed.json", r"malformed.json is not valid JSON \(line 3, column"),
        ("no_video.json", r"no_video.json#task 5 names no video.*fields: \['image'\]"),
        ("missing_video.json", r"not_extracted.mp4' of missing_video.json#task 6 has no pose"),
        ("unknown_label.json", r"unknown label 'Voleio' in unknown_label.json#task 7.*create .*labels.toml.*--labels FILE"),
        ("empty_range.json", r"range 40-39 of label 'Fronthand'.* is empty"),
        ("beyond_video.json", r"range 990-1001 .* ends after the video's last frame 1000"),
        ("duplicate_task.json", r"'secao_99' is annotated twice"),
    ],
)
def test_load_annotations_bad_input_raises_clear_data_error(fixture: str, message: str) -> None:
    # One DataError per bad input, naming the file/task and what to do.
    with pytest.raises(DataError, match=message):
        load_annotations(FIXTURES / fixture, videos=VIDEOS)


def test_load_annotations_not_an_export_raises(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"theme": "dark"}')
    # Valid JSON of another shape is named as such, not silently skipped.
    with pytest.raises(DataError, match=r"settings.json is neither a list of Label Studio tasks"):
        load_annotations(tmp_path, videos=VIDEOS)


def test_load_annotations_ambiguous_video_name_raises() -> None:
    videos = {"secao_99": VideoInfo(30.0, 1000), "SECAO_99": VideoInfo(30.0, 1000)}
    # Two files differing only in case: refuse to guess.
    with pytest.raises(DataError, match=r"matches several files ignoring case: \['SECAO_99'"):
        load_annotations(FIXTURES / "single_annotation.json", videos=videos)


def test_load_annotations_no_export_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no Label Studio export \(\*.json\) found"):
        load_annotations(tmp_path, videos=VIDEOS)


def test_load_annotations_annotation_fps_without_videos_raises() -> None:
    with pytest.raises(ConfigError, match="annotation_fps rescales frame numbers"):
        load_annotations(
            FIXTURES / "single_annotation.json", labels=LabelConfig(annotation_fps=24)
        )


def test_videos_from_poses_reads_fps_and_length(tmp_path: Path) -> None:
    write_pose(tmp_path / "a.npz", 12, 25.0)
    write_pose(tmp_path / "b.npz", 7, 60.0)
    # Rate and length come from the pose cache metadata.
    assert videos_from_poses(tmp_path) == {"a": VideoInfo(25.0, 12), "b": VideoInfo(60.0, 7)}
