"""Feature rows at the encoder's rate -> rows at the animation's frame rate, as they arrive.

The same linear interpolation as the offline path (``models.layers.resample_frames``:
``F.interpolate(mode="linear", align_corners=False)``): frame i reads the rows around
``(i + 0.5) · src / dst - 0.5``. A frame is ready once the row after that point has arrived; at
the stream's end the last row stands in for the missing ones.
"""

from __future__ import annotations

import math

import numpy as np


class StreamingResampler:
    def __init__(self, src_fps: float, dst_fps: float, dim: int):
        self.ratio = src_fps / dst_fps
        self.rows = np.zeros((0, dim), np.float32)  # rows from ``first`` on
        self.until = np.zeros(0)
        self.first = 0  # index of rows[0] in the stream
        self.frames = 0  # frames emitted so far

    def _position(self, i: int) -> float:
        return max((i + 0.5) * self.ratio - 0.5, 0.0)

    def push(self, rows: np.ndarray, until: np.ndarray, final: bool = False, total: int | None = None):
        """New rows (n, C) with their ``until`` times -> (frames (m, C), until (m,)) now ready.
        ``final``: no more rows will come; frames run to ``total``."""
        self.rows = np.concatenate([self.rows, rows])
        self.until = np.concatenate([self.until, until])
        available = self.first + len(self.rows)  # rows known so far
        out, times = [], []
        while True:
            i = self.frames
            if final and i >= total:
                break
            x = self._position(i)
            lo = math.floor(x)
            hi = lo + 1
            if hi >= available and not final:
                break
            if not len(self.rows):
                break
            lo_i = min(lo, available - 1) - self.first
            hi_i = min(hi, available - 1) - self.first
            a = x - lo
            out.append((1 - a) * self.rows[lo_i] + a * self.rows[hi_i])
            times.append(self.until[hi_i])
            self.frames += 1
        # Rows no later frame reads.
        keep = max(0, min(math.floor(self._position(self.frames)), available - 1) - self.first)
        self.rows, self.until, self.first = self.rows[keep:], self.until[keep:], self.first + keep
        if not out:
            return np.zeros((0, self.rows.shape[1]), np.float32), np.zeros(0)
        return np.stack(out).astype(np.float32), np.array(times)
