"""Study files and the participant flow (fixed study and open arena) on a hand-written manifest:
no rendering needed."""

import json
import uuid
from collections import Counter

import pytest

from expressive_talker.errors import InputError
from expressive_talker.study import StudyStore, load_config
from expressive_talker.study.session import Study

METHODS = ["ours", "expclip", "faceformer"]


def write_manifest(folder, mode="fixed", stimuli=5):
    folder.mkdir(exist_ok=True)
    manifest = {
        "study": "s", "mode": mode, "consent": "ok?", "size": 256, "stimuli": [
            {"id": f"x{i}", "audio": "a.wav", "prompt": f"p{i}", "methods": METHODS,
             "videos": {m: f"videos/{i}{m}.mp4" for m in METHODS}, "weights": dict.fromkeys(METHODS, "v")}
            for i in range(stimuli)
        ],
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def store(tmp_path):
    store = StudyStore(f"sqlite:///{tmp_path / 'votes.db'}")
    yield store
    store.close()


def run_participant(study, pid):
    seen, sides = [], Counter()
    while True:
        pair = study.next_pair(pid)
        if pair["done"]:
            return seen, sides, pair
        assert pair["index"] == len(seen) + 1 and pair["total"] == 15
        assert study.next_pair(pid)["pair_id"] == pair["pair_id"]  # shown again until voted on
        for side in ("left", "right"):
            study.watched(pid, pair["pair_id"], side)
        ack = study.vote(pid, pair["pair_id"], "left", "equal", "right", uuid.uuid4().hex)
        assert set(ack) == {"recorded", "vote_id", "duplicate", "pair_id", "choices"}  # blind: no method in it
        vote = study.store.vote_rows()[-1]  # what the server knows and the participant does not
        assert vote["shown_id"] == pair["pair_id"]
        assert "videos/" + pair["left_video"] == study.stimuli[vote["stimulus_id"]]["videos"][vote["left_method"]]  # a name, no server path
        seen.append((vote["stimulus_id"], frozenset((vote["left_method"], vote["right_method"]))))
        sides[vote["left_method"]] += 1


@pytest.mark.parametrize("mode", ["fixed", "arena"])
def test_every_participant_judges_every_pair_once_in_their_own_order(tmp_path, store, mode):
    study = Study(write_manifest(tmp_path / "prepared", mode), store)
    orders, lefts = [], Counter()
    for _ in range(3):
        pid = study.join(True, "35-44", "other")
        seen, sides, last = run_participant(study, pid)
        assert len(seen) == len(set(seen)) == 15  # 5 stimuli x 3 method pairs, each once
        assert last == {"done": True, "index": 15, "total": 15}
        orders.append(seen)
        lefts += sides
    assert sorted(lefts) == sorted(METHODS) and min(lefts.values()) >= 5  # each shown left about 15 of 30 times
    assert orders[0] != orders[1] or orders[1] != orders[2]  # own random order
    assert store.counts() == {"votes": 3 * 15 * 3, "participants": 3, "pairs_judged": 45, "joined": 3}


def test_consent_is_required_and_votes_are_checked(tmp_path, store):
    study = Study(write_manifest(tmp_path / "prepared"), store)
    with pytest.raises(InputError, match="tick the box"):
        study.join(False)
    with pytest.raises(InputError, match="unknown participant id"):
        study.next_pair("0" * 32)
    pid = study.join(True)
    pair = study.next_pair(pid)["pair_id"]
    with pytest.raises(InputError, match="missing: lip, overall"):
        study.vote(pid, pair, None, "left", "")
    with pytest.raises(InputError, match="expression must be one of"):
        study.vote(pid, pair, "left", "LEFT", "left")
    with pytest.raises(InputError, match="vote_id is missing: send 32 lowercase hex digits"):
        study.vote(pid, pair, "left", "left", "left", "")
    # A vote counts once both videos have played to the end, and not before.
    with pytest.raises(InputError, match="play both videos to the end before voting \\(not yet: left and right\\)"):
        study.vote(pid, pair, "left", "left", "left", uuid.uuid4().hex)
    assert study.watched(pid, pair, "right") == {"pair_id": pair, "watched": ["right"]}
    with pytest.raises(InputError, match="not yet: left\\)"):
        study.vote(pid, pair, "left", "left", "left", uuid.uuid4().hex)
    with pytest.raises(InputError, match="side must be 'left' or 'right'"):
        study.watched(pid, pair, "top")
    with pytest.raises(InputError, match="unknown pair_id for this participant"):
        study.watched(study.join(True), pair, "left")  # someone else's pair
    # Played sooner than the video lasts: refused (the store is told how long it lasts).
    with pytest.raises(InputError, match="the left video has not had time to play to the end"):
        store.mark_watched(pid, pair, "left", min_seconds=60)
    assert store.counts()["votes"] == 0
    study.watched(pid, pair, "left")
    assert study.vote(pid, pair, "left", "left", "left", uuid.uuid4().hex)["recorded"]


def test_the_default_study_is_the_examples_with_every_method():
    from expressive_talker.study.prepare import weights_version
    from expressive_talker.ui.examples import DEFAULT_STUDY

    config = load_config(DEFAULT_STUDY)
    assert len(config.stimuli) == 6 and {s.methods for s in config.stimuli} == {("ours", "expclip", "faceformer")}
    assert all(len(weights_version(m)) == 12 for m in METHODS)  # shipped weights for each of them


def test_study_files_json_and_yaml(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "study.yaml").write_text("name: yml\nmode: arena\nstimuli:\n  - {audio: a.wav, prompt: ' furious '}\n  - {id: two, audio: a.wav, prompt: sad, methods: [ours, faceformer]}\n")
    config = load_config(tmp_path / "study.yaml")
    assert (config.name, config.mode, config.size, config.out) == ("yml", "arena", 384, None)
    assert [(s.id, s.prompt, s.methods) for s in config.stimuli] == [("a", "furious", ("ours", "expclip")), ("two", "sad", ("ours", "faceformer"))]
    assert config.stimuli[0].audio == str(tmp_path / "a.wav")


@pytest.mark.parametrize(
    "study, message",
    [
        ("{", "could not parse"),
        ('{"stimuli": []}', "'stimuli' must be a non-empty list"),
        ('{"stimuli": [{"audio": "missing.wav", "prompt": "sad"}]}', "audio file not found"),
        ('{"stimuli": [{"audio": "a.wav", "prompt": "  "}]}', "'prompt' .* is missing or empty"),
        ('{"stimuli": [{"audio": "a.wav", "prompt": "sad"}, {"audio": "a.wav", "prompt": "happy"}]}', "id 'a' is used twice"),
        ('{"methods": ["ours"], "stimuli": [{"audio": "a.wav", "prompt": "sad"}]}', "at least two methods"),
        ('{"mode": "tournament", "stimuli": [{"audio": "a.wav", "prompt": "sad"}]}', "mode must be one of fixed, arena"),
        ('{"stimulus": []}', "unknown field"),
        ('{"size": 10, "stimuli": [{"audio": "a.wav", "prompt": "sad"}]}', "size must be"),
        ('{"stimuli": [{"audio": "a.wav", "prompt": "sad", "methods": ["ours", "../etc"]}]}', "method must be letters"),
    ],
)
def test_study_file_mistakes_name_the_field(tmp_path, study, message):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "study.json").write_text(study)
    with pytest.raises(InputError, match=message):
        load_config(tmp_path / "study.json")
