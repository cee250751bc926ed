"""Text features for expression prompts (MiniLM by default, CLIP as the paper's option)."""

from .encoders import (
    DEFAULT_TEXT_BACKEND,
    TEXT_BACKENDS,
    ClipTextEncoder,
    SentenceEncoder,
    TextEmbedding,
    TextEncoder,
    embed_text,
    get_text_encoder,
)
from .prompt import MAX_PROMPT_CHARS, normalize_prompt

__all__ = [
    "DEFAULT_TEXT_BACKEND",
    "MAX_PROMPT_CHARS",
    "TEXT_BACKENDS",
    "ClipTextEncoder",
    "SentenceEncoder",
    "TextEmbedding",
    "TextEncoder",
    "embed_text",
    "get_text_encoder",
    "normalize_prompt",
]
