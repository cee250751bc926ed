"""Forced alignment of English speech to its transcript with pocketsphinx: wav + text -> phones.

pocketsphinx ships a US-English acoustic model and the CMU pronouncing dictionary inside its
wheel. Alignment runs twice over the audio, as the library's own alignment example does: a
word-level pass with the transcript as the only allowed sentence, then a phone/state pass
inside the words it found. Phones come back as ARPAbet at 10 ms frames; silences (SIL and
noise fillers) become ``pau``.
"""

from __future__ import annotations

import re

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..data.phones import normalize_phone
from ..errors import InputError


def transcript_words(text: str) -> list[str]:
    """Lower-case words of a transcript, punctuation dropped (apostrophes kept: "can't")."""
    return re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower())


def align(wave: np.ndarray, transcript: str) -> list[tuple[float, float, str]]:
    """16 kHz mono float waveform + its transcript -> [(start_s, end_s, phone)], covering the clip."""
    from pocketsphinx import Decoder

    words = transcript_words(transcript)
    if not words:
        raise InputError("the transcript has no words to align")
    decoder = Decoder(lm=None, samprate=SAMPLE_RATE, loglevel="FATAL")
    unknown = [w for w in words if decoder.lookup_word(w) is None]
    if unknown:
        raise InputError(f"not in pocketsphinx's dictionary: {', '.join(sorted(set(unknown)))}")
    pcm = (np.clip(wave, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    decoder.set_align_text(" ".join(words))
    for phone_pass in (False, True):
        if phone_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=False, full_utt=True)
        decoder.end_utt()
        # (hyp() is only safe to ask after the word pass: after the phone pass it crashes)
        if not phone_pass and decoder.hyp() is None:
            raise InputError("pocketsphinx could not align the transcript to the audio")
    step = 1.0 / decoder.config["frate"]
    phones: list[tuple[float, float, str]] = []
    for word in decoder.get_alignment():
        for phone in word:
            name = normalize_phone(phone.name, "arpabet") or "pau"  # SIL, +NSN+, ... -> pau
            start, end = phone.start * step, (phone.start + phone.duration) * step
            if phones and phones[-1][2] == name == "pau":
                phones[-1] = (phones[-1][0], round(end, 3), "pau")
            else:
                phones.append((round(start, 3), round(end, 3), name))
    seconds = len(wave) / SAMPLE_RATE
    if phones and phones[-1][1] < seconds:  # the decoder stops at its last full frame
        if phones[-1][2] == "pau":
            phones[-1] = (phones[-1][0], round(seconds, 3), "pau")
        else:
            phones.append((phones[-1][1], round(seconds, 3), "pau"))
    return phones
