"""The "Compare" tab: the same speech and prompt by every method, side by side in one MP4."""

from __future__ import annotations

import gradio as gr

from ..pipeline import METHOD_LABELS, METHODS, available_methods
from .examples import load_examples
from .generate_tab import STILL_LABEL, example_label, strength_slider
from .jobs import VIDEO_EVENTS
from .timeline_rows import LAYOUT_EVENTS, build_timeline_rows, example_row_count, example_rows, rows_timeline
from .viewer import FEED, build_viewer


def build_compare_tab(jobs) -> None:
    have = available_methods(jobs.settings.weights_dir)
    missing = [METHOD_LABELS[m] for m in METHODS if m not in have]
    note = f" Not available here (no trained weights): {', '.join(missing)}." if missing else ""
    gr.Markdown(
        "The paper's two-stage model, ExpCLIP and FaceFormer on the same speech and prompt, in one "
        "synchronised 3D viewer, then in one video, with a labelled panel each. FaceFormer ignores the prompt." + note
    )
    # The inputs narrow on the left and the viewer wide beside them, so that at 1366x768 the
    # whole viewer is in view while it plays; the video follows below it.
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", format=None, label="Speech", elem_id="compare-audio")
            text = gr.Textbox(label="Expression", value="furious", max_lines=3)
            strength = strength_slider("compare")  # like the timeline, for every method that takes a prompt
            rows = build_timeline_rows(jobs, "compare")
            still = gr.Checkbox(False, label=STILL_LABEL, elem_id="compare-still")
            button = gr.Button("Compare", variant="primary", elem_id="compare-button")
        with gr.Column(scale=2):
            viewer = build_viewer("compare", jobs)  # one panel per method
            # No label chip: it would cover the left panel's method name in the video.
            video = gr.Video(label="Side by side", show_label=False, format=None, interactive=False, elem_id="compare-video")
    curves = gr.JSON(visible=False)
    inputs = [audio, text, still, rows.timeline, strength]
    gathered = button.click(rows_timeline, rows.inputs(), rows.timeline, **LAYOUT_EVENTS)
    animated = gathered.success(jobs.animate_compare, inputs, curves, api_name=False, show_progress_on=viewer, **VIDEO_EVENTS)
    curves.change(None, [curves, audio], viewer, js=FEED)  # in the browser: the viewer plays it
    animated.success(jobs.compare, inputs, video, api_name="compare", **VIDEO_EVENTS)
    examples = load_examples()
    if examples:
        rows_in_examples = example_row_count(examples)
        gr.Examples(
            [[e["audio"], e["prompt"], e.get("strength", 1.0), *example_rows(e.get("timeline"), rows_in_examples)] for e in examples],
            [audio, text, strength, *rows.inputs(rows_in_examples)], api_name=False, example_labels=[example_label(e) for e in examples],
        )  # fmt: skip
