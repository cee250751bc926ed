"""`study prepare` and `study report` as a researcher runs them: subprocess, exit codes, files."""

import csv
import json
import uuid
import os
import subprocess
import sys

import pytest

from expressive_talker.study import StudyStore
from expressive_talker.study.session import Study

from .helpers import make_tiny_weights, probe
from .postgres import fresh_postgres_db, postgres_url  # noqa: F401  (fixtures)
from .study_helpers import write_study_file

pytestmark = pytest.mark.slow


def run(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", "study", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("study-cli")
    weights = make_tiny_weights(root / "weights", ("ours", "expclip"))
    result = run("prepare", "--config", write_study_file(root), "--out", root / "prepared", "--weights", weights)
    assert result.returncode == 0, result.stderr
    return root, weights, json.loads(result.stdout), result.stderr


def test_prepare_renders_every_video_once_with_anonymous_names(prepared):
    root, weights, summary, stderr = prepared
    assert summary == {"study": "tiny", "mode": "fixed", "stimuli": 2, "videos": 4, "rendered": 4}
    assert "4/4" in stderr  # the progress bar
    manifest = json.loads((root / "prepared" / "manifest.json").read_text())
    videos = [v for s in manifest["stimuli"] for v in s["videos"].values()]
    assert len(set(videos)) == 4 and not any("ours" in v or "expclip" in v for v in videos)
    frames, has_audio, video = probe(root / "prepared" / videos[0])
    assert frames == 30 and has_audio and "256x256" in video  # 1 s of speech at 30 fps
    assert all(len(v) == 12 for s in manifest["stimuli"] for v in s["weights"].values())
    again = run("prepare", "--config", root / "study.json", "--out", root / "prepared", "--weights", weights, "--quiet")
    assert again.returncode == 0 and json.loads(again.stdout)["rendered"] == 0  # nothing changed, nothing rendered


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_report_writes_table3_json_and_the_votes_csv(prepared, tmp_path, request, backend):
    root = prepared[0]
    url = f"sqlite:///{tmp_path / 'votes.db'}" if backend == "sqlite" else request.getfixturevalue("fresh_postgres_db")
    store = StudyStore(url)
    study = Study(root / "prepared", store)
    for age in ("18-24", None):
        pid = study.join(True, age)
        for _ in range(2):
            pair = study.next_pair(pid)
            for side in ("left", "right"):  # as the page reports them (the videos' length is not waited out here)
                store.mark_watched(pid, pair["pair_id"], side)
            study.vote(pid, pair["pair_id"], "left", "equal", "right", uuid.uuid4().hex)
    last = store.vote_rows()[-1]
    store.close()
    result = run("report", "--db", url, "--json", tmp_path / "report.json", "--csv", tmp_path / "votes.csv", "--bootstrap", 50)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == json.loads(result.stdout)
    assert (report["votes"], report["participants"], report["pairs_judged"]) == (12, 2, 4)
    assert report["demographics"]["age_range"] == {"18-24": 1, "not given": 1}
    assert [(t["criterion"], t["methods"], t["votes"]) for t in report["table3"]] == [(c, ["expclip", "ours"], 4) for c in ("lip", "expression", "overall")]
    assert report["table3"][1]["percent"]["equal"] == 100.0
    assert set(report["bradley_terry"]["overall"]) == {"expclip", "ours"}
    with open(tmp_path / "votes.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and rows[-1]["left_method"] == last["left_method"] and rows[-1]["right_method"] == last["right_method"]
    assert {r["age_range"] for r in rows} == {"18-24", ""}
    assert {r["criterion"] for r in rows} == {"lip", "expression", "overall"} and {r["study"] for r in rows} == {"tiny"}
    other = run("report", "--db", url, "--study", "another-study", "--bootstrap", 10)
    assert other.returncode == 0 and json.loads(other.stdout)["votes"] == 0  # one database can hold several studies


def test_mistakes_print_one_error_line_and_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text('{"stimuli": [{"audio": "nope.wav", "prompt": "sad"}]}')
    for args, message in [
        (("prepare", "--config", tmp_path / "bad.json"), "audio file not found"),
        (("prepare", "--config", tmp_path / "missing.yaml"), "study file not found"),
        (("report", "--db", f"sqlite:///{tmp_path / 'none.db'}"), "no votes database"),
        (("report", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x"), "could not open the votes database"),
    ]:
        result = run(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert not os.path.exists(tmp_path / "none.db")
