"""Speech features for a stream: the speech encoder over a sliding window with a bounded look-ahead.

Every ``hop_s`` of audio (at fixed boundaries A = hop, 2·hop, ... counted from the stream's first
sample, so any chunking gives the same rows) the encoder runs once over the last ``window_s`` of
audio, zero-padded by ``pad_s`` (Whisper's offline windows end in silence too), and the rows up to
``lookahead_s`` before A are final. A row therefore waits for ``lookahead_s`` of audio after it,
plus up to one hop; at the stream's end the last window has no look-ahead to wait for.

Defaults (chosen on the real-speech development set, see weights/README.md, "Streaming"):
window 1.75 s, look-ahead 100 ms, hop 133 ms (four frames), pad 0.1 s: one encoder pass of 1.85 s
of audio 7.5 times a second. (A 2 s window with 0.25 s of padding closed as many p/b/m on that
set for a fifth more of the encoder's CPU, which is most of a stream's.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..audio.io import SAMPLE_RATE


@dataclass(frozen=True)
class WindowConfig:
    lookahead_s: float = 0.1
    window_s: float = 1.75  # audio per encoder pass, look-ahead included
    hop_s: float = 2 / 15  # one encoder pass per hop of audio (four frames at 30 fps)
    pad_s: float = 0.1  # silence after the window's last sample


class StreamingFeatures:
    """``push(samples) -> (rows, until)``: the speech-feature rows that became final, at the
    encoder's rate (row j at time j / fps), and for each the stream time (s) of the last sample
    it depends on. ``finish()`` returns the rest once the stream has ended."""

    def __init__(self, encoder, config: WindowConfig = WindowConfig()):
        self.encoder, self.config = encoder, config
        self.fps = encoder.fps
        self.row_samples = int(round(SAMPLE_RATE / self.fps))  # window starts on the row grid
        self.hop = int(round(config.hop_s * SAMPLE_RATE))
        self.window = int(round(config.window_s * SAMPLE_RATE))
        self.pad = int(round(config.pad_s * SAMPLE_RATE))
        self.buffer = np.zeros(0, np.float32)  # samples from ``buffer_start`` on
        self.buffer_start = 0
        self.received = 0
        self.boundary = self.hop  # the next encoder pass runs when audio reaches this sample
        self.rows = 0  # rows emitted so far

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, np.float32)])
        self.received += len(samples)
        out = []
        while self.received >= self.boundary:
            end = self.boundary
            ready = math.floor((end / SAMPLE_RATE - self.config.lookahead_s) * self.fps + 1e-9) + 1
            out.append(self._encode(end, ready))
            self.boundary += self.hop
        return self._join(out)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Every remaining row of the stream (as many as the offline features have)."""
        total = math.ceil(self.received * self.fps / SAMPLE_RATE - 1e-9)
        if self.rows >= total:
            return self._join([])
        return self._join([self._encode(self.received, total)])

    def _encode(self, end: int, ready: int):
        start = max(0, end - self.window)
        start -= start % self.row_samples
        first = start // self.row_samples
        if ready <= self.rows:
            self._trim(start)
            return None
        wave = self.buffer[start - self.buffer_start : end - self.buffer_start]
        rows = self.encoder.encode_window(wave, len(wave) + self.pad)
        ready = min(ready, first + len(rows))
        new = rows[self.rows - first : ready - first]
        self.rows = ready
        self._trim(start)
        return new, np.full(len(new), end / SAMPLE_RATE)

    def _trim(self, start: int) -> None:
        """Drop audio that no later window reaches (the next one starts a hop later)."""
        keep_from = max(self.buffer_start, start)
        self.buffer = self.buffer[keep_from - self.buffer_start :]
        self.buffer_start = keep_from

    def _join(self, parts):
        parts = [p for p in parts if p is not None and len(p[0])]
        if not parts:
            return np.zeros((0, self.encoder.dim), np.float32), np.zeros(0)
        return np.concatenate([p[0] for p in parts]).astype(np.float32), np.concatenate([p[1] for p in parts])
