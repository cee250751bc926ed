"""Speech input: decoding any common audio file to 16 kHz mono float32."""

from .io import SAMPLE_RATE, load_audio, write_wav

__all__ = ["SAMPLE_RATE", "load_audio", "write_wav"]
