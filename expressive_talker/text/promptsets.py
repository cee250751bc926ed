"""Prompt sets with intended emotions (``prompt_sets/``), read by a model and scored.

``dev.tsv`` is for choosing and calibrating; ``check.tsv`` (64 prompts none of which is in the
repository's training text: idioms, slang, emoji with words, two feelings, face actions) is read
once, at the end, for the numbers the model card reports. Each line: kind, intended emotion(s)
("happy+sad" for two feelings: either one counts as right), prompt.

Scores (``score``):
- ``accuracy``: the reading's emotion is one the prompt intends;
- ``two_feelings_top_two``: of the two-feeling prompts, those whose mix has both in its top two
  (``two_feelings_face_top_two``: the same of the face itself, read alone);
- ``confident_misreads``: readings that are wrong at ``UNSURE`` (60%) confidence or more, as a
  share of the whole set;
- ``ece`` and ``reliability``: how well the confidence matches the accuracy (``calibration.py``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

SETS_DIR = os.path.join(os.path.dirname(__file__), "prompt_sets")


@dataclass(frozen=True)
class PromptCase:
    kind: str
    emotions: tuple[str, ...]
    prompt: str


def load_set(name: str) -> list[PromptCase]:
    """``dev``, ``check``, ``phrasings-heldout`` (the held-out half of the everyday phrasings,
    ``data/phrasings.py``: never trained on) or a path to a file in the same format."""
    if name == "phrasings-heldout":
        from ..data.phrasings import PHRASINGS, phrasings

        return [PromptCase("phrasing", (e,), t) for e in PHRASINGS for t in phrasings(e, "heldout", as_read=False)]
    path = name if os.path.isfile(name) else os.path.join(SETS_DIR, f"{name}.tsv")
    cases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                kind, emotions, prompt = line.rstrip("\n").split("\t")
                cases.append(PromptCase(kind, tuple(emotions.split("+")), prompt))
    return cases


def heldout_cases(count: int, seed: int = 0) -> list[PromptCase]:
    """A fixed sample of held-out training descriptions (never trained on) that name one of the
    eight emotions: calibration sees the wording the model knows as well as what users type."""
    from ..data.descriptions import labelled_descriptions
    from ..face.expressions import EMOTIONS

    pool = sorted({(t, label) for t, label, _ in labelled_descriptions("heldout") if label in EMOTIONS})
    picked = np.random.default_rng(seed).choice(len(pool), min(count, len(pool)), replace=False)
    return [PromptCase("heldout", (pool[i][1],), pool[i][0]) for i in sorted(picked)]


def read_cases(cases: list[PromptCase], method: str = "ours", weights_dir: str | None = None) -> list[dict]:
    """One row per prompt: what was intended, what was read, and the evidence behind the confidence."""
    from .reading import read_with_evidence

    rows = []
    for case in cases:
        started = time.perf_counter()
        reading, evidence = read_with_evidence(case.prompt, method, weights_dir)
        top_two = list(reading.mix)[:2]
        rows.append({
            "prompt": case.prompt, "kind": case.kind, "intended": list(case.emotions),
            "emotion": reading.emotion, "second": reading.second, "confidence": reading.confidence,
            "right": reading.emotion in case.emotions,
            "both_in_top_two": len(case.emotions) > 1 and set(case.emotions) <= set(top_two),
            "face_both_in_top_two": len(case.emotions) > 1 and set(case.emotions) <= set(list(evidence.face)[:2]),
            "share": evidence.share, "similarity": round(evidence.similarity, 4), "agreement": evidence.agreement, "mixed": evidence.mixed,
            "notes": reading.notes, "seconds": round(time.perf_counter() - started, 3),
        })
    return rows


def score(rows: list[dict]) -> dict:
    from .calibration import reliability
    from .reading import UNSURE

    right = [r["right"] for r in rows]
    two = [r for r in rows if len(r["intended"]) > 1]
    ece, diagram = reliability([r["confidence"] for r in rows], right)
    return {
        "prompts": len(rows),
        "accuracy": round(float(np.mean(right)), 4),
        "two_feelings": len(two),
        "two_feelings_top_two": round(float(np.mean([r["both_in_top_two"] for r in two])), 4) if two else None,
        "two_feelings_face_top_two": round(float(np.mean([r["face_both_in_top_two"] for r in two])), 4) if two else None,
        "confident_misreads": round(float(np.mean([not r["right"] and r["confidence"] >= UNSURE for r in rows])), 4),
        "ece": ece,
        "reliability": diagram,
        "by_kind": {k: round(float(np.mean([r["right"] for r in rows if r["kind"] == k])), 4) for k in dict.fromkeys(r["kind"] for r in rows)},
    }
