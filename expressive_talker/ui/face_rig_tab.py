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


def build_face_rig_tab(render_still) -> tuple[list, gr.Image]:
    """``render_still(weights (52,)) -> image`` does the rendering (shared renderer, locked)."""
    gr.Markdown(
        "Pose the face with the 52 ARKit blendshapes, or start from an emotion preset "
        "(FACS action units of the basic emotions). Values are weights from 0 to 1."
    )
    with gr.Row():
        with gr.Column(scale=1):
            emotion = gr.Dropdown(EMOTIONS, value="neutral", label="Emotion preset")
            intensity = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Preset intensity")
            sliders = {}
            for group in GROUPS:
                with gr.Accordion(group, open=group == "Jaw"):
                    for name in ARKIT_NAMES:
                        if _group_of(name) == group:
                            sliders[name] = gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=name)
        with gr.Column(scale=1):
            image = gr.Image(label="Face", type="numpy", format="png", interactive=False)
            reset = gr.Button("Reset to neutral")

    inputs = [sliders[name] for name in ARKIT_NAMES]

    def render_from_sliders(*values):
        return render_still(np.asarray(values, dtype=np.float32))

    def apply_preset(emotion_name, amount):
        weights = emotion_weights(emotion_name, amount)
        return [float(w) for w in weights] + [render_still(weights)]

    for slider in inputs:
        slider.release(render_from_sliders, inputs, image, api_name=False, show_progress="hidden")
    gr.on([emotion.change, intensity.release], apply_preset, [emotion, intensity], inputs + [image], api_name="face_rig_preset")
    reset.click(lambda: apply_preset("neutral", 0.0), None, inputs + [image], api_name=False)
    return inputs, image
