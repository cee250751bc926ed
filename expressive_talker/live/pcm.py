"""Raw PCM from a client -> 16 kHz mono float32, chunk by chunk (other rates resampled with soxr,
whose stream resampler keeps its filter state across chunks)."""

from __future__ import annotations

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..errors import InputError

FORMATS = {"f32": np.dtype("<f4"), "s16": np.dtype("<i2")}
MIN_RATE, MAX_RATE = 8000, 192000
LOUDEST_F32 = 8.0  # float samples belong in [-1, 1]; far beyond it the bytes are not float PCM


class PcmDecoder:
    def __init__(self, rate=SAMPLE_RATE, fmt: str = "f32"):
        if fmt not in FORMATS:
            raise InputError(f"unknown sample format {fmt!r}: send 'f32' (little-endian float32) or 's16' (little-endian int16)")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not MIN_RATE <= rate <= MAX_RATE:
            raise InputError(f"sample rate {rate!r} is not one we take: send mono PCM at {MIN_RATE}-{MAX_RATE} Hz (16000 needs no resampling)")
        self.rate, self.dtype = float(rate), FORMATS[fmt]
        self._resampler = None
        if self.rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(self.rate, SAMPLE_RATE, 1, dtype="float32")

    def decode(self, data: bytes) -> np.ndarray:
        if len(data) % self.dtype.itemsize:
            raise InputError(f"a binary message of {len(data)} bytes is not whole {self.dtype.itemsize}-byte samples: send mono PCM, {'float32' if self.dtype.kind == 'f' else 'int16'} little-endian")
        samples = np.frombuffer(data, self.dtype)
        if self.dtype.kind == "f":
            if not np.isfinite(samples).all() or (len(samples) and np.abs(samples).max() > LOUDEST_F32):
                raise InputError("these bytes are not float32 PCM (values outside [-1, 1] or not numbers): send samples in [-1, 1], or declare format 's16' for int16")
            samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
        else:
            samples = samples.astype(np.float32) / 32768.0
        return self._resample(samples, last=False)

    def finish(self) -> np.ndarray:
        """What the resampler still holds at the end of the stream."""
        return self._resample(np.zeros(0, np.float32), last=True)

    def _resample(self, samples: np.ndarray, last: bool) -> np.ndarray:
        if self._resampler is None:
            return samples
        return self._resampler.resample_chunk(samples, last=last).astype(np.float32, copy=False)
