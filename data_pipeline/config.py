"""Typed configuration of the data pipeline. Every setting has the users' default (REFERENCE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from data_pipeline.errors import ConfigError
from data_pipeline.errors import setting
from data_pipeline.landmarks import DEFAULT_SUBSET

#: Raw Label Studio labels -> class names. Slices go to their side, serve keeps its own class.
DEFAULT_LABEL_MAP: dict[str, str] = {
    "fronthand": "fronthand",
    "forehand": "fronthand",
    "backhand": "backhand",
    "saque": "serve",
    "serve": "serve",
    "slice direita": "fronthand",
    "slice esquerda": "backhand",
}


@dataclass(frozen=True)
class LabelConfig:
    """How raw annotation labels become classes.

    Args:
        label_map: raw label (matched case-insensitively, surrounding spaces ignored) -> class name.
        drop_serve: drop the ``serve`` class entirely (today's users' "serve dropped" switch).
            Defaults to False.
        annotation_fps: frame rate the labelling tool numbered frames in; None means the video's
            own fps. Label Studio assumes 24 fps for a ``<Video>`` tag without ``frameRate``.
        neutral_class: add a ``neutral`` class for windows without any stroke. Defaults to False.
    """

    label_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABEL_MAP))
    drop_serve: bool = False
    annotation_fps: float | None = None
    neutral_class: bool = False

    def __post_init__(self) -> None:
        if self.annotation_fps is not None and not self.annotation_fps > 0:
            raise ConfigError(
                f"--annotation-fps must be positive, but got annotation_fps={self.annotation_fps}."
            )

    @property
    def group_classes(self) -> bool:
        """True when raw labels are grouped into fewer classes (slices onto their side)."""
        return len(set(self.label_map.values())) < len(self.label_map)


@dataclass(frozen=True)
class FeatureConfig:
    """Per-frame features computed from the pose cache.

    Args:
        landmark_subset: MediaPipe landmark indices kept, in order. Defaults to the users' 15.
        representation: ``raw`` (normalised image coordinates), ``body_centred`` (hip-midpoint
            origin), ``body_scaled`` (body-centred and divided by torso length), ``view_robust``
            (joint angles and limb directions). Defaults to ``raw``.
        velocities: append frame-to-frame differences of the coordinates. Defaults to False.
        keep_visibility: keep the visibility channel. Defaults to True.
        canonical_handedness: mirror left-handed clips into right-handed form (x -> 1 - x and
            left/right landmarks swapped). Defaults to False.
        max_gap_frames: detection gaps up to this many reference frames are linearly
            interpolated; longer gaps stay masked. Defaults to 5.
    """

    landmark_subset: tuple[int, ...] = DEFAULT_SUBSET
    representation: str = "raw"
    velocities: bool = False
    keep_visibility: bool = True
    canonical_handedness: bool = False
    max_gap_frames: int = 5

    REPRESENTATIONS = ("raw", "body_centred", "body_scaled", "view_robust")

    def __post_init__(self) -> None:
        if self.representation not in self.REPRESENTATIONS:
            raise ConfigError(
                f"representation must be one of {self.REPRESENTATIONS}, but got "
                f"representation={self.representation!r}."
            )
        if not self.landmark_subset:
            raise ConfigError("landmark_subset must name at least one landmark, but got ().")
        if self.max_gap_frames < 0:
            raise ConfigError(f"max_gap_frames must be >= 0, but got {self.max_gap_frames=}.")


@dataclass(frozen=True)
class WindowConfig:
    """Windowing of reference-fps clips.

    Args:
        window_size: frames per window at ``reference_fps``. Defaults to 45.
        overlap: frames shared by consecutive windows; stride = window_size - overlap.
            Defaults to 15.
        reference_fps: every clip is resampled to this rate first. Defaults to 30.
        min_annotation_length: shorter segments are widened symmetrically to this many reference
            frames. Defaults to 15.
        min_coverage: a window is a sample of a stroke only if it covers at least this fraction
            of the stroke (or the stroke fills at least this fraction of the window). Defaults to 0.5.
    """

    window_size: int = 45
    overlap: int = 15
    reference_fps: float = 30.0
    min_annotation_length: int = 15
    min_coverage: float = 0.5

    def __post_init__(self) -> None:
        size, overlap = setting("window_size"), setting("overlap")
        if self.window_size < 1:
            raise ConfigError(f"{size} must be at least 1, but got {self.window_size=}.")
        if self.overlap < 0:
            raise ConfigError(f"{overlap} must be >= 0, but got {self.overlap=}.")
        if self.overlap >= self.window_size:
            raise ConfigError(
                f"{overlap} must be smaller than {size} (the stride would be "
                f"{self.window_size - self.overlap}), but got overlap={self.overlap}, "
                f"window_size={self.window_size}; lower {overlap} or raise {size}."
            )
        if not self.reference_fps > 0:
            raise ConfigError(
                f"{setting('reference_fps')} must be positive, but got {self.reference_fps=}."
            )
        if not 0.0 < self.min_coverage <= 1.0:
            raise ConfigError(f"min_coverage must be in (0, 1], but got {self.min_coverage=}.")

    @property
    def stride(self) -> int:
        return self.window_size - self.overlap


@dataclass(frozen=True)
class SplitConfig:
    """Grouped train / validation / test split.

    Args:
        val_fraction: share of groups (clips) for validation. Defaults to 0.15.
        test_fraction: share of groups (clips) for test. Defaults to 0.15.
        seed: seed of the split. Defaults to 42.
        group_by: ``clip`` (each video is a group) or a ``groups.toml`` key such as ``player``
            or ``camera``. Defaults to ``clip``.
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 42
    group_by: str = "clip"

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigError(f"{name} must be in (0, 1), but got {name}={value}.")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ConfigError(
                "val_fraction + test_fraction must leave groups for training, but got "
                f"{self.val_fraction} + {self.test_fraction}."
            )

    @property
    def rule(self) -> str:
        """Human-readable split rule, logged as the ``split_rule`` parameter."""
        return (
            f"grouped_by_{self.group_by}:train/val/test="
            f"{1 - self.val_fraction - self.test_fraction:.2f}/{self.val_fraction:.2f}/"
            f"{self.test_fraction:.2f}"
        )
