"""FaceFormer (Fan et al., CVPR 2022), the speech-only baseline, on the shared pieces.

As published: speech features -> a linear audio feature map, resampled to the animation rate;
a transformer decoder over the previous frames (periodic positional encoding, biased causal
self-attention, cross-attention under the alignment mask, in ``layers.CausalTransformer``);
a speaking-style embedding from a one-hot vector over the training speakers, added to every
input token (the start token is the style alone); vertex offsets from the neutral face through a
zero-initialised output layer; trained autoregressively on its own predictions (FaceFormer's
default, no teacher forcing). Text is ignored: FaceFormer has no expression control.

Differences from the paper, and why: the audio encoder is the frozen speech encoder of the
corpus pipeline (whisper-tiny here; the paper fine-tunes wav2vec 2.0, whose weights are not
available offline) followed by FaceFormer's linear feature map; self-attention looks back at
most ``window`` frames so decoding is O(1) per frame with a key/value cache; training runs
through the cached steps, which have no dropout.

Default style for new audio: the *mean* style, a one-hot vector replaced by the uniform
1/S vector over the S training speakers, i.e. the average of their style embeddings. A new
voice belongs to none of them, and the mean commits to no single speaker's habits. A training
speaker's style can be chosen by name (``FaceFormerAnimator(..., style="flite-slt")``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .animator import Animator
from .io import config_from_dict, load_state, read_config, save_folder
from .layers import CausalTransformer, resample_frames, torch_threads

MEAN_STYLE = "mean"


@dataclass
class FaceFormerConfig:
    num_vertices: int = 2694
    dim: int = 64  # FaceFormer's feature_dim on VOCASET
    heads: int = 4
    layers: int = 1  # one decoder layer, as published
    styles: list = field(default_factory=list)  # training speakers: one one-hot style each
    default_style: str = MEAN_STYLE  # style for new audio: "mean" or one of ``styles``
    audio_backend: str = "whisper-tiny"
    text_backend: str = "minilm"  # unused; kept so every method's config has the same fields
    audio_dim: int = 384
    audio_fps: float = 50.0
    text_dim: int = 384
    fps: float = 30.0
    period: int = 30
    window: int = 90
    dropout: float = 0.1
    vertex_scale: float = 0.01  # metres per network unit, as in the two-stage model

    def to_dict(self) -> dict:
        return asdict(self)


class FaceFormer(nn.Module):
    def __init__(self, cfg: FaceFormerConfig):
        super().__init__()
        self.cfg = cfg
        flat = cfg.num_vertices * 3
        self.audio_map = nn.Linear(cfg.audio_dim, cfg.dim)
        self.style_map = nn.Linear(max(1, len(cfg.styles)), cfg.dim, bias=False)
        self.frame_in = nn.Linear(flat, cfg.dim)
        self.transformer = CausalTransformer(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.window, cfg.dropout)
        self.frame_out = nn.Linear(cfg.dim, flat)
        # Zero-initialised output: training starts from the neutral face, as in FaceFormer.
        nn.init.zeros_(self.frame_out.weight)
        nn.init.zeros_(self.frame_out.bias)

    # ---- styles ------------------------------------------------------------------------------
    def style_vector(self, style=None, batch: int = 1) -> torch.Tensor:
        """(B,S) style weights: indices (B,) of training speakers, a speaker's name, or
        None / "mean" for the default style."""
        s = max(1, len(self.cfg.styles))
        if torch.is_tensor(style) and style.dtype in (torch.int64, torch.int32):
            return F.one_hot(style.long(), s).float()
        if torch.is_tensor(style):
            return style.float()
        name = self.cfg.default_style if style is None else style
        if name == MEAN_STYLE:
            return torch.full((batch, s), 1.0 / s)
        if name not in self.cfg.styles:
            raise ValueError(f"unknown FaceFormer style {name!r}; trained styles: {', '.join(self.cfg.styles) or 'none'} (or 'mean')")
        return F.one_hot(torch.full((batch,), self.cfg.styles.index(name)), s).float()

    # ---- passes ------------------------------------------------------------------------------
    def audio(self, audio_features, frames: int | None = None):
        """Speech features at audio_fps (B,Ta,C) -> (B,T,C) at the animation rate."""
        return resample_frames(audio_features, self.cfg.audio_fps, self.cfg.fps, frames)

    def to_offsets(self, hidden):
        b, t, _ = hidden.shape
        return (self.frame_out(hidden) * self.cfg.vertex_scale).view(b, t, self.cfg.num_vertices, 3)

    def forward(self, previous_offsets, audio, style):
        """Teacher-forced pass: ground-truth frames (B,T,V,3), audio (B,T,C) at the animation
        rate, style (B,S) -> offsets (B,T,V,3)."""
        s = self.style_map(style)[:, None]
        embedded = self.frame_in(previous_offsets.flatten(2) / self.cfg.vertex_scale) + s
        tokens = torch.cat([s, embedded[:, :-1]], 1)
        return self.to_offsets(self.transformer(tokens, self.audio_map(audio)))

    def rollout(self, audio, style, progress=None):
        """Autoregressive pass on its own outputs (training and inference): audio (B,T,C) at
        the animation rate, style (B,S) -> offsets (B,T,V,3)."""
        s = self.style_map(style)[:, None]
        terms = self.transformer.condition_terms(self.audio_map(audio))
        # frame_in(offsets / scale) with offsets = frame_out(h) * scale is one dim x dim map:
        # fold it, so the loop never touches all vertices.
        w = self.frame_in.weight @ self.frame_out.weight
        b = self.frame_in.weight @ self.frame_out.bias + self.frame_in.bias
        hidden = self.transformer.rollout(s, terms, lambda h: F.linear(h, w, b) + s, audio.shape[1], progress)
        return self.to_offsets(hidden)

    @torch.inference_mode()
    def generate(self, audio_features, style=None, frames: int | None = None, progress=None) -> torch.Tensor:
        """Speech features (B,Ta,C) at audio_fps -> offsets (B,T,V,3) in metres, KV-cached."""
        with torch_threads(1):
            audio = self.audio(audio_features, frames)
            return self.rollout(audio, self.style_vector(style, audio.shape[0]), progress)


def faceformer_loss(model: FaceFormer, target, audio, speaker, teacher_forcing: bool = False) -> dict:
    """FaceFormer's loss: MSE between predicted and ground-truth vertex offsets (metres)."""
    style = model.style_vector(speaker)
    offsets = model(target, audio, style) if teacher_forcing else model.rollout(audio, style)
    loss = F.mse_loss(offsets, target)
    return {"total": loss, "face": loss}


