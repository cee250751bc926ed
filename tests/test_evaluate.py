"""python -m expressive_talker evaluate with the shipped weights on a 16-clip corpus."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCURACIES = ("acc_label", "acc_heldout", "acc_conflict", "acc_conflict_word")


@pytest.mark.slow
def test_evaluate_reports_errors_and_accuracies_per_method(corpus16, tmp_path):
    out = tmp_path / "eval.json"
    cmd = [sys.executable, "-m", "expressive_talker", "evaluate", "--methods", "ours,faceformer", "--data", str(corpus16), "--split", "train", "--max-clips", "4", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert json.loads(proc.stdout) == result and set(result) == {"ours", "faceformer"}
    ours, faceformer = result["ours"], result["faceformer"]
    assert ours["clips"] == faceformer["clips"] == 4
    for row in (ours, faceformer):
        assert all(0 < row[k] < 0.05 for k in ("lip_max", "face_max", "lip_mse", "face_mse", "fdd"))
    assert ours["lip_max"] < faceformer["lip_max"]  # FaceFormer cannot know the clip's expression; ours is told it
    # The face shows the prompt's emotion, also when the voice speaks another one.
    assert ours["acc_label"] == 1.0 and ours["acc_conflict_word"] == 1.0
    assert all(0 <= ours[k] <= 1 for k in ACCURACIES)
    assert all(faceformer[k] is None for k in ACCURACIES)  # no text input
