"""A disk cache of speech features keyed by the decoded audio's hash and the encoder.

Hashing the decoded 16 kHz samples (not the file bytes) means the same speech re-encoded in
another container still hits; the encoder's ``cache_key`` names its weights and settings, so
changing backend or model never returns stale features.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .features import SpeechEncoder
from .io import SAMPLE_RATE


def default_cache_dir() -> Path:
    """``EXPRESSIVE_TALKER_CACHE``, else ``cache`` in the app's state folder (``expressive_talker.state``)."""
    from ..state import state_path

    return Path(os.environ.get("EXPRESSIVE_TALKER_CACHE") or state_path("cache")) / "features"


def audio_hash(wave: np.ndarray) -> str:
    digest = hashlib.sha256(f"{SAMPLE_RATE}:".encode())
    digest.update(np.ascontiguousarray(wave, dtype=np.float32).tobytes())
    return digest.hexdigest()[:32]


class FeatureCache:
    """``cache(wave, encoder) -> [T, C]``: computed once per (audio, encoder), then read from disk."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def path(self, wave: np.ndarray, encoder: SpeechEncoder) -> Path:
        key = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder.cache_key)
        return self.root / key / f"{audio_hash(wave)}.npy"

    def __call__(self, wave: np.ndarray, encoder: SpeechEncoder) -> np.ndarray:
        path = self.path(wave, encoder)
        try:
            features = np.load(path, allow_pickle=False)
            if features.ndim == 2 and features.shape[1] == encoder.dim:
                self.hits += 1
                return features
        except (OSError, ValueError):  # missing or truncated entry: recompute
            pass
        self.misses += 1
        features = encoder(wave)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write-then-rename so concurrent readers (app workers, training loaders) never see half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, features, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return features
