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
    assert set(reading) == {"emotion", "intensity", "mix", "confidence", "notes", "second", "parts"}
    assert (reading["emotion"], reading["intensity"]) == ("disgusted", "slight") and reading["notes"] == []
    assert set(reading["mix"]) == set(EMOTIONS) and sum(reading["mix"].values()) == pytest.approx(1.0, abs=0.01)
    assert max(reading["mix"], key=reading["mix"].get) == "disgusted" and 0.6 <= reading["confidence"] <= 1.0
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
        assert any("unlike the descriptions it learned from" in n for n in read_prompt(prompt).notes), prompt
    for prompt in ("furious", "slightly disgusted", "a little bit scared"):
        assert read_prompt(prompt).notes == [], prompt


def test_summary_line_is_what_the_app_shows():
    reading = read_prompt("slightly disgusted")
    second = f", with {reading.second}" if reading.second else ""
    assert reading.summary() == f"read as: disgusted, slight{second} ({round(100 * reading.confidence)}%)"
    neutral = read_prompt("calm")
    assert neutral.summary().startswith(f"read as: {neutral.emotion} (")


def test_rare_words_are_looked_up_and_read_by_their_meaning():
    reading = read_prompt("absolutely flabbergasted")
    assert reading.emotion == "surprised"
    assert any(n.startswith("looked up 'flabbergasted'") for n in reading.notes)


def test_two_feelings_are_both_named_and_both_on_the_face():
    """The issue's report: "a bit sad but trying to smile" read as sad alone, the smile lost."""
    from expressive_talker.text.reading import read_with_evidence

    reading, evidence = read_with_evidence("a bit sad but trying to smile")
    assert set(list(reading.mix)[:2]) == {"sad", "happy"} and reading.parts == ["a bit sad", "trying to smile"]
    assert reading.second in ("sad", "happy") and f", with {reading.second}" in reading.summary()
    # the face is made from the blend: it shows more smile than the sad part alone and more sadness than the smile alone
    sad_alone, smile_alone = read_with_evidence("a bit sad")[1].face, read_with_evidence("trying to smile")[1].face
    assert evidence.face["happy"] > sad_alone["happy"] and evidence.face["sad"] > smile_alone["sad"]


def test_the_note_and_the_percentage_never_disagree():
    """An unsure note comes with a percentage under 60%, and a percentage under 60% with a note."""
    from expressive_talker.text.reading import UNSURE

    for prompt in ("over the moon", "furious", "the quarterly tax report", "scared but excited", "slightly disgusted", "photosynthesis in plants"):
        reading = read_prompt(prompt)
        unsure = any(n.startswith("the model is unsure") for n in reading.notes)
        assert unsure == (reading.confidence < UNSURE), (prompt, reading)


@pytest.mark.xfail(strict=True, reason="issue 32, not met: the shipped MiniLM model reads 'over the moon' as sad at 67% (mpnet reads it as happy but was not shipped: weights/README.md)")
def test_over_the_moon_is_read_as_happy_or_said_to_be_unsure():
    from expressive_talker.text.reading import UNSURE

    moon = read_prompt("over the moon")
    assert moon.emotion == "happy" or moon.confidence < UNSURE, moon


def test_read_prompt_cli_names_the_second_feeling():
    result = run_cli("read-prompt", "scared but excited")
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("read as: ") and ", with " in first and {"fearful", "happy"} <= set(first.replace(",", " ").split())
    assert second == "two feelings: scared | excited"


def test_score_prompts_scores_a_prompt_set(tmp_path):
    path = tmp_path / "set.tsv"
    path.write_text("# kind, emotions, prompt\nword\tangry\tfurious\nword\thappy\tfurious\nmixed\tfearful+happy\tscared but excited\n", encoding="utf-8")
    result = run_cli("score-prompts", "--set", str(path), "--json", str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    scored = json.loads((tmp_path / "out.json").read_text())
    assert scored["prompts"] == 3 and [r["right"] for r in scored["rows"]][:2] == [True, False]
    assert scored["two_feelings"] == 1 and scored["two_feelings_top_two"] == 1.0
    assert scored["confident_misreads"] == pytest.approx(1 / 3, abs=1e-3)  # "furious" meant as happy, read as angry with confidence
