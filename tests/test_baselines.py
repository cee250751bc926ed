"""The baselines, FaceFormer and ExpCLIP, on toy tensors: shapes, cached vs whole-sequence
decoding, save/load, one training step each, Expression Prompt Augmentation."""

import numpy as np
import pytest
import torch

from expressive_talker.models.expclip import (
    AlignWeights,
    ExpCLIP,
    ExpCLIPAnimator,
    ExpCLIPConfig,
    alignment_losses,
    epa_blend,
    generator_losses,
)
from expressive_talker.models.faceformer import FaceFormer, FaceFormerAnimator, FaceFormerConfig, faceformer_loss
from expressive_talker.models.layers import torch_threads

FF = dict(num_vertices=40, dim=32, heads=4, layers=2, styles=["a", "b", "c"], audio_dim=12, text_dim=10, window=16)
EC = dict(dim=32, heads=4, layers=2, encoder_layers=1, audio_dim=12, text_dim=10, window=16, dropout=0.0)


@pytest.fixture()
def faceformer():
    torch.manual_seed(0)
    m = FaceFormer(FaceFormerConfig(**FF)).eval()
    torch.nn.init.normal_(m.frame_out.weight, std=0.05)  # zero-initialised: give it outputs to compare
    return m


@pytest.fixture()
def expclip():
    torch.manual_seed(0)
    return ExpCLIP(ExpCLIPConfig(**EC)).eval()


class TinyRig:
    """Stands in for the facecap rig: pose(weights) = neutral + weights @ deltas."""

    def __init__(self, vertices=40):
        rng = np.random.default_rng(0)
        self.neutral = rng.normal(size=(vertices, 3)).astype(np.float32)
        self.deltas = rng.normal(size=(52, vertices, 3)).astype(np.float32) * 0.01

    def pose(self, weights):
        return self.neutral[None] + np.einsum("tk,kvc->tvc", weights, self.deltas)


# ---- FaceFormer -------------------------------------------------------------------------------


def test_faceformer_starts_at_the_neutral_face():
    model = FaceFormer(FaceFormerConfig(**FF)).eval()
    out = model.generate(torch.randn(1, 50, 12))
    assert out.shape == (1, 30, 40, 3) and torch.count_nonzero(out) == 0  # zero-initialised output layer


def test_faceformer_cached_decoding_equals_the_whole_sequence_pass(faceformer):
    audio = torch.randn(2, 50, 12)
    out = faceformer.generate(audio, "b")
    assert out.shape == (2, 30, 40, 3)
    with torch.no_grad():
        again = faceformer(out, faceformer.audio(audio, 30), faceformer.style_vector("b", 2))
    assert torch.allclose(again, out, atol=1e-6)  # fed its own outputs, the uncached pass agrees


