"""On-disk layout of a data folder (the ``--data DIR`` every command takes).

A *clip* data folder (videos, the synthetic dataset, imported keypoint CSVs)::

    DIR/annotations/*.json   Label Studio exports (list of tasks, or one annotation object)
    DIR/poses/<stem>.npz     pose cache, one file per video (see data_pipeline.pose_cache)
    DIR/videos/              optional source videos (extraction fills poses/ from them)
    DIR/groups.toml          optional: [groups."<stem>"] player = "...", camera = "...",
                             group = "...", handedness = "left" | "right"
    DIR/labels.toml          optional: raw label -> class, dropped labels, background classes
                             (see data_pipeline.labels)

A *sequence* data folder (generic fixed-length labelled samples, e.g. sensor data)::

    DIR/sequences.npz        X [N, T, F] float, y [N] str, optional groups [N] str,
                             optional feature_names [F] str, optional fps (scalar)
    DIR/labels.toml          optional, as above (without it the labels are the classes)
"""

from __future__ import annotations

from pathlib import Path

ANNOTATIONS_DIR = "annotations"
POSES_DIR = "poses"
VIDEOS_DIR = "videos"
GROUPS_FILE = "groups.toml"
LABELS_FILE = "labels.toml"
SEQUENCES_FILE = "sequences.npz"
DATASET_INFO_FILE = "dataset.json"


def is_sequence_folder(path: Path) -> bool:
    """True when ``path`` holds generic fixed-length sequences rather than clips."""
    return (path / SEQUENCES_FILE).is_file()
