"""Mirroring left-handed poses into right-handed form, and inferring handedness."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from data_pipeline.annotations import load_annotations
from data_pipeline.annotations import videos_from_poses
from data_pipeline.config import FeatureConfig
from data_pipeline.dataset import Dataset
from data_pipeline.errors import DataError
from data_pipeline.features import clip_features
from data_pipeline.groups import load_groups
from data_pipeline.handedness import infer_handedness
from data_pipeline.handedness import landmark_present
from data_pipeline.handedness import mirror_landmarks
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import MEDIAPIPE_LANDMARKS
from data_pipeline.landmarks import mirror_permutation
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import load_pose_clip
from data_pipeline.synthetic.camera import SWAP_SECONDS
from data_pipeline.synthetic.camera import SWAP_SHARE
from data_pipeline.synthetic.camera import Camera
from data_pipeline.synthetic.camera import left_right_swaps
from data_pipeline.synthetic.generate import generate_dataset
from data_pipeline.synthetic.generate import plan_dataset
from data_pipeline.synthetic.generate import render_clip
from tests.data_pipeline_tests._clip_folder import make_clip_folder

#: Image (x, y) of a player facing the camera: their right side is on the image's left.
_STANDING = {
    "nose": (0.50, 0.20),
    "shoulder": (0.08, 0.32),
    "elbow": (0.11, 0.45),
    "wrist": (0.12, 0.56),
    "hip": (0.06, 0.60),
    "knee": (0.06, 0.78),
    "ankle": (0.06, 0.94),
    "heel": (0.06, 0.96),
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def standing_pose(n_frames: int) -> np.ndarray:
    """``[n_frames, 33, 4]`` of a still, fully visible right-facing-camera pose."""
    pose = np.zeros((33, 4), np.float32)
    for i, name in enumerate(MEDIAPIPE_LANDMARKS):
        side = name.partition("_")[0]
        key = next((k for k in _STANDING if k in name), "nose")
        x, y = _STANDING[key]
        if side == "left":
            x = 0.5 + x
        elif side == "right":
            x = 0.5 - x
        pose[i] = (x, y, -0.1 * y, 0.9)
    return np.repeat(pose[None], n_frames, axis=0)


def swinging_clip(n_frames: int, wrist: str, swing: slice, fps: float = 30.0) -> PoseClip:
    """A standing pose whose ``wrist`` (``left_wrist``/``right_wrist``) swings during ``swing``."""
    landmarks = standing_pose(n_frames)
    t = np.arange(n_frames)[swing]
    landmarks[swing, LANDMARK_INDEX[wrist], 0] += 0.2 * np.sin(t / 3.0)
    landmarks[swing, LANDMARK_INDEX[wrist], 1] -= 0.15 * np.abs(np.sin(t / 3.0))
    return PoseClip(landmarks=landmarks, mask=np.ones(n_frames, bool), fps=fps)


POSES = st.integers(0, 6).flatmap(
    lambda n: arrays(np.float32, (n, 33, 4), elements=st.floats(-0.5, 1.5, width=32))
)


@settings(deadline=None, max_examples=60)
@given(poses=POSES, missing=arrays(bool, 33))
def test_mirror_landmarks_is_an_involution(poses, missing):
    poses[:, missing] = 0
    once = mirror_landmarks(poses)
    # Mirroring twice gives the input back (up to rounding of 1 - (1 - x)).
    np.testing.assert_allclose(mirror_landmarks(once), poses, atol=1e-6)
    # Missing landmarks stay missing; they only move to their twin's index.
    twins = list(mirror_permutation())
    np.testing.assert_array_equal(landmark_present(once), landmark_present(poses)[:, twins])


def test_mirror_landmarks_flips_x_and_swaps_sides():
    poses = standing_pose(2)
    mirrored = mirror_landmarks(poses)
    left, right = LANDMARK_INDEX["left_wrist"], LANDMARK_INDEX["right_wrist"]
    # The new left wrist is the old right wrist with x -> 1 - x; y, z, visibility unchanged.
    np.testing.assert_allclose(mirrored[:, left, 0], 1 - poses[:, right, 0])
    np.testing.assert_array_equal(mirrored[:, left, 1:], poses[:, right, 1:])
    # The nose has no twin: only its x flips.
    np.testing.assert_allclose(mirrored[:, 0, 0], 1 - poses[:, 0, 0])
    # A symmetric standing pose is its own mirror image once the sides are swapped.
    np.testing.assert_allclose(mirrored, poses, atol=1e-6)


def test_mirror_landmarks_keeps_imported_keypoints_missing():
    # A COCO-17 set mapped onto the 33 indices has no eye corners, mouth, fingers or feet.
    poses = standing_pose(3)
    coco = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    absent = np.setdiff1d(np.arange(33), coco)
    poses[:, absent] = 0
    poses[1, LANDMARK_INDEX["left_knee"]] = np.nan
    mirrored = mirror_landmarks(poses)
    # Absent landmarks are still all zero (x not flipped to 1), NaNs stay NaN at the twin index.
    assert (mirrored[:, absent] == 0).all()
    assert np.isnan(mirrored[1, LANDMARK_INDEX["right_knee"]]).all()
    # Present ones are mirrored.
    np.testing.assert_allclose(
        mirrored[:, LANDMARK_INDEX["left_ankle"], 0],
        1 - poses[:, LANDMARK_INDEX["right_ankle"], 0],
    )


def test_mirror_landmarks_rejects_feature_matrices():
    # A [T, 60] feature matrix is not a pose; the message says what to pass.
    with pytest.raises(DataError, match=r"shape \[T, 33, 4\]"):
        mirror_landmarks(np.zeros((5, 60), np.float32))


@pytest.mark.parametrize("wrist", ["right_wrist", "left_wrist"])
def test_infer_handedness_picks_the_swinging_wrist(wrist):
    clip = swinging_clip(90, wrist, slice(20, 70))
    handedness, confidence = infer_handedness(clip, [Span(20, 45), Span(45, 70)])
    # The wrist that travels during strokes is the racquet hand, with high confidence.
    assert handedness == wrist.split("_")[0]
    assert confidence > 0.9


def test_infer_handedness_of_mirrored_clip_is_flipped():
    clip = swinging_clip(60, "right_wrist", slice(10, 50))
    mirrored = PoseClip(mirror_landmarks(clip.landmarks), clip.mask, clip.fps)
    # Mirroring a right-hander's clip gives a left-hander.
    assert infer_handedness(mirrored, [Span(10, 50)])[0] == "left"


def test_infer_handedness_ignores_motion_outside_strokes_and_masked_frames():
    clip = swinging_clip(100, "left_wrist", slice(0, 50))
    landmarks = clip.landmarks.copy()
    landmarks[60:90, LANDMARK_INDEX["right_wrist"], 0] += 0.05 * np.sin(np.arange(30))
    mask = np.ones(100, bool)
    mask[:50] = False  # the left wrist's big swing happens in frames without a detection
    clip = PoseClip(landmarks, mask, 30.0)
    # Only the stroke frames 60..90 count, where only the right wrist moves.
    assert infer_handedness(clip, [Span(0, 50), Span(60, 90)])[0] == "right"


def test_infer_handedness_unknown_without_evidence():
    still = PoseClip(standing_pose(40), np.ones(40, bool), 30.0)
    # No motion, or no segments at all: unknown with confidence 0.
    assert infer_handedness(still, [Span(0, 40)]) == ("unknown", 0.0)
    assert infer_handedness(swinging_clip(40, "right_wrist", slice(0, 40)), []) == ("unknown", 0.0)
    # Both wrists swinging alike (two-handed strokes) is below min_confidence.
    both = swinging_clip(40, "right_wrist", slice(0, 40)).landmarks
    both[:, LANDMARK_INDEX["left_wrist"], 0] = 1 - both[:, LANDMARK_INDEX["right_wrist"], 0]
    both[:, LANDMARK_INDEX["left_wrist"], 1] = both[:, LANDMARK_INDEX["right_wrist"], 1]
    handedness, confidence = infer_handedness(
        PoseClip(both, np.ones(40, bool), 30.0), [Span(0, 40)]
    )
    assert handedness == "unknown" and confidence < 0.1


def test_infer_handedness_prefers_peak_speed_over_travel_and_counts_votes():
    n = 160
    landmarks = standing_pose(n)
    t = np.arange(n)
    # The free (left) wrist wanders further but slowly; the right wrist whips out and back fast
    # in three of the four strokes.
    landmarks[:, LANDMARK_INDEX["left_wrist"], 1] += 0.3 * np.sin(t / 12.0)
    whip = 0.2 * np.sin(np.pi * np.arange(11) / 10)
    for start in (10, 50, 90):
        landmarks[start : start + 11, LANDMARK_INDEX["right_wrist"], 0] += whip
    clip = PoseClip(landmarks, np.ones(n, bool), 30.0)
    spans = [Span(0, 40), Span(40, 80), Span(80, 120), Span(120, 160)]
    # Three strokes vote right, the fourth (no whip) votes left: right with confidence 2/4.
    assert infer_handedness(clip, spans) == ("right", 0.5)
    # A stricter threshold turns the same evidence into unknown.
    assert infer_handedness(clip, spans, min_confidence=0.6) == ("unknown", 0.5)


def _synthetic_twins(difficulty: float) -> tuple[PoseClip, PoseClip, list]:
    """The same synthetic player and strokes, right- and left-handed, filmed from straight behind."""
    spec = plan_dataset(5, 1, difficulty)[0]
    camera = Camera("behind", (0.0, 1.4, -7.0), (0.0, 0.95, 0.0), 70.0, 0.0)
    spec = replace(spec, camera=camera, duration=12.0, fps=30)
    clips, events = [], []
    for hand in ("right", "left"):
        twin = replace(spec, player=replace(spec.player, handedness=hand))
        clip, strokes = render_clip(twin, seed=5, difficulty=difficulty)
        clips.append(clip)
        events.append(strokes)
    # Same strokes at the same times: only the hand differs.
    assert events[0] == events[1] and events[0]
    return clips[0], clips[1], events[0]


def _stroke_gap(frames: np.ndarray, reference: np.ndarray, stroke: np.ndarray) -> float:
    """Mean absolute difference of two feature matrices over the frames in ``stroke``."""
    return float(np.abs(frames[stroke] - reference[stroke]).mean())


@pytest.mark.parametrize(("difficulty", "tolerance"), [(0.0, 1e-5), (1.0, 0.15)])
def test_mirroring_maps_left_handed_synthetic_strokes_onto_right_handed(difficulty, tolerance):
    right, left, events = _synthetic_twins(difficulty)
    config = FeatureConfig(
        representation="body_scaled", canonical_handedness=True, keep_visibility=False
    )
    reference, right_mask, _ = clip_features(right, config, 30, handedness="right")
    canonical, left_mask, _ = clip_features(left, config, 30, handedness="left")
    as_is, _, _ = clip_features(left, config, 30, handedness="unknown")
    x_only = left.landmarks.copy()
    x_only[..., 0] = np.where(left.mask[:, None], 1 - x_only[..., 0], 0)
    flipped, _, _ = clip_features(PoseClip(x_only, left.mask, left.fps), config, 30)
    for event in events:
        stroke = np.zeros(len(reference), bool)
        stroke[round(event.start * 30) : round(event.end * 30)] = True  # clips are at 30 fps
        stroke &= right_mask & left_mask
        aligned = _stroke_gap(canonical, reference, stroke)
        # Canonicalised, the left-handed stroke is the right-handed one of the same shot (up to
        # the estimator's noise); left as it is, or with x flipped but sides not swapped, it is not.
        assert aligned < tolerance, event
        assert _stroke_gap(as_is, reference, stroke) > 2 * max(aligned, 0.05), event
        assert _stroke_gap(flipped, reference, stroke) > 2 * max(aligned, 0.05), event


def _without_handedness(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    text = (folder / "groups.toml").read_text()
    (target / "groups.toml").write_text(re.sub(r'handedness = "\w+"\n', "", text))
    return target


def test_infer_handedness_per_clip_matches_ground_truth_without_back_view_swaps(
    tmp_path: Path,
) -> None:
    # Difficulty 0: clean poses from behind, no left/right swaps: every clip votes clearly.
    folder = generate_dataset(tmp_path / "clean", seed=3, n_clips=8, difficulty=0.0)
    groups = load_groups(folder / "groups.toml")
    annotations = load_annotations(folder / "annotations", videos=videos_from_poses(folder / "poses"))
    results = {
        a.video: (groups.get(a.video, "handedness"),
                  infer_handedness(load_pose_clip(folder / "poses" / f"{a.video}.npz"),
                                   a.segments)[0])
        for a in annotations
    }  # fmt: skip
    assert all(truth == inferred for truth, inferred in results.values()), results
    assert any(truth == "left" for truth, _ in results.values()), results


def test_player_inference_never_names_the_wrong_hand_under_back_view_swaps(
    small_synthetic_dir: Path, tmp_path: Path
) -> None:
    truth = load_groups(small_synthetic_dir / "groups.toml")
    dataset = Dataset.open(_without_handedness(small_synthetic_dir, tmp_path / "nohand"))
    per_player = {dataset.handedness(c, "player") for c in dataset.clip_ids}
    # Pooled over a player's clips the vote is the true hand or abstains, never the other hand;
    # and it is inferred, with the evidence named.
    for clip_id in dataset.clip_ids:
        assert dataset.handedness(clip_id) in (truth.get(clip_id, "handedness"), "unknown")
        assert dataset.handedness_source(clip_id) == "inferred"
        assert dataset.handedness_detail(clip_id).startswith("player p")
    # One player's clips share one answer.
    assert len(per_player) <= 3


def test_left_right_swaps_cover_the_configured_share_in_stretches() -> None:
    swapped = left_right_swaps(200_000, 30.0, np.random.default_rng(0), difficulty=1.0)
    # About SWAP_SHARE of the frames, in stretches of about SWAP_SECONDS (not frame noise).
    assert abs(swapped.mean() - SWAP_SHARE) < 0.03
    stretches = np.count_nonzero(np.diff(swapped.astype(int)) == 1)
    assert abs(swapped.sum() / stretches / 30.0 - SWAP_SECONDS) < 0.2
    assert not left_right_swaps(1000, 30.0, np.random.default_rng(0), difficulty=0.0).any()


def test_background_segments_never_vote_on_handedness(tmp_path: Path) -> None:
    folder = make_clip_folder(
        tmp_path / "d", {"c0": (300, 30.0, [("neutral", 1, 300)])}, groups_toml=""
    )
    (folder / "labels.toml").write_text('[labels]\nneutral = "neutral"\n')
    dataset = Dataset.open(folder)
    # A clip with only background segments has no stroke to vote with: unknown, 0 strokes.
    assert dataset.handedness("c0") == "unknown"
    assert dataset.handedness_detail("c0") == "clip c0: 0 strokes, confidence 0.00"
