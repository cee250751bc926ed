"""One interface for every method: speech features (+ a text feature) -> vertices."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Animator(ABC):
    """``animate(audio_features, text_feature | None) -> vertices (T, V, 3)``.

    ``audio_features`` are (Ta, C) at ``audio_fps``; the animation runs at ``fps`` and has
    ``frames`` frames (by default, the audio's duration at ``fps``). Methods without expression
    control (FaceFormer) ignore ``text_feature``.
    """

    name: str
    fps: float = 30.0
    audio_fps: float = 50.0
    uses_text: bool = True
    audio_backend: str = "whisper-tiny"  # the speech features the model was trained on
    text_backend: str = "minilm"  # the text encoder it was trained with
    text_adapter: str | None = None  # that encoder's adapter file (text/adapter.py), if it was tuned
    audio_dim: int = 384
    text_dim: int = 384

    def frames_for(self, audio_features: np.ndarray) -> int:
        return max(1, int(round(len(audio_features) * self.fps / self.audio_fps)))

    @abstractmethod
    def animate(self, audio_features: np.ndarray, text_feature: np.ndarray | None = None, frames: int | None = None, progress=None) -> np.ndarray:
        """Vertices (T, V, 3) in metres."""

    def animate_blend(self, audio_features: np.ndarray, text_features: np.ndarray, content_weights: np.ndarray, expression_weights: np.ndarray, progress=None) -> np.ndarray:
        """Several prompts (K,text_dim) blended along the clip: per frame a weight per prompt
        (T,K) for what speech moves and for the expression (a timeline of prompts, an expression
        strength). Vertices (T, V, 3)."""
        raise NotImplementedError(f"{type(self).__name__} cannot blend prompts")
