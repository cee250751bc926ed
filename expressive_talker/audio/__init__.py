"""Speech input: decoding any common audio file to 16 kHz mono float32, and speech features."""

from .io import MAX_SECONDS, MIN_SECONDS, SAMPLE_RATE, AudioClip, load_audio, normalize_loudness, read_audio, write_wav

__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "SAMPLE_RATE",
    "AudioClip",
    "load_audio",
    "normalize_loudness",
    "read_audio",
    "write_wav",
]
