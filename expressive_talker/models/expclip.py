"""ExpCLIP (Zhong et al., AAAI 2024), the text-guided baseline, re-implemented from its paper
as the paper we follow did (its code is not public), on the shared transformer pieces.

1. Text-expression alignment. A transformer auto-encoder over one frame's 52 ARKit weights
   (each blendshape a token; the sinusoidal position is its identity): the encoder E maps a
   frame into the frozen text encoder's space (a unit vector), the decoder D maps a vector of
   that space back to weights. Trained on (expression frame, description) pairs, our TEAD:
   frames of the corpus's training clips with a random description of the clip's expression
   from the description bank. Losses: the cosine embedding loss between E(frame) and the
   description's feature, self reconstruction D(E(frame)) and cross-modal reconstruction
   D(text feature). The text encoder stays frozen, so its space is the joint space.
2. Self-attention pooling: E applied to every frame of a clip, pooled with a learned query into
   one expression prompt per clip (clips need no labels for this stage).
3. A speech-driven generator: an autoregressive transformer decoder (the same KV-cached
   ``CausalTransformer``) from speech features and the prompt to ARKit weights per frame,
   trained with Expression Prompt Augmentation: the clip's prompt p is blended with the
   prompt r of a random TEAD frame, p' = λp + (1-λ)r with λ ~ U[0,1]; the output for p
   reconstructs the clip, the output for p' must keep the clip's lip motion (lip-motion
   consistency loss) and show p' (style loss: its pooled embedding points along p').
   Output weights become vertices through the rig.

At inference the text feature *is* the aligned embedding (E was trained into the text
encoder's space), so text -> feature -> generator.

Differences from the paper, and why: no image branch (no face images exist here; the paper
aligns CLIP image features too); the text encoder is MiniLM, not CLIP's (no CLIP weights
offline); TEAD descriptions come from the corpus's description bank instead of an LLM; the lip
loss compares lip-vertex *velocities*, so a prompt may move the resting lips (a smile) but not
how they articulate; the generator is autoregressive with a bounded attention window so it
decodes with a key/value cache like the other methods.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .animator import Animator
from .io import config_from_dict, load_state, read_config, save_folder
from .layers import BidirectionalEncoder, CausalTransformer, resample_frames, torch_threads


@dataclass
class ExpCLIPConfig:
    num_blendshapes: int = 52
    dim: int = 64
    heads: int = 4
    layers: int = 2  # generator decoder layers
    encoder_layers: int = 2  # per side of the expression auto-encoder
    audio_backend: str = "whisper-tiny"
    text_backend: str = "minilm"
    audio_dim: int = 384
    audio_fps: float = 50.0
    text_dim: int = 384  # the joint space is the text encoder's
    fps: float = 30.0
    period: int = 30
    window: int = 90
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AlignWeights:
    cos: float = 1.0
    rec: float = 1.0
    cross: float = 1.0


@dataclass
class GeneratorWeights:
    rec: float = 1.0
    lip: float = 1.0
    style: float = 0.1


LIP_UNIT = 0.01  # lip-motion loss in centimetres, the same order as the weight errors


class ExpressionEncoder(nn.Module):
    """One frame's weights (N,52) -> a unit vector (N,text_dim) in the text encoder's space."""

    def __init__(self, cfg: ExpCLIPConfig):
        super().__init__()
        self.value_in = nn.Linear(1, cfg.dim)
        self.encoder = BidirectionalEncoder(cfg.dim, cfg.heads, cfg.encoder_layers, cfg.num_blendshapes, cfg.dropout)
        self.out = nn.Linear(cfg.dim, cfg.text_dim)

    def forward(self, weights):
        tokens = self.encoder(self.value_in(weights[..., None]))
        return F.normalize(self.out(tokens.mean(1)), dim=-1)


class ExpressionDecoder(nn.Module):
    """A vector of the joint space (N,text_dim) -> one frame's weights (N,52)."""

    def __init__(self, cfg: ExpCLIPConfig):
        super().__init__()
        self.n = cfg.num_blendshapes
        self.embed_in = nn.Linear(cfg.text_dim, cfg.dim)
        self.decoder = BidirectionalEncoder(cfg.dim, cfg.heads, cfg.encoder_layers, cfg.num_blendshapes, cfg.dropout)
        self.out = nn.Linear(cfg.dim, 1)

    def forward(self, embedding):
        tokens = self.embed_in(embedding)[:, None].expand(-1, self.n, -1)
        return self.out(self.decoder(tokens))[..., 0]


