"""How a model reads an expression prompt, said back to the user.

The reading is taken from the face the model makes, not from the text alone: the prompt drives
the model over a short silence (so the voice adds nothing), the ARKit weights are solved from
its raw output, and their average on the expression channels is compared with the FACS
prototypes of every emotion and intensity (the same read-back as ``metrics.read_expression``
and the evaluation's accuracies).

- ``emotion`` / ``intensity``: the nearest prototype (intensity: slight, moderate or strong for
  MEAD's levels 1-3; none for neutral).
- ``mix``: for each emotion, ``exp(-d_e² / T) / Σ exp(-d_f² / T)``, with ``d_e`` the distance
  from the face to that emotion's nearest prototype and T = ``MIX_TEMPERATURE``.
- ``confidence``: the share of the named emotion in ``mix``.
- ``notes``: the prompt's own (emoji read as words, another script), each rare word or phrase
  looked up in WordNet (``expansion.py``), and the one below.
- A note when the prompt is unlike every description the model was trained on: its largest
  cosine similarity to them, under plain all-MiniLM-L6-v2 (the adapter pulls any text towards
  an emotion, which hides how far it was), is below the 5th percentile of that same similarity
  among the training descriptions themselves (each one compared with all the others). Idioms
  and single words can fall below it too: the note says the face may not match, not that it
  is wrong.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError

# The likelihood of the emotion named by 300 held-out descriptions, given the faces the shipped
# model made for them, is highest at T = 0.55 (0.49 and 0.60 on either half). Confidence is a
# rough guide: such descriptions read at >= 60% were right 84% of the time, below 60% 62%.
MIX_TEMPERATURE = 0.5
READING_FRAMES = 45  # 1.5 s of silence: long enough for Text2Exp to settle on an expression
INTENSITY_WORDS = {0.0: "none", 0.33: "slight", 0.66: "moderate", 1.0: "strong"}
NOVELTY_PERCENTILE = 5.0


@dataclass
class PromptReading:
    emotion: str
    intensity: str
    mix: dict[str, float]  # emotion -> share, summing to 1, largest first
    confidence: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line for the app: 'read as: disgusted, slight (72%)'."""
        what = self.emotion if self.intensity == "none" else f"{self.emotion}, {self.intensity}"
        return f"read as: {what} ({round(100 * self.confidence)}%)"


def read_prompt(text: str, method: str = "ours", weights_dir: str | None = None) -> PromptReading:
    """How ``method`` reads ``text`` (see the module docstring). Raises InputError for an empty
    prompt or a method that takes no prompt."""
    from .. import pipeline
    from ..face.rig import load_rig
    from ..face.readout import EXPRESSION_CHANNELS, expression_prototypes
    from .encoders import get_text_encoder
    from .prompt import normalize_prompt

    animator = pipeline.load_animator(method, weights_dir or pipeline.WEIGHTS_DIR)
    if not animator.uses_text:
        raise InputError(f"{pipeline.METHOD_LABELS.get(method, method)} does not take an expression prompt")
    feature, notes = pipeline.text_feature(animator, text)
    encoder = get_text_encoder(animator.text_backend, adapter=animator.text_adapter)
    notes += [f"looked up '{words}': {sense}" for words, sense in encoder.explain(normalize_prompt(text)[0])[1]]
    vertices = animator.animate(_silence_features(animator), feature, READING_FRAMES)
    face = load_rig().solve(vertices)[:, EXPRESSION_CHANNELS].mean(axis=0)

    labels, levels, prototypes = expression_prototypes()
    distance = np.linalg.norm(prototypes - face, axis=1)
    nearest = int(np.argmin(distance))
    emotions = list(dict.fromkeys(labels))
    per_emotion = np.array([distance[[i for i, l in enumerate(labels) if l == e]].min() for e in emotions])
    shares = np.exp(-(per_emotion**2 - per_emotion.min() ** 2) / MIX_TEMPERATURE)
    shares /= shares.sum()
    mix = {e: round(float(s), 3) for e, s in sorted(zip(emotions, shares), key=lambda es: -es[1])}

    novelty = _novelty_note(text)
    if novelty:
        notes.append(novelty)
    return PromptReading(labels[nearest], INTENSITY_WORDS[levels[nearest]], mix, mix[labels[nearest]], notes)


def _silence_features(animator) -> np.ndarray:
    """Speech features of 1.5 s of silence (computed once per encoder: the feature cache keeps them)."""
    from .. import pipeline
    from ..audio import SAMPLE_RATE

    return pipeline.speech_features(animator, np.zeros(SAMPLE_RATE * READING_FRAMES // 30, np.float32))


def _novelty_note(text: str) -> str | None:
    from ..data.descriptions import wordings
    from .encoders import get_text_encoder

    plain = get_text_encoder("minilm")  # no adapter
    similarity = plain.wording_vectors @ plain.encode([text], log_notes=False).vectors[0]  # notes taken already
    if similarity.max() >= _novelty_threshold():
        return None
    return f"this prompt is unlike the descriptions the model learned from (the nearest is '{wordings()[int(similarity.argmax())]}'), so the face may not match it"


@functools.lru_cache(maxsize=1)
def _novelty_threshold() -> float:
    """The NOVELTY_PERCENTILE-th percentile, over the training descriptions' wordings, of each one's
    largest similarity to the others (plain MiniLM)."""
    from .encoders import get_text_encoder

    vectors = get_text_encoder("minilm").wording_vectors
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    return float(np.percentile(similarity.max(axis=1), NOVELTY_PERCENTILE))
