"""The render command as a user runs it: a subprocess, exit codes, stderr, files on disk."""

import json
import subprocess
import sys

import numpy as np
import pytest

from .helpers import jaw_curves, probe, write_curves_json, write_tone


def run(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def audio(tmp_path):
    return write_tone(tmp_path / "speech.wav", seconds=1.0)


def test_render_curves_to_mp4(tmp_path, audio):
    curves = write_curves_json(tmp_path / "anim.json", jaw_curves(30))
    out = tmp_path / "out.mp4"
    result = run("render", "--curves", curves, "--audio", audio, "--out", out, "--size", 256, "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == 30
    frames, has_audio, video = probe(out)
    assert frames == 30 and has_audio and "256x256" in video


def test_render_curves_plays_the_head_track(tmp_path, audio):
    from .helpers import read_frame

    doc = {"fps": 30, "names": ["jawOpen"], "frames": [[0.0]] * 30, "head_rotation_deg": [[0.0, 20.0 * t / 29, 0.0] for t in range(30)]}
    (tmp_path / "head.json").write_text(json.dumps(doc))
    result = run("render", "--curves", tmp_path / "head.json", "--audio", audio, "--out", tmp_path / "head.mp4", "--size", 256, "--quiet")
    assert result.returncode == 0, result.stderr
    first, last = (read_frame(tmp_path / "head.mp4", i).astype(int) for i in (0, 29))
    assert np.abs(first - last).mean() > 2  # the head has turned
    doc["head_rotation_deg"] = doc["head_rotation_deg"][:10]
    (tmp_path / "short.json").write_text(json.dumps(doc))
    result = run("render", "--curves", tmp_path / "short.json", "--audio", audio, "--out", tmp_path / "x.mp4", "--quiet")
    assert result.returncode == 2 and "head_rotation_deg" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_render_vertices_npy(tmp_path, audio):
    from expressive_talker.face.rig import load_rig

    vertices = tmp_path / "anim.npy"
    np.save(vertices, load_rig().pose(jaw_curves(30)))
    out = tmp_path / "out.mp4"
    result = run("render", "--vertices", vertices, "--audio", audio, "--out", out, "--size", 256, "--fps", 25, "--quiet")
    assert result.returncode == 0, result.stderr
    assert probe(out)[0] == 25


def bad_inputs(tmp_path, audio):
    from expressive_talker.face.rig import ARKIT_NAMES

    good = write_curves_json(tmp_path / "good.json", jaw_curves(10))
    names = list(ARKIT_NAMES)
    names[0] = "browsUpInner"
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not audio")
    np.save(tmp_path / "wrong.npy", np.zeros((10, 100, 3), np.float32))
    return {
        "missing audio": (["--curves", good, "--audio", tmp_path / "nope.wav"], "not found"),
        "unreadable audio": (["--curves", good, "--audio", not_audio], "could not read"),
        "wrong vertex count": (["--vertices", tmp_path / "wrong.npy", "--audio", audio], "2694"),
        "unknown name": (["--curves", write_curves_json(tmp_path / "names.json", jaw_curves(10), names=names), "--audio", audio], "browsUpInner"),
        "empty animation": (["--curves", write_curves_json(tmp_path / "empty.json", []), "--audio", audio], "no frames"),
    }


@pytest.mark.parametrize("case", ["missing audio", "unreadable audio", "wrong vertex count", "unknown name", "empty animation"])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, audio, case):
    args, message = bad_inputs(tmp_path, audio)[case]
    out = tmp_path / "out.mp4"
    result = run("render", *args, "--out", out, "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".partial-*"))


def test_nan_in_curves_is_rejected(tmp_path, audio):
    path = tmp_path / "nan.json"
    frames = jaw_curves(5).tolist()
    frames[2][0] = float("nan")  # json.dumps writes NaN, which Python's json reads back
    write_curves_json(path, frames)
    result = run("render", "--curves", path, "--audio", audio, "--out", tmp_path / "o.mp4", "--quiet")
    assert result.returncode == 2 and "NaN" in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_bench_render_prints_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run("bench", "render", "--frames", 10, "--size", 256, "--json", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["frames"] == 10 and report["size"] == 256
    for key in ("render_ms_per_frame", "encode_ms_per_frame", "total_s", "peak_rss_mb"):
        assert report[key] > 0
