"""Resampling to the reference fps, frame-number mapping and gap filling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.resample import interpolate_gaps
from data_pipeline.resample import resample_clip
from data_pipeline.resample import rescale_frames

FPS = st.sampled_from([24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0, 120.0])
MASKS = st.integers(0, 60).flatmap(lambda n: arrays(bool, n))
fast = settings(deadline=None, max_examples=60)


@fast
@given(mask=MASKS, src=FPS, dst=FPS)
def test_resample_clip_length_matches_rescale_frames(mask, src, dst):
    values = np.random.default_rng(0).random((len(mask), 3, 4)).astype(np.float32)
    out, out_mask = resample_clip(values, mask, src, dst)
    # n_out = round(T * dst / src), the same count rescale_frames gives segment boundaries.
    assert len(out) == len(out_mask) == rescale_frames(len(mask), src, dst)
    assert len(out) == int(np.floor(len(mask) * dst / src + 0.5))
    assert out.shape[1:] == (3, 4) and out.dtype == np.float32


@fast
@given(mask=MASKS, fps=FPS)
def test_resample_clip_identity_at_equal_fps(mask, fps):
    values = np.random.default_rng(1).random((len(mask), 5)).astype(np.float32)
    values[~mask] = 0
    out, out_mask = resample_clip(values, mask, fps, fps)
    # Equal rates change nothing, bit for bit.
    np.testing.assert_array_equal(out, values)
    np.testing.assert_array_equal(out_mask, mask)


@fast
@given(mask=MASKS, src=FPS, dst=FPS, constant=st.floats(-1e3, 1e3, width=32))
def test_resample_clip_keeps_constant_signal_constant(mask, src, dst, constant):
    values = np.full((len(mask), 2), constant, dtype=np.float32)
    out, out_mask = resample_clip(values, mask, src, dst)
    # Valid output frames hold exactly the constant; invalid ones hold 0.
    assert (out[out_mask] == np.float32(constant)).all()
    assert (out[~out_mask] == 0).all()


@fast
@given(mask=MASKS, src=FPS, dst=FPS)
def test_resample_clip_valid_only_where_source_neighbours_valid(mask, src, dst):
    values = np.ones((len(mask), 1), dtype=np.float32)
    out, out_mask = resample_clip(values, mask, src, dst)
    position = np.minimum(np.arange(len(out)) * src / dst, max(len(mask) - 1, 0))
    for j, p in enumerate(position):
        lo, hi = int(np.floor(p + 1e-9)), int(np.ceil(p - 1e-9))
        # A target frame is valid iff the source frames on both sides of it are valid.
        assert out_mask[j] == (mask[lo] and mask[hi])
    if mask.all():
        # Without gaps every output frame is valid.
        assert out_mask.all()


@fast
@given(n=st.integers(2, 80), src=FPS, dst=FPS)
def test_resample_clip_reproduces_linear_motion(n, src, dst):
    time = np.arange(n) / src
    values = np.stack([2.0 * time, 1.0 - time], axis=1)
    out, out_mask = resample_clip(values, np.ones(n, bool), src, dst)
    out_time = np.minimum(np.arange(len(out)) / dst, time[-1])
    # Linear interpolation is exact on motion that is linear in time (held at the clip's end).
    np.testing.assert_allclose(out, np.stack([2.0 * out_time, 1.0 - out_time], 1), atol=1e-9)
    assert out_mask.all()


def test_resample_clip_halves_60_fps_and_masks_gap():
    values = np.arange(10, dtype=np.float32)[:, None]
    mask = np.ones(10, bool)
    mask[4] = False
    out, out_mask = resample_clip(values, mask, 60, 30)
    # Every second frame is taken; the one that hits the missing frame is masked and 0.
    assert out[:, 0].tolist() == [0, 2, 0, 6, 8]
    assert out_mask.tolist() == [True, True, False, True, True]


def test_resample_clip_25_to_30_interpolates_between_frames():
    out, out_mask = resample_clip(np.arange(5, dtype=np.float32), np.ones(5, bool), 25, 30)
    # round(5 * 30 / 25) = 6 frames at positions 0, 5/6, 10/6, ... clamped to the last frame.
    np.testing.assert_allclose(out, [0, 5 / 6, 10 / 6, 2.5, 10 / 3, 4], rtol=1e-6)
    assert out_mask.all()


def test_resample_clip_rejects_bad_rates_and_masks():
    values = np.zeros((4, 2), np.float32)
    # The message names the offending argument.
    with pytest.raises(ConfigError, match="dst_fps must be positive"):
        resample_clip(values, np.ones(4, bool), 30, 0)
    with pytest.raises(ConfigError, match="src_fps must be positive"):
        resample_clip(values, np.ones(4, bool), -25, 30)
    with pytest.raises(DataError, match="mask must have shape"):
        resample_clip(values, np.ones(3, bool), 30, 60)


@pytest.mark.parametrize(
    ("frames", "src", "dst", "expected"),
    [
        (48, 24, 30, 60),
        (0, 24, 60, 0),
        (5, 60, 30, 3),
        (3, 60, 30, 2),
        (100, 30, 30, 100),
        (7, 25, 30, 8),
    ],
)
def test_rescale_frames_table(frames, src, dst, expected):
    # Halves round up (5 -> 2.5 -> 3), so an exclusive end at the clip end stays at the clip end.
    assert rescale_frames(frames, src, dst) == expected
    assert isinstance(rescale_frames(frames, src, dst), int)


def test_rescale_frames_maps_arrays_elementwise():
    out = rescale_frames(np.array([[0, 24], [12, 240]]), 24, 30)
    # Arrays keep their shape and become int64 frame numbers.
    assert out.dtype == np.int64 and out.tolist() == [[0, 30], [15, 300]]


def test_interpolate_gaps_fills_short_interior_gap_linearly():
    values = np.array([[0.0, 10.0], [7, 7], [7, 7], [7, 7], [4.0, 2.0]])
    mask = np.array([True, False, False, False, True])
    out, out_mask = interpolate_gaps(values, mask, max_gap=3)
    # A 3-frame gap with max_gap=3 is filled on the straight line between its neighbours.
    np.testing.assert_allclose(out[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(out[:, 1], [10, 8, 6, 4, 2])
    assert out_mask.all()


def test_interpolate_gaps_keeps_long_and_edge_gaps_masked():
    mask = np.array([False, True, False, False, False, True, False, True, False, False])
    values = np.where(mask, 1.0, 5.0)[:, None]
    out, out_mask = interpolate_gaps(values, mask, max_gap=2)
    # Leading/trailing gaps (no anchor on one side) and the 3-frame gap stay masked and 0;
    # only the 1-frame gap at index 6 is filled.
    assert out_mask.tolist() == [False, True, False, False, False, True, True, True, False, False]
    assert out[:, 0].tolist() == [0, 1, 0, 0, 0, 1, 1, 1, 0, 0]


def test_interpolate_gaps_with_zero_max_gap_only_zeroes_masked_frames():
    mask = np.array([True, False, True])
    out, out_mask = interpolate_gaps(np.array([1.0, 9.0, 3.0]), mask, max_gap=0)
    # max_gap=0 fills nothing.
    assert out.tolist() == [1.0, 0.0, 3.0] and out_mask.tolist() == mask.tolist()
    with pytest.raises(ConfigError, match="max_gap must be >= 0"):
        interpolate_gaps(np.zeros(3), mask, max_gap=-1)


@fast
@given(mask=MASKS, max_gap=st.integers(0, 6))
def test_interpolate_gaps_properties(mask, max_gap):
    values = np.random.default_rng(2).random((len(mask), 3))
    out, out_mask = interpolate_gaps(values, mask, max_gap)
    # Valid frames are untouched, the mask only grows, invalid frames hold 0.
    np.testing.assert_array_equal(out[mask], values[mask])
    assert (out_mask >= mask).all()
    assert (out[~out_mask] == 0).all()
    # Filled frames lie between the values of the valid frames around their gap.
    filled = out_mask & ~mask
    valid = np.flatnonzero(mask)
    for t in np.flatnonzero(filled):
        left, right = values[valid[valid < t][-1]], values[valid[valid > t][0]]
        assert (np.minimum(left, right) - 1e-12 <= out[t]).all()
        assert (out[t] <= np.maximum(left, right) + 1e-12).all()
    # No run of filled frames is longer than max_gap.
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], filled.astype(int), [0]]))))[::2]
    assert (runs <= max_gap).all()
