"""evaluate-lipsync: its scores on constructed lips, the phones-file checks, the pocketsphinx
aligner, and the whole command on a two-clip piece of the real-speech development set."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from expressive_talker.data import lips
from expressive_talker.errors import InputError
from expressive_talker.face.rig import INDEX, load_rig
from expressive_talker.lipsync import metrics
from expressive_talker.lipsync.benchmark import read_clips, read_phones

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "data", "lipsync")
FPS = 30.0

# "bob moved my map" in the benchmark's row order: [start_s, end_s, phone]
PHONES = [(round(i * 0.12, 3), round((i + 1) * 0.12, 3), p) for i, p in enumerate("pau b aa b m uw v d m ay m ae p pau".split())]
N = int(round(PHONES[-1][1] * FPS))


@pytest.fixture(scope="module")
def gap():
    return lips.LipGap(load_rig(), midline=True)


def scores(gap_track, phones=PHONES):
    return metrics.summarize([metrics.clip_events(gap_track, phones, FPS)], [])


def test_lips_that_close_on_every_bilabial_score_one(gap):
    weights = lips.lip_curves([(p, t0, t1) for t0, t1, p in PHONES], N, FPS)
    result = scores(gap(weights))
    assert result["bilabials"] == 6
    assert result["closure_rate"] == 1.0
    assert result["median_min_gap_mm"] <= lips.CLOSED_GAP_MM
    assert result["open_vowels"] == 3 and result["open_gap_mm"] > 10.0  # aa, ay, ae open the mouth wide


def test_a_mouth_that_never_closes_scores_zero(gap):
    weights = np.zeros((N, 52), np.float32)
    weights[:, INDEX["jawOpen"]] = 0.3  # always a little open, as a mumbling face
    result = scores(gap(weights))
    assert result["closure_rate"] == 0.0
    assert result["median_min_gap_mm"] > lips.CLOSED_GAP_MM


def test_closure_counts_one_frame_either_side_of_the_phone_and_no_further():
    track = np.full(N, 8.0)
    t0, t1, _ = PHONES[1]  # the first b: 0.12-0.24 s, frames 4..7 inside it
    window = metrics.phone_window(t0, t1, N, FPS)
    assert window[0] == 3 and window[-1] == 8
    only_b = [PHONES[0], PHONES[1], PHONES[2]]
    track[8] = 0.0  # closed one frame after the phone: counts
    assert scores(track, only_b)["closure_rate"] == 1.0
    track[8], track[9] = 8.0, 0.0  # two frames after: does not
    assert scores(track, only_b)["closure_rate"] == 0.0


def test_envelope_correlation_follows_the_loudness():
    wave = np.zeros(16000, np.float32)
    loud = np.sin(np.arange(16000) * 0.2).astype(np.float32) * np.repeat(np.arange(30) % 2, 534)[:16000]
    env = metrics.envelope(wave + loud, 30, FPS)
    assert metrics.correlation(env, env * 3 + 1) == pytest.approx(1.0)
    assert metrics.correlation(env, -env) == pytest.approx(-1.0)
    assert metrics.correlation(env, np.ones(30)) == 0.0  # a still mouth follows nothing


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[0, 0.1, \"pau\"], [0.1, 0.2, \"B\"]]", "not a lower-case ARPAbet phone"),
        ("[[0, 0.1, \"ah0\"]]", "not a lower-case ARPAbet phone"),
        ("[[0.2, 0.1, \"ah\"]]", "0 <= start_s < end_s"),
        ("[{\"start\": 0, \"end\": 1, \"phone\": \"ah\"}]", "expected [start_s, end_s, phone]"),
        ("[]", "non-empty list"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_phones_files_get_one_clear_message(tmp_path, content, message):
    path = tmp_path / "x.phones.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_phones(str(path))


def test_a_wav_without_its_phones_file_is_named(tmp_path):
    sf.write(tmp_path / "lonely.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(InputError, match="lonely.phones.json"):
        read_clips(str(tmp_path))


def test_aligner_finds_the_m_of_meters_at_its_energy_dip():
    from expressive_talker.audio import load_audio
    from expressive_talker.lipsync.align import align

    wave = load_audio(os.path.join(FIXTURE, "goforward.wav"))
    phones = align(wave, "Go forward, ten meters!")
    names = [p for _, _, p in phones if p != "pau"]
    assert names == "g ow f ao r w er d t eh n m iy t er z".split()
    (m,) = [(t0, t1) for t0, t1, p in phones if p == "m"]
    env = metrics.envelope(wave, int(len(wave) / 16000 * 100), 100.0)  # 10 ms frames
    inside = env[int(m[0] * 100) : int(m[1] * 100)].mean()
    vowel = [(t0, t1) for t0, t1, p in phones if p == "iy"][0]
    assert inside < env[int(vowel[0] * 100) : int(vowel[1] * 100)].mean()  # the closed mouth hums quieter than the vowel
    assert phones[0][0] == 0.0 and phones[-1][1] == pytest.approx(len(wave) / 16000, abs=0.01)


def test_aligner_rejects_words_it_cannot_pronounce():
    from expressive_talker.lipsync.align import align

    with pytest.raises(InputError, match="qzxvbn"):
        align(np.zeros(16000, np.float32), "hello qzxvbn")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow
def test_evaluate_lipsync_on_real_speech_end_to_end(tmp_path):
    out = tmp_path / "lipsync.json"
    proc = cli("evaluate-lipsync", "--data", FIXTURE, "--methods", "ours,expclip,faceformer", "--json", out, "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert json.loads(proc.stdout) == result
    assert result["clips"] == 2
    assert list(result["methods"]) == ["ours", "expclip", "faceformer", "oracle"]
    for method, row in result["methods"].items():
        assert row["bilabials"] == 3  # "man" and "disposed" in the reading, "meters" in the command
        for key in ("closure_rate", "median_min_gap_mm", "open_gap_mm", "envelope_corr", "jaw_envelope_corr", "seconds"):
            assert isinstance(row[key], float) and math.isfinite(row[key]), (method, key, row[key])
        assert set(row["per_clip"]) == {"librivox-0880", "goforward"}
    oracle = result["methods"]["oracle"]
    assert oracle["closure_rate"] == 1.0  # the corpus's own lips close on every p, b, m
    assert oracle["open_gap_mm"] > 10.0


def test_phones_that_outlast_the_audio_are_refused(tmp_path):
    from expressive_talker.lipsync.benchmark import evaluate_lipsync

    sf.write(tmp_path / "short.wav", 0.1 * np.sin(np.arange(16000) * 0.1).astype(np.float32), 16000)
    (tmp_path / "short.phones.json").write_text(json.dumps([[0, 0.5, "pau"], [0.5, 1.4, "aa"]]))
    with pytest.raises(InputError, match="runs to 1.40 s but short.wav lasts 1.00 s"):
        evaluate_lipsync(str(tmp_path), methods=[], progress=False)


def test_evaluate_lipsync_missing_phones_exits_2_with_one_line(tmp_path):
    sf.write(tmp_path / "clip.wav", np.zeros(16000, np.float32), 16000)
    proc = cli("evaluate-lipsync", "--data", tmp_path, "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: missing phones file clip.phones.json (every NAME.wav needs a NAME.phones.json)"]
    assert proc.stdout == ""
