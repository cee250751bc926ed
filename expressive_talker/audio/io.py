"""Decode speech files to 16 kHz mono float32, with one clear error for anything unusable."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import soundfile as sf

from ..errors import InputError

SAMPLE_RATE = 16_000
MIN_SECONDS = 0.3


def _ffmpeg_decode(path: str) -> np.ndarray:
    """Decode with imageio-ffmpeg's ffmpeg (m4a, webm, opus, ...) straight to 16 kHz mono."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise InputError(f"could not read {os.path.basename(path)} as audio")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def load_audio(path, max_seconds: float | None = None) -> np.ndarray:
    """Any speech file -> float32 mono waveform at 16 kHz. Raises InputError on unusable input."""
    if path is None or str(path).strip() == "":
        raise InputError("no audio file was given")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"audio file not found: {path}")
    try:
        info = sf.info(path)
    except Exception:  # noqa: BLE001 - not a libsndfile format; let ffmpeg try
        info = None
    if info is not None and max_seconds is not None and info.duration > max_seconds:
        raise InputError(f"audio is {info.duration:.1f} s long; the limit is {max_seconds:.0f} s")
    if info is not None:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        wave = data.mean(axis=1)
        if rate != SAMPLE_RATE and len(wave):
            import librosa

            wave = librosa.resample(wave, orig_sr=rate, target_sr=SAMPLE_RATE)
    else:
        wave = _ffmpeg_decode(path)
    wave = np.ascontiguousarray(wave, dtype=np.float32)
    if len(wave) == 0:
        raise InputError("the audio file contains no samples")
    if not np.all(np.isfinite(wave)):
        raise InputError("the audio contains invalid (NaN or infinite) samples")
    seconds = len(wave) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise InputError(f"audio is {seconds:.2f} s long; at least {MIN_SECONDS} s is needed")
    if max_seconds is not None and seconds > max_seconds:
        raise InputError(f"audio is {seconds:.1f} s long; the limit is {max_seconds:.0f} s")
    return wave


def write_wav(path, wave: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    sf.write(os.fspath(path), np.asarray(wave, dtype=np.float32), rate, subtype="PCM_16")
