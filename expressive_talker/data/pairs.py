"""Crossing pairs for the disentanglement auto-encoder (the paper's section 5.1).

Two clips of the same sentence and speaker with different expressions, X_{c,n} and X_{c,m},
are aligned in time by dynamic time warping on their lip vertices (librosa's DTW), so that
both articulate every phone on the same frame. Each aligned pair is cut in half, giving
contents a (first half) and b (second half): the four pseudo pairs X_{a,n}, X_{b,n}, X_{a,m},
X_{b,m} share content across expressions and expression across contents, with identical
timing. The triplet samplers pick anchor, positive and negative from such a quadruple.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np


def lip_features(lips: np.ndarray) -> np.ndarray:
    """Lip vertices (T, L, 3) -> DTW features (T, 3L): each clip's mean lip shape removed, so a
    smile or a frown held all along does not look like articulation."""
    x = lips.reshape(len(lips), -1).astype(np.float64)
    return x - x.mean(0, keepdims=True)


def dtw_path(lips_a: np.ndarray, lips_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lip vertices of two clips -> frame indices (ia, ib), equally long, monotone, aligning them."""
    import librosa

    fa, fb = lip_features(lips_a), lip_features(lips_b)
    _, wp = librosa.sequence.dtw(X=fa.T, Y=fb.T, metric="euclidean", backtrack=True)
    wp = wp[::-1]
    return wp[:, 0].astype(int), wp[:, 1].astype(int)


@dataclass
class Quad:
    """Four pseudo pairs with one timing: content a/b (first/second half) x expression n/m."""

    x_an: np.ndarray
    x_bn: np.ndarray
    x_am: np.ndarray
    x_bm: np.ndarray
    expr_n: str
    expr_m: str
    sentence: str | None
    clip_n: str
    clip_m: str

    def items(self) -> dict:
        return {("a", "n"): self.x_an, ("b", "n"): self.x_bn, ("a", "m"): self.x_am, ("b", "m"): self.x_bm}


class CrossingPairs:
    """Every pair of same-sentence, same-speaker clips with different expressions in a dataset.

    ``pairs[k]`` -> ``Quad`` of vertex arrays (T/2, V, 3); ``offsets=True`` subtracts the
    dataset's template so the arrays are displacements from the neutral face.
    """

    def __init__(self, dataset, offsets: bool = True, min_frames: int = 16):
        self.ds, self.offsets, self.min_frames = dataset, offsets, min_frames
        groups: dict[tuple, list[int]] = {}
        for i, e in enumerate(dataset.entries):
            if e["sentence"] is not None:
                groups.setdefault((e["sentence"], e["speaker"]), []).append(i)
        self.pairs = [
            (i, j)
            for members in groups.values()
            for i, j in combinations(members, 2)
            if dataset.expression_of(i) != dataset.expression_of(j)
        ]

    def __len__(self) -> int:
        return len(self.pairs)

    def align(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertices of clips i and j warped onto one timeline: (T, V, 3) each, same T."""
        vi, vj = self.ds.vertices(i), self.ds.vertices(j)
        lips = self.ds.lip_indices
        ia, ib = dtw_path(vi[:, lips], vj[:, lips])
        return vi[ia], vj[ib]

    def __getitem__(self, k: int) -> Quad:
        i, j = self.pairs[k]
        xn, xm = self.align(i, j)
        if self.offsets:
            xn, xm = xn - self.ds.template, xm - self.ds.template
        half = len(xn) // 2
        if half < self.min_frames // 2:
            raise ValueError(f"pair {k} is only {len(xn)} frames long after alignment")
        e = self.ds.entries[i]
        return Quad(
            x_an=xn[:half], x_bn=xn[half : 2 * half], x_am=xm[:half], x_bm=xm[half : 2 * half],
            expr_n=self.ds.expression_of(i), expr_m=self.ds.expression_of(j), sentence=e["sentence"],
            clip_n=e["id"], clip_m=self.ds.entries[j]["id"],
        )  # fmt: skip


def content_triplet(quad: Quad, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(anchor, positive, negative): positive says the same words with the other expression,
    negative says the other half's words (with either expression)."""
    content, expr = str(rng.choice(["a", "b"])), str(rng.choice(["n", "m"]))
    other_c = "b" if content == "a" else "a"
    other_e = "m" if expr == "n" else "n"
    x = quad.items()
    return x[(content, expr)], x[(content, other_e)], x[(other_c, str(rng.choice(["n", "m"])))]


def expression_triplet(quad: Quad, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(anchor, positive, negative): positive has the same expression on the other half's words,
    negative the other expression (on either half)."""
    content, expr = str(rng.choice(["a", "b"])), str(rng.choice(["n", "m"]))
    other_c = "b" if content == "a" else "a"
    other_e = "m" if expr == "n" else "n"
    x = quad.items()
    return x[(content, expr)], x[(other_c, expr)], x[(str(rng.choice(["a", "b"])), other_e)]


class TripletSampler:
    """Random content and expression triplets drawn from a ``CrossingPairs``, reproducibly."""

    def __init__(self, pairs: CrossingPairs, seed: int = 0):
        if len(pairs) == 0:
            raise ValueError("no crossing pairs: the dataset needs clips of one sentence in several expressions")
        self.pairs, self.rng = pairs, np.random.default_rng(seed)

    def sample(self) -> dict:
        quad = self.pairs[int(self.rng.integers(len(self.pairs)))]
        return {"quad": quad, "content": content_triplet(quad, self.rng), "expression": expression_triplet(quad, self.rng)}

    def __iter__(self):
        while True:
            yield self.sample()
