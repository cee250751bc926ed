"""How a model reads an expression prompt, said back to the user.

The reading is taken from the face the model makes, not from the text alone: the prompt drives
the model over a short silence (so the voice adds nothing), the ARKit weights are solved from
its raw output, and their average on the expression channels is compared with the FACS
prototypes of every emotion and intensity (the same read-back as ``metrics.read_expression``
and the evaluation's accuracies).

- ``emotion`` / ``intensity``: the nearest prototype (intensity: slight, moderate or strong for
  MEAD's levels 1-3; none for neutral).
- ``mix``: for each emotion, ``exp(-d_e² / T) / Σ exp(-d_f² / T)``, with ``d_e`` the distance
  from the face to that emotion's nearest prototype and T = ``MIX_TEMPERATURE``. For a prompt
  of two feelings (``mixing.py``: its parts read as different emotions, each clearly) the face
  is made from a blend of the two clearest parts' features, (1-α)·f_a + α·f_b with α found by
  bisection where the face shows both most evenly, and ``mix`` is the mean
  of the two parts' mixes, so it names both; ``emotion`` is then the larger of them.
- ``second``: the second emotion, named when the prompt has two feelings or the mix gives it
  ``SECOND_SHARE`` or more (``summary()`` says it: "read as: sad, slight, with happy (55%)").
- ``confidence``: the probability that ``emotion`` is what the prompt asks for. The model
  folder's ``config.json`` carries a logistic calibration (``calibration.py``) from three things
  the reading knows: the named emotion's share of the mix, how like the training descriptions
  the prompt is (its largest cosine similarity to them under plain all-MiniLM-L6-v2: the adapter
  pulls any text towards an emotion, which hides how far it was), how many of its five nearest
  training descriptions name the emotion read (a face that disagrees with what the prompt's
  wording is near, as "over the moon" read as sad, is less often right), and whether it was
  read as two feelings. Without one (an uncalibrated folder) it is the named emotion's share.
- ``notes``: the prompt's own (emoji read as words, another script), each rare word or phrase
  looked up in WordNet (``expansion.py``), and, only when the confidence is below
  ``UNSURE`` (60%), one saying the model is unsure, and that the prompt is unlike the training
  descriptions when it is (below the 5th percentile of that similarity among the training
  descriptions themselves). A confident reading never carries a note that says otherwise.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError

# The likelihood of the emotion named by 300 held-out descriptions, given the faces the shipped
# model made for them, is highest at T = 0.55 (0.49 and 0.60 on either half).
MIX_TEMPERATURE = 0.5
READING_FRAMES = 45  # 1.5 s of silence: long enough for Text2Exp to settle on an expression
INTENSITY_WORDS = {0.0: "none", 0.33: "slight", 0.66: "moderate", 1.0: "strong"}
NOVELTY_PERCENTILE = 5.0
NEAREST = 5  # training descriptions whose emotions are compared with the reading's
UNSURE = 0.6  # below this confidence the read-out says the model is unsure
SECOND_SHARE = 0.2  # a second emotion with this share of the mix is named in the summary
PART_CLEAR = 0.3  # a part of a prompt read at this share or more is a feeling of its own (chosen on the dev set)
BLEND_STEPS = 6  # bisection steps for the blend of two feelings (α to within 1/64)


@dataclass
class PromptReading:
    emotion: str
    intensity: str
    mix: dict[str, float]  # emotion -> share, summing to 1, largest first
    confidence: float  # calibrated probability that ``emotion`` is right
    notes: list[str] = field(default_factory=list)
    second: str | None = None  # the second emotion, when the mix has one (see the module docstring)
    parts: list[str] = field(default_factory=list)  # the parts read as separate feelings, if any

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line for the app: 'read as: disgusted, slight (72%)', 'read as: sad, slight, with happy (55%)'."""
        what = self.emotion if self.intensity == "none" else f"{self.emotion}, {self.intensity}"
        if self.second:
            what += f", with {self.second}"
        return f"read as: {what} ({round(100 * self.confidence)}%)"


