"""Rare words and set phrases in a prompt, explained with WordNet before the encoder reads them.

MiniLM's tokenizer cuts words it does not know into pieces that carry no meaning ("flabbergasted"
-> fl, ##ab, ##berg, ##ast, ##ed), so such a prompt lands far from what it means. Each word the
tokenizer splits, and each run of 2-4 words that WordNet lists as one entry ("down in the mouth",
"fed up"), is followed by one WordNet sense: the synonyms the tokenizer knows whole and the
definition, e.g. "flabbergasted (dumbfounded: as if struck dumb with astonishment and surprise)".
The sense is the one whose definition the encoder finds nearest to a description of a face or a
feeling (the training descriptions' wordings): "bubbly" is "full of high-spirited merriment", not
"emitting bubbles"; "livid" is "furiously angry", not "ashen".
Words and phrases the training descriptions contain are left as they are: the text adapter and
the models learned them as written (explaining "held back" in "It is slight and held back"
misread 8% of the training descriptions). Without WordNet installed (Debian ``wordnet-base``)
prompts pass through unchanged.
"""

from __future__ import annotations

import functools
import re

from . import wordnet

MAX_PHRASE_WORDS = 4
MAX_SYNONYMS = 2
PHRASE_PARTS_OF_SPEECH = ("adj", "verb", "noun")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def expand_prompt(text: str, splits, choose=None) -> tuple[str, list[tuple[str, str]]]:
    """(the prompt with explanations inserted, [(word or phrase, explanation)]). ``splits(word)``
    tells whether the encoder's tokenizer cuts the word into pieces; ``choose(glosses)`` picks the
    index of the sense meant (default: the most frequent, the first)."""
    if not wordnet.available():
        return text, []
    matches = list(WORD.finditer(text))
    pieces, explained, cursor, i = [], [], 0, 0
    while i < len(matches):
        for n in range(min(MAX_PHRASE_WORDS, len(matches) - i), 0, -1):
            chunk = [m.group() for m in matches[i : i + n]]
            explanation = _explain(chunk, splits, choose) if n == 1 or _adjacent(matches[i : i + n], text) else None
            if explanation:
                end = matches[i + n - 1].end()
                pieces.append(f"{text[cursor:end]} ({explanation})")
                explained.append((" ".join(chunk), explanation))
                cursor, i = end, i + n
                break
        else:
            i += 1
    pieces.append(text[cursor:])
    return "".join(pieces), explained


@functools.lru_cache(maxsize=1)
def _training_text() -> str:
    """Every training description, lower-case, one per line, padded with spaces."""
    from ..data.descriptions import labelled_descriptions

    return "\n".join(f" {' '.join(WORD.findall(text.lower()))} " for text, _, _ in labelled_descriptions("train"))


def _learned(phrase: str) -> bool:
    """Whether the phrase occurs in a training description: the models learned those as written."""
    return f" {phrase.lower()} " in _training_text()


def _adjacent(matches, text: str) -> bool:
    """Words separated by single spaces only (a phrase, not words across punctuation)."""
    return all(text[a.end() : b.start()] == " " for a, b in zip(matches, matches[1:]))


def _explain(words: list[str], splits, choose) -> str | None:
    phrase = " ".join(words)
    if _learned(phrase) or (len(words) == 1 and not splits(phrase)):
        return None
    base, senses = wordnet.senses(phrase) if len(words) == 1 else wordnet.senses(phrase, PHRASE_PARTS_OF_SPEECH)
    if not senses or (len(words) == 1 and not splits(base)):  # "dumps": its base form "dump" is known whole
        return None
    sense = senses[choose([s.gloss for s in senses]) if choose and len(senses) > 1 else 0]
    synonyms = [w for w in sense.words if w.lower() != phrase.lower() and " " not in w and not splits(w)][:MAX_SYNONYMS]
    return f"{', '.join(synonyms)}: {sense.gloss}" if synonyms else sense.gloss
