"""The example clips and prompts in ``examples/examples.json`` (see examples/README.md)."""

from __future__ import annotations

import json
import os

EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")
DEFAULT_STUDY = os.path.join(EXAMPLES_DIR, "study.json")  # the study a fresh install runs


def load_examples(folder: str = EXAMPLES_DIR) -> list[dict]:
    """Entries with an absolute ``audio`` path; clips missing on disk are skipped."""
    try:
        with open(os.path.join(folder, "examples.json"), encoding="utf-8") as f:
            entries = json.load(f)
    except FileNotFoundError:
        return []
    out = []
    for entry in entries:
        path = os.path.join(folder, entry["audio"])
        if os.path.isfile(path):
            out.append({**entry, "audio": path})
    return out