@dataclass
class Evidence:
    """What the confidence is calibrated from (``calibration.py``)."""

    share: float  # the named emotion's share of the mix
    similarity: float  # largest cosine similarity to a training description (plain MiniLM)
    agreement: float  # share of its NEAREST most similar training descriptions that name the read emotion
    mixed: bool  # read as two feelings
    face: dict[str, float] = field(default_factory=dict)  # the mix of the face itself (for two feelings: of the blend)


def read_prompt(text: str, method: str = "ours", weights_dir: str | None = None) -> PromptReading:
    """How ``method`` reads ``text`` (see the module docstring). Raises InputError for an empty
    prompt or a method that takes no prompt."""
    return read_with_evidence(text, method, weights_dir)[0]


def read_with_evidence(text: str, method: str = "ours", weights_dir: str | None = None) -> tuple[PromptReading, Evidence]:
    from .. import pipeline
    from .calibration import calibrated
    from .encoders import get_text_encoder
    from .prompt import normalize_prompt

    weights_dir = weights_dir or pipeline.WEIGHTS_DIR
    animator = pipeline.load_animator(method, weights_dir)
    if not animator.uses_text:
        raise InputError(f"{pipeline.METHOD_LABELS.get(method, method)} does not take an expression prompt")
    feature, notes, parts = prompt_feature(animator, text)
    encoder = get_text_encoder(animator.text_backend, adapter=animator.text_adapter)
    notes += [f"looked up '{words}': {sense}" for words, sense in encoder.explain(normalize_prompt(text)[0])[1]]
    emotion, level, mix = face = face_reading(animator, feature)
    if parts:  # the mean of the parts' readings names both feelings; the face made from the blend shows them
        mix = _mean_mix([p.mix for p in parts])
        emotion = next(iter(mix))
        level = max(p.level for p in parts if p.emotion == emotion) if any(p.emotion == emotion for p in parts) else level
    similarity, nearest, near_labels = _nearest_description(text)
    evidence = Evidence(mix[emotion], similarity, near_labels.count(emotion) / len(near_labels), bool(parts), face[2])
    confidence = calibrated(os.path.join(weights_dir, method), evidence)
    shares = list(mix.items())
    second = shares[1][0] if parts or shares[1][1] >= SECOND_SHARE else None
    if confidence < UNSURE:
        notes.append(_unsure_note(similarity, nearest))
    reading = PromptReading(emotion, INTENSITY_WORDS[level], mix, round(float(confidence), 3), notes, second, [p.text for p in parts])
    return reading, evidence


@dataclass
class PartReading:
    text: str
    emotion: str
    level: float
    mix: dict[str, float]


def prompt_feature(animator, text: str) -> tuple[np.ndarray, list[str], list[PartReading]]:
    """The feature a prompt drives ``animator`` with, the encoder's notes, and how each of its two
    feelings was read when it holds two (``mixing.py``), else []. Computed once per prompt and model."""
    feature, notes, parts = _prompt_feature(animator, text)
    return feature.copy(), list(notes), list(parts)


