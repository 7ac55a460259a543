"""The project's exception hierarchy, shared by data_pipeline, model and search.

CLIs catch :class:`ProjectError` and print its message (one line, no traceback, exit code 1 or 2);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from collections.abc import Mapping
from contextvars import ContextVar

_SETTING_NAMES: ContextVar[Mapping[str, str] | None] = ContextVar("setting_names", default=None)


def setting(name: str) -> str:
    """How the running command spells the setting ``name``, for error messages.

    ``data_pipeline``'s own flag unless a command said otherwise with :func:`spelled_as`.

    Example:
        >>> setting("window_size")
        '--window-size'
        >>> with spelled_as({"window_size": "[window] window_size"}):
        ...     setting("window_size")
        '[window] window_size'
    """
    names = _SETTING_NAMES.get() or {}
    return names.get(name, "--" + name.replace("_", "-"))


@contextlib.contextmanager
def spelled_as(names: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, errors name the settings in ``names`` as given (e.g. a TOML key)."""
    token = _SETTING_NAMES.set(dict(names))
    try:
        yield
    finally:
        _SETTING_NAMES.reset(token)


class ProjectError(Exception):
    """Base class of every error the project raises on purpose for the user to read."""


class ConfigError(ProjectError, ValueError):
    """An impossible setting: a flag, a TOML key or a parameter combination."""


class DataError(ProjectError):
    """Input data that cannot be used: missing or malformed files, unknown labels, too few clips."""


class NoPoseError(DataError):
    """A video decodes, but no frame has a pose; detection reports it as zero strokes.

    Args:
        message: what happened, naming the video.
        n_frames: frames of the video.
        fps: its frame rate.
    """

    def __init__(self, message: str, *, n_frames: int, fps: float) -> None:
        super().__init__(message)
        self.n_frames = n_frames
        self.fps = fps