class AttentionPooling(nn.Module):
    """Self-attention pooling over frames: a learned query scores each frame's embedding;
    the softmax-weighted mean, renormalised, is the clip's expression prompt."""

    def __init__(self, cfg: ExpCLIPConfig):
        super().__init__()
        self.key = nn.Linear(cfg.text_dim, cfg.dim)
        self.query = nn.Parameter(torch.zeros(cfg.dim))  # zero: starts as a plain mean

    def forward(self, embeddings):
        scores = self.key(embeddings) @ self.query / self.query.shape[0] ** 0.5  # (B,T)
        pooled = (torch.softmax(scores, -1)[..., None] * embeddings).sum(1)
        return F.normalize(pooled, dim=-1)


class Generator(nn.Module):
    """Speech features + expression prompt -> ARKit weights, autoregressive over frames."""

    def __init__(self, cfg: ExpCLIPConfig):
        super().__init__()
        self.frame_in = nn.Linear(cfg.num_blendshapes, cfg.dim)
        self.start = nn.Parameter(torch.zeros(cfg.dim))
        self.audio_in = nn.Linear(cfg.audio_dim, cfg.dim)
        self.prompt_in = nn.Linear(cfg.text_dim, cfg.dim)
        self.transformer = CausalTransformer(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.window, cfg.dropout)
        self.frame_out = nn.Linear(cfg.dim, cfg.num_blendshapes)

    def forward(self, previous_weights, audio, prompt):
        """Teacher-forced: (B,T,52) frames, audio (B,T,C) at the animation rate, prompt
        (B,text_dim) -> weights (B,T,52). The prompt is added to every input token, as
        FaceFormer adds its style."""
        p = self.prompt_in(prompt)[:, None]
        tokens = torch.cat([self.start + p, self.frame_in(previous_weights[:, :-1]) + p], 1)
        return self.frame_out(self.transformer(tokens, self.audio_in(audio)))

    def rollout(self, audio, prompt, progress=None):
        """On its own outputs (training with EPA and inference) -> weights (B,T,52)."""
        p = self.prompt_in(prompt)[:, None]
        terms = self.transformer.condition_terms(self.audio_in(audio))
        w = self.frame_in.weight @ self.frame_out.weight  # frame_in(frame_out(h)), folded
        b = self.frame_in.weight @ self.frame_out.bias + self.frame_in.bias
        hidden = self.transformer.rollout(self.start + p, terms, lambda h: F.linear(h, w, b) + p, audio.shape[1], progress)
        return self.frame_out(hidden)


