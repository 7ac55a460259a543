"""Test videos written with OpenCV: a real photograph of a person panning, blank frames, garbage.

The person is NASA's portrait of astronaut Eileen Collins (``skimage.data.astronaut()``, public
domain, 512 x 512). Measured on the original image: her face lies inside :data:`FACE_BOX`, her
nose tip near :data:`NOSE`, and she faces the camera (her left shoulder is on the image's right).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: ``(x0, y0, x1, y1)`` pixels of the astronaut's face in the unshifted photograph.
FACE_BOX = (175, 60, 270, 175)
#: ``(x, y)`` pixels of her nose tip in the unshifted photograph.
NOSE = (221, 125)
SIZE = 512


def astronaut_shifts(n_frames: int, step: tuple[int, int] = (2, 1)) -> np.ndarray:
    """Per-frame ``(dx, dy)`` pixel shifts of :func:`write_astronaut_video`, centred on zero."""
    index = np.arange(n_frames) - n_frames // 2
    return np.stack([index * step[0], index * step[1]], axis=1)


def write_astronaut_video(
    path: Path, *, n_frames: int = 30, fps: float = 30.0, step: tuple[int, int] = (2, 1)
) -> np.ndarray:
    """Write the photograph shifted by :func:`astronaut_shifts` per frame; return the shifts."""
    import cv2
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    shifts = astronaut_shifts(n_frames, step)
    frames = []
    for dx, dy in shifts:
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        frames.append(
            cv2.warpAffine(image, matrix, (SIZE, SIZE), borderMode=cv2.BORDER_REPLICATE)
        )
    write_video(path, frames, fps=fps)
    return shifts


def write_blank_video(path: Path, *, n_frames: int = 10, fps: float = 30.0) -> None:
    """A decodable video of plain grey frames: no person anywhere."""
    write_video(path, [np.full((SIZE // 2, SIZE // 2, 3), 128, np.uint8)] * n_frames, fps=fps)


def write_corrupt_video(path: Path, *, seed: int = 0) -> None:
    """A file with a video suffix and random bytes that no decoder accepts."""
    path.write_bytes(np.random.default_rng(seed).bytes(4096))


def write_video(path: Path, frames: list[np.ndarray], *, fps: float) -> None:
    """Encode BGR ``frames`` as MPEG-4 part 2 (``mp4v``), which every OpenCV build writes."""
    import cv2

    height, width = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
