"""A small reader of the WordNet 3.0 database files (Debian ``wordnet-base``, /usr/share/wordnet).

NLTK's reader wants a ``lexnames`` file that package lacks, and only two lookups are needed: a
lemma's synsets (``index.POS``: ``lemma pos n_synsets ... offset...``, the offsets last) and a
synset's words and gloss (``data.POS`` at that byte offset: ``offset lexfile type n_words(hex)
word lex_id ... | gloss``). Inflected forms are reduced to their lemma the way WordNet's
``morphy`` does: the exception lists (``POS.exc``), then the regular suffix rules.

WordNet 3.0 is © Princeton University, under the WordNet licence (free to use, copy and
distribute with its copyright notice: /usr/share/doc/wordnet-base/copyright).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

WORDNET_DIR = os.environ.get("EXPRESSIVE_TALKER_WORDNET", "/usr/share/wordnet")
# Adjectives first: the words people use for a face are mostly adjectives ("haughty", "livid").
POS_ORDER = ("adj", "adv", "verb", "noun")
SUFFIXES = {  # morphy's detachment rules: (suffix, replacement)
    "noun": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "verb": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}


@dataclass(frozen=True)
class Synset:
    words: tuple[str, ...]  # lemmas, with spaces for underscores
    gloss: str  # the definition, without its example sentences


def available() -> bool:
    return os.path.isfile(os.path.join(WORDNET_DIR, "index.adj"))


@functools.lru_cache(maxsize=None)
def _index(pos: str) -> dict[str, tuple[int, ...]]:
    """lemma -> synset offsets, in WordNet's sense order (most frequent first)."""
    out = {}
    with open(os.path.join(WORDNET_DIR, f"index.{pos}"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(" "):  # the licence header
                continue
            fields = line.split()
            count = int(fields[2])
            out[fields[0]] = tuple(int(o) for o in fields[-count:])
    return out


@functools.lru_cache(maxsize=None)
def _exceptions(pos: str) -> dict[str, str]:
    path = os.path.join(WORDNET_DIR, f"{pos}.exc")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {fields[0]: fields[1] for fields in (line.split() for line in f) if len(fields) >= 2}


@functools.lru_cache(maxsize=4096)
def _synset(pos: str, offset: int) -> Synset:
    with open(os.path.join(WORDNET_DIR, f"data.{pos}"), "rb") as f:
        f.seek(offset)
        line = f.readline().decode("utf-8")
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    count = int(fields[3], 16)
    words = tuple(fields[4 + 2 * i].split("(")[0].replace("_", " ") for i in range(count))
    definition = gloss.split(';')[0].strip().strip('"').strip()
    return Synset(words, definition)


def lemma(word: str, pos: str) -> str | None:
    """``word``'s base form that WordNet lists under ``pos``, or None. In a phrase the first word
    is the one reduced ("looking down on" -> "look_down_on")."""
    head, _, rest = word.lower().replace(" ", "_").partition("_")
    index = _index(pos)
    for base in [head, _exceptions(pos).get(head)] + [head[: len(head) - len(s)] + r for s, r in SUFFIXES[pos] if head.endswith(s)]:
        candidate = f"{base}_{rest}" if rest and base else base
        if candidate and candidate in index:
            return candidate
    return None


def senses(word: str, parts_of_speech=POS_ORDER) -> tuple[str, list[Synset]]:
    """(base form, its senses, most frequent first) of ``word`` (a single word or a phrase such
    as "fed up") under the first part of speech in order that has it; ("", []) when WordNet does
    not know it."""
    for pos in parts_of_speech:
        base = lemma(word, pos)
        if base is not None:
            return base.replace("_", " "), [_synset(pos, offset) for offset in _index(pos)[base]]
    return "", []
