"""German, Spanish and French speech from espeak-ng with its own phone timings, one
``evaluate-lipsync`` folder per language (``OUT/de``, ``OUT/es``, ``OUT/fr``):

    python -m expressive_talker.lipsync build-espeak --out data/espeak-lipsync
    python -m expressive_talker evaluate-lipsync --data data/espeak-lipsync/de

espeak-ng reports each phone it speaks (libespeak-ng phoneme events, as the corpus uses for
English). The benchmark needs ARPAbet; each language's phones map to the nearest English mouth
shape. What the scores rest on is exact: p, b, m stay p, b, m (German "pf" starts with a p
closure), and the open vowels (a, a:, French "an") become aa, ai and au become ay and aw.
Spanish b/v between vowels is a fricative (espeak "B") whose lips do not close: it is not
counted as a bilabial. espeak-ng times a stop from its release (p and b last about 20 ms);
the benchmark's one-frame margin either side of a phone covers the closure before it. Each
sentence is spoken by a male and a female espeak voice.
"""

from __future__ import annotations

import json
import os

from ..audio.io import SAMPLE_RATE

VOICES = {"de": ("de", "de+f3"), "es": ("es", "es+f3"), "fr": ("fr", "fr+f3")}
# Our own sentences, rich in bilabials and open vowels.
SENTENCES = {
    "de": (
        "Mein Bruder bringt morgen Milch und Brot mit.",
        "Papa baut im Park einen bunten Ballon.",
        "Am Montag malt Mama ein Bild vom Meer.",
        "Bitte pack die Bananen in die blaue Tasche.",
    ),
    "es": (
        "Mi madre compró pan y mermelada en el mercado.",
        "Pablo mira el mapa de la montaña.",
        "Mañana vamos a la playa con mi primo.",
        "El pájaro blanco come maíz en el campo.",
    ),
    "fr": (
        "Mon père boit un bol de lait le matin.",
        "Le petit bateau blanc part pour Marseille.",
        "Maman prépare une pomme au beurre pour papa.",
        "Le bébé mange des pâtes dans la maison.",
    ),
}
# espeak-ng mnemonics of these languages (length and stress marks stripped) -> ARPAbet.
_MAP = {
    "p": "p", "b": "b", "m": "m", "pF": "p", "f": "f", "v": "v", "B": "v", "t": "t", "d": "d", "D": "dh",
    "T": "th", "n": "n", "n^": "n", "N": "ng", "J": "n", "J^": "n", "l": "l", "l^": "l", "s": "s", "z": "z",
    "S": "sh", "Z": "zh", "ts": "t", "tS": "ch", "dZ": "jh", "k": "k", "g": "g", "G": "g", "x": "hh",
    "C": "hh", "h": "hh", "r": "r", "R": "r", "**": "r", "j": "y", "w": "w", "W": "uh", "H": "w",
    "a": "aa", "A": "aa", "A~": "aa", "aI": "ay", "aU": "aw", "OY": "oy", "e": "eh", "E": "eh",
    "E~": "eh", "i": "iy", "I": "ih", "o": "ow", "O": "ao", "O~": "ao", "u": "uw", "U": "uh",
    "y": "uw", "Y": "uh", "W~": "uh", "2": "uh", "9": "uh", "@": "ax", "3": "ax", "6": "ax", "?": "pau",
}  # fmt: skip


def to_arpabet(phone: str) -> str | None:
    """An espeak-ng phone of de/es/fr -> ARPAbet; ``pau`` for pauses, None for an unknown label."""
    if phone.startswith("_"):
        return "pau"
    core = phone.rstrip(":;-!#'0123456789") or phone
    return _MAP.get(core)


def build_espeak(out: str, progress: bool = True) -> list[dict]:
    """Speak every sentence with every voice into ``out``; returns one row per clip."""
    import soundfile as sf
    from tqdm import tqdm

    from ..data.tts import Prosody, Voice, _espeak

    for lang in SENTENCES:
        os.makedirs(os.path.join(out, lang), exist_ok=True)
    jobs = [(lang, voice, i, text) for lang, texts in SENTENCES.items() for voice in VOICES[lang] for i, text in enumerate(texts)]
    rows, engine = [], _espeak()
    for lang, voice, i, text in tqdm(jobs, desc="espeak", unit="clip", disable=not progress):
        wave, segments = engine.synth(text, Voice(voice, "espeak", voice, 120.0), Prosody())
        phones, unknown = [], set()
        for label, t0, t1 in segments:
            name = to_arpabet(label)
            if name is None:
                unknown.add(label)
                continue
            if phones and phones[-1][2] == name == "pau":
                phones[-1][1] = round(t1, 4)
            else:
                phones.append([round(t0, 4), round(t1, 4), name])
        if unknown:
            raise RuntimeError(f"{voice}: espeak-ng phones with no mapping: {sorted(unknown)}")
        name = f"{voice.replace('+', '-')}-{i}"
        base = os.path.join(out, lang, name)
        sf.write(base + ".wav", wave, SAMPLE_RATE, subtype="PCM_16")  # synth() already resampled it
        with open(base + ".phones.json", "w") as f:
            json.dump(phones, f)
        rows.append({"name": f"{lang}/{name}", "language": lang, "voice": voice, "text": text, "phones": len(phones)})
    with open(os.path.join(out, "SOURCES.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return rows
