"""Typed configuration of the data pipeline. Every default is the V2 recipe's setting."""

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
#: Class names that are background (no stroke) unless ``labels.toml`` lists its own.
BACKGROUND_NAMES = ("background", "idle", "neutral", "no_stroke", "none", "other", "rest")


@dataclass(frozen=True)
class LabelConfig:
    """How raw annotation labels become classes.

    Args:
        label_map: raw label (matched case-insensitively, surrounding spaces ignored) -> class name.
        drop_serve: drop the ``serve`` class entirely (the "serve dropped" variant of a dataset).
            Defaults to False.
        annotation_fps: frame rate the labelling tool numbered frames in; None means the video's
            own fps. Label Studio assumes 24 fps for a ``<Video>`` tag without ``frameRate``.
        neutral_class: add a ``neutral`` class for windows without any stroke. Defaults to False.
        dropped: raw labels whose segments are dropped (no class, never ``neutral``).
            Defaults to none.
        background: classes that are no stroke (``neutral``, ``idle`` ...): trained like any
            class, but they never vote on handedness. Defaults to :data:`BACKGROUND_NAMES`.
        file: the ``labels.toml`` the mapping is read from (``--labels FILE``); None means
            the data folder's ``labels.toml`` if it has one, else ``label_map``
            (see ``data_pipeline.labels``).
    """

    label_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABEL_MAP))
    drop_serve: bool = False
    annotation_fps: float | None = None
    neutral_class: bool = False
    dropped: tuple[str, ...] = ()
    background: tuple[str, ...] = BACKGROUND_NAMES
    file: str | None = None

    def __post_init__(self) -> None:
        if self.annotation_fps is not None and not self.annotation_fps > 0:
            raise ConfigError(
                f"--annotation-fps must be positive, but got annotation_fps={self.annotation_fps}."
            )

    def is_background(self, cls: str) -> bool:
        """True for a background class (see ``background``)."""
        return cls.lower() in {name.lower() for name in self.background}

    @property
    def group_classes(self) -> bool:
        """True when raw labels are grouped into fewer classes (slices onto their side)."""
        return len(set(self.label_map.values())) < len(self.label_map)


@dataclass(frozen=True)
class FeatureConfig:
    """Per-frame features computed from the pose cache.

    Args:
        landmark_subset: MediaPipe landmark indices kept, in order. Defaults to the 15 of
            ``DEFAULT_SUBSET``.
        representation: ``raw`` (normalised image coordinates), ``body_centred`` (hip-midpoint
            origin), ``body_scaled`` (body-centred and divided by torso length), ``view_robust``
            (joint angles and limb directions). Defaults to ``raw``.
        velocities: append frame-to-frame differences of the coordinates. Defaults to False.
        keep_visibility: keep the visibility channel. Defaults to True.
        canonical_handedness: mirror left-handed clips into right-handed form (x -> 1 - x and
            left/right landmarks swapped). Defaults to False.
        handedness_inference: where handedness not given in ``groups.toml`` is inferred:
            ``player`` pools the stroke votes of all clips of a player (else of a
            ``groups.toml`` group, else of the clip) and abstains below a clear margin;
            ``clip`` votes per clip. Only used with ``canonical_handedness``.
            Defaults to ``player``.
        mirror_augmentation: add a mirrored copy (x -> 1 - x, left/right swapped, label
            unchanged) of every training window, so the model sees both hands and needs no
            handedness. Validation and test windows are never mirrored. Defaults to False.
        max_gap_frames: detection gaps up to this many reference frames are linearly
            interpolated; longer gaps stay masked. Defaults to 5.
    """

    landmark_subset: tuple[int, ...] = DEFAULT_SUBSET
    representation: str = "raw"
    velocities: bool = False
    keep_visibility: bool = True
    canonical_handedness: bool = False
    max_gap_frames: int = 5
    handedness_inference: str = "player"
    mirror_augmentation: bool = False

    REPRESENTATIONS = ("raw", "body_centred", "body_scaled", "view_robust")
    INFERENCE_SCOPES = ("player", "clip")

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
        if self.handedness_inference not in self.INFERENCE_SCOPES:
            raise ConfigError(
                f"handedness_inference must be one of {self.INFERENCE_SCOPES}, but got "
                f"handedness_inference={self.handedness_inference!r}."
            )


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


#: ``SplitConfig.group_by`` value that picks the strongest grouping the data has.
AUTO_GROUP = "auto"


@dataclass(frozen=True)
class SplitConfig:
    """Grouped train / validation / test split.

    Args:
        val_fraction: share of groups for validation (when ``val_groups`` is empty); a quarter,
            because validation ranks the trials and needs many held-out players to rank them
            as new players would. Defaults to 0.25.
        test_fraction: share of groups for test (when ``test_groups`` is empty).
            Defaults to 0.2.
        seed: seed of the split (``--split-seed``). Defaults to 42.
        group_by: ``clip`` (each clip is a group), a ``groups.toml`` key such as ``player``,
            ``group`` or ``camera``, or ``auto``: ``player`` where every clip names one, else
            ``group`` (the import's folder), else ``clip``. Defaults to ``auto``.
        test_groups: groups held out as test (``--test-groups A,B``); empty: drawn by
            ``test_fraction``. Defaults to none.
        val_groups: groups held out as validation (``--val-groups C``); empty: drawn by
            ``val_fraction``. Defaults to none.
    """

    val_fraction: float = 0.25
    test_fraction: float = 0.2
    seed: int = 42
    group_by: str = AUTO_GROUP
    test_groups: tuple[str, ...] = ()
    val_groups: tuple[str, ...] = ()

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
        if not self.group_by.strip():
            raise ConfigError("--group-by must name a key (auto, clip, player, ...), but got ''.")
        both = sorted(set(self.test_groups) & set(self.val_groups))
        if both:
            raise ConfigError(
                f"--test-groups and --val-groups must not share a group, but both name {both}; "
                "hold each group out once."
            )

    @property
    def rule(self) -> str:
        """Human-readable split rule, logged as the ``split_rule`` parameter: grouping key,
        fractions, seed and explicit held-out groups (a study's split identity)."""
        rule = (
            f"grouped_by_{self.group_by}:train/val/test="
            f"{1 - self.val_fraction - self.test_fraction:.2f}/{self.val_fraction:.2f}/"
            f"{self.test_fraction:.2f}:seed={self.seed}"
        )
        if self.val_groups:
            rule += f":val={','.join(self.val_groups)}"
        if self.test_groups:
            rule += f":test={','.join(self.test_groups)}"
        return rule
