"""The shared transformer pieces and the two-stage model on toy tensors."""

import numpy as np
import pytest
import torch

from expressive_talker.face.rig import INDEX, load_rig
from expressive_talker.models.layers import CausalTransformer, KVCache, alignment_mask, biased_causal_mask
from expressive_talker.models.losses import LipIndices, Stage1Weights, Stage2Weights, lip_loss, stage1_losses, stage2_losses, triplet
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


def _posed_offsets(rig, **weights):
    w = np.zeros(52, np.float32)
    for name, v in weights.items():
        w[INDEX[name]] = v
    return torch.as_tensor(rig.pose(w[None]) - rig.neutral)[None]  # (1,1,V,3)


def test_lip_indices_tell_closed_lips_from_an_open_mouth():
    rig = load_rig()
    lips = LipIndices.of_rig(rig)
    frames = torch.cat([_posed_offsets(rig), _posed_offsets(rig, jawOpen=0.4), _posed_offsets(rig, jawOpen=0.4, mouthClose=0.4)], dim=1)
    assert lips.closed(frames).tolist() == [[True, False, True]]  # neutral, open jaw, jaw open with the lips sealed


def test_lip_loss_weighs_closed_frames_and_reads_only_the_lips():
    rig = load_rig()
    lips = LipIndices.of_rig(rig)
    target = torch.cat([_posed_offsets(rig), _posed_offsets(rig, jawOpen=0.4)], dim=1)  # frame 0 closed, frame 1 open
    miss_closed, miss_open = target.clone(), target.clone()
    miss_closed[:, 0, lips.lips, 1] -= 0.002  # the same 2 mm miss, on the closed or the open frame
    miss_open[:, 1, lips.lips, 1] -= 0.002
    assert lip_loss(miss_closed, target, lips) == pytest.approx(float(lip_loss(miss_open, target, lips)))
    assert lip_loss(miss_closed, target, lips, closed_weight=4.0) > 2 * lip_loss(miss_open, target, lips, closed_weight=4.0)
    elsewhere = target.clone()
    others = torch.ones(target.shape[2], dtype=torch.bool)
    others[lips.lips] = False
    elsewhere[:, :, others] += 0.01  # a miss away from the lips
    assert float(lip_loss(elsewhere, target, lips, closed_weight=4.0)) == 0.0


def test_stage2_lip_term_is_off_by_default_and_adds_to_the_total_when_on(model):
    torch.manual_seed(0)
    b, t, v = 2, 8, model.cfg.num_vertices
    target = torch.randn(b, t, v, 3) * 1e-3
    offsets = target + torch.randn(b, t, v, 3) * 1e-3
    c, e = torch.zeros(b, t, model.cfg.content_dim), torch.zeros(b, t, model.cfg.expression_dim)
    lips = LipIndices(torch.arange(10), torch.tensor([0]), torch.tensor([1]))
    plain = stage2_losses(model, offsets, c, e, target, Stage2Weights(emb=0.0))
    assert "lip" not in plain and float(plain["total"]) == pytest.approx(float(plain["face"]))
    on = stage2_losses(model, offsets, c, e, target, Stage2Weights(emb=0.0, lip=2.0), lips)
    assert float(on["total"]) == pytest.approx(float(on["face"] + 2.0 * on["lip"]))
    with pytest.raises(ValueError, match="lip vertex indices"):
        stage2_losses(model, offsets, c, e, target, Stage2Weights(emb=0.0, lip=1.0))
