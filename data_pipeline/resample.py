"""Time-axis operations: resampling to the reference fps, frame-number mapping, gap filling.

Conventions (documented once, used by features, windowing and annotations alike):

- Frame ``i`` of a clip at ``fps`` sits at time ``i / fps``. A clip of ``T`` frames resampled from
  ``src_fps`` to ``dst_fps`` has ``n_out = rescale_frames(T, src_fps, dst_fps)`` frames, i.e.
  ``round(T * dst_fps / src_fps)`` with halves rounded up, so a segment ending (exclusively) at the
  clip's last frame still ends at the resampled clip's last frame.
- Output frame ``j`` reads the source at position ``p = j * src_fps / dst_fps`` (clamped to the last
  frame) and interpolates linearly between frames ``floor(p)`` and ``floor(p) + 1``. It is valid iff
  every source frame it draws on (weight > 0) is valid: gaps never shrink, and where ``p`` hits a
  source frame exactly only that frame counts. At equal rates the clip is returned unchanged.
- Gap filling runs after resampling, so ``max_gap`` is counted in reference frames.
- Invalid (masked) frames always hold 0.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError

_SNAP = 1e-9


def _check_fps(**rates: float) -> None:
    for name, value in rates.items():
        if not value > 0:
            raise ConfigError(f"{name} must be positive, but got {name}={value}.")


def _check_mask(values: np.ndarray, mask: np.ndarray) -> None:
    if values.ndim < 1 or mask.shape != values.shape[:1]:
        raise DataError(
            f"mask must have shape [T] matching values [T, ...], but got mask {mask.shape} "
            f"for values {values.shape}."
        )


@overload
def rescale_frames(frames: int, src_fps: float, dst_fps: float) -> int: ...


@overload
def rescale_frames(frames: ArrayLike, src_fps: float, dst_fps: float) -> np.ndarray: ...


def rescale_frames(frames: int | ArrayLike, src_fps: float, dst_fps: float) -> int | np.ndarray:
    """Map frame numbers (or frame counts) from ``src_fps`` to ``dst_fps``.

    ``round(frames * dst_fps / src_fps)`` with halves rounded up. Use it for segment boundaries
    (start inclusive, end exclusive) and clip lengths alike, so they stay consistent.

    Args:
        frames: a frame number, or an array of them.
        src_fps: rate the numbers are counted in.
        dst_fps: rate to count them in.

    Returns:
        An ``int`` for an ``int`` input, else an int64 array of the input's shape.

    Example:
        >>> rescale_frames(48, 24, 30)
        60
        >>> rescale_frames([0, 5, 10], 60, 30).tolist()
        [0, 3, 5]
    """
    _check_fps(src_fps=src_fps, dst_fps=dst_fps)
    scaled = np.floor(np.asarray(frames, dtype=np.float64) * (dst_fps / src_fps) + 0.5 + _SNAP)
    if isinstance(frames, (int, np.integer)):
        return int(scaled)
    return scaled.astype(np.int64)


def resample_clip(
    values: np.ndarray, mask: np.ndarray, src_fps: float, dst_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a ``[T, ...]`` sequence from ``src_fps`` to ``dst_fps`` by linear interpolation.

    See the module docstring for the frame-time convention and the validity rule.

    Args:
        values: ``[T, ...]`` float array (e.g. landmarks ``[T, 33, 4]`` or features ``[T, F]``).
        mask: bool ``[T]``, True where a frame is valid.
        src_fps: frame rate of ``values``.
        dst_fps: frame rate wanted (the reference fps).

    Returns:
        ``(values [n_out, ...], mask [n_out])``; values keep a floating input's dtype (else
        float32) and hold 0 where the mask is False.

    Raises:
        ConfigError: a non-positive frame rate.
        DataError: ``mask`` does not match ``values``.
    """
    values = np.asarray(values)
    mask = np.asarray(mask, dtype=bool)
    _check_fps(src_fps=src_fps, dst_fps=dst_fps)
    _check_mask(values, mask)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float32)
    n_in = values.shape[0]
    n_out = rescale_frames(n_in, src_fps, dst_fps)
    if n_in == 0 or n_out == 0:
        return np.zeros((n_out, *values.shape[1:]), dtype=dtype), np.zeros(n_out, dtype=bool)
    if src_fps == dst_fps:
        return _zero_masked(values.astype(dtype, copy=True), mask.copy()), mask.copy()

    position = np.arange(n_out, dtype=np.float64) * src_fps / dst_fps
    snapped = np.rint(position)
    position = np.where(np.abs(position - snapped) < _SNAP, snapped, position)
    position = np.minimum(position, n_in - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    weight = position - lo

    clean = np.where(_expand(mask, values.ndim), values, 0).astype(np.float64)
    out_mask = mask[lo] & (mask[hi] | (weight == 0))
    w = _expand(weight, values.ndim)
    # lo + w * (hi - lo): a constant signal stays exactly constant.
    out = clean[lo] + w * (clean[hi] - clean[lo])
    return _zero_masked(out.astype(dtype), out_mask), out_mask


def interpolate_gaps(
    values: np.ndarray, mask: np.ndarray, max_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fill short detection gaps by linear interpolation; keep long gaps masked.

    Rule: a gap is a maximal run of invalid frames. It is filled (values interpolated linearly
    between the valid frames on either side, mask set True) iff it is at most ``max_gap`` frames
    long *and* has a valid frame on both sides. Longer gaps and gaps at the start or end of the
    clip (nothing to interpolate towards) stay masked and hold 0.

    Args:
        values: ``[T, ...]`` float array.
        mask: bool ``[T]``, True where a frame is valid.
        max_gap: longest gap (in frames) that is filled; 0 fills nothing.

    Returns:
        ``(values, mask)`` as new arrays; ``values`` keeps its dtype.

    Raises:
        ConfigError: ``max_gap`` is negative.
        DataError: ``mask`` does not match ``values``.

    Example:
        >>> v, m = interpolate_gaps(np.array([0.0, 9.0, 9.0, 3.0]), np.array([1, 0, 0, 1], bool), 2)
        >>> v.tolist(), m.tolist()
        ([0.0, 1.0, 2.0, 3.0], [True, True, True, True])
    """
    values = np.asarray(values)
    mask = np.asarray(mask, dtype=bool)
    if max_gap < 0:
        raise ConfigError(f"max_gap must be >= 0, but got {max_gap=}.")
    _check_mask(values, mask)
    n = values.shape[0]
    frames = np.arange(n)
    previous = np.maximum.accumulate(np.where(mask, frames, -1)) if n else frames
    following = np.minimum.accumulate(np.where(mask, frames, n)[::-1])[::-1] if n else frames
    fill = ~mask & (previous >= 0) & (following < n) & (following - previous - 1 <= max_gap)

    out = _zero_masked(values.copy(), mask)
    if fill.any():
        left, right = previous[fill], following[fill]
        weight = _expand((frames[fill] - left) / (right - left), values.ndim)
        out[fill] = out[left] + weight * (out[right] - out[left])
    return out, mask | fill


def _expand(per_frame: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a ``[T]`` array so it broadcasts against ``[T, ...]`` with ``ndim`` dimensions."""
    return per_frame.reshape(per_frame.shape + (1,) * (ndim - 1))


def _zero_masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Set invalid frames to 0 in place and return ``values``."""
    values[~mask] = 0
    return values
