"""The "Compare" tab: the same speech and prompt by every method, side by side in one MP4."""

from __future__ import annotations

import gradio as gr

from ..pipeline import METHOD_LABELS, METHODS, available_methods
from .examples import load_examples
from .jobs import VIDEO_EVENTS


def build_compare_tab(jobs) -> None:
    have = available_methods(jobs.settings.weights_dir)
    missing = [METHOD_LABELS[m] for m in METHODS if m not in have]
    note = f" Not available here (no trained weights): {', '.join(missing)}." if missing else ""
    gr.Markdown(
        "The paper's two-stage model, ExpCLIP and FaceFormer on the same speech and prompt, in one "
        "synchronised video with a labelled panel each. FaceFormer ignores the prompt." + note
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", format=None, label="Speech")
            text = gr.Textbox(label="Expression", value="furious", max_lines=3)
            button = gr.Button("Compare", variant="primary")
        with gr.Column():
            video = gr.Video(label="Side by side", format=None, interactive=False)
    button.click(jobs.compare, [audio, text], video, api_name="compare", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        gr.Examples([[e["audio"], e["prompt"]] for e in examples], [audio, text], api_name=False)
