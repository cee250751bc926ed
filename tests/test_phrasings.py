"""The everyday-phrasing bank (data/phrasings.py): clean of the dev and check prompts, split
for measuring, and read as the prompt path reads a typed prompt."""

import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from expressive_talker.data import phrasings
from expressive_talker.data.descriptions import WORDS, labelled_descriptions
from expressive_talker.face.expressions import EMOTIONS
from expressive_talker.text.promptsets import load_set

# Words too common to make a three-word run distinctive ("feeling a bit", "out of my").
COMMON = ENGLISH_STOP_WORDS | {"im", "youre", "thats", "dont", "didnt", "cant", "its", "feel", "feeling", "just", "really", "bit", "face", "look", "looking", "like", "got", "get", "so"}


def normalised(text: str) -> list[str]:
    """Lower case, apostrophes dropped, everything that is not a letter or digit (punctuation,
    emoji) a space."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "").replace("’", "")).split()


def distinctive_runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2) if any(w not in COMMON for w in words[i : i + 3])}


def _contains(outer: list[str], inner: list[str]) -> bool:
    n = len(inner)
    return n > 0 and any(outer[i : i + n] == inner for i in range(len(outer) - n + 1))


def collisions(prompt: str, phrase: str) -> bool:
    p, b = normalised(prompt), normalised(phrase)
    if _contains(b, p) or (len(b) >= 2 and _contains(p, b)):
        return True
    return bool(distinctive_runs(p) & distinctive_runs(b))


def test_the_overlap_rule_catches_copies_and_near_copies():
    assert collisions("Over the moon!", "totally over the moon today 🌙")
    assert collisions("scared out of my wits", "scared out of her mind")  # "scared out of"
    assert collisions("😢 we lost the game", "sad: we lost the game")
    assert not collisions("feeling down", "feeling great")
    assert not collisions("out of my depth", "heart pounding out of my chest")  # only common words shared


@pytest.mark.parametrize("name", ["dev", "check"])
def test_no_prompt_of_the_sets_is_in_the_bank(name):
    bank = [t for e in phrasings.PHRASINGS for t in phrasings.PHRASINGS[e]]
    # Only the bank's side is printed: the check set is read once, at the end.
    hits = sorted({phrase for case in load_set(name) for phrase in bank if collisions(case.prompt, phrase)})
    assert not hits, f"bank phrasings that copy a {name} prompt: {hits}"


def test_every_emotion_has_a_broad_bank_and_a_held_out_share():
    assert set(phrasings.PHRASINGS) == set(EMOTIONS)
    for emotion in EMOTIONS:
        every = phrasings.phrasings(emotion, "all", as_read=False)
        assert len(every) >= 40 and len(set(every)) == len(every)
        train, held = phrasings.phrasings(emotion, "train", False), phrasings.phrasings(emotion, "heldout", False)
        assert set(train).isdisjoint(held) and len(train) + len(held) == len(every)
        assert 0.1 <= len(held) / len(every) <= 0.35


def test_phrasings_name_one_emotion_and_are_not_description_words():
    owner = {}
    for emotion, items in phrasings.PHRASINGS.items():
        for text in items:
            assert owner.setdefault(" ".join(normalised(text)), emotion) == emotion, text
    words = {w for ws in WORDS.values() for w in ws}
    assert not words & set(owner)
    descriptions = {t for t, _, _ in labelled_descriptions("all")}
    assert not descriptions & {t for items in phrasings.PHRASINGS.values() for t in items}


def test_emoji_are_read_as_words_as_at_inference():
    read = [t for e in EMOTIONS for t in phrasings.phrasings(e, "all")]
    assert not any(re.search(r"[\U0001F300-\U0001FAFF]", t) for t in read)
    assert any("face" in t for t in phrasings.phrasings("angry", "all"))  # 😡 -> "enraged face"


def test_intensity_clauses_follow_the_level():
    rng = np.random.default_rng(0)
    assert phrasings.with_intensity("hopping mad", "neutral", 0, rng) == "hopping mad"
    strong = {phrasings.with_intensity("hopping mad", "angry", 3, rng) for _ in range(20)}
    assert all(t.startswith("hopping mad ") for t in strong) and len(strong) > 1
    labelled = phrasings.labelled_phrasings("train")
    assert {lv for _, e, lv in labelled if e == "neutral"} == {0}
    assert {lv for _, e, lv in labelled if e == "sad"} == {1, 2, 3}
    assert not {t for t, _, _ in labelled} & {t for e in EMOTIONS for t in phrasings.phrasings(e, "heldout")}


@pytest.mark.slow
def test_stage2_prompts_take_the_phrasing_share_and_keep_the_descriptions(corpus16):
    from expressive_talker.models.batches import ClipBatches, CorpusTensors

    data = CorpusTensors(corpus16, "train", audio_backend=None, progress=False)
    plain = ClipBatches(data, frames=12, per_expression=16, seed=2)
    mixed = ClipBatches(data, frames=12, per_expression=16, seed=2, phrasing_share=0.25)
    train = {t for e in EMOTIONS for t in phrasings.phrasings(e, "train")}
    held = {t for e in EMOTIONS for t in phrasings.phrasings(e, "heldout")}
    emotions = [c for c in data.clips if c.action is None and c.emotion in EMOTIONS]
    assert emotions
    for expr, prompts in mixed.prompts.items():
        # The descriptions are those drawn without the bank; what is added is the bank's training half.
        added = set(prompts) - set(plain.prompts[expr])
        assert set(plain.prompts[expr]) <= set(prompts)
        assert all(any(t == p or t.startswith(p + " ") for p in train) for t in added)
        assert not any(t in held for t in prompts)
        emotion = next(c.emotion for c in data.clips if c.expression == expr)
        assert all(any(t == p or t.startswith(p + " ") for p in phrasings.phrasings(emotion, "train")) for t in added)
        if next(c for c in data.clips if c.expression == expr).action is None:
            share = len(added) / len(prompts)
            assert 0.15 <= share <= 0.3, (expr, share)
        else:
            assert not added
    assert mixed.bank[expr].shape[0] == len(mixed.prompts[expr])


def test_the_held_out_phrasings_are_a_prompt_set():
    cases = load_set("phrasings-heldout")
    assert {c.emotions for c in cases} == {(e,) for e in EMOTIONS}
    assert sorted(c.prompt for c in cases) == sorted(t for e in EMOTIONS for t in phrasings.phrasings(e, "heldout", as_read=False))
