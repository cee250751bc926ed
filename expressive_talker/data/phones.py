"""One phone set for every engine, and the viseme each phone makes.

The common set is ARPAbet without stress digits (lower case) plus ``pau`` for silence. flite
and festival already speak it (``h#``/``#``/``sil`` become ``pau``); espeak-ng's own mnemonics
are mapped below. Diphthongs stay single phones here; ``lips.py`` splits them into two
mouth targets.
"""

from __future__ import annotations

ARPABET = (
    "aa ae ah ao aw ax ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th "
    "uh uw v w y z zh pau"
).split()
VOWELS = frozenset("aa ae ah ao aw ax ay eh er ey ih iy ow oy uh uw".split())

_ALIASES = {"h#": "pau", "#": "pau", "sil": "pau", "sp": "pau", "axr": "er", "ix": "ih", "ux": "uw", "dx": "d", "el": "l", "em": "m", "en": "n", "nx": "n", "hv": "hh", "q": "pau"}

# espeak-ng mnemonics (English voices) -> ARPAbet. Longest match wins after stripping stress/length marks.
_ESPEAK = {
    "_": "pau", "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "f": "f", "v": "v",
    "T": "th", "D": "dh", "s": "s", "z": "z", "S": "sh", "Z": "zh", "h": "hh", "tS": "ch",
    "dZ": "jh", "m": "m", "n": "n", "N": "ng", "l": "l", "r": "r", "w": "w", "j": "y", "?": "pau",
    "@": "ax", "3": "er", "a": "ae", "a#": "ax", "aa": "aa", "A": "aa", "A@": "aa", "aI": "ay",
    "aI@": "ay", "aU": "aw", "aU@": "aw", "E": "eh", "e": "eh", "e@": "eh", "eI": "ey", "i": "iy",
    "i@": "iy", "I": "ih", "I#": "ih", "0": "aa", "O": "ao", "O@": "ao", "o@": "ao", "oU": "ow",
    "o": "ow", "OI": "oy", "u": "uw", "U": "uh", "U@": "uh", "V": "ah",
}  # fmt: skip


def normalize_phone(phone: str, engine: str) -> str | None:
    """An engine's phone label -> the common set, or None for a label that makes no sound."""
    p = phone.strip()
    if not p:
        return None
    if engine == "espeak":
        if p.startswith("_"):
            return "pau"
        core = p.rstrip("0123456789:;-/!#") or p  # "i@3", "r-", "l/", "O:" -> base symbol
        if p in ("a#", "I#"):
            core = p
        for cut in range(len(core), 0, -1):
            if core[:cut] in _ESPEAK:
                return _ESPEAK[core[:cut]]
        return None
    p = p.lower().rstrip("012")
    p = _ALIASES.get(p, p)
    return p if p in ARPABET else None
