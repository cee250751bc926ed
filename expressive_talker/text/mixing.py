"""Two feelings in one prompt ("nervous but excited", "smiling through the tears").

A sentence encoder averages a prompt into one point, which lands near one of its feelings, or
between them near neither: "a bit sad but trying to smile" read as slightly sad, the smile lost.
So a prompt is cut at the words that join two feelings (``feeling_parts``); when the model reads
its parts as different emotions, each clearly (``reading.prompt_feature``), the prompt's feature
is the mean of the parts' features: the paper's interpolation between two prompts (Fig. 7) at
α = 1/2 (1/k for k parts), which the expression space turns into a face between the two.
"""

from __future__ import annotations

import re

# Words that join two feelings. Commas are not among them: "brows knit, lips pressed" is one face.
JOINERS = re.compile(r"\s+(?:but|and|yet|though|although|while|through|with)\s+|\s*[&+]\s*", re.IGNORECASE)
MAX_PARTS = 3
# Two feelings are typed as a short phrase; a sentence ("The person is amused and lighthearted. It
# is slight and held back.") describes one feeling, and cutting it misread held-out descriptions
# (evaluate: acc_heldout 0.84 -> 0.80, acc_conflict 0.88 -> 0.81 with the shipped model).
MAX_WORDS = 9
SENTENCE = re.compile(r"[.!?]\s+\S|^(?:the|they)\s", re.IGNORECASE)
LETTERS = re.compile(r"[^\W\d_]{2,}")
# A prompt that names parts of the face describes one face ("wide eyes and raised brows"): its
# parts are actions of one expression, not two feelings, and are read whole.
FACE_PARTS = re.compile(r"\b(?:face|brows?|eyebrows?|eyes?|eyelids?|lids?|lips?|mouth|jaw|nose|nostrils?|cheeks?|chin|forehead|teeth)\b", re.IGNORECASE)


def feeling_parts(text: str) -> list[str]:
    """The prompt cut at its joining words, parts without a word of two letters dropped (an
    empty start: "with a heavy heart"); [text] when there is nothing to cut, too much, it
    describes the face itself, or it is a sentence or longer than MAX_WORDS words."""
    if FACE_PARTS.search(text) or SENTENCE.search(text) or len(text.split()) > MAX_WORDS:
        return [text]
    parts = [p.strip(" ,;:.!?-") for p in JOINERS.split(text)]
    parts = [p for p in parts if LETTERS.search(p)]
    return parts if 2 <= len(parts) <= MAX_PARTS else [text]
