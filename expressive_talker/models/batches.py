"""Training batches from a corpus (``expressive_talker.data.FaceDataset``), held in memory.

Synthetic clips are stored as ARKit weights (T, 52), and vertex offsets are posed on the fly
(weights @ blendshape deltas, one matrix product), so a 2-hour corpus fits in a few hundred MB
instead of tens of GB of vertices. MEAD-style folders keep their vertex offsets as they are.
Speech features come from the feature cache (computed once per clip and backend).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..data.dataset import FaceDataset
from ..data.pairs import dtw_path


@dataclass
class ClipData:
    motion: np.ndarray  # (T, 52) weights, or (T, V, 3) offsets for vertex datasets
    audio: np.ndarray | None  # (T, C) speech features resampled to the animation frames
    expression: str  # "emotion:level" or "action:name"
    emotion: str
    level: int
    action: str | None
    sentence: str | None
    speaker: str


class CorpusTensors:
    """A split of a corpus as arrays, with the posing that turns motion into vertex offsets."""

    def __init__(self, root, split: str = "train", audio_backend: str | None = "whisper-tiny", progress: bool = True):
        self.ds = FaceDataset(root, split=split)
        self.synthetic = self.ds.kind == "synthetic"
        self.template = self.ds.template.astype(np.float32)
        self.lip_indices = self.ds.lip_indices
        if self.synthetic:
            self.deltas = torch.as_tensor(self.ds.rig.deltas.reshape(len(self.ds.rig.names), -1))  # (52, 3V)
        encoder = cache = None
        if audio_backend:
            from ..audio import FeatureCache, get_speech_encoder

            encoder, cache = get_speech_encoder(audio_backend), FeatureCache()
        self.clips: list[ClipData] = []
        for i in tqdm(range(len(self.ds)), desc=f"load {split}", disable=not progress):
            e = self.ds.entries[i]
            motion = self.ds.weights(i) if self.synthetic else self.ds.vertices(i) - self.template
            audio = None
            if encoder is not None:
                from ..audio import load_audio
                from .layers import resample_frames

                feats = torch.as_tensor(cache(load_audio(e["wav"]), encoder))[None]
                audio = resample_frames(feats, encoder.fps, self.ds.fps, len(motion))[0].numpy()
            self.clips.append(ClipData(motion.astype(np.float32), audio, self.ds.expression_of(i), e["emotion"], e["level"], e["action"], e["sentence"], e["speaker"]))

    @property
    def num_vertices(self) -> int:
        return len(self.template)

    def offsets(self, motion) -> torch.Tensor:
        """Motion (B,T,52) weights or (B,T,V,3) offsets -> offsets (B,T,V,3) in metres."""
        motion = torch.as_tensor(motion)
        if not self.synthetic:
            return motion
        b, t, _ = motion.shape
        return (motion.reshape(b * t, -1) @ self.deltas).view(b, t, -1, 3)


class CrossingPairBatches:
    """Stage-1 batches: the four crossing pairs (paper §5.1) of random same-sentence pairs with
    different expressions, DTW-aligned on the lips, cut into halves a and b, and cropped to
    ``frames`` (the same crop for n and m, so the timing stays shared)."""

    def __init__(self, data: CorpusTensors, frames: int = 40, progress: bool = True):
        self.data, self.frames = data, frames
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(data.clips):
            if c.sentence is not None:
                groups.setdefault((c.sentence, c.speaker), []).append(i)
        self.pairs = []  # (i, j, path_i, path_j)
        todo = [(i, j) for members in groups.values() for a, i in enumerate(members) for j in members[a + 1 :] if data.clips[i].expression != data.clips[j].expression]
        lips = data.lip_indices
        for i, j in tqdm(todo, desc="align pairs", disable=not progress):
            vi = data.offsets(data.clips[i].motion[None])[0, :, lips].numpy()
            vj = data.offsets(data.clips[j].motion[None])[0, :, lips].numpy()
            pi, pj = dtw_path(vi, vj)
            if len(pi) // 2 >= frames:  # each half must hold a whole crop
                self.pairs.append((i, j, pi, pj))
        if not self.pairs:
            raise ValueError(f"no crossing pairs of {2 * frames}+ frames: the corpus needs sentences spoken with several expressions")

    def __call__(self, generator: torch.Generator, batch_size: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        while True:
            quads = [[], [], [], []]
            length = self.frames
            for k in rng.integers(len(self.pairs), size=batch_size):
                i, j, pi, pj = self.pairs[k]
                half = len(pi) // 2
                n, m = self.data.clips[i].motion[pi], self.data.clips[j].motion[pj]
                sa = rng.integers(0, half - length + 1)
                sb = half + rng.integers(0, half - length + 1)
                for slot, (x, s) in enumerate(((n, sa), (n, sb), (m, sa), (m, sb))):  # an, bn, am, bm
                    quads[slot].append(x[s : s + length])
            yield tuple(self.data.offsets(np.stack(q)) for q in quads)


class ClipBatches:
    """Stage-2 batches: (target offsets, speech features, text features) of random training
    clips cropped to ``frames``, with a random training description of each clip's expression
    encoded by the model's text encoder (a bank of descriptions is encoded once up front).

    ``phrasing_share``: that share of each emotion's bank is everyday phrasings
    (``data/phrasings.py``, training half, with the clip level's intensity clause), added to the
    same descriptions as without them."""

    def __init__(self, data: CorpusTensors, text_backend: str = "minilm", frames: int = 60, per_expression: int = 48, seed: int = 0, text_adapter: str | None = None, phrasing_share: float = 0.0):
        from ..data import phrasings as bank
        from ..data.descriptions import describe
        from ..text import get_text_encoder

        if not 0 <= phrasing_share < 1:
            raise ValueError(f"phrasing_share is a share of the prompts, from 0 up to (not including) 1, not {phrasing_share}")
        self.data, self.frames = data, frames
        self.clips = [c for c in data.clips if len(c.motion) >= frames]
        if not self.clips:
            raise ValueError(f"no training clip is {frames} frames long")
        rng = np.random.default_rng(seed)
        expressions = sorted({c.expression for c in data.clips})
        prompts = {}
        for expr in expressions:
            clip = next(c for c in data.clips if c.expression == expr)
            texts = {describe(clip.emotion, clip.level, rng, split="train", action=clip.action) for _ in range(per_expression)}
            if phrasing_share > 0 and clip.action is None and clip.emotion in bank.PHRASINGS:
                texts |= _phrasings_for(clip, round(len(texts) * phrasing_share / (1 - phrasing_share)), seed)
            prompts[expr] = sorted(texts)
        encoder = get_text_encoder(text_backend, adapter=text_adapter)
        flat = [t for expr in expressions for t in prompts[expr]]
        vectors = encoder.encode(flat).vectors
        self.bank, start = {}, 0
        for expr in expressions:
            self.bank[expr] = torch.as_tensor(vectors[start : start + len(prompts[expr])])
            start += len(prompts[expr])
        self.prompts = prompts

    def __call__(self, generator: torch.Generator, batch_size: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        clips, length = self.clips, self.frames
        while True:
            motion, audio, text = [], [], []
            for k in rng.integers(len(clips), size=batch_size):
                c = clips[k]
                s = rng.integers(0, len(c.motion) - length + 1)
                motion.append(c.motion[s : s + length])
                audio.append(c.audio[s : s + length])
                bank = self.bank[c.expression]
                text.append(bank[rng.integers(len(bank))])
            feats = torch.as_tensor(np.stack(audio))
            texts = torch.stack(text)[:, None, :].expand(-1, length, -1)
            yield self.data.offsets(np.stack(motion)), feats, texts


def _phrasings_for(clip, count: int, seed: int) -> set[str]:
    """``count`` distinct training phrasings of a clip's emotion at its level (as many as there are,
    if fewer), from a generator of their own: the descriptions drawn stay those drawn without them."""
    from ..data import phrasings as bank

    rng = np.random.default_rng([seed, 1, *clip.expression.encode()])
    pool = bank.phrasings(clip.emotion, "train")
    out: set[str] = set()
    for _ in range(20 * count):
        if len(out) >= count:
            break
        out.add(bank.with_intensity(str(rng.choice(pool)), clip.emotion, clip.level, rng))
    return out


def _crop_starts(rng, clips, indices, length):
    return [rng.integers(0, len(clips[k].motion) - length + 1) for k in indices]


class SpeakerClipBatches:
    """FaceFormer batches: (target offsets, speech features, speaker index) of random training
    clips cropped to ``frames``; ``speakers`` (sorted training voices by default) order the
    style one-hots."""

    def __init__(self, data: CorpusTensors, frames: int = 60, speakers: list[str] | None = None):
        self.data, self.frames = data, frames
        self.speakers = list(speakers or sorted({c.speaker for c in data.clips}))
        index = {s: i for i, s in enumerate(self.speakers)}
        self.clips = [c for c in data.clips if len(c.motion) >= frames and c.speaker in index]
        if not self.clips:
            raise ValueError(f"no training clip is {frames} frames long")
        self.speaker_index = [index[c.speaker] for c in self.clips]

    def __call__(self, generator: torch.Generator, batch_size: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        length = self.frames
        while True:
            ks = rng.integers(len(self.clips), size=batch_size)
            starts = _crop_starts(rng, self.clips, ks, length)
            motion = np.stack([self.clips[k].motion[s : s + length] for k, s in zip(ks, starts)])
            audio = np.stack([self.clips[k].audio[s : s + length] for k, s in zip(ks, starts)])
            yield self.data.offsets(motion), torch.as_tensor(audio), torch.as_tensor([self.speaker_index[k] for k in ks])


class WeightClipBatches:
    """ExpCLIP generator batches: (ARKit weights (B,T,52), speech features (B,T,C), one random
    frame of a random clip (B,52), Expression Prompt Augmentation's random expression).
    Needs ARKit weights, i.e. the synthetic corpus."""

    def __init__(self, data: CorpusTensors, frames: int = 60):
        if not data.synthetic:
            raise ValueError("ExpCLIP trains on ARKit weights: use the synthetic corpus")
        self.data, self.frames = data, frames
        self.clips = [c for c in data.clips if len(c.motion) >= frames]
        if not self.clips:
            raise ValueError(f"no training clip is {frames} frames long")

    def __call__(self, generator: torch.Generator, batch_size: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        clips, length = self.clips, self.frames
        while True:
            ks = rng.integers(len(clips), size=batch_size)
            starts = _crop_starts(rng, clips, ks, length)
            motion = np.stack([clips[k].motion[s : s + length] for k, s in zip(ks, starts)])
            audio = np.stack([clips[k].audio[s : s + length] for k, s in zip(ks, starts)])
            others = [clips[k].motion for k in rng.integers(len(clips), size=batch_size)]
            random_frames = np.stack([m[rng.integers(len(m))] for m in others])
            yield torch.as_tensor(motion), torch.as_tensor(audio), torch.as_tensor(random_frames)


class ExpressionFrameBatches:
    """ExpCLIP's text-expression pairs (its TEAD): one frame's ARKit weights (B,52) of a random
    training clip with the feature (B,D) of a random description of that clip's expression,
    from the description bank of ``ClipBatches``."""

    def __init__(self, text: ClipBatches):
        if not text.data.synthetic:
            raise ValueError("ExpCLIP trains on ARKit weights: use the synthetic corpus")
        self.clips, self.bank = text.data.clips, text.bank

    def __call__(self, generator: torch.Generator, batch_size: int):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        while True:
            frames, texts = [], []
            for k in rng.integers(len(self.clips), size=batch_size):
                c = self.clips[k]
                frames.append(c.motion[rng.integers(len(c.motion))])
                bank = self.bank[c.expression]
                texts.append(bank[rng.integers(len(bank))])
            yield torch.as_tensor(np.stack(frames)), torch.stack(texts)
