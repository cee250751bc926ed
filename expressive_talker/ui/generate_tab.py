"""The "Generate" tab: speech + prompt + method -> the face in the page, then the MP4 and the
animation as files."""

from __future__ import annotations

import gradio as gr

from ..pipeline import METHOD_LABELS, METHODS
from .examples import load_examples
from .jobs import VIDEO_EVENTS
from .prompt_reading import add_prompt_reading
from .viewer import FEED, build_viewer

METHOD_CHOICES = [(METHOD_LABELS[m], m) for m in METHODS]
STILL_LABEL = "Still face: the model's raw output (no blinks, gaze, head motion or rest in silence)"


def build_generate_tab(jobs) -> None:
    gr.Markdown(
        "Upload speech (or record it, or pick an example) and describe the expression in your own words. "
        "The face speaks it in the 3D viewer as soon as it is animated: play, pause and scrub; drag to "
        "orbit, scroll to zoom. Upload your own `.glb` or `.vrm` avatar with ARKit blendshapes and the "
        "viewer drives it instead. The video follows a moment later; the downloads hold the animation: "
        "vertices (`.npy`), ARKit blendshape curves (`.json`, `.csv`), an animated `.glb` for Blender or three.js, "
        "a Live Link Face take for Unreal (`-livelink.csv`) and a TalkingHead animation (`-talkinghead.json`)."
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", format=None, label="Speech", elem_id="generate-audio")
            method = gr.Radio(METHOD_CHOICES, value="ours", label="Method", render=False)  # shown below the reading
            text = gr.Textbox(label="Expression", placeholder="e.g. slightly disgusted", value="slightly disgusted", max_lines=3, elem_id="generate-text")
            add_prompt_reading(jobs, text, method, elem_id="generate-reading")
            method.render()
            still = gr.Checkbox(False, label=STILL_LABEL, elem_id="generate-still")
            button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        with gr.Column():
            viewer = build_viewer("generate", jobs)
            video = gr.Video(label="Animation", format=None, interactive=False, elem_id="generate-video")
            files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="generate-files")
    curves = gr.JSON(visible=False)
    inputs = [audio, text, method, still]
    animated = button.click(jobs.animate, inputs, curves, api_name="animate", show_progress_on=viewer, **VIDEO_EVENTS)
    curves.change(None, [curves, audio], viewer, js=FEED)  # in the browser: the viewer plays it
    animated.success(jobs.generate, inputs, [video, files], api_name="generate", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        gr.Examples(
            [[e["audio"], e["prompt"], e.get("method", "ours")] for e in examples],
            [audio, text, method],
            [curves, video, files],
            fn=jobs.generate_example,
            cache_examples=True,
            cache_mode="lazy",
            api_name=False,
            example_labels=[f'{e["prompt"]} ({e["source"]})' for e in examples],
        )
