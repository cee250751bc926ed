"""The paper's two-stage model (Jung, Chun & Noh 2024).

Stage 1, a disentangling auto-encoder: the content encoder E_con and the expression encoder
E_exp turn an animation (per-frame vertex offsets from the neutral face) into per-frame content
and expression features; the decoder D turns the concatenated features back into offsets.

Stage 2: Audio2Con predicts content features from speech features and Text2Exp predicts
expression features from a text feature, both autoregressive transformer decoders conditioned
on the previously generated frames; the frozen D decodes their concatenation.

Units: offsets are in metres (the rig's unit, as in the paper's FLAME meshes), so the paper's
loss weights apply unchanged. Inside the networks offsets are divided by ``vertex_scale``
(1 cm) so activations are O(1).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .animator import Animator
from .io import config_from_dict, load_state, read_config, save_folder
from .layers import BidirectionalEncoder, CausalTransformer, KVCache, resample_frames, step_together, torch_threads

TEXT_ADAPTER_FILE = "text_adapter.safetensors"  # in a model folder: the text encoder's adapter


@dataclass
class TwoStageConfig:
    num_vertices: int = 2694
    dim: int = 64  # transformer width, sized for CPU training and 1000+ frames/s decoding
    heads: int = 4
    layers: int = 4  # per network, as in the paper
    content_dim: int = 64
    expression_dim: int = 64
    audio_backend: str = "whisper-tiny"  # expressive_talker.audio backend the model was trained on
    text_backend: str = "minilm"  # expressive_talker.text backend
    audio_dim: int = 384  # whisper-tiny encoder
    audio_fps: float = 50.0
    text_dim: int = 384  # all-MiniLM-L6-v2
    fps: float = 30.0
    period: int = 30  # periodic positional encoding and ALiBi step (frames)
    window: int = 90  # frames of history each frame attends to (3 s)
    dropout: float = 0.1
    vertex_scale: float = 0.01  # metres per network unit

    def to_dict(self) -> dict:
        return asdict(self)


class Stage1(nn.Module):
    """E_con, E_exp and D."""

    def __init__(self, cfg: TwoStageConfig):
        super().__init__()
        self.cfg = cfg
        flat = cfg.num_vertices * 3
        self.con_in = nn.Linear(flat, cfg.dim)
        self.exp_in = nn.Linear(flat, cfg.dim)
        self.con_encoder = BidirectionalEncoder(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.dropout)
        self.exp_encoder = BidirectionalEncoder(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.dropout)
        self.con_out = nn.Linear(cfg.dim, cfg.content_dim)
        self.exp_out = nn.Linear(cfg.dim, cfg.expression_dim)
        self.dec_in = nn.Linear(cfg.content_dim + cfg.expression_dim, cfg.dim)
        self.decoder = CausalTransformer(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.window, cfg.dropout, conditioned=False)
        self.dec_out = nn.Linear(cfg.dim, flat)

    def _flat(self, offsets):
        return offsets.flatten(2) / self.cfg.vertex_scale

    def encode_content(self, offsets):
        """(B,T,V,3) metres -> (B,T,content_dim)."""
        return self.con_out(self.con_encoder(self.con_in(self._flat(offsets))))

    def encode_expression(self, offsets):
        return self.exp_out(self.exp_encoder(self.exp_in(self._flat(offsets))))

    def decode_hidden(self, content, expression):
        return self.decoder(self.dec_in(torch.cat([content, expression], -1)))

    def to_offsets(self, hidden):
        b, t, _ = hidden.shape
        return (self.dec_out(hidden) * self.cfg.vertex_scale).view(b, t, self.cfg.num_vertices, 3)

    def decode(self, content, expression):
        return self.to_offsets(self.decode_hidden(content, expression))

    def forward(self, offsets):
        return self.decode(self.encode_content(offsets), self.encode_expression(offsets))


class FeaturePredictor(nn.Module):
    """Audio2Con or Text2Exp: previous frames (as offsets) + an aligned condition -> features."""

    def __init__(self, cfg: TwoStageConfig, condition_dim: int, out_dim: int):
        super().__init__()
        self.cfg = cfg
        self.frame_in = nn.Linear(cfg.num_vertices * 3, cfg.dim)
        self.start = nn.Parameter(torch.zeros(cfg.dim))  # the token before the first frame
        self.condition_in = nn.Linear(condition_dim, cfg.dim)
        self.transformer = CausalTransformer(cfg.dim, cfg.heads, cfg.layers, cfg.period, cfg.window, cfg.dropout)
        self.out = nn.Linear(cfg.dim, out_dim)

    def tokens(self, previous_offsets):
        """Offsets of frames 0..T-1 -> tokens for predicting frames 0..T-1 (shifted by one)."""
        b = previous_offsets.shape[0]
        embedded = self.frame_in(previous_offsets.flatten(2) / self.cfg.vertex_scale)
        return torch.cat([self.start.expand(b, 1, -1), embedded[:, :-1]], 1)

    def forward(self, previous_offsets, condition):
        """Teacher-forced: (B,T,V,3) frames, (B,T,C) condition -> (B,T,out_dim)."""
        return self.out(self.transformer(self.tokens(previous_offsets), self.condition_in(condition)))


class TwoStageModel(nn.Module):
    """Stage 1 + Audio2Con + Text2Exp, with KV-cached autoregressive inference."""

    def __init__(self, cfg: TwoStageConfig):
        super().__init__()
        self.cfg = cfg
        self.stage1 = Stage1(cfg)
        self.audio2con = FeaturePredictor(cfg, cfg.audio_dim, cfg.content_dim)
        self.text2exp = FeaturePredictor(cfg, cfg.text_dim, cfg.expression_dim)

    def conditions(self, audio_features, text_feature, frames: int | None = None):
        """Speech features at audio_fps -> (B,T,audio_dim) at the animation rate; the text
        feature (B,text_dim) repeated over the same frames."""
        audio = resample_frames(audio_features, self.cfg.audio_fps, self.cfg.fps, frames)
        text = text_feature[:, None, :].expand(-1, audio.shape[1], -1)
        return audio, text

    def forward(self, previous_offsets, audio, text):
        """Teacher-forced stage-2 pass: returns (offsets, content, expression)."""
        content = self.audio2con(previous_offsets, audio)
        expression = self.text2exp(previous_offsets, text)
        return self.stage1.decode(content, expression), content, expression

    @torch.inference_mode()
    def generate(self, audio_features, text_feature, frames: int | None = None, progress=None) -> torch.Tensor:
        """Autoregressive inference, one frame at a time with KV caches: O(T) for any length.

        audio_features (B,Ta,audio_dim) at audio_fps, text_feature (B,text_dim) -> offsets
        (B,T,V,3) in metres.
        """
        audio, _ = self.conditions(audio_features, text_feature, frames)
        with torch_threads(1):
            return self.free_run(audio, text_feature, progress)

    def free_run(self, audio, text_feature, progress=None) -> torch.Tensor:
        """Decode from aligned speech features (B,T,audio_dim) at the animation rate and a text
        feature (B,text_dim), or one per frame (B,T,text_dim), each frame fed the model's own
        previous output. Used by ``generate`` and by training, whose scheduled sampling feeds
        these outputs back."""
        stepper = FrameStepper(self, audio.shape[0])
        return self.stage1.to_offsets(stepper.step(audio, text_feature, progress))

    @torch.inference_mode()
    def generate_blend(self, audio_features, text_features, content_weights, expression_weights=None, warmup_frames: int | None = None, progress=None) -> torch.Tensor:
        """Several prompts blended frame by frame (``PromptBranches``): speech features (1,Ta,C)
        at audio_fps, K text features (K,text_dim), per frame a weight per prompt (T,K) for the
        content and (by default the same) for the expression -> offsets (1,T,V,3). Each prompt
        runs from ``warmup_frames`` before it is first shown (None: from the first frame, as a
        clip with that prompt alone would) and stops once it is not shown again."""
        content_weights = np.asarray(content_weights, np.float32)
        expression_weights = content_weights if expression_weights is None else np.asarray(expression_weights, np.float32)
        frames, k = content_weights.shape
        audio = resample_frames(audio_features, self.cfg.audio_fps, self.cfg.fps, frames)
        shown = (content_weights != 0) | (expression_weights != 0)
        first = shown.argmax(0)  # a prompt changed to at frame f is first shown at f + 1
        end = frames - shown[::-1].argmax(0)
        start = np.maximum(first - 1 - (frames if warmup_frames is None else warmup_frames), 0) * shown.any(0) + frames * ~shown.any(0)
        events = sorted({0, frames, *start.tolist(), *end.tolist()})
        branches, hidden = PromptBranches(self), []
        with torch_threads(1):
            for a, b in zip(events, events[1:]):
                for i in range(k):
                    if start[i] == a:
                        branches.add(i, torch.as_tensor(text_features[i]))
                    elif end[i] == a:
                        branches.drop(i)
                report = None if progress is None else (lambda i, n, a=a: progress(a + i, frames))
                hidden.append(branches.step(audio[:, a:b], content_weights[a:b], expression_weights[a:b], report))
        return self.stage1.to_offsets(torch.cat(hidden, 1))


class FrameStepper:
    """Audio2Con, Text2Exp and the frozen decoder advanced frame by frame with their key/value
    caches. The whole-clip decode (``free_run``) and the live path (``expressive_talker.live``)
    run these same steps: a stream fed in pieces gives the frames a whole clip would."""

    def __init__(self, model: TwoStageModel, batch: int = 1, start: int = 0):
        """``start``: the index of the first frame it makes (a branch of ``PromptBranches`` that
        begins mid-clip keeps the clip's positions)."""
        self.model, self.frames = model, 0
        a2c, t2e, s1, cfg = model.audio2con, model.text2exp, model.stage1, model.cfg
        # Linear maps folded so that the loop never touches all vertices: the decoder's input
        # is dec_in([out_a(h_a), out_t(h_t)]); each network's next input is
        # frame_in(offsets) with offsets = dec_out(hidden) * scale.
        split = s1.dec_in.weight.split([cfg.content_dim, cfg.expression_dim], 1)
        self.to_dec = torch.stack([split[0] @ a2c.out.weight, split[1] @ t2e.out.weight]).transpose(1, 2)[:, None]  # (2,1,D,D)
        self.dec_bias = s1.dec_in.bias + split[0] @ a2c.out.bias + split[1] @ t2e.out.bias
        self.to_next = torch.stack([(p.frame_in.weight @ s1.dec_out.weight).T for p in (a2c, t2e)])  # (2,D,D)
        self.next_bias = torch.stack([p.frame_in.weight @ s1.dec_out.bias + p.frame_in.bias for p in (a2c, t2e)])[:, None]  # (2,1,D)
        self.pair_cache, self.decoder_cache = KVCache(start=start), KVCache(start=start)
        self.tokens = torch.stack([a2c.start, t2e.start])[:, None].expand(-1, batch, -1)  # (2,B,D)

    def step(self, audio, text, progress=None) -> torch.Tensor:
        """The next n frames: audio (B,n,audio_dim) at the animation rate, text (B,text_dim) or
        (B,n,text_dim) -> decoder hidden states (B,n,D) (``stage1.to_offsets`` makes offsets)."""
        n = audio.shape[1]
        if n == 0:
            return audio.new_zeros(audio.shape[0], 0, self.model.cfg.dim)
        terms = self.condition_terms(audio, text)
        hidden = []
        for i in range(n):
            hidden.append(self.advance([term[:, :, i] for term in terms])[1])
            if progress is not None:
                progress(i + 1, n)
        return torch.stack(hidden, 1)

    def condition_terms(self, audio, text) -> list[torch.Tensor]:
        """Per layer, the speech and text conditions of n frames as (2,B,n,D): Audio2Con's and
        Text2Exp's, which step together as one batched pass."""
        a2c, t2e = self.model.audio2con, self.model.text2exp
        audio_terms = a2c.transformer.condition_terms(a2c.condition_in(audio))
        text_terms = t2e.transformer.condition_terms(t2e.condition_in(text if text.dim() == 3 else text[:, None, :]))
        return [torch.stack([at, tt.expand_as(at)]) for at, tt in zip(audio_terms, text_terms)]

    def advance(self, terms) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame from its condition terms (per layer (2,B,D)) -> (the decoder's input in two
        parts, content and expression, without its bias (2,B,1,D); the decoder's hidden state (B,D))."""
        model = self.model
        out = step_together([model.audio2con.transformer, model.text2exp.transformer], self.tokens, terms, self.pair_cache)
        parts = out[:, :, None] @ self.to_dec
        h = self.decode(parts.sum(0) + self.dec_bias, self.decoder_cache)
        self.tokens = h @ self.to_next + self.next_bias
        self.frames += 1
        return parts, h

    def decode(self, inputs, cache: KVCache) -> torch.Tensor:
        """The frozen decoder one frame on: its input (B,1,D) -> hidden state (B,D)."""
        return step_together([self.model.stage1.decoder], inputs.transpose(0, 1), None, cache)[0]


class PromptBranches:
    """Several prompts at once, the face blended between them in the space the frozen decoder
    reads: the content and expression features that Audio2Con and Text2Exp predict.

    Each prompt is a branch, a FrameStepper of its own that runs as a clip with that one prompt
    would, from the frame it was added. While one branch alone has weight 1, its face is shown
    as it is. Otherwise the decoder decodes the branches' features mixed with this frame's
    weights (content and expression weighted apart, so an expression can be scaled without the
    lips) over all the past it can see: the paper's interpolation between two prompts (Fig. 7)
    at the blend of this moment. So a change of prompt eases between two expressions the model
    makes itself and the new one is there when the ease ends, with no memory of the old one in
    the decoder's window. (Fed its own frames under the old prompt, the model holds that
    expression for seconds: it was trained on clips of one prompt.) The timeline
    (``text.timeline``) and the live path (``expressive_talker.live``) change prompts this way.
    """

    def __init__(self, model: TwoStageModel):
        self.model, self.frames = model, 0
        self.branches: dict[int, FrameStepper] = {}
        self.text: dict[int, torch.Tensor] = {}
        self.history: dict[int, list[torch.Tensor]] = {}  # each branch's decoder inputs (2,1,1,D), oldest first
        decoder = model.stage1.decoder
        # Frame t's decoder output depends on the inputs (layers x window) frames back.
        self.reach = len(decoder.layers) * (decoder.window - 1) + 1

    def add(self, index: int, text_feature, warm_audio=None) -> None:
        """A new branch for a prompt (text_dim,), starting now, as column ``index`` of the weights
        ``step`` takes; ``warm_audio`` (1,m,audio_dim): the last m frames heard, run first so the
        branch does not start cold."""
        warm = 0 if warm_audio is None else warm_audio.shape[1]
        stepper = FrameStepper(self.model, start=self.frames - warm)
        self.text[index] = torch.as_tensor(text_feature).reshape(1, -1)
        self.history[index] = []
        if warm:
            terms = stepper.condition_terms(warm_audio, self.text[index])
            for i in range(warm_audio.shape[1]):
                self._remember(index, stepper.advance([term[:, :, i] for term in terms])[0])
        self.branches[index] = stepper

    def drop(self, index: int) -> None:
        """A branch that will not be shown again."""
        for store in (self.branches, self.text, self.history):
            store.pop(index, None)

    def step(self, audio, content_weights, expression_weights=None, progress=None) -> torch.Tensor:
        """The next n frames: audio (1,n,audio_dim) at the animation rate; per frame a weight per
        branch (n,K), K = the largest index added + 1, for the content and (by default the same)
        for the expression -> decoder hidden states (1,n,D)."""
        n = audio.shape[1]
        content_weights = np.asarray(content_weights, np.float32)
        expression_weights = content_weights if expression_weights is None else np.asarray(expression_weights, np.float32)
        running = sorted(self.branches)
        terms = {k: self.branches[k].condition_terms(audio, self.text[k]) for k in running}
        hidden = []
        for i in range(n):
            wc, we = content_weights[i], expression_weights[i]
            steps = {k: self.branches[k].advance([term[:, :, i] for term in terms[k]]) for k in running}
            for k in running:
                self._remember(k, steps[k][0])
            shown = [k for k in running if wc[k] != 0 or we[k] != 0]
            if len(shown) == 1 and wc[shown[0]] == 1 and we[shown[0]] == 1:
                hidden.append(steps[shown[0]][1])
            else:
                hidden.append(self._blend(shown, wc, we))
            self.frames += 1
            if progress is not None:
                progress(i + 1, n)
        return torch.stack(hidden, 1)

    def _remember(self, k: int, parts: torch.Tensor) -> None:
        history = self.history[k]
        history.append(parts)
        del history[: -self.reach]

    def _blend(self, shown: list[int], wc, we) -> torch.Tensor:
        """This frame's decoder output for the branches' features mixed with its weights, over
        as much of the past as the output depends on; a branch younger than that lends its
        weight, before it began, to the others."""
        span = min(self.reach, max(len(self.history[k]) for k in shown))
        mixed = torch.zeros(span, 2, self.model.cfg.dim)
        total = torch.zeros(span, 2, 1)
        for k in shown:
            own = torch.stack(self.history[k][-span:])[:, :, 0, 0]  # (m,2,D): content, expression; m <= span
            weights = torch.tensor([float(wc[k]), float(we[k])])[None, :, None]
            mixed[span - len(own) :] += weights * own
            total[span - len(own) :] += weights
        inputs = (mixed / total).sum(1) + self.branches[shown[0]].dec_bias
        first = self.frames + 1 - span
        return self.model.stage1.decoder(inputs[None], offset=first)[:, -1]


class TwoStageAnimator(Animator):
    """The trained two-stage model behind the common Animator interface."""

    kind = "two-stage"

    def __init__(self, model: TwoStageModel, neutral: np.ndarray, name: str = "ours", text_adapter: str | None = None):
        self.model = model.eval()
        self.neutral = np.asarray(neutral, dtype=np.float32)
        self.name = name
        self.fps = model.cfg.fps
        self.audio_fps = model.cfg.audio_fps
        self.audio_backend = model.cfg.audio_backend
        self.text_backend = model.cfg.text_backend
        self.text_adapter = text_adapter
        self.audio_dim = model.cfg.audio_dim
        self.text_dim = model.cfg.text_dim

    @classmethod
    def from_pretrained(cls, folder, name: str | None = None) -> "TwoStageAnimator":
        meta = read_config(folder)
        if meta.get("kind") != cls.kind:
            raise ValueError(f"{folder} holds a {meta.get('kind')!r} model, not a two-stage model")
        model = TwoStageModel(config_from_dict(TwoStageConfig, meta["config"]))
        load_state(folder, model)
        neutral = np.load(os.path.join(folder, "neutral.npy"))
        adapter = os.path.join(folder, TEXT_ADAPTER_FILE)
        return cls(model, neutral, name or os.path.basename(os.path.normpath(folder)), adapter if os.path.isfile(adapter) else None)

    def save_pretrained(self, folder, extra: dict | None = None) -> None:
        save_folder(folder, self.model, self.model.cfg, self.kind, extra, half=True)
        np.save(os.path.join(folder, "neutral.npy"), self.neutral)
        # The model only works with the text encoder it was trained with: the adapter goes along.
        target = os.path.join(folder, TEXT_ADAPTER_FILE)
        if not self.text_adapter:
            if os.path.exists(target):
                os.remove(target)
        elif os.path.abspath(self.text_adapter) != os.path.abspath(target):
            shutil.copyfile(self.text_adapter, target)

    def animate(self, audio_features, text_feature=None, frames=None, progress=None) -> np.ndarray:
        if text_feature is None:
            raise ValueError("the two-stage model needs a text feature")
        audio = torch.as_tensor(np.asarray(audio_features, np.float32))[None]
        text = torch.as_tensor(np.asarray(text_feature, np.float32)).reshape(1, -1)
        offsets = self.model.generate(audio, text, frames or self.frames_for(audio_features), progress)[0].numpy()
        return self.neutral[None] + offsets

    def animate_blend(self, audio_features, text_features, content_weights, expression_weights=None, progress=None) -> np.ndarray:
        """The prompts blended in the decoder's input space (``PromptBranches``), each run from
        the clip's start, so that outside a change each stretch is what its prompt alone makes."""
        audio = torch.as_tensor(np.asarray(audio_features, np.float32))[None]
        features = np.asarray(text_features, np.float32)
        offsets = self.model.generate_blend(audio, features, content_weights, expression_weights, None, progress)
        return self.neutral[None] + offsets[0].numpy()
