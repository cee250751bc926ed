"""The training scripts (train/stage1.py, train/text_adapter.py, train/stage2.py) on a 16-clip corpus."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from expressive_talker.models.two_stage import TEXT_ADAPTER_FILE, TwoStageAnimator
from expressive_talker.pipeline import text_feature
from expressive_talker.text import get_text_encoder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"dim": 32, "heads": 2, "layers": 1, "content_dim": 16, "expression_dim": 16}


def run_script(script, *args):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train", script), *args], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_stage1_then_stage2_train_save_and_resume(corpus16, tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"steps": 2, "batch_size": 2, "lr": 1e-3, "seq_frames": 12, "threads": 1, "adam_eps": 1e-16, "model": TINY, "options": {"prompts_per_expression": 4}}))
    run_script("stage1.py", "--config", str(config), "--data", str(corpus16), "--out", str(tmp_path / "s1"))
    stage1 = tmp_path / "s1" / "stage1"
    assert json.loads((stage1 / "config.json").read_text())["kind"] == "stage1"

    run_script("text_adapter.py", "--config", os.path.join(ROOT, "train", "configs", "text_adapter.json"), "--out", str(tmp_path / "text"), "--steps", "2", "--batch-size", "4", "--threads", "1")
    adapter = tmp_path / "text" / "text_adapter.safetensors"
    assert adapter.is_file()

    out, save = tmp_path / "s2", tmp_path / "model"
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--stage1", str(stage1), "--out", str(out), "--save", str(save), "--text-adapter", str(adapter))
    assert (out / "checkpoints" / "step-2").is_dir()
    animator = TwoStageAnimator.from_pretrained(save)
    # The model folder carries the adapter, and its prompts are encoded with it.
    assert animator.text_adapter == str(save / TEXT_ADAPTER_FILE) and (save / TEXT_ADAPTER_FILE).read_bytes() == adapter.read_bytes()
    tuned = text_feature(animator, "slightly disgusted")[0]
    plain = get_text_encoder("minilm").encode("slightly disgusted").vectors[0]
    assert tuned.shape == plain.shape and not np.allclose(tuned, plain, atol=1e-4)
    frames = animator.animate(np.zeros((100, animator.audio_dim), np.float32), np.ones(animator.text_dim, np.float32) / animator.text_dim**0.5)
    assert frames.shape == (60, len(animator.neutral), 3) and np.isfinite(frames).all()

    # Resuming picks up at the newest checkpoint and trains only the missing step.
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--stage1", str(stage1), "--out", str(out), "--save", str(save), "--steps", "3", "--resume")
    assert json.loads((out / "stage2-time.json").read_text())["steps"] == 1
    assert (out / "checkpoints" / "step-3").is_dir()


@pytest.mark.slow
def test_stage2_fine_tunes_audio2con_from_a_model_folder_with_the_lip_term(corpus16, tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"steps": 1, "batch_size": 2, "lr": 1e-3, "seq_frames": 12, "threads": 1, "adam_eps": 1e-16, "model": TINY, "options": {"prompts_per_expression": 4}}))
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--end-to-end", "--out", str(tmp_path / "base"), "--save", str(tmp_path / "base-model"))
    base = TwoStageAnimator.from_pretrained(tmp_path / "base-model")

    tuned_dir = tmp_path / "tuned"
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--init", str(tmp_path / "base-model"), "--lip-weight", "1", "--closed-weight", "4", "--freeze-text2exp", "--out", str(tmp_path / "ft"), "--save", str(tuned_dir))
    tuned = TwoStageAnimator.from_pretrained(tuned_dir)
    options = json.loads((tuned_dir / "config.json").read_text())["train"]["options"]
    assert options["init"] == str(tmp_path / "base-model") and options["lip_weight"] == 1.0 and options["closed_weight"] == 4.0 and options["freeze_text2exp"]
    # It starts from the folder's weights (one small step away), not from a fresh initialisation.
    a, b = base.model.state_dict(), tuned.model.state_dict()
    changed = [k for k in a if not torch.equal(a[k], b[k])]
    assert changed and all(k.startswith("audio2con.") for k in changed)  # the decoder and, here, Text2Exp stay frozen
    drift = max(float((a[k].float() - b[k].float()).abs().max()) for k in changed)
    assert drift < 0.05

    both = subprocess.run([sys.executable, os.path.join(ROOT, "train", "stage2.py"), "--config", str(config), "--data", str(corpus16), "--init", str(tuned_dir), "--end-to-end"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert both.returncode == 2 and "exactly one of --stage1, --init and --end-to-end" in both.stderr


@pytest.mark.slow
def test_a_new_text2exp_for_another_encoder_keeps_stage1_and_audio2con(corpus16, tmp_path):
    """issue 32: --init FOLDER --new-text2exp trains a Text2Exp alone for the given encoder; --stage1
    takes a whole model folder's stage 1."""
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"steps": 1, "batch_size": 2, "lr": 1e-3, "seq_frames": 12, "threads": 1, "adam_eps": 1e-16, "model": TINY, "options": {"prompts_per_expression": 4}}))
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--end-to-end", "--out", str(tmp_path / "base"), "--save", str(tmp_path / "base-model"))
    base = TwoStageAnimator.from_pretrained(tmp_path / "base-model")
    run_script("text_adapter.py", "--config", os.path.join(ROOT, "train", "configs", "text_adapter.json"), "--out", str(tmp_path / "text"), "--steps", "1", "--batch-size", "2", "--threads", "1")
    adapter = str(tmp_path / "text" / "text_adapter.safetensors")

    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--init", str(tmp_path / "base-model"), "--new-text2exp", "--text-backend", "minilm",
               "--text-adapter", adapter, "--out", str(tmp_path / "t2e"), "--save", str(tmp_path / "t2e-model"))
    new = TwoStageAnimator.from_pretrained(tmp_path / "t2e-model")
    a, b = base.model.state_dict(), new.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("text2exp."))
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("text2exp."))
    assert json.loads((tmp_path / "t2e-model" / "config.json").read_text())["train"]["options"]["new_text2exp"]

    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--stage1", str(tmp_path / "base-model"), "--out", str(tmp_path / "s2"), "--save", str(tmp_path / "s2-model"))
    again = TwoStageAnimator.from_pretrained(tmp_path / "s2-model").model.state_dict()
    assert all(torch.equal(a[k], again[k]) for k in a if k.startswith("stage1."))  # frozen, taken from the folder

    no_adapter = subprocess.run([sys.executable, os.path.join(ROOT, "train", "stage2.py"), "--config", str(config), "--data", str(corpus16), "--init", str(tmp_path / "base-model"), "--new-text2exp"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert no_adapter.returncode == 2 and "--new-text2exp needs --init and the new encoder's --text-adapter" in no_adapter.stderr
