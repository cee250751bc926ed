"""The shared transformer pieces and the two-stage model on toy tensors."""

import numpy as np
import pytest
import torch

from expressive_talker.models.layers import CausalTransformer, KVCache, alignment_mask, biased_causal_mask
from expressive_talker.models.losses import Stage1Weights, Stage2Weights, stage1_losses, stage2_losses, triplet
from expressive_talker.models.two_stage import TEXT_ADAPTER_FILE, TwoStageAnimator, TwoStageConfig, TwoStageModel

TINY = dict(num_vertices=40, dim=32, heads=4, layers=2, content_dim=8, expression_dim=8, audio_dim=12, text_dim=10, window=16)


@pytest.fixture()
def model():
    torch.manual_seed(0)
    m = TwoStageModel(TwoStageConfig(**TINY)).eval()
    torch.nn.init.normal_(m.stage1.dec_out.weight, std=0.05)  # non-trivial outputs to compare
    return m


def test_biased_causal_mask_blocks_the_future_and_the_far_past():
    bias = biased_causal_mask(6, 6, heads=2, period=2, window=4)
    assert bias.shape == (2, 6, 6)
    assert torch.isinf(bias[:, 0, 1:]).all()  # no peeking ahead
    assert torch.isinf(bias[:, 5, :2]).all() and torch.isfinite(bias[:, 5, 2:]).all()  # window of 4
    assert bias[0, 5, 5] == 0 and bias[0, 5, 3] < 0 and bias[0, 5, 4] == 0  # one step per period back
    assert bias[1, 5, 3] > bias[0, 5, 3]  # heads have different slopes


def test_alignment_mask_is_diagonal():
    mask = alignment_mask(4, 5)
    assert torch.isfinite(mask).sum() == 4 and (torch.diagonal(mask) == 0).all()


def test_cached_decoding_equals_whole_sequence_decoding():
    torch.manual_seed(1)
    net = CausalTransformer(dim=16, heads=2, layers=3, period=4, window=5, dropout=0.0).eval()
    tokens, condition = torch.randn(2, 13, 16), torch.randn(2, 13, 16)
    with torch.no_grad():
        full = net(tokens, condition)
        terms = net.condition_terms(condition)
        cache = KVCache()
        steps = [net.step(tokens[:, i : i + 1], [t[:, i : i + 1] for t in terms], cache) for i in range(13)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)


def test_generate_is_the_autoregressive_fixed_point_and_deterministic(model):
    audio, text = torch.randn(1, 50, 12), torch.randn(1, 10)
    out = model.generate(audio, text)
    assert out.shape == (1, 30, 40, 3)  # 1 s of 50 Hz features -> 30 frames
    with torch.no_grad():
        a, t = model.conditions(audio, text, 30)
        teacher_forced, _, _ = model(out, a, t)  # fed its own outputs, it reproduces them
    assert torch.allclose(teacher_forced, out, atol=1e-6)
    assert torch.equal(model.generate(audio, text), out)


def test_long_audio_has_no_seams(model):
    # Two minutes of features decode in one pass; with the attention window, a frame depends on
    # the last `window` frames only, so the start of a clip and the same audio later agree.
    audio = torch.randn(1, 50 * 120, 12)
    text = torch.randn(1, 10)
    out = model.generate(audio, text)
    assert out.shape[1] == 3600 and torch.isfinite(out).all()
    step = (out[:, 1:] - out[:, :-1]).norm(dim=-1).amax(dim=(0, 2))
    assert step.max() < 10 * step.median() + 1e-9  # no jumps anywhere along the clip


def test_text_interpolation_moves_between_prompts(model):
    audio = torch.randn(1, 40, 12)
    ta, tb = torch.randn(1, 10), torch.randn(1, 10)
    a, b = model.generate(audio, ta), model.generate(audio, tb)
    mid = model.generate(audio, 0.5 * ta + 0.5 * tb)
    assert (mid - a).abs().mean() < (b - a).abs().mean()
    assert (mid - b).abs().mean() < (b - a).abs().mean()


def test_triplet_loss():
    a = torch.zeros(1, 3)
    near, far = torch.tensor([[0.1, 0, 0]]), torch.tensor([[3.0, 0, 0]])
    assert triplet(a, near, far) == 0  # negative already a margin further away
    assert triplet(a, far, near) == pytest.approx(9 - 0.01 + 1)


def test_stage1_losses_on_crossing_pairs(model):
    torch.manual_seed(2)
    content = {k: torch.randn(2, 12, 40, 3) * 0.003 for k in "ab"}
    expression = {k: torch.randn(1, 1, 40, 3) * 0.003 for k in "nm"}
    x = {c + e: content[c] + expression[e] for c in "ab" for e in "nm"}
    losses = stage1_losses(model.stage1, x["an"], x["bn"], x["am"], x["bm"], Stage1Weights())
    assert set(losses) == {"total", "self", "cross", "con", "exp"}
    assert all(torch.isfinite(v) and v >= 0 for v in losses.values())
    no_cross = stage1_losses(model.stage1, x["an"], x["bn"], x["am"], x["bm"], Stage1Weights(cross=0.0))
    assert no_cross["total"] < losses["total"]


def test_stage2_losses_and_a_training_step_lowers_the_loss(model):
    torch.manual_seed(3)
    target = torch.randn(2, 20, 40, 3) * 0.003
    audio, text = model.conditions(torch.randn(2, 34, 12), torch.randn(2, 10), 20)
    model.train()
    opt = torch.optim.Adam(list(model.audio2con.parameters()) + list(model.text2exp.parameters()), lr=1e-3)
    first = None
    for _ in range(5):
        offsets, c, e = model(target, audio, text)
        losses = stage2_losses(model, offsets, c, e, target, Stage2Weights())
        first = first if first is not None else float(losses["face"].detach())
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
    assert float(losses["face"]) < first


def test_animator_round_trips_through_a_folder(model, tmp_path):
    neutral = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    animator = TwoStageAnimator(model, neutral)
    animator.save_pretrained(tmp_path / "ours")
    loaded = TwoStageAnimator.from_pretrained(tmp_path / "ours")
    audio, text = np.random.default_rng(1).normal(size=(25, 12)), np.ones(10)
    a, b = animator.animate(audio, text), loaded.animate(audio, text)
    assert a.shape == (15, 40, 3)
    assert np.abs(a - b).max() < 1e-3  # float16 storage
    assert loaded.name == "ours"
    assert loaded.text_adapter is None


def test_model_folder_keeps_its_text_adapter_and_drops_a_stale_one(model, tmp_path):
    adapter = tmp_path / "adapter.safetensors"
    adapter.write_bytes(b"adapter bytes")
    neutral = np.zeros((40, 3), np.float32)
    TwoStageAnimator(model, neutral, text_adapter=str(adapter)).save_pretrained(tmp_path / "tuned")
    loaded = TwoStageAnimator.from_pretrained(tmp_path / "tuned")
    assert loaded.text_adapter == str(tmp_path / "tuned" / TEXT_ADAPTER_FILE)
    assert (tmp_path / "tuned" / TEXT_ADAPTER_FILE).read_bytes() == b"adapter bytes"
    loaded.save_pretrained(tmp_path / "tuned")  # saving onto itself keeps the file
    assert (tmp_path / "tuned" / TEXT_ADAPTER_FILE).read_bytes() == b"adapter bytes"
    # A model trained without an adapter, saved over that folder, must not pick up the old one.
    TwoStageAnimator(model, neutral).save_pretrained(tmp_path / "tuned")
    assert TwoStageAnimator.from_pretrained(tmp_path / "tuned").text_adapter is None