class FaceFormerAnimator(Animator):
    """FaceFormer behind the common Animator interface; the text feature is ignored."""

    kind = "faceformer"
    uses_text = False

    def __init__(self, model: FaceFormer, neutral: np.ndarray, name: str = "faceformer", style: str | None = None):
        self.model = model.eval()
        self.neutral = np.asarray(neutral, dtype=np.float32)
        self.name = name
        self.style = style  # None: the config's default style
        cfg = model.cfg
        self.fps, self.audio_fps, self.audio_dim, self.text_dim = cfg.fps, cfg.audio_fps, cfg.audio_dim, cfg.text_dim
        self.audio_backend, self.text_backend = cfg.audio_backend, cfg.text_backend

    @classmethod
    def from_pretrained(cls, folder, name: str | None = None, style: str | None = None) -> "FaceFormerAnimator":
        meta = read_config(folder)
        if meta.get("kind") != cls.kind:
            raise ValueError(f"{folder} holds a {meta.get('kind')!r} model, not a FaceFormer model")
        model = FaceFormer(config_from_dict(FaceFormerConfig, meta["config"]))
        load_state(folder, model)
        neutral = np.load(os.path.join(folder, "neutral.npy"))
        return cls(model, neutral, name or os.path.basename(os.path.normpath(folder)), style)

    def save_pretrained(self, folder, extra: dict | None = None) -> None:
        save_folder(folder, self.model, self.model.cfg, self.kind, extra, half=True)
        np.save(os.path.join(folder, "neutral.npy"), self.neutral)

    def animate(self, audio_features, text_feature=None, frames=None, progress=None) -> np.ndarray:
        audio = torch.as_tensor(np.asarray(audio_features, np.float32))[None]
        offsets = self.model.generate(audio, self.style, frames or self.frames_for(audio_features), progress)[0].numpy()
        return self.neutral[None] + offsets
