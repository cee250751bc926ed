"""Which prompt each frame shows, when prompts change along time: per frame, a weight per prompt.

A change never cuts: from the frame it takes effect, the weights move from the mix shown at that
frame to the new prompt alone along a smoothstep over ``ease_s``. The weights drive
``models.two_stage.PromptBranches``, which blends the prompts' content and expression features
(the paper's interpolation between two prompts, Fig. 7, laid along time, in the space the
decoder reads). The timeline (``text.timeline``) and the live path change prompts this way.
"""

from __future__ import annotations

import numpy as np

# The live path's ease: a spoken change of mood should show within half a second. A timeline
# eases over what its author sets (``text.timeline.EASE_S`` by default).
EASE_S = 0.2
# A new prompt's branch first runs over this much of the audio before its change (as much as
# there is), so it does not start cold: the face it blends to is the one a clip with that prompt
# shows there (weights/README.md, "A timeline of prompts").
WARMUP_S = 1.0


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class PromptSchedule:
    """``weights(start, n) -> (n, K)``: the weight of each of K prompts (0..K-1, in the order
    they were first shown) in frames start..start+n-1; each row sums to 1."""

    def __init__(self, fps: float, ease_s: float = EASE_S):
        self.fps, self.ease_frames = fps, max(1.0, ease_s * fps)
        self.changes = [(0, 0)]  # (first frame, prompt index), in frame order

    @property
    def prompts(self) -> int:
        return max(p for _, p in self.changes) + 1

    def change(self, prompt: int, at_frame: int) -> None:
        """From ``at_frame`` on, ease to prompt ``prompt``; changes already made at or after that
        frame are replaced."""
        self.changes = [c for c in self.changes if c[0] < at_frame] + [(at_frame, prompt)]

    def weights(self, start: int, n: int, prompts: int | None = None) -> np.ndarray:
        """(n, K) weights, K = ``prompts`` or as many as the schedule names."""
        k = max(self.prompts, prompts or 0)
        eye = np.eye(k, dtype=np.float32)
        ats = np.array([at for at, _ in self.changes])
        # The mix each change eases from: what the changes before it show at its frame.
        mixes = [eye[self.changes[0][1]]]
        for j in range(1, len(self.changes)):
            mixes.append(self._value(j - 1, ats[j], mixes[j - 1], eye))
        frames = np.arange(start, start + n)
        which = np.searchsorted(ats, frames, side="right") - 1
        out = np.empty((n, k), np.float32)
        for j in np.unique(which):
            rows = which == j
            out[rows] = self._value(j, frames[rows], mixes[j], eye)
        return out

    def _value(self, j: int, frames, mix: np.ndarray, eye: np.ndarray) -> np.ndarray:
        at, prompt = self.changes[j]
        eased = np.asarray(smoothstep((np.asarray(frames) - at) / self.ease_frames) if j else 1.0, np.float32)[..., None]
        return (1 - eased) * mix + eased * eye[prompt]

    def ends(self) -> dict[int, int]:
        """For each prompt not shown at the end: the first frame from which its weight is 0 for
        good (its branch can go)."""
        out = {}
        for prompt in {p for _, p in self.changes}:
            last = max(j for j, (_, p) in enumerate(self.changes) if p == prompt)
            m = last + 1
            if m == len(self.changes):
                continue
            # Changes that come before the previous one has eased in keep a share of the old mix.
            while m + 1 < len(self.changes) and self.changes[m + 1][0] < self.changes[m][0] + self.ease_frames:
                m += 1
            out[prompt] = int(np.ceil(self.changes[m][0] + self.ease_frames))
        return out
