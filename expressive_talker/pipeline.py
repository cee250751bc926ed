"""Audio + text -> vertices for any method: the one path every entry point (app, CLI, evaluator,
benchmark, user study) goes through.

    result = animate_speech("speech.wav", "slightly disgusted", method="ours")
    result.vertices  # (T, V, 3) at result.fps, T = the audio's duration x fps
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InputError

WEIGHTS_DIR = os.environ.get("EXPRESSIVE_TALKER_WEIGHTS", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights"))
METHODS = ("ours", "expclip", "faceformer")
METHOD_LABELS = {"ours": "Ours (two-stage)", "expclip": "ExpCLIP", "faceformer": "FaceFormer"}
# Stage names reported to progress callbacks, in order.
STAGES = ("decode", "features", "animate")
Progress = Callable[[str, float], None]  # (stage, fraction of that stage done)


@functools.lru_cache(maxsize=16)
def load_animator(method: str, weights_dir: str = WEIGHTS_DIR):
    """The trained model of a method (``ours``, ``expclip``, ``faceformer``, or an ablation such
    as ``ours-no-cross``) from ``weights_dir/<method>``, loaded once per process."""
    from .models.io import read_config

    folder = os.path.join(weights_dir, method)
    try:
        kind = read_config(folder)["kind"]
    except FileNotFoundError:
        raise InputError(f"no trained weights for method {method!r} (looked in {folder})") from None
    if kind == "two-stage":
        from .models.two_stage import TwoStageAnimator

        return TwoStageAnimator.from_pretrained(folder, name=method)
    raise InputError(f"{folder} holds a model of unknown kind {kind!r}")


@dataclass
class Animation:
    method: str
    wave: np.ndarray  # 16 kHz mono, as decoded and normalised
    vertices: np.ndarray  # (T, V, 3) metres
    fps: float
    prompt: str | None
    notes: list[str]  # things the user should know (silence, truncated prompt, ...)


def text_feature(animator, text: str, text_b: str | None = None, alpha: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """The prompt's feature with the encoder the model was trained with; with ``text_b``, the
    linear blend (1-α)·f(text) + α·f(text_b) of the two features (the paper's Fig. 7)."""
    from .text import get_text_encoder

    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    encoder = get_text_encoder(animator.text_backend)
    prompts = [text] if text_b is None else [text, text_b]
    embedded = encoder.encode(prompts)
    vectors = embedded.vectors
    feature = vectors[0] if text_b is None else (1.0 - alpha) * vectors[0] + alpha * vectors[1]
    return feature.astype(np.float32), list(embedded.notes)


def speech_features(animator, wave: np.ndarray) -> np.ndarray:
    from .audio import FeatureCache, get_speech_encoder

    return FeatureCache()(wave, get_speech_encoder(animator.audio_backend))


def animate_speech(
    audio,
    text: str | None,
    method: str = "ours",
    text_b: str | None = None,
    alpha: float = 0.0,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    weights_dir: str = WEIGHTS_DIR,
) -> Animation:
    """Decode ``audio`` (a path, or a 16 kHz waveform), encode it and the prompt, and animate."""
    from .audio import MAX_SECONDS, read_audio
    from .render.video import frame_count

    report = progress or (lambda stage, done: None)
    animator = load_animator(method, weights_dir)
    notes: list[str] = []
    report("decode", 0.0)
    if isinstance(audio, np.ndarray):
        wave = audio.astype(np.float32)
    else:
        clip = read_audio(audio, max_seconds or MAX_SECONDS)
        wave, notes = clip.wave, list(clip.notes)
    feature = None
    if animator.uses_text:
        if text is None:
            raise InputError("an expression prompt is needed, for example 'slightly disgusted'")
        feature, text_notes = text_feature(animator, text, text_b, alpha)
        notes += text_notes
    report("features", 0.0)
    audio_features = speech_features(animator, wave)
    frames = frame_count(wave, animator.fps)
    report("animate", 0.0)
    vertices = animator.animate(audio_features, feature, frames, progress=lambda i, n: report("animate", i / n))
    return Animation(method, wave, vertices, animator.fps, text, notes)