def test_faceformer_styles(faceformer):
    audio = torch.randn(1, 40, 12)
    a, b = faceformer.generate(audio, "a"), faceformer.generate(audio, "b")
    assert not torch.allclose(a, b)  # the speaking style changes the motion
    mean = faceformer.style_vector(None)
    assert torch.allclose(mean, torch.full((1, 3), 1 / 3))  # default: the mean style
    assert torch.equal(faceformer.style_vector(torch.tensor([2, 0])), torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    with pytest.raises(ValueError, match="unknown FaceFormer style"):
        faceformer.style_vector("nobody")


def test_faceformer_training_step_lowers_the_loss():
    torch.manual_seed(3)
    model = FaceFormer(FaceFormerConfig(**FF)).train()
    target = torch.randn(2, 12, 40, 3) * 0.003
    audio, speaker = torch.randn(2, 12, 12), torch.tensor([0, 2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    with torch_threads(1):  # frame-by-frame steps: many tiny ops (as the training configs run)
        for _ in range(5):
            loss = faceformer_loss(model, target, audio, speaker)["total"]  # autoregressive, on its own outputs
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert model.frame_out.weight.abs().sum() > 0  # gradients reach the zero-initialised layer


def test_faceformer_animator_round_trip_ignores_text(faceformer, tmp_path):
    neutral = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    animator = FaceFormerAnimator(faceformer, neutral)
    animator.save_pretrained(tmp_path / "faceformer")
    loaded = FaceFormerAnimator.from_pretrained(tmp_path / "faceformer")
    audio = np.random.default_rng(1).normal(size=(25, 12))
    a, b = animator.animate(audio), loaded.animate(audio, np.ones(10))
    assert a.shape == (15, 40, 3) and not loaded.uses_text
    assert np.abs(a - b).max() < 1e-3  # float16 storage
    assert loaded.model.cfg.styles == ["a", "b", "c"]


# ---- ExpCLIP ----------------------------------------------------------------------------------


def test_expclip_shapes(expclip):
    weights = torch.rand(2, 7, 52)
    z = expclip.embed(weights)
    assert z.shape == (2, 7, 10) and torch.allclose(z.norm(dim=-1), torch.ones(2, 7), atol=1e-5)
    prompt = expclip.clip_prompt(weights)
    assert prompt.shape == (2, 10) and torch.allclose(prompt.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert expclip.decoder(prompt).shape == (2, 52)
    assert expclip.generate(torch.randn(2, 50, 12), prompt).shape == (2, 30, 52)


def test_expclip_cached_decoding_equals_the_whole_sequence_pass(expclip):
    audio, prompt = torch.randn(1, 60, 12), torch.randn(1, 10)
    out = expclip.generate(audio, prompt)  # 36 frames, past the 16-frame window
    with torch.no_grad():
        again = expclip.generator(out, expclip.audio(audio, 36), prompt)
    assert torch.allclose(again, out, atol=1e-5)


def test_epa_blending():
    p, r = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert torch.equal(epa_blend(p, r, torch.tensor([1.0])), p)  # λ = 1: the clip's own prompt
    assert torch.equal(epa_blend(p, r, torch.tensor([0.0])), r)  # λ = 0: the random one
    assert torch.allclose(epa_blend(p, r, torch.tensor([0.25])), torch.tensor([[0.25, 0.75]]))


def test_expclip_alignment_step_lowers_the_loss():
    torch.manual_seed(1)
    model = ExpCLIP(ExpCLIPConfig(**EC)).train()
    frames = torch.rand(16, 52)
    text = torch.nn.functional.normalize(torch.randn(16, 10), dim=-1)
    params = list(model.encoder.parameters()) + list(model.decoder.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    losses = []
    for _ in range(5):
        out = alignment_losses(model, frames, text, AlignWeights())
        opt.zero_grad()
        out["total"].backward()
        opt.step()
        losses.append(out)
    assert set(losses[0]) == {"total", "cos", "rec", "cross"}
    assert float(losses[-1]["total"]) < float(losses[0]["total"])


def test_expclip_generator_step_with_epa_lowers_the_loss():
    torch.manual_seed(2)
    model = ExpCLIP(ExpCLIPConfig(**EC))
    model.encoder.requires_grad_(False)
    model.encoder.eval()
    target, audio, random_frames = torch.rand(2, 10, 52), torch.randn(2, 10, 12), torch.rand(2, 52)
    lip_basis = torch.randn(52, 30) * 0.002
    params = list(model.generator.parameters()) + list(model.pooling.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    lam = torch.tensor([0.3, 0.8])
    losses = []
    with torch_threads(1):
        for _ in range(5):
            out = generator_losses(model, target, audio, random_frames, lip_basis, lam=lam)
            opt.zero_grad()
            out["total"].backward()
            opt.step()
            losses.append(float(out["total"].detach()))
    assert set(out) == {"total", "rec", "lip", "style"}
    assert losses[-1] < losses[0]
    assert all(p.grad is None for p in model.encoder.parameters())  # frozen after alignment


def test_expclip_animator_round_trip(expclip, tmp_path):
    rig = TinyRig()
    animator = ExpCLIPAnimator(expclip, rig)
    animator.save_pretrained(tmp_path / "expclip")
    loaded = ExpCLIPAnimator.from_pretrained(tmp_path / "expclip", rig=rig)
    audio, text = np.random.default_rng(1).normal(size=(25, 12)), np.ones(10) / np.sqrt(10)
    a, b = animator.animate(audio, text), loaded.animate(audio, text)
    assert a.shape == (15, 40, 3) and loaded.uses_text and loaded.name == "expclip"
    assert np.abs(a - b).max() < 1e-3
    w = loaded.weights(audio, text)
    assert w.min() >= 0 and w.max() <= 1  # the rig's range
    with pytest.raises(ValueError, match="text feature"):
        loaded.animate(audio)
