"""Where the MediaPipe pose model bundle comes from: flag > environment > the user cache.

Resolution order (:func:`resolve_pose_model`):

1. an explicit path (``--pose-model PATH``), used as given;
2. the environment variable ``POSE_LANDMARKER_MODEL``, used as given;
3. the official MediaPipe ``pose_landmarker_full.task`` in the user cache
   (``$XDG_CACHE_HOME/stroke-search`` or ``~/.cache/stroke-search``), downloaded there once and
   checked against its pinned sha256 before it is used. A cached copy whose hash does not match is
   an error, never silently replaced.

Nothing here touches the network at import time; only step 3 on a cache miss downloads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from data_pipeline._io import atomic_write
from data_pipeline.errors import ConfigError
from data_pipeline.errors import DataError

logger = logging.getLogger(__name__)

ENV_VAR = "POSE_LANDMARKER_MODEL"
MODEL_FILE_NAME = "pose_landmarker_full.task"
#: The official bundle, pinned to one Cloud Storage generation so the bytes cannot drift.
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/pose_landmarker_full/"
    "float16/latest/pose_landmarker_full.task?generation=1682642787774579"
)
OFFICIAL_SHA256 = "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad"
_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/stroke-search``, else ``~/.cache/stroke-search``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stroke-search"


def resolve_pose_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the pose model bundle to use, downloading the official one on first use.

    Args:
        path: explicit bundle (the ``--pose-model`` flag). None means: the environment variable
            ``POSE_LANDMARKER_MODEL``, else the official bundle in the user cache.

    Returns:
        Path of an existing ``.task`` file.

    Raises:
        ConfigError: the given or configured file does not exist, or the cached official bundle
            has the wrong hash.
        DataError: the download failed or delivered bytes with the wrong hash.
    """
    if path is not None:
        return _existing(Path(path), "--pose-model")
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env), ENV_VAR)
    return ensure_official_model(user_cache_dir() / MODEL_FILE_NAME)


def ensure_official_model(
    target: Path, *, url: str = OFFICIAL_URL, sha256: str = OFFICIAL_SHA256
) -> Path:
    """Download ``url`` to ``target`` once; verify its sha256 every time it is resolved.

    Args:
        target: where the bundle lives in the cache.
        url: source of the bundle. Defaults to the pinned official MediaPipe URL.
        sha256: expected hex digest. Defaults to the official bundle's digest.

    Returns:
        ``target``, holding bytes with the expected digest.

    Raises:
        ConfigError: ``target`` exists with another digest.
        DataError: the download failed or its digest differs (nothing is left at ``target``).
    """
    if target.is_file():
        actual = file_sha256(target)
        if actual != sha256:
            raise ConfigError(
                f"cached pose model {target} has sha256 {actual}, expected {sha256}; delete it to "
                f"download it again, or pass --pose-model / set {ENV_VAR} to use another bundle."
            )
        return target
    logger.warning("downloading the MediaPipe pose model once to %s", target)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_write(target) as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != sha256:
                raise DataError(
                    f"the pose model downloaded from {url} has sha256 {digest.hexdigest()}, "
                    f"expected {sha256}; nothing was saved. Retry, or download it yourself and "
                    f"pass --pose-model PATH."
                )
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"could not download the pose model from {url} ({exc}); download it yourself and "
            f"pass --pose-model PATH or set {ENV_VAR}."
        ) from exc
    return target


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise ConfigError(
            f"{source} points to {path}, which is not a file; give the path of a MediaPipe "
            f"pose landmarker bundle (.task), or unset it to use the official one."
        )
    return path
