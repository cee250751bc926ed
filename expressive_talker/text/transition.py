"""A prompt that changes along time: one text feature per frame.

A change never cuts: from the frame it takes effect, the feature moves from the one shown at that
frame to the new prompt's along a smoothstep over ``ease_s``, the paper's linear interpolation
between two prompts' features (Fig. 7) laid along time. The model's expression space does the
rest: Text2Exp turns the blended features into a face between the two expressions. The live
path changes prompts this way; anything else that changes a prompt over a clip should use it too.
"""

from __future__ import annotations

import numpy as np

# The live path's ease. The model's own dynamics smooth a change further (its face settles over
# 0.5-3 s, see models.two_stage.FrameStepper); a longer ease only delays it (weights/README.md).
EASE_S = 0.1


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class PromptTransition:
    """``features(start, n) -> (n, D)``: the text feature of frames start..start+n-1."""

    def __init__(self, feature: np.ndarray, fps: float, ease_s: float = EASE_S):
        self.ease_frames = max(1.0, ease_s * fps)
        feature = np.asarray(feature, np.float32)
        self.changes = [(0, feature, feature)]  # (first frame, from, to), in frame order

    def change(self, feature: np.ndarray, at_frame: int) -> None:
        """From ``at_frame`` on, ease to ``feature``; later changes already made are replaced."""
        start_from = self.at(at_frame)
        self.changes = [c for c in self.changes if c[0] < at_frame]
        self.changes.append((at_frame, start_from, np.asarray(feature, np.float32)))

    def at(self, frame: int) -> np.ndarray:
        return self.features(frame, 1)[0]

    def features(self, start: int, n: int) -> np.ndarray:
        first, eased = self.progress(start, n)
        out = np.empty((n, len(self.changes[0][2])), np.float32)
        for k, (at, a, b) in enumerate(self.changes):
            rows = first == at
            out[rows] = (1 - eased[rows, None]) * a + eased[rows, None] * b
        return out

    def progress(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """For frames start..start+n-1: the frame where the change they belong to began, and how
        far it has eased (0 to 1; 1 for the first prompt)."""
        frames = np.arange(start, start + n)
        starts = np.array([c[0] for c in self.changes])
        first = starts[np.searchsorted(starts, frames, side="right") - 1]
        eased = np.where(first == 0, 1.0, smoothstep((frames - first) / self.ease_frames))
        return first, eased