@functools.lru_cache(maxsize=256)
def _prompt_feature(animator, text: str):
    from .encoders import get_text_encoder
    from .mixing import feeling_parts

    encoder = get_text_encoder(animator.text_backend, adapter=animator.text_adapter)
    embedded = encoder.encode([text])
    feature, notes = embedded.vectors[0], tuple(embedded.notes)
    parts = feeling_parts(embedded.prompts[0])
    if len(parts) < 2:
        return feature, notes, ()
    vectors = encoder.encode(parts, log_notes=False).vectors  # the whole prompt's notes cover its parts
    read = sorted(((PartReading(part, *face_reading(animator, vector)), vector) for part, vector in zip(parts, vectors)), key=lambda rv: -rv[0].mix[rv[0].emotion])
    clear = [(r, vector) for r, vector in read if r.mix[r.emotion] >= PART_CLEAR]
    if len({r.emotion for r, _ in clear}) < 2:
        return feature, notes, ()
    (a, fa), (b, fb) = clear[0], next(rv for rv in clear if rv[0].emotion != clear[0][0].emotion)
    # The mean of the two features can still make a face of one feeling (fear outweighs joy), and
    # the face turns from one to the other over a short stretch of the blend (1-α)·a + α·b: bisect
    # for the α where the two are even, keeping the blend whose face gives the weaker one most.
    best, blend, low, high = -1.0, feature, 0.0, 1.0
    for _ in range(BLEND_STEPS):
        alpha = (low + high) / 2
        mixed = ((1 - alpha) * fa + alpha * fb).astype(np.float32)
        mix = face_reading(animator, mixed)[2]
        if min(mix[a.emotion], mix[b.emotion]) > best:
            best, blend = min(mix[a.emotion], mix[b.emotion]), mixed
        low, high = (alpha, high) if mix[a.emotion] > mix[b.emotion] else (low, alpha)
    return blend, notes, tuple(sorted((a, b), key=lambda r: parts.index(r.text)))


def face_reading(animator, feature: np.ndarray) -> tuple[str, float, dict[str, float]]:
    """(emotion, level, mix) of the face ``animator`` makes for ``feature`` over silence."""
    from ..face.readout import EXPRESSION_CHANNELS, expression_prototypes
    from ..face.rig import load_rig

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
    return labels[nearest], levels[nearest], mix


def _mean_mix(mixes: list[dict]) -> dict[str, float]:
    emotions = list(mixes[0])
    mean = {e: float(np.mean([m.get(e, 0.0) for m in mixes])) for e in emotions}
    return {e: round(s, 3) for e, s in sorted(mean.items(), key=lambda es: -es[1])}


def _silence_features(animator) -> np.ndarray:
    """Speech features of 1.5 s of silence (computed once per encoder: the feature cache keeps them)."""
    from .. import pipeline
    from ..audio import SAMPLE_RATE

    return pipeline.speech_features(animator, np.zeros(SAMPLE_RATE * READING_FRAMES // 30, np.float32))


def _nearest_description(text: str) -> tuple[float, str, list[str]]:
    """The prompt's largest cosine similarity to a training description's wording (plain MiniLM),
    that wording, and what the NEAREST closest wordings name (an emotion or a facial action)."""
    from ..data.descriptions import wordings
    from .encoders import get_text_encoder

    plain = get_text_encoder("minilm")  # no adapter
    similarity = plain.wording_vectors @ plain.encode([text], log_notes=False).vectors[0]  # notes taken already
    labels = _wording_labels()
    closest = np.argsort(-similarity)[:NEAREST]
    return float(similarity.max()), wordings()[int(closest[0])], [labels[i] for i in closest]


@functools.lru_cache(maxsize=1)
def _wording_labels() -> list[str]:
    from ..data.descriptions import labelled_descriptions, wordings

    named = {}
    for text, label, _ in labelled_descriptions("train"):
        named.setdefault(text, label)
    return [named.get(w, "") for w in wordings()]


def _unsure_note(similarity: float, nearest: str) -> str:
    if similarity < _novelty_threshold():
        return f"the model is unsure of this reading: the prompt is unlike the descriptions it learned from (the nearest is '{nearest}'), so the face may not match it"
    return "the model is unsure of this reading, so the face may not match the prompt"


@functools.lru_cache(maxsize=1)
def _novelty_threshold() -> float:
    """The NOVELTY_PERCENTILE-th percentile, over the training descriptions' wordings, of each one's
    largest similarity to the others (plain MiniLM)."""
    from .encoders import get_text_encoder

    vectors = get_text_encoder("minilm").wording_vectors
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    return float(np.percentile(similarity.max(axis=1), NOVELTY_PERCENTILE))
