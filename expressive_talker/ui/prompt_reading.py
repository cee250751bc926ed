"""The line under a prompt box that says how the model reads the prompt ("read as: disgusted,
slight (72%)", with notes for emoji, other languages and prompts unlike anything it learned)."""

from __future__ import annotations

import gradio as gr

# Readings run as the visitor types: their own lane, one at a time, only the latest text.
READING_EVENTS = {"concurrency_id": "prompt-reading", "concurrency_limit": 1, "trigger_mode": "always_last", "show_progress": "hidden", "api_name": False}


def add_prompt_reading(jobs, text: gr.Textbox, method: gr.Radio | None = None, elem_id: str | None = None) -> gr.Markdown:
    """A Markdown line, placed where this is called (under ``text``), that follows the prompt and
    the chosen ``method`` (ours when there is no choice)."""
    reading = gr.Markdown("", elem_id=elem_id, elem_classes=["prompt-reading"])
    if method is None:
        gr.on(None, lambda prompt: jobs.read_prompt(prompt), [text], reading, **READING_EVENTS)  # None: page load and every change
    else:
        gr.on(None, jobs.read_prompt, [text, method], reading, **READING_EVENTS)
    return reading
