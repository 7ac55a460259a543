"""``python -m model.evaluate_detection --data DIR``: event-level quality of stroke detection.

The command line lives in :mod:`model.detection.cli`, the evaluation in
:mod:`model.detection.evaluate`.
"""

from model.detection.cli import evaluate_main as main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
