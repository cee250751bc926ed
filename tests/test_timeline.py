"""A timeline of prompts and the expression strength, as a user meets them: the face changes when
the timeline says and eases into it, each stretch is what its prompt alone makes, the lips are
left alone, the motion layer follows the stretch it is in, and bad rows get one message naming
the row (the CLI's --at included)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from expressive_talker.audio import load_audio
from expressive_talker.errors import InputError
from expressive_talker.face.readout import EXPRESSION_CHANNELS, read_expression
from expressive_talker.face.rig import INDEX, load_rig
from expressive_talker.pipeline import animate_speech
from expressive_talker.text.timeline import Timeline
from expressive_talker.text.transition import PromptSchedule

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH = os.path.join(ROOT, "examples", "cmu_arctic_a0007.flac")  # a real voice, 4 s
FPS = 30


@pytest.fixture(scope="module")
def wave():
    return load_audio(SPEECH)


@pytest.fixture(scope="module")
def single(wave):
    return {e: animate_speech(wave, e, still=True) for e in ("happy", "angry", "sad")}


def test_the_schedule_eases_from_the_mix_shown_to_the_new_prompt():
    schedule = PromptSchedule(fps=30, ease_s=0.3)
    schedule.change(1, at_frame=10)
    w = schedule.weights(0, 30)
    assert np.allclose(w.sum(1), 1) and (w[:11, 0] == 1).all() and (w[19:, 1] == 1).all()
    assert (np.diff(w[:, 1]) >= 0).all() and np.diff(w[:, 1]).max() < 0.2  # eased over 9 frames, no jump
    schedule.change(2, at_frame=15)  # a change mid-ease starts from the mix shown then
    v = schedule.weights(0, 40)
    assert np.allclose(v[15, :2], w[15]) and (v[24:, 2] == 1).all()
    assert np.allclose(schedule.weights(17, 5), v[17:22])  # any window gives the same frames
    assert schedule.ends() == {0: 24, 1: 24}


def test_the_face_changes_when_the_timeline_says_and_each_stretch_is_its_prompts(wave, single):
    timeline = Timeline.make("happy", [(2.0, "angry")], ease_s=0.5)
    animation = animate_speech(wave, None, timeline=timeline, still=True)
    weights = animation.arkit_weights()
    assert read_expression(weights[: 2 * FPS])[0] == "happy"
    assert read_expression(weights[int(2.6 * FPS) :])[0] == "angry"
    # Before the change and once it has eased in, the face is what each prompt alone makes.
    switch, eased = 2 * FPS, int(np.ceil((2.0 + 0.5) * FPS))
    np.testing.assert_allclose(animation.vertices[:switch], single["happy"].vertices[:switch], atol=1e-5)
    np.testing.assert_allclose(animation.vertices[eased + 1 :], single["angry"].vertices[eased + 1 :], atol=1e-5)
    # The ease has no cut: no vertex moves further in a frame than the prompts' own clips make.
    largest = max(np.linalg.norm(np.diff(a.vertices, axis=0), axis=-1).max() for a in single.values())
    assert np.linalg.norm(np.diff(animation.vertices, axis=0), axis=-1).max() <= largest * 1.01
    # ... and it is eased: the expression is halfway or so in the middle of it.
    expression = weights[:, EXPRESSION_CHANNELS]
    a, b = (single[e].arkit_weights()[:, EXPRESSION_CHANNELS] for e in ("happy", "angry"))
    middle = int(2.25 * FPS)
    share = np.linalg.norm(expression[middle] - a[middle]) / np.linalg.norm(b[middle] - a[middle])
    assert 0.2 < share < 0.8


def test_a_timeline_applies_to_expclip_too(wave):
    timeline = Timeline.make("happy", [(2.0, "sad")])
    weights = animate_speech(wave, None, "expclip", timeline=timeline, still=True).arkit_weights()
    assert read_expression(weights[: 2 * FPS])[0] != read_expression(weights[int(2.6 * FPS) :])[0]


def test_one_row_and_strength_one_are_the_plain_prompt(wave, single):
    plain = single["happy"].vertices
    assert np.array_equal(animate_speech(wave, None, timeline=Timeline.make("happy"), still=True).vertices, plain)
    assert np.array_equal(animate_speech(wave, "happy", strength=1.0, still=True).vertices, plain)


def test_strength_scales_the_expression_and_not_the_speech(wave, single):
    rig = load_rig()
    levels = {}
    for strength in (0.0, 1.0, 2.0):
        weights = rig.solve(animate_speech(wave, "angry", strength=strength, still=True).vertices)
        levels[strength] = weights
    assert read_expression(levels[0.0])[0] == "neutral"
    assert read_expression(levels[2.0]) == ("angry", 1.0) and read_expression(levels[1.0])[1] < 1.0
    # The speech still drives the jaw the same way at every strength.
    jaw = INDEX["jawOpen"]
    for strength in (0.0, 2.0):
        assert np.corrcoef(levels[strength][:, jaw], levels[1.0][:, jaw])[0, 1] > 0.95
    with pytest.raises(InputError, match="strength"):
        animate_speech(wave, "angry", strength=2.5)


def test_a_sweep_runs_from_prompt_a_to_prompt_b(wave):
    weights = animate_speech(wave, "happy", text_b="sad", sweep=True, still=True).arkit_weights()
    assert read_expression(weights[:20])[0] == "happy" and read_expression(weights[-20:])[0] == "sad"


def test_the_motion_layer_follows_the_stretch_it_is_in(wave):
    timeline = Timeline.make("happy", [(2.0, "sad")])
    animation = animate_speech(wave, None, timeline=timeline)
    pitch = animation.head_rotation[:, 0]  # > 0 tips the face down: sadness lets the head hang
    assert pitch[int(2.8 * FPS) :].mean() > pitch[: 2 * FPS].mean() + 1.0


@pytest.mark.parametrize(
    "later, message",
    [
        ([(2.0, "angry"), (1.0, "sad")], "row 3 .*must increase"),
        ([(-1, "angry")], "row 2.*positive"),
        ([(2.0, "angry"), (2.0, "sad")], "row 3 .*same time"),
        ([(2.0, "  ")], "row 2 .*prompt is empty"),
        ([("soon", "angry")], "row 2.*number"),
        ([(i + 1.0, "angry") for i in range(40)], "at most 32 rows"),
    ],
)
def test_bad_rows_get_one_message_naming_the_row(later, message):
    with pytest.raises(InputError, match=message):
        Timeline.make("calm", later)


def test_a_row_past_the_clips_end_is_named(wave):
    with pytest.raises(InputError, match=r"row 2 \(9 s\).*clip ends at 4"):
        animate_speech(wave, None, timeline=Timeline.make("calm", [(9.0, "furious")]))


def test_the_api_form_and_the_export_record_are_one_timeline():
    timeline = Timeline.from_request("calm", '{"rows": [{"at": 4.5, "prompt": "furious"}], "ease_s": 0.3}')
    assert timeline.to_json() == {"rows": [{"at": 0.0, "prompt": "calm"}, {"at": 4.5, "prompt": "furious"}], "ease_s": 0.3}
    assert Timeline.from_request("calm", timeline.to_json()) == timeline  # the .json export's record reads back
    assert Timeline.from_request("calm", None) is None and Timeline.from_request("calm", {"rows": []}) is None
    with pytest.raises(InputError, match="not the main prompt"):
        Timeline.from_request("calm", [[0, "sad"], [1, "angry"]])


@pytest.mark.slow
def test_generate_at_writes_the_timeline_into_the_json_export(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "expressive_talker", "generate", "--audio", SPEECH, "--out", str(tmp_path / "o.mp4"), "--size", "256", "--quiet", *args], capture_output=True, text=True, timeout=600)

    result = run("--text", "calm", "--at", "1.5", "furious", "--at", "3", "a little amused", "--ease", "0.3", "--export-dir", str(tmp_path / "exp"))
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)["exports"]
    with open(exports["json"], encoding="utf-8") as f:
        recorded = json.load(f)["timeline"]
    assert recorded == {"rows": [{"at": 0.0, "prompt": "calm"}, {"at": 1.5, "prompt": "furious"}, {"at": 3.0, "prompt": "a little amused"}], "ease_s": 0.3}
    bad = run("--text", "calm", "--at", "3", "furious", "--at", "2", "sad")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: timeline row 3 (2 s): the times must increase, and row 2 is at 3 s"]
