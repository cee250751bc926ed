"""The "Interpolate" tab: blend two prompts' text features, (1-α)·A + α·B (the paper's Fig. 7)."""

from __future__ import annotations

import gradio as gr

from .examples import load_examples
from .jobs import VIDEO_EVENTS


def build_interpolate_tab(jobs) -> None:
    gr.Markdown(
        "Two expressions and a blend between them. α = 0 is prompt A, α = 1 is prompt B. "
        "Below the video, stills at the same instant (mid-clip) for α = 0, 0.25, 0.5, 0.75 and 1."
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", format=None, label="Speech")
            text_a = gr.Textbox(label="Prompt A", value="happy", max_lines=3)
            text_b = gr.Textbox(label="Prompt B", value="furious", max_lines=3)
            alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="α (0 = A, 1 = B)")
            button = gr.Button("Interpolate", variant="primary")
        with gr.Column():
            video = gr.Video(label="Blended animation", format=None, interactive=False)
            strip = gr.Image(label="α = 0, 0.25, 0.5, 0.75, 1 at mid-clip", type="numpy", format="png", interactive=False)
    event = button.click(jobs.interpolate, [audio, text_a, text_b, alpha], video, api_name="interpolate", **VIDEO_EVENTS)
    event.success(jobs.interpolation_strip, [audio, text_a, text_b], strip, api_name="interpolation_strip", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        gr.Examples([[e["audio"], e["prompt"], "furious", 0.5] for e in examples[:3]], [audio, text_a, text_b, alpha], api_name=False)
