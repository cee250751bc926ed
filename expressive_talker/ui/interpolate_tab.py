"""The "Interpolate" tab: blend two prompts' text features, (1-α)·A + α·B (the paper's Fig. 7)."""

from __future__ import annotations

import os

import gradio as gr

from .examples import load_examples
from .jobs import VIDEO_EVENTS
from .prompt_reading import add_prompt_reading
from .refusals import optional_input
from .viewer import FEED, build_viewer

# Pairs far apart on the face, so the blend shows (the paper's Fig. 7 blends happy and disgusted).
BLEND_EXAMPLES = (
    ("flite_slt_milk.flac", "happy", "disgusted"),
    ("flite_awb_office.flac", "calm", "furious"),
    ("festival_slt_birthday.flac", "sad", "pleasantly surprised"),
)


def build_interpolate_tab(jobs) -> None:
    gr.Markdown(
        "Two expressions and a blend between them. α = 0 is prompt A, α = 1 is prompt B. "
        "The blend plays in the 3D viewer first, then as a video. Below, stills at the same instant (mid-clip) for α = 0, 0.25, 0.5, 0.75 and 1."
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", format=None, label="Speech", elem_id="interpolate-audio")
            text_a = gr.Textbox(label="Prompt A", value="happy", max_lines=3, elem_id="interpolate-text-a")
            add_prompt_reading(jobs, text_a, elem_id="interpolate-reading-a")
            text_b = gr.Textbox(label="Prompt B", value="furious", max_lines=3, elem_id="interpolate-text-b")
            add_prompt_reading(jobs, text_b, elem_id="interpolate-reading-b")
            alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="α (0 = A, 1 = B)", elem_id="interpolate-alpha")
            sweep = optional_input(gr.Checkbox(False, label="Sweep: α runs from 0 to 1 across the clip, so one video shows the whole blend from A to B", elem_id="interpolate-sweep"))
            button = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
        with gr.Column():
            viewer = build_viewer("interpolate", jobs)
            video = gr.Video(label="Blended animation", format=None, interactive=False, elem_id="interpolate-video")
    # The whole width, so each still is about a fifth of it (over 160 px at 1366 px); no label chip
    # and no toolbar: they would sit on the stills and their captions.
    strip = gr.Image(
        label="α = 0, 0.25, 0.5, 0.75, 1 at mid-clip", show_label=False, buttons=[], type="numpy", format="png", interactive=False, elem_id="interpolate-strip"
    )
    curves = gr.JSON(visible=False)
    inputs = [audio, text_a, text_b, alpha, sweep]
    sweep.change(lambda on: gr.update(interactive=not on), sweep, alpha, queue=False, show_progress="hidden", api_name=False)  # a sweep has no one α
    animated = button.click(jobs.animate_blend, inputs, curves, api_name=False, show_progress_on=viewer, **VIDEO_EVENTS)
    curves.change(None, [curves, audio], viewer, js=FEED)  # in the browser: the viewer plays it
    event = animated.success(jobs.interpolate, inputs, video, api_name="interpolate", **VIDEO_EVENTS)
    event.success(jobs.interpolation_strip, [audio, text_a, text_b], strip, api_name="interpolation_strip", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        by_file = {os.path.basename(e["audio"]): e["audio"] for e in examples}
        pairs = [[by_file[name], a, b, 0.5] for name, a, b in BLEND_EXAMPLES if name in by_file]
        gr.Examples(pairs, [audio, text_a, text_b, alpha], api_name=False, example_labels=[f"{a} → {b}" for _, a, b, _ in pairs])
