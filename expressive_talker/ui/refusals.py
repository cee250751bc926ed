"""One sentence for every API input Gradio refuses before our code runs.

Gradio checks an event's inputs (their number, the shape of a file's data, that a file was
uploaded to this server) before it calls the event's function; what it refuses there reaches the
client as ``error: null``. ``PlainRefusals`` is the app's ``gr.Blocks`` with that step wrapped: a
refused input becomes a ``gr.Error`` that says what to send instead. URLs in file inputs are
refused before Gradio would fetch them: the app reads uploaded files only. Inputs added to an
endpoint later (``optional_input``) may be left out at the end of a request, as gradio_client
leaves them out.
"""

from __future__ import annotations

import gradio as gr

UPLOAD_HINT = (
    "upload the file to this server first and send what the upload returned "
    "(gradio_client: handle_file('speech.wav')); paths on the server, URLs, numbers and text are not read"
)


def optional_input(block):
    """Marks an input added to an endpoint after callers were written for it (the timeline, the
    expression strength, the sweep): a request that stops before it gets its initial value, as
    gradio_client sends it, so that a request without it behaves as before."""
    block.expressive_talker_optional = True
    return block


def _is_file_input(block) -> bool:
    return isinstance(block, (gr.Audio, gr.File, gr.Video, gr.Image))


def _name(block) -> str:
    return str(getattr(block, "label", None) or type(block).__name__.lower()).split(":")[0]


def _is_url(value) -> bool:
    if not isinstance(value, dict):
        return False
    # Only "path" is fetched when it is a URL: a browser's upload carries this server's own "url" too.
    path = value.get("path")
    return isinstance(path, str) and path.lower().startswith(("http://", "https://", "ftp://"))


def refusal(block_fn, inputs: list) -> str:
    """The sentence for inputs Gradio refused: which one, and what to send instead."""
    blocks = list(block_fn.inputs)
    if len(inputs) != len(blocks):
        names = ", ".join(_name(b) for b in blocks)
        return f"this endpoint takes {len(blocks)} inputs ({names}) and got {len(inputs)}: send one value for each"
    for block, value in zip(blocks, inputs):
        if _is_file_input(block) and value is not None:
            return f"{_name(block)}: {UPLOAD_HINT}"
    return "an input could not be read: send the values this endpoint lists under 'Use via API' at the foot of the page"


class PlainRefusals(gr.Blocks):
    """``gr.Blocks`` whose refused inputs answer one sentence (see the module's docstring)."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        left_out = list(block_fn.inputs)[len(inputs) :]
        if left_out and all(getattr(block, "expressive_talker_optional", False) for block in left_out):
            inputs = [*inputs, *(block.value for block in left_out)]
        for block, value in zip(block_fn.inputs, inputs):
            if _is_file_input(block) and _is_url(value):
                raise gr.Error(f"{_name(block)}: {UPLOAD_HINT}", print_exception=False)
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except Exception:
            raise gr.Error(refusal(block_fn, inputs), print_exception=False) from None
