"""A prompt that changes along time: one text feature per frame.

A change never cuts: from the frame it takes effect, the feature moves from the one shown at that
frame to the new prompt's along a smoothstep over ``ease_s``, the paper's linear interpolation
between two prompts' features (Fig. 7), f = (1 - α)·f_old + α·f_new, laid along time. The model's
expression space does the rest: Text2Exp turns the blended features into a face between the two
expressions. The live path changes prompts this way; anything else that changes a prompt over a
clip should use it too.

The model keeps the expression its recent frames show (it was trained on clips of one prompt),
so left at α = 1 the face takes seconds to follow. The change therefore overshoots: α rises past
1 to 1 + ``boost`` and falls back to 1 over ``boost_s`` (an extrapolation along the same line,
further from the old prompt), which brings the new expression within half a second and leaves
it as the prompt alone makes it (weights/README.md, "Streaming").
"""

from __future__ import annotations

import numpy as np

# Chosen on emotion switches of the live path (weights/README.md, "Streaming"): the model's own
# dynamics smooth a change further, so a longer ease only delays it.
EASE_S = 0.1
BOOST, BOOST_S = 1.0, 1.0


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class PromptTransition:
    """``features(start, n) -> (n, D)``: the text feature of frames start..start+n-1."""

    def __init__(self, feature: np.ndarray, fps: float, ease_s: float = EASE_S, boost: float = BOOST, boost_s: float = BOOST_S):
        self.ease_frames = max(1.0, ease_s * fps)
        self.boost, self.boost_frames = boost, max(1.0, boost_s * fps)
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
        since = np.arange(start, start + n) - first
        alpha = eased * (1 + np.where(first > 0, self.boost * np.clip(1 - since / self.boost_frames, 0, 1), 0.0))
        out = np.empty((n, len(self.changes[0][2])), np.float32)
        for at, a, b in self.changes:
            rows = first == at
            out[rows] = (1 - alpha[rows, None]) * a + alpha[rows, None] * b
        return out

    def progress(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """For frames start..start+n-1: the frame where the change they belong to began, and how
        far it has eased (0 to 1; 1 for the first prompt)."""
        frames = np.arange(start, start + n)
        starts = np.array([c[0] for c in self.changes])
        first = starts[np.searchsorted(starts, frames, side="right") - 1]
        eased = np.where(first == 0, 1.0, smoothstep((frames - first) / self.ease_frames))
        return first, eased
