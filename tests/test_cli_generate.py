"""The generate and compare commands as a user runs them: subprocess, exit codes, files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from expressive_talker.export import EXPORT_FORMATS, read_livelink, read_talkinghead

from .helpers import make_tiny_weights, probe, write_tone

pytestmark = pytest.mark.slow


def run(*args, weights):
    env = {**os.environ, "EXPRESSIVE_TALKER_WEIGHTS": str(weights)}
    return subprocess.run([sys.executable, "-m", "expressive_talker", *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_tiny_weights(tmp_path_factory.mktemp("weights"), ("ours", "faceformer"))


def test_generate_writes_video_and_every_export(tmp_path, weights):
    audio = write_tone(tmp_path / "speech.wav", seconds=1.0)
    out = tmp_path / "out.mp4"
    result = run("generate", "--audio", audio, "--text", "slightly disgusted", "--out", out, "--export-dir", tmp_path / "exp", "--size", 256, "--quiet", weights=weights)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    frames, has_audio, video = probe(out)
    assert frames == report["frames"] == 30 and has_audio and "256x256" in video
    assert sorted(report["exports"]) == sorted(EXPORT_FORMATS)
    assert np.load(report["exports"]["npy"]).shape[0] == 30
    assert report["exports"]["livelink"].endswith("expressive-talker-ours-livelink.csv")
    assert report["exports"]["talkinghead"].endswith("expressive-talker-ours-talkinghead.json")
    weights, fps, _ = read_livelink(report["exports"]["livelink"])
    assert weights.shape == (30, 52) and fps == 30
    assert read_talkinghead(report["exports"]["talkinghead"])[0].shape == (30, 52)


def test_generate_blends_two_prompts(tmp_path, weights):
    audio = write_tone(tmp_path / "speech.wav", seconds=0.5)
    result = run("generate", "--audio", audio, "--text", "happy", "--text-b", "furious", "--alpha", 0.5, "--out", tmp_path / "b.mp4", "--size", 256, "--quiet", weights=weights)
    assert result.returncode == 0, result.stderr
    assert probe(tmp_path / "b.mp4")[0] == 15


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", "   "], "prompt is empty"),
        (["--text", "happy", "--alpha", "0.5"], "--text-b"),
        (["--text", "happy", "--method", "expclip"], "no trained weights for method 'expclip'"),
    ],
)
def test_generate_user_mistakes_exit_2_with_one_line(tmp_path, weights, args, message):
    audio = write_tone(tmp_path / "speech.wav", seconds=0.5)
    result = run("generate", "--audio", audio, "--out", tmp_path / "x.mp4", "--quiet", *args, weights=weights)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.mp4").exists()


def test_compare_shows_the_methods_that_have_weights(tmp_path, weights):
    audio = write_tone(tmp_path / "speech.wav", seconds=0.5)
    out = tmp_path / "cmp.mp4"
    result = run("compare", "--audio", audio, "--text", "furious", "--out", out, "--size", 256, "--quiet", weights=weights)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["methods"] == ["ours", "faceformer"]
    assert "no trained weights: ExpCLIP" in result.stderr
    frames, has_audio, video = probe(out)
    assert frames == 15 and has_audio and "512x296" in video  # two 256 px panels under 40 px labels
