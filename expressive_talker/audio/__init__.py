"""Speech input: decoding any common audio file to 16 kHz mono float32, and speech features."""

from .cache import FeatureCache
from .features import DEFAULT_SPEECH_BACKEND, SPEECH_BACKENDS, SpeechEncoder, get_speech_encoder
from .io import MAX_SECONDS, MIN_SECONDS, SAMPLE_RATE, AudioClip, load_audio, normalize_loudness, read_audio, write_wav

__all__ = [
    "DEFAULT_SPEECH_BACKEND",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "SAMPLE_RATE",
    "SPEECH_BACKENDS",
    "AudioClip",
    "FeatureCache",
    "SpeechEncoder",
    "get_speech_encoder",
    "load_audio",
    "normalize_loudness",
    "read_audio",
    "write_wav",
]