class ExpCLIP(nn.Module):
    def __init__(self, cfg: ExpCLIPConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ExpressionEncoder(cfg)
        self.decoder = ExpressionDecoder(cfg)
        self.pooling = AttentionPooling(cfg)
        self.generator = Generator(cfg)

    def embed(self, weights):
        """Weights (...,52) -> unit vectors (...,text_dim) in the joint space, frame by frame."""
        shape = weights.shape[:-1]
        return self.encoder(weights.reshape(-1, weights.shape[-1])).view(*shape, -1)

    def clip_prompt(self, weights):
        """A clip (B,T,52) -> its expression prompt (B,text_dim)."""
        return self.pooling(self.embed(weights))

    def audio(self, audio_features, frames: int | None = None):
        return resample_frames(audio_features, self.cfg.audio_fps, self.cfg.fps, frames)

    @torch.inference_mode()
    def generate(self, audio_features, prompt, frames: int | None = None, progress=None) -> torch.Tensor:
        """Speech features (B,Ta,C) at audio_fps and a prompt (B,text_dim) -> ARKit weights
        (B,T,52), KV-cached."""
        with torch_threads(1):
            return self.generator.rollout(self.audio(audio_features, frames), prompt, progress)


def alignment_losses(model: ExpCLIP, frames, text, weights: AlignWeights = AlignWeights()) -> dict:
    """TEAD pairs: frames (N,52) and their descriptions' features (N,text_dim)."""
    z = model.encoder(frames)
    l_cos = F.cosine_embedding_loss(z, text, torch.ones(len(z), device=z.device))
    l_rec = F.mse_loss(model.decoder(z), frames)
    l_cross = F.mse_loss(model.decoder(text), frames)
    total = weights.cos * l_cos + weights.rec * l_rec + weights.cross * l_cross
    return {"total": total, "cos": l_cos, "rec": l_rec, "cross": l_cross}


def epa_blend(prompt, random_prompt, lam):
    """Expression Prompt Augmentation: λ·p + (1-λ)·r, λ (B,) in [0,1]."""
    lam = lam[:, None]
    return lam * prompt + (1.0 - lam) * random_prompt


def lip_motion(weights, lip_basis):
    """Lip-vertex velocities (B,T-1,L*3) in LIP_UNIT of weights (B,T,52); lip_basis (52,L*3)
    holds the rig's blendshape deltas of the lip vertices in metres."""
    return torch.diff(weights @ lip_basis, dim=1) / LIP_UNIT


def generator_losses(model: ExpCLIP, target, audio, random_frames, lip_basis, weights: GeneratorWeights = GeneratorWeights(), lam=None, teacher_forcing: bool = False) -> dict:
    """One EPA step: target (B,T,52) weights, audio (B,T,C) at the animation rate,
    random_frames (B,52) from TEAD. The expression encoder is frozen (no gradient to it)."""
    gen = model.generator
    with torch.no_grad():  # the encoder is frozen: only the pooling learns from these
        frame_embeddings = model.embed(target)
        random_prompt = model.encoder(random_frames)
    prompt = model.pooling(frame_embeddings)
    if lam is None:
        lam = torch.rand(len(target), device=target.device)
    blended = epa_blend(prompt, random_prompt, lam)
    if teacher_forcing:  # cheaper, but the blended branch then sees the clip's own frames
        out = gen(target, audio, prompt)
        out_blended = gen(target, audio, blended)
    else:
        out = gen.rollout(audio, prompt)
        out_blended = gen.rollout(audio, blended)
    l_rec = F.mse_loss(out, target)
    l_lip = F.mse_loss(lip_motion(out_blended, lip_basis), lip_motion(target, lip_basis))
    l_style = (1.0 - F.cosine_similarity(model.clip_prompt(out_blended), blended, dim=-1)).mean()
    total = weights.rec * l_rec + weights.lip * l_lip + weights.style * l_style
    return {"total": total, "rec": l_rec, "lip": l_lip, "style": l_style}


class ExpCLIPAnimator(Animator):
    """ExpCLIP behind the common Animator interface: weights posed through the ARKit rig."""

    kind = "expclip"
    uses_text = True

    def __init__(self, model: ExpCLIP, rig=None, name: str = "expclip"):
        from ..face.rig import load_rig

        self.model = model.eval()
        self.rig = rig or load_rig()
        self.name = name
        cfg = model.cfg
        self.fps, self.audio_fps, self.audio_dim, self.text_dim = cfg.fps, cfg.audio_fps, cfg.audio_dim, cfg.text_dim
        self.audio_backend, self.text_backend = cfg.audio_backend, cfg.text_backend

    @classmethod
    def from_pretrained(cls, folder, name: str | None = None, rig=None) -> "ExpCLIPAnimator":
        meta = read_config(folder)
        if meta.get("kind") != cls.kind:
            raise ValueError(f"{folder} holds a {meta.get('kind')!r} model, not an ExpCLIP model")
        model = ExpCLIP(config_from_dict(ExpCLIPConfig, meta["config"]))
        load_state(folder, model)
        return cls(model, rig, name or os.path.basename(os.path.normpath(folder)))

    def save_pretrained(self, folder, extra: dict | None = None) -> None:
        save_folder(folder, self.model, self.model.cfg, self.kind, extra, half=True)

    def weights(self, audio_features, text_feature, frames=None, progress=None) -> np.ndarray:
        """ARKit weights (T,52) in [0,1], the rig's range."""
        if text_feature is None:
            raise ValueError("ExpCLIP needs a text feature")
        audio = torch.as_tensor(np.asarray(audio_features, np.float32))[None]
        prompt = torch.as_tensor(np.asarray(text_feature, np.float32)).reshape(1, -1)
        out = self.model.generate(audio, prompt, frames or self.frames_for(audio_features), progress)[0]
        return out.clamp(0.0, 1.0).numpy()

    def animate(self, audio_features, text_feature=None, frames=None, progress=None) -> np.ndarray:
        return self.rig.pose(self.weights(audio_features, text_feature, frames, progress)).astype(np.float32)

    def animate_blend(self, audio_features, text_features, content_weights, expression_weights, progress=None) -> np.ndarray:
        """ExpCLIP has no expression space apart from its output: each prompt is animated on its
        own and the ARKit weights are blended, the speech channels by ``content_weights`` and
        the expression channels (``face.readout.EXPRESSION_CHANNELS``) by ``expression_weights``."""
        from ..face.readout import EXPRESSION_CHANNELS

        frames = len(content_weights)
        runs = np.stack([self.weights(audio_features, f, frames) for f in text_features])  # (K,T,52)
        blended = np.einsum("tk,ktc->tc", content_weights, runs)
        blended[:, EXPRESSION_CHANNELS] = np.einsum("tk,ktc->tc", expression_weights, runs[:, :, EXPRESSION_CHANNELS])
        return self.rig.pose(blended.clip(0.0, 1.0)).astype(np.float32)
