"""Generate the synthetic tennis dataset in the on-disk format the real extraction path writes.

A data folder (see ``data_pipeline.layout``) with ``poses/<clip>.npz`` pose caches,
``annotations/*.json`` Label Studio exports, ``groups.toml`` (player, camera, handedness per clip)
and ``dataset.json`` (seed, difficulty, generator version, generation time and the fingerprint
that ``Dataset.open(...).fingerprint`` reports). Every data file is byte-identical for the same
seed, clip count and difficulty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from data_pipeline._io import atomic_write_text
from data_pipeline.dataset import fingerprint
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError
from data_pipeline.layout import ANNOTATIONS_DIR
from data_pipeline.layout import DATASET_INFO_FILE
from data_pipeline.layout import GROUPS_FILE
from data_pipeline.layout import POSES_DIR
from data_pipeline.pose_cache import PoseClip
from data_pipeline.pose_cache import save_pose_clip
from data_pipeline.synthetic import _export
from data_pipeline.synthetic.body import Player
from data_pipeline.synthetic.body import sample_players
from data_pipeline.synthetic.camera import Camera
from data_pipeline.synthetic.camera import observe
from data_pipeline.synthetic.camera import plan_viewpoints
from data_pipeline.synthetic.camera import sample_camera
from data_pipeline.synthetic.timeline import StrokeEvent
from data_pipeline.synthetic.timeline import plan_strokes
from data_pipeline.synthetic.timeline import simulate_clip

logger = logging.getLogger(__name__)

GENERATOR = "stroke-search synthetic tennis"
GENERATOR_VERSION = "4"  # 4: left/right swaps on back views, two shorter clips per player
DEFAULT_N_CLIPS = 60
#: Clips per player: validation and test hold out whole players, and they rank trials only with
#: many players (two clips each, rather than three, gives 30 players in the default 60 clips).
CLIPS_PER_PLAYER = 2
DEFAULT_PATH = Path("data") / "synthetic"
MAX_DIFFICULTY = 3.0
#: Frame rates of typical club cameras and how often each occurs.
FPS_CHOICES: dict[int, float] = {25: 0.2, 30: 0.35, 50: 0.15, 60: 0.3}
CLIP_SECONDS = (15.0, 30.0)


@dataclass(frozen=True)
class ClipSpec:
    """Everything that defines one clip before it is simulated."""

    stem: str
    index: int
    player: Player
    camera: Camera
    fps: int
    duration: float


def plan_dataset(seed: int, n_clips: int, difficulty: float) -> list[ClipSpec]:
    """Players, cameras, frame rates and lengths of every clip (``CLIPS_PER_PLAYER`` each)."""
    rng = np.random.default_rng([seed, 0])
    players = sample_players(rng, max(2, round(n_clips / CLIPS_PER_PLAYER)))
    rates = list(rng.permutation(list(FPS_CHOICES)))[: min(4, n_clips)]
    rates += list(rng.choice(list(FPS_CHOICES), n_clips - len(rates), p=list(FPS_CHOICES.values())))
    views = plan_viewpoints(rng, n_clips, difficulty)
    return [
        ClipSpec(
            stem=f"synth_{i:03d}",
            index=i,
            player=players[i % len(players)],
            camera=sample_camera(rng, difficulty, views[i]),
            fps=int(rates[i]),
            duration=float(rng.uniform(*CLIP_SECONDS)),
        )
        for i in range(n_clips)
    ]


def render_clip(spec: ClipSpec, *, seed: int, difficulty: float) -> tuple[PoseClip, list[StrokeEvent]]:
    """Simulate one clip: its pose cache content and its labelled strokes."""
    rng = np.random.default_rng([seed, 1, spec.index])
    events = plan_strokes(spec.player, rng, duration=spec.duration, difficulty=difficulty)
    n_frames = round(spec.duration * spec.fps)
    points = simulate_clip(spec.player, events, rng, n_frames=n_frames, fps=spec.fps,
                           difficulty=difficulty)  # fmt: skip
    landmarks, mask = observe(points, spec.camera, spec.fps, rng, difficulty)
    content = hashlib.sha256(landmarks.tobytes() + mask.tobytes()).hexdigest()
    meta = {
        "video": f"{spec.stem}.mp4",
        "video_sha256": content,
        "model_sha256": "synthetic",
        "mediapipe_version": "synthetic",
        "settings": {
            "generator": GENERATOR, "generator_version": GENERATOR_VERSION, "seed": seed,
            "clip_index": spec.index, "difficulty": difficulty, "player": spec.player.name,
            "handedness": spec.player.handedness, "viewpoint": spec.camera.viewpoint,
        },
    }  # fmt: skip
    return PoseClip(landmarks=landmarks, mask=mask, fps=float(spec.fps), meta=meta), events


def _check_target(out_dir: Path) -> None:
    if not out_dir.exists() or not any(out_dir.iterdir()) or _read_info(out_dir) is not None:
        return
    raise ConfigError(
        f"output folder {out_dir} is not empty and holds no generated dataset ({DATASET_INFO_FILE} "
        "from this generator); choose an empty or new folder with --out."
    )


def _read_info(folder: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((folder / DATASET_INFO_FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("generator") == GENERATOR else None


def generate_dataset(out_dir: str | os.PathLike[str], *, seed: int = 0, n_clips: int | None = None,
                     difficulty: float = 1.0) -> Path:  # fmt: skip
    """Write a synthetic tennis dataset to ``out_dir`` and return its path.

    Args:
        out_dir: target folder; must be new, empty, or an earlier generated dataset (replaced).
        seed: seed of every random choice. Defaults to 0.
        n_clips: number of clips (two per player). None means ``DEFAULT_N_CLIPS`` (60).
        difficulty: 0 = clean, identical strokes, camera behind; 1 = the calibrated default;
            up to 3 = more noise, dropouts, side/elevated views and stroke variety. Defaults to 1.

    Raises:
        ConfigError: ``n_clips`` < 1, ``difficulty`` outside [0, 3], or a foreign non-empty folder.

    Example:
        >>> path = generate_dataset(tmp_path / "synth", seed=1, n_clips=3)  # doctest: +SKIP
    """
    n_clips = DEFAULT_N_CLIPS if n_clips is None else n_clips
    if n_clips < 1:
        raise ConfigError(f"--clips must be at least 1, but got n_clips={n_clips}.")
    if not 0.0 <= difficulty <= MAX_DIFFICULTY:
        raise ConfigError(
            f"--difficulty must be between 0 and {MAX_DIFFICULTY}, but got difficulty={difficulty}; "
            "use 1 for the default benchmark, lower for easier, higher for harder."
        )
    out = Path(out_dir)
    _check_target(out)
    began = time.perf_counter()
    specs = plan_dataset(seed, n_clips, difficulty)
    tasks, groups, written = [], [], set()
    n_strokes = 0
    for spec in tqdm(specs, desc="synthetic clips", unit="clip", disable=None, leave=False):
        clip, events = render_clip(spec, seed=seed, difficulty=difficulty)
        pose_path = out / POSES_DIR / f"{spec.stem}.npz"
        save_pose_clip(pose_path, clip)
        written.add(pose_path)
        rng = np.random.default_rng([seed, 2, spec.index])
        video = _export.video_reference(spec.stem, rng)
        result = _export.label_studio_result(events, spec.fps, rng)
        tasks.append((video, result))
        n_strokes += len(events)
        groups.append((spec.stem, {"player": spec.player.name, "camera": spec.camera.viewpoint,
                                   "handedness": spec.player.handedness}))  # fmt: skip
    # Most users export the whole project as a list of tasks; one clip uses the single-object form.
    exports = {"project-1-export.json": [
        _export.label_studio_task(1000 + i, video, result) for i, (video, result) in enumerate(tasks)
    ]}  # fmt: skip
    if len(tasks) > 1:
        exports["project-1-export.json"].pop()
        exports[f"annotation-{specs[-1].stem}.json"] = _export.annotation_object(*tasks[-1])
    for name, document in exports.items():
        atomic_write_text(out / ANNOTATIONS_DIR / name, _export.to_json(document))
        written.add(out / ANNOTATIONS_DIR / name)
    atomic_write_text(out / GROUPS_FILE, _export.groups_toml(groups))
    for stale in {*out.glob(f"{POSES_DIR}/*.npz"), *out.glob(f"{ANNOTATIONS_DIR}/*.json")} - written:
        stale.unlink()
    info = {
        "generator": GENERATOR, "generator_version": GENERATOR_VERSION, "seed": seed,
        "difficulty": difficulty, "n_clips": n_clips, "n_strokes": n_strokes,
        "fingerprint": fingerprint(out),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generation_seconds": round(time.perf_counter() - began, 2),
    }  # fmt: skip
    atomic_write_text(out / DATASET_INFO_FILE, json.dumps(info, indent=2) + "\n")
    logger.info("wrote %d clips, %d strokes to %s", n_clips, n_strokes, out)
    return out


def ensure_default_dataset(path: str | os.PathLike[str] = DEFAULT_PATH) -> Path:
    """Return ``path`` holding the default synthetic dataset, generating it on first use.

    An existing folder is reused when its ``dataset.json`` comes from this generator version and
    its fingerprint matches the files; a stale one is regenerated. Concurrent callers are safe:
    each generates into a private folder and the first to finish wins.

    Raises:
        DataError: ``path`` exists, is not empty and is not a generated dataset.
    """
    target = Path(path)
    if _is_current(target):
        return target
    if target.exists() and any(target.iterdir()) and _read_info(target) is None:
        raise DataError(
            f"{target} exists but holds no generated dataset ({DATASET_INFO_FILE} missing); "
            "delete it to regenerate, or pass --data to use your own data."
        )
    logger.warning("generating the synthetic dataset into %s (first use, a few seconds)", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the dataset is not
    try:
        generate_dataset(staging)
        if not _is_current(target):  # another process may have finished first
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
    except OSError:
        if not _is_current(target):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_current(folder: Path) -> bool:
    info = _read_info(folder)
    return (
        info is not None
        and info.get("generator_version") == GENERATOR_VERSION
        and info.get("seed") == 0
        and info.get("n_clips") == DEFAULT_N_CLIPS
        and info.get("difficulty") == 1.0
        and info.get("fingerprint") == fingerprint(folder)
    )
