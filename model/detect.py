"""``python -m model.detect VIDEO``: find the strokes in a new video with a trained model.

The command line lives in :mod:`model.detection.cli`, the detection in :mod:`model.detection`.
"""

from model.detection.cli import detect_main as main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
