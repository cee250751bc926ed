"""The "Face rig" tab: ARKit weights from sliders or an emotion preset -> a rendered still."""

from __future__ import annotations

import gradio as gr
import numpy as np

from ..face.expressions import EMOTIONS, emotion_weights
from ..face.rig import ARKIT_NAMES

# Slider groups, in the order a face is read: brows, eyes, cheeks and nose, jaw, mouth.
GROUPS = {
    "Brows": ("brow",),
    "Eyes": ("eye",),
    "Cheeks and nose": ("cheek", "nose"),
    "Jaw": ("jaw",),
    "Mouth and tongue": ("mouth", "tongue"),
}


def _group_of(name: str) -> str:
    return next(group for group, prefixes in GROUPS.items() if name.startswith(prefixes))


HEAD_AXES = ("pitch", "yaw", "roll")
HEAD_LIMIT_DEG = 25.0


def build_face_rig_tab(render_still) -> tuple[list, gr.Image]:
    """``render_still(weights (52,), head_rotation (3,)) -> image`` does the rendering (shared
    renderer, locked)."""
    gr.Markdown(
        "Pose the face with the 52 ARKit blendshapes, or start from an emotion preset "
        "(FACS action units of the basic emotions). Values are weights from 0 to 1. "
        "*Head* turns the whole head about the neck, as the animations' head track does (degrees)."
    )
    with gr.Row():
        with gr.Column(scale=1):
            emotion = gr.Dropdown(EMOTIONS, value="neutral", label="Emotion preset", elem_id="face-rig-emotion")
            intensity = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Preset intensity", elem_id="face-rig-intensity")
            sliders = {}
            for group in GROUPS:
                with gr.Accordion(group, open=group == "Jaw"):
                    for name in ARKIT_NAMES:
                        if _group_of(name) == group:
                            sliders[name] = gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=name, elem_id=f"face-rig-{name}")
            with gr.Accordion("Head", open=False):
                head = [
                    gr.Slider(-HEAD_LIMIT_DEG, HEAD_LIMIT_DEG, value=0.0, step=0.5, label=f"head {axis} (°)", elem_id=f"face-rig-head-{axis}")
                    for axis in HEAD_AXES
                ]
        with gr.Column(scale=1, elem_id="face-rig-picture"):  # sticky (ui/page.py): in view while the sliders scroll
            image = gr.Image(label="Face", type="numpy", format="png", interactive=False, elem_id="face-rig-image")
            reset = gr.Button("Reset to neutral", elem_id="face-rig-reset")

    inputs = [sliders[name] for name in ARKIT_NAMES]

    def render_from_sliders(*values):
        values = np.asarray(values, dtype=np.float32)
        return render_still(values[: len(inputs)], values[len(inputs) :])

    def apply_preset(emotion_name, amount, pitch=0.0, yaw=0.0, roll=0.0):
        weights = emotion_weights(emotion_name, amount)
        # Rounded as Python floats: the sliders show 0.35, not float32's 0.3499999940395355.
        return [round(float(w), 3) for w in weights] + [render_still(weights, np.array([pitch, yaw, roll], np.float32))]

    # `input` fires for every way a visitor moves a slider (drag, arrow keys, a typed number);
    # "always_last" renders the newest value and skips the ones a fast drag left behind.
    for slider in inputs + head:
        slider.input(render_from_sliders, inputs + head, image, api_name=False, show_progress="hidden", trigger_mode="always_last")
    gr.on([emotion.input, intensity.input], apply_preset, [emotion, intensity, *head], inputs + [image], api_name="face_rig_preset", trigger_mode="always_last")
    reset.click(lambda: ["neutral", 1.0, *apply_preset("neutral", 0.0), 0.0, 0.0, 0.0], None, [emotion, intensity, *inputs, image, *head], api_name=False)
    return inputs, image
