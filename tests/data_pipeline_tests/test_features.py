"""Per-frame features: the users' 60 columns, representations, velocities, handedness, sequences."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipeline.config import FeatureConfig
from data_pipeline.errors import ConfigError
from data_pipeline.features import clip_features
from data_pipeline.features import feature_names_for
from data_pipeline.features import sequence_features
from data_pipeline.handedness import mirror_landmarks
from data_pipeline.landmarks import DEFAULT_SUBSET
from data_pipeline.landmarks import LANDMARK_INDEX
from data_pipeline.landmarks import feature_names
from data_pipeline.pose_cache import PoseClip
from tests.data_pipeline_tests.test_handedness import standing_pose
from tests.data_pipeline_tests.test_handedness import swinging_clip


def moving_clip(n_frames: int = 40, fps: float = 30.0, seed: int = 0) -> PoseClip:
    """A swinging pose with per-landmark jitter, so no coordinate is constant."""
    clip = swinging_clip(n_frames, "right_wrist", slice(0, n_frames), fps=fps)
    jitter = np.random.default_rng(seed).normal(0, 0.01, clip.landmarks.shape).astype(np.float32)
    jitter[..., 3] = 0
    return PoseClip(clip.landmarks + jitter, clip.mask, fps)


def moved(clip: PoseClip, scale: float, shift: tuple[float, float, float]) -> PoseClip:
    """``clip`` with every landmark scaled by ``scale`` and shifted by ``shift`` (x, y, z)."""
    landmarks = clip.landmarks.copy()
    landmarks[..., :3] = landmarks[..., :3] * scale + np.asarray(shift, np.float32)
    return PoseClip(landmarks, clip.mask, clip.fps)


def test_clip_features_default_is_the_users_60_columns():
    clip = moving_clip()
    frames, mask, names = clip_features(clip, FeatureConfig(), reference_fps=30)
    # Exactly [x, y, z, vis] x 15 landmarks, landmark-major, as today's users feed their models.
    assert names == feature_names() and len(names) == 60
    assert frames.dtype == np.float32 and frames.shape == (40, 60) and mask.all()
    np.testing.assert_array_equal(frames.reshape(40, 15, 4), clip.landmarks[:, DEFAULT_SUBSET])


@pytest.mark.parametrize(("fps", "n_out"), [(60.0, 20), (25.0, 48), (50.0, 24), (30.0, 40)])
def test_clip_features_resamples_to_reference_fps(fps, n_out):
    frames, mask, _ = clip_features(moving_clip(40, fps=fps), FeatureConfig(), reference_fps=30)
    # Every clip comes out at the reference rate: round(40 * 30 / fps) frames.
    assert frames.shape == (n_out, 60) and mask.shape == (n_out,)


def test_clip_features_fills_short_gaps_and_masks_long_ones():
    clip = moving_clip(60)
    mask = clip.mask.copy()
    mask[10:13] = False  # 3 frames: filled with max_gap_frames=5
    mask[30:40] = False  # 10 frames: stays masked
    landmarks = clip.landmarks.copy()
    landmarks[~mask] = 0
    frames, out_mask, _ = clip_features(PoseClip(landmarks, mask, 30.0), FeatureConfig(), 30)
    # Short gap interpolated between its neighbours, long gap masked and zero.
    assert out_mask[10:13].all() and not out_mask[30:40].any()
    assert (frames[30:40] == 0).all()
    expected = landmarks[9] + (landmarks[13] - landmarks[9]) * 2 / 4
    np.testing.assert_allclose(
        frames[11].reshape(15, 4), expected[list(DEFAULT_SUBSET)], atol=1e-6
    )


@pytest.mark.parametrize("representation", FeatureConfig.REPRESENTATIONS)
@pytest.mark.parametrize("velocities", [False, True])
@pytest.mark.parametrize("keep_visibility", [False, True])
def test_clip_features_names_match_columns(representation, velocities, keep_visibility):
    config = FeatureConfig(
        representation=representation, velocities=velocities, keep_visibility=keep_visibility
    )
    frames, _, names = clip_features(moving_clip(12), config, 30)
    # One unique name per column; visibility columns exactly when kept.
    assert frames.shape[1] == len(names) == len(set(names)) == len(feature_names_for(config))
    assert any(n.endswith("_visibility") for n in names) == keep_visibility
    # With velocities, every non-visibility column has a ``_vel`` twin.
    motion = [n for n in names if not n.endswith(("_visibility", "_vel"))]
    assert [n for n in names if n.endswith("_vel")] == [f"{n}_vel" for n in motion] * velocities


def test_clip_features_body_centred_puts_hips_at_origin_and_ignores_translation():
    config = FeatureConfig(representation="body_centred", landmark_subset=(23, 24, 0))
    clip = moving_clip()
    frames, _, _ = clip_features(clip, config, 30)
    shifted, _, _ = clip_features(moved(clip, 1.0, (0.2, -0.1, 0.3)), config, 30)
    hips = frames.reshape(-1, 3, 4)[:, :2, :3]
    # The hip midpoint is the origin, and a camera pan changes nothing.
    np.testing.assert_allclose(hips.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(shifted, frames, atol=1e-5)


def test_clip_features_body_scaled_ignores_translation_and_scale():
    config = FeatureConfig(representation="body_scaled", landmark_subset=(11, 12, 23, 24, 16))
    clip = moving_clip()
    frames, _, _ = clip_features(clip, config, 30)
    zoomed, _, _ = clip_features(moved(clip, 1.7, (-0.3, 0.2, 0.05)), config, 30)
    # Same player nearer the camera and elsewhere in the image: same features.
    np.testing.assert_allclose(zoomed, frames, atol=1e-5)
    points = frames.reshape(-1, 5, 4)[..., :3]
    torso = np.linalg.norm(points[:, :2].mean(1) - points[:, 2:4].mean(1), axis=-1)
    # Torso length is the unit of length.
    np.testing.assert_allclose(torso, 1.0, atol=1e-5)


def test_clip_features_body_scaled_masks_frames_without_a_torso():
    landmarks = standing_pose(5)
    landmarks[2, :, :3] = 0.5  # every landmark on one point: no scale
    clip = PoseClip(landmarks, np.ones(5, bool), 30.0)
    frames, mask, _ = clip_features(clip, FeatureConfig(representation="body_scaled"), 30)
    # No division by zero: the degenerate frame becomes invalid and zero.
    assert mask.tolist() == [True, True, False, True, True]
    assert np.isfinite(frames).all() and (frames[2] == 0).all()


def test_clip_features_view_robust_ignores_translation_and_scale():
    config = FeatureConfig(representation="view_robust", velocities=True)
    clip = moving_clip()
    frames, _, names = clip_features(clip, config, 30)
    for scale, shift in [(0.5, (0.25, 0.25, 0.0)), (2.0, (-0.5, 0.1, -0.2))]:
        other, _, _ = clip_features(moved(clip, scale, shift), config, 30)
        # Joint angles and limb directions do not see where the player stands or how big.
        np.testing.assert_allclose(other, frames, atol=1e-4)
    angles = frames[
        :, [i for i, n in enumerate(names) if n.startswith("angle_") and not n.endswith("_vel")]
    ]
    assert angles.shape[1] == 8 and (angles >= 0).all() and (angles <= 1).all()


def test_clip_features_view_robust_angles_and_directions():
    landmarks = standing_pose(1)
    shoulder, elbow, wrist = (LANDMARK_INDEX[f"right_{n}"] for n in ("shoulder", "elbow", "wrist"))
    landmarks[0, shoulder, :3] = (0.3, 0.3, 0.0)
    landmarks[0, elbow, :3] = (0.3, 0.5, 0.0)
    landmarks[0, wrist, :3] = (0.5, 0.5, 0.0)  # forearm at a right angle to the upper arm
    clip = PoseClip(landmarks, np.ones(1, bool), 30.0)
    frames, _, names = clip_features(clip, FeatureConfig(representation="view_robust"), 30)
    value = dict(zip(names, frames[0]))
    # A right angle is 0.5 (angles are divided by pi); directions are unit vectors.
    assert value["angle_right_elbow"] == pytest.approx(0.5, abs=1e-6)
    assert [value[f"direction_right_forearm_{a}"] for a in "xyz"] == pytest.approx([1, 0, 0])
    assert [value[f"direction_right_upper_arm_{a}"] for a in "xyz"] == pytest.approx([0, 1, 0])


def test_clip_features_velocities_are_frame_differences():
    clip = moving_clip(20)
    mask = clip.mask.copy()
    mask[10:18] = False
    landmarks = np.where(mask[:, None, None], clip.landmarks, 0)
    config = FeatureConfig(velocities=True, keep_visibility=False)
    frames, out_mask, names = clip_features(PoseClip(landmarks, mask, 30.0), config, 30)
    position, velocity = frames[:, :45], frames[:, 45:]
    # Velocity = this frame minus the previous one, per coordinate column.
    assert names[45:] == tuple(f"{n}_vel" for n in names[:45])
    np.testing.assert_allclose(velocity[1:10], np.diff(position[:10], axis=0), atol=1e-6)
    # 0 at the first frame and where either frame is invalid.
    assert (velocity[0] == 0).all() and (velocity[10:19] == 0).all() and not out_mask[10:18].any()


def test_clip_features_canonical_handedness_mirrors_left_handers_only():
    clip = moving_clip()
    on = FeatureConfig(canonical_handedness=True)
    mirrored = PoseClip(mirror_landmarks(clip.landmarks), clip.mask, clip.fps)
    plain, _, _ = clip_features(clip, FeatureConfig(), 30, handedness="left")
    # A left-hander becomes the mirror image; right and unknown clips and the default are untouched.
    np.testing.assert_array_equal(
        clip_features(clip, on, 30, handedness="left")[0],
        clip_features(mirrored, FeatureConfig(), 30)[0],
    )
    for handedness in ("right", "unknown"):
        np.testing.assert_array_equal(clip_features(clip, on, 30, handedness=handedness)[0], plain)
    with pytest.raises(ConfigError, match="handedness must be one of"):
        clip_features(clip, on, 30, handedness="ambidextrous")


def test_sequence_features_resamples_or_keeps_unknown_rate():
    values = np.arange(20, dtype=np.float64).reshape(10, 2)
    mask = np.ones(10, bool)
    # A 100 Hz sensor sequence at reference 50 Hz keeps every second frame.
    out, out_mask = sequence_features(values, mask, 100.0, 50.0)
    assert out.dtype == np.float32 and out.tolist() == values[::2].tolist() and out_mask.all()
    # Unknown rate (already cut samples): used as-is.
    same, _ = sequence_features(values, mask, None, 30.0)
    np.testing.assert_array_equal(same, values)


def test_clip_features_missing_landmarks_give_zero_not_garbage():
    # An imported COCO-17 set has no heels (in the default subset) and here loses a wrist.
    landmarks = moving_clip(10).landmarks.copy()
    heels = [LANDMARK_INDEX["left_heel"], LANDMARK_INDEX["right_heel"]]
    landmarks[:, heels] = 0
    landmarks[5:, LANDMARK_INDEX["right_wrist"]] = 0
    clip = PoseClip(landmarks, np.ones(10, bool), 30.0)
    centred, mask, names = clip_features(
        clip, FeatureConfig(representation="body_centred", velocities=True), 30
    )
    value = {n: centred[:, i] for i, n in enumerate(names)}
    # Missing heels stay 0 instead of becoming "minus the hip midpoint"; the frames stay valid.
    assert mask.all() and all(
        (value[f"{s}_heel_{c}"] == 0).all()
        for s in ["left", "right"]
        for c in ("x", "y", "z", "visibility", "x_vel")
    )
    # The wrist's velocity is 0 where it vanishes, not a jump to the origin.
    wrist_velocity = value["right_wrist_x_vel"]
    assert (wrist_velocity[5:] == 0).all() and (wrist_velocity[1:5] != 0).all()
    robust, _, names = clip_features(clip, FeatureConfig(representation="view_robust"), 30)
    value = {n: robust[:, i] for i, n in enumerate(names)}
    # Angles and directions that need the missing wrist are 0 from frame 5 on.
    elbow = value["angle_right_elbow"]
    assert (elbow[5:] == 0).all() and (elbow[:5] > 0).all()
    assert (value["direction_right_forearm_x"][5:] == 0).all()
