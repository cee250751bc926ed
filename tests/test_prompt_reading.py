"""How a prompt was read: ``read-prompt`` and ``text.reading.read_prompt`` with the shipped weights."""

import json
import subprocess
import sys

import pytest

from expressive_talker.face.expressions import EMOTIONS
from expressive_talker.text.reading import read_prompt


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_read_prompt_cli_names_emotion_intensity_and_mix():
    result = run_cli("read-prompt", "slightly disgusted", "--json")
    assert result.returncode == 0, result.stderr
    reading = json.loads(result.stdout)
    assert set(reading) == {"emotion", "intensity", "mix", "confidence", "notes"}
    assert (reading["emotion"], reading["intensity"]) == ("disgusted", "slight") and reading["notes"] == []
    assert set(reading["mix"]) == set(EMOTIONS) and sum(reading["mix"].values()) == pytest.approx(1.0, abs=0.01)
    assert max(reading["mix"], key=reading["mix"].get) == "disgusted" and reading["confidence"] == reading["mix"]["disgusted"]
    assert run_cli("read-prompt", "furious").stdout.startswith("read as: angry")


def test_read_prompt_cli_user_mistakes_exit_2():
    result = run_cli("read-prompt", "   ")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == ["error: the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'"]
    result = run_cli("read-prompt", "happy", "--method", "faceformer")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == ["error: FaceFormer does not take an expression prompt"]


@pytest.mark.parametrize("prompt, emotion", [("😡", "angry"), ("🤢", "disgusted"), ("😢", "sad")])
def test_emoji_are_read_as_what_they_show_and_named(prompt, emotion):
    reading = read_prompt(prompt)
    assert reading.emotion == emotion
    assert any(prompt in note for note in reading.notes)


def test_intensity_words_follow_the_prompt():
    assert read_prompt("slightly sad").intensity == "slight"
    assert read_prompt("extremely sad").intensity in ("moderate", "strong")
    assert read_prompt("calm").intensity == "none"


def test_other_languages_and_unrelated_text_get_a_note():
    notes = read_prompt("有点厌恶").notes  # "slightly disgusted" in Chinese
    assert any("only English prompts are understood" in n for n in notes)
    for prompt in ("the quarterly tax report", "photosynthesis in plants"):
        assert any("unlike the descriptions the model learned from" in n for n in read_prompt(prompt).notes), prompt
    for prompt in ("furious", "slightly disgusted", "a little bit scared"):
        assert read_prompt(prompt).notes == [], prompt


def test_summary_line_is_what_the_app_shows():
    reading = read_prompt("slightly disgusted")
    assert reading.summary() == f"read as: disgusted, slight ({round(100 * reading.confidence)}%)"
    neutral = read_prompt("calm")
    assert neutral.summary().startswith(f"read as: {neutral.emotion} (")


def test_rare_words_are_looked_up_and_read_by_their_meaning():
    reading = read_prompt("absolutely flabbergasted")
    assert reading.emotion == "surprised"
    assert any(n.startswith("looked up 'flabbergasted'") for n in reading.notes)
