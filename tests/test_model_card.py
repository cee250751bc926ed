"""train/model_card.py: the card's tables come from the evaluate JSON, earlier recipes apart."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def row(lip_max, acc=None):
    r = {"lip_max": lip_max, "face_max": 0.01, "lip_mse": 1e-6, "face_mse": 1e-6, "fdd": 1e-4, "clips": 4}
    r.update({"acc_label": acc, "acc_heldout": acc, "acc_conflict": acc, "acc_conflict_word": acc})
    return r


def test_card_tables_split_current_and_earlier_recipes(tmp_path):
    results = {
        "ours": row(0.0045, 0.9), "ours-no-cross": row(0.005, 0.8), "ours-seed0": row(0.0046, 0.85),
        "ours-emb1e-6": row(0.0048, 0.7), "ours-plaintext-emb1e-6": row(0.0047, 0.6), "ours-seed1-plaintext-emb1e-6-1000steps": row(0.006, 0.4),
        "expclip": row(0.0076, 0.5), "faceformer": row(0.0078),
    }  # fmt: skip
    (tmp_path / "eval.json").write_text(json.dumps(results))
    card = tmp_path / "README.md"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train", "model_card.py"), "--eval", str(tmp_path / "eval.json"), "--out", str(card)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = card.read_text()
    table1, rest = text.split("### Ablations (the paper's Table 1)")[1].split("### Earlier recipes", 1)
    earlier, table2 = rest.split("### Baselines (the paper's Table 2)")
    assert "| Ours | 4.500 |" in table1 and "| w/o cross loss | 5.000 |" in table1 and "| Ours (seed 0) |" in table1
    assert "no text adapter" not in table1 and "λ_emb" not in table1
    assert "Acc. conflicting audio, word prompt |" in table1 and "| 0.90 | 0.90 | 0.90 | 0.90 |" in table1
    assert "| Ours (λ_emb 1e-6) | 4.800 |" in earlier
    assert "| Ours (no text adapter, λ_emb 1e-6) | 4.700 |" in earlier
    assert "| Ours (seed 1, no text adapter, λ_emb 1e-6, stage 2 1000 steps) | 6.000 |" in earlier
    assert "| FaceFormer |" in table2 and "| ExpCLIP |" in table2 and "| — | — | — |" in table2


def test_card_shows_the_real_speech_table_with_the_oracle(tmp_path):
    (tmp_path / "eval.json").write_text(json.dumps({"ours": row(0.0045, 0.9)}))
    lip = {"bilabials": 37, "closure_rate": 0.568, "median_min_gap_mm": 0.98, "open_vowels": 73, "open_gap_mm": 14.3, "envelope_corr": 0.63, "jaw_envelope_corr": 0.66, "seconds": 11.6}
    oracle = dict(lip, closure_rate=1.0, median_min_gap_mm=-0.29)
    (tmp_path / "lipsync.json").write_text(json.dumps({"clips": 24, "seconds": 47.5, "methods": {"ours": lip, "oracle": oracle}}))
    card = tmp_path / "README.md"
    cmd = [sys.executable, os.path.join(ROOT, "train", "model_card.py"), "--eval", str(tmp_path / "eval.json"), "--lipsync", str(tmp_path / "lipsync.json"), "--out", str(card)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    section = card.read_text().split("### Real speech (development set)")[1]
    assert "24 real human recordings (48 s)" in section
    assert "| Ours | 37 | 0.57 | 0.98 | 14.3 | 0.63 | 0.66 |" in section
    assert "| Oracle (corpus lips) | 37 | 1.00 | -0.29 | 14.3 | 0.63 | 0.66 |" in section
