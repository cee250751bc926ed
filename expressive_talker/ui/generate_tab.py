"""The "Generate" tab: speech + prompt + method -> the face in the page, then the MP4 and the
animation as files."""

from __future__ import annotations

import gradio as gr

from ..pipeline import MAX_STRENGTH, METHOD_LABELS, METHODS
from .examples import load_examples
from .jobs import VIDEO_EVENTS
from .prompt_reading import add_prompt_reading
from .refusals import optional_input
from .timeline_rows import LAYOUT_EVENTS, build_timeline_rows, example_row_count, example_rows, rows_timeline
from .viewer import FEED, build_viewer

METHOD_CHOICES = [(METHOD_LABELS[m], m) for m in METHODS]
STILL_LABEL = "Still face: the model's raw output (no blinks, gaze, head motion or rest in silence)"


def strength_slider(tab: str) -> gr.Slider:
    """The expression strength (Generate, Compare): scales the expression, never the lips."""
    return optional_input(gr.Slider(
        0.0, MAX_STRENGTH, value=1.0, step=0.05, label="Expression strength",
        info="1 = the prompt as read, 0 = neutral, 2 = twice as strong; the lips follow the speech at any strength",
        elem_id=f"{tab}-strength",
    ))  # fmt: skip


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
            strength = strength_slider("generate")
            rows = build_timeline_rows(jobs, "generate", method)
            method.render()
            still = gr.Checkbox(False, label=STILL_LABEL, elem_id="generate-still")
            button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        with gr.Column():
            viewer = build_viewer("generate", jobs)
            video = gr.Video(label="Animation", format=None, interactive=False, elem_id="generate-video")
            files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="generate-files")
    curves = gr.JSON(visible=False)
    inputs = [audio, text, method, still, rows.timeline, strength]
    # The rows become the timeline argument first, so /animate and /generate take it as one value.
    gathered = button.click(rows_timeline, rows.inputs(), rows.timeline, **LAYOUT_EVENTS)
    animated = gathered.success(jobs.animate, inputs, curves, api_name="animate", show_progress_on=viewer, **VIDEO_EVENTS)
    curves.change(None, [curves, audio], viewer, js=FEED)  # in the browser: the viewer plays it
    animated.success(jobs.generate, inputs, [video, files], api_name="generate", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        rows_in_examples = example_row_count(examples)
        gr.Examples(
            [[e["audio"], e["prompt"], e.get("method", "ours"), e.get("strength", 1.0), *example_rows(e.get("timeline"), rows_in_examples)] for e in examples],
            [audio, text, method, strength, *rows.inputs(rows_in_examples)],
            [curves, video, files],
            fn=jobs.generate_example,
            cache_examples=True,
            cache_mode="lazy",
            api_name=False,
            example_labels=[example_label(e) for e in examples],
        )


def example_label(example: dict) -> str:
    """'slightly disgusted (flite 2.2, voice slt)'; with a timeline 'calm → furious at 1.8 s (...)'."""
    arc = "".join(f" → {prompt} at {at:g} s" for at, prompt in example.get("timeline") or [])
    return f'{example["prompt"]}{arc} ({example["source"]})'
