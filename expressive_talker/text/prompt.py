"""Expression prompts as users type them -> clean text for a text encoder.

Unicode is NFKC-normalised (full-width letters, ligatures, non-breaking spaces become their
plain forms), control characters dropped, whitespace collapsed. HTML or markup is just text:
nothing is stripped or interpreted. Emoji are read as their Unicode names ("😡" -> "enraged
face", through the ``emoji`` package), which the English text encoders understand; a prompt in
a script other than Latin, or in Latin letters but mostly words English does not have (neither
stop words nor in WordNet), gets a note that only English is understood.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import InputError

MAX_PROMPT_CHARS = 4000  # above any encoder's token limit (256 tokens is ~1500 characters); bounds tokenizer work


def normalize_prompt(text) -> tuple[str, list[str]]:
    """(clean prompt, notes for the user). Raises InputError for a missing or empty prompt."""
    if text is None:
        raise InputError("the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'")
    if not isinstance(text, str):
        raise InputError(f"the expression prompt must be text, not {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise InputError("the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'")
    notes = []
    text, read = _emoji_as_words(text)
    if read:
        notes.append("read " + ", ".join(f"{e} as '{words}'" for e, words in read))
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS].rstrip()
        notes.append(f"the prompt was cut to its first {MAX_PROMPT_CHARS} characters")
    foreign = sorted({_script(ch) for ch in text if ch.isalpha() and _script(ch) != "LATIN"})
    if foreign:
        notes.append(f"only English prompts are understood; this one is written in another script ({', '.join(foreign)}) and may be misread")
    elif _mostly_unknown_words(text):
        notes.append("only English prompts are understood; this one does not look like English and may be misread")
    return text, notes


def _emoji_as_words(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Emoji replaced by their Unicode names, and the (emoji, words) pairs that were read."""
    import emoji

    read = []

    def words(chars, data):
        name = data["en"].strip(":").replace("_", " ")
        read.append((chars, name))
        return f" {name} "

    text = emoji.replace_emoji(text, replace=words)
    return " ".join(text.split()), list(dict.fromkeys(read))


def _mostly_unknown_words(text: str) -> bool:
    """Whether most words (two letters or more) are neither English stop words nor in WordNet:
    a prompt in another language written in Latin letters ("très fâché", "muy enojado")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from . import wordnet

    words = [w.lower() for w in re.findall(r"[^\W\d_]+", text) if len(w) > 1]
    if not words or not wordnet.available():
        return False
    known = sum(w in ENGLISH_STOP_WORDS or any(wordnet.lemma(w, pos) for pos in wordnet.POS_ORDER) for w in words)
    return known < 0.5 * len(words)


def _script(ch: str) -> str:
    """The script of a letter, as the first word of its Unicode name (LATIN, CJK, CYRILLIC...)."""
    return unicodedata.name(ch, "UNKNOWN").split()[0]
