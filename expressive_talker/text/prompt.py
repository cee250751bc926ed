"""Expression prompts as users type them -> clean text for a text encoder.

Unicode is NFKC-normalised (full-width letters, ligatures, non-breaking spaces become their
plain forms), control characters dropped, whitespace collapsed. HTML or markup is just text:
nothing is stripped or interpreted.
"""

from __future__ import annotations

import unicodedata

from ..errors import InputError

MAX_PROMPT_CHARS = 4000  # above any encoder's token limit (256 tokens is ~1500 characters); bounds tokenizer work


def normalize_prompt(text) -> tuple[str, list[str]]:
    """(clean prompt, notes for the user). Raises InputError for a missing or empty prompt."""
    if text is None:
        raise InputError("the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'")
    if not isinstance(text, str):
        raise InputError(f"the expression prompt must be text, not {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise InputError("the expression prompt is empty: describe an expression, e.g. 'slightly disgusted'")
    notes = []
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS].rstrip()
        notes.append(f"the prompt was cut to its first {MAX_PROMPT_CHARS} characters")
    return text, notes
