"""The training scripts (train/stage1.py, train/stage2.py) on a 16-clip corpus."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from expressive_talker.models.two_stage import TwoStageAnimator

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

    out, save = tmp_path / "s2", tmp_path / "model"
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--stage1", str(stage1), "--out", str(out), "--save", str(save))
    assert (out / "checkpoints" / "step-2").is_dir()
    animator = TwoStageAnimator.from_pretrained(save)
    frames = animator.animate(np.zeros((100, animator.audio_dim), np.float32), np.ones(animator.text_dim, np.float32) / animator.text_dim**0.5)
    assert frames.shape == (60, len(animator.neutral), 3) and np.isfinite(frames).all()

    # Resuming picks up at the newest checkpoint and trains only the missing step.
    run_script("stage2.py", "--config", str(config), "--data", str(corpus16), "--stage1", str(stage1), "--out", str(out), "--save", str(save), "--steps", "3", "--resume")
    assert json.loads((out / "stage2-time.json").read_text())["steps"] == 1
    assert (out / "checkpoints" / "step-3").is_dir()
