"""The embedded default dataset: realistic synthetic tennis practice clips as pose sequences.

A 3D kinematic player (``body``) plays keyframed strokes (``strokes``) with ready position, split
steps, shuffles and walks in between (``movement``, ``timeline``), filmed by a camera with a pose
estimator's noise, occlusion and dropouts (``camera``). ``generate`` writes the result in the
exact on-disk format of the real extraction path. ``python -m data_pipeline synth --help`` and
``python -m data_pipeline.synthetic.plot --help`` are the commands.
"""

from __future__ import annotations

from data_pipeline.synthetic.generate import DEFAULT_N_CLIPS
from data_pipeline.synthetic.generate import DEFAULT_PATH
from data_pipeline.synthetic.generate import GENERATOR_VERSION
from data_pipeline.synthetic.generate import ensure_default_dataset
from data_pipeline.synthetic.generate import generate_dataset

__all__ = [
    "DEFAULT_N_CLIPS",
    "DEFAULT_PATH",
    "GENERATOR_VERSION",
    "ensure_default_dataset",
    "generate_dataset",
]
