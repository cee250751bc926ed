"""``space-bundle``: the folder a Hugging Face Space is made from, checked offline against the
Space rules we can check: front matter, app_port, LFS patterns for every binary file, sizes."""

import json
import os
import subprocess
import sys

from expressive_talker.space import check_bundle, is_binary, read_front_matter


def test_the_bundle_is_the_tracked_code_with_every_binary_file_in_lfs(tmp_path):
    out = tmp_path / "space"
    run = subprocess.run([sys.executable, "-m", "expressive_talker", "space-bundle", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    print({k: v for k, v in result.items() if k != "binary_files"}, len(result["binary_files"]), "binary files")
    assert result["problems"] == []
    files = sorted(os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out) for f in fs)
    assert result["files"] == len(files)
    # What the Space runs is there; state, caches, installed packages and the tests are not.
    for needed in ("app.py", "Dockerfile", "README.md", "requirements.txt", "packages.txt", "weights/ours/model.safetensors", "examples/study.json"):
        assert needed in files, needed
    assert not [f for f in files if f.split("/")[0] in ("data", "runs", ".venv", ".gradio", "tests", ".git") or "node_modules" in f or "__pycache__" in f]
    meta = read_front_matter(out / "README.md")
    assert meta["sdk"] == "docker" and meta["app_port"] == 7860 and "GRADIO_SERVER_PORT=7860" in (out / "Dockerfile").read_text()
    # Every binary file (the weights, the example clips, the screenshot) is stored with LFS.
    binary = [f for f in files if f != ".gitattributes" and is_binary(out / f)]
    assert {os.path.splitext(f)[1] for f in binary} >= {".safetensors", ".flac", ".png"}
    patterns = [line.split()[0] for line in (out / ".gitattributes").read_text().splitlines() if "filter=lfs" in line]
    for f in binary:
        assert f"*{os.path.splitext(f)[1]}" in patterns, f
    assert sum(os.path.getsize(out / f) for f in files) < 100e6  # weights and clips: about 12 MB


def test_the_check_names_what_a_space_would_refuse(tmp_path):
    out = tmp_path / "space"
    subprocess.run([sys.executable, "-m", "expressive_talker", "space-bundle", str(out)], capture_output=True, check=True, timeout=300)
    (out / ".gitattributes").write_text("*.png filter=lfs diff=lfs merge=lfs -text\n")  # the weights and clips left in plain git
    readme = (out / "README.md").read_text()
    (out / "README.md").write_text(readme.replace("app_port: 7860", "app_port: 8080", 1))
    (out / "data").mkdir()
    (out / "data" / "study.db").write_bytes(b"SQLite format 3\0")
    problems = check_bundle(str(out))["problems"]
    assert "weights/ours/model.safetensors is binary and no .gitattributes LFS pattern covers it" in problems
    assert "examples/flite_slt_milk.flac is binary and no .gitattributes LFS pattern covers it" in problems
    assert "front matter app_port 8080 is not the port the Dockerfile serves" in problems
    assert "data/study.db should not be in the bundle (state, caches or installed packages)" in problems
    assert not any("png" in p for p in problems)
    # And the command refuses a folder that is not empty, in one line.
    again = subprocess.run([sys.executable, "-m", "expressive_talker", "space-bundle", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.strip() == f"error: {out} is not empty: give a new folder for the Space bundle"
