"""The project's exception hierarchy, shared by data_pipeline, model and search.

CLIs catch :class:`ProjectError` and print its message (one line, no traceback, exit code 1 or 2);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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
