"""Build and launch the Gradio app. Tabs arrive with their issues; the face rig is the first."""

from __future__ import annotations

import os
import threading

from .offline import go_offline

go_offline()

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from .face_rig_tab import build_face_rig_tab  # noqa: E402

TITLE = "expressive-talker"
STILL_SIZE = 512


class _Renderers:
    """One renderer for the whole app, created on first use; its lock serialises GL work."""

    def __init__(self):
        self._renderer = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._renderer is None:
                from ..render.renderer import FaceRenderer

                self._renderer = FaceRenderer(STILL_SIZE)
            return self._renderer


def build_app() -> gr.Blocks:
    renderers = _Renderers()

    def render_still(weights: np.ndarray) -> np.ndarray:
        from ..face.rig import load_rig

        weights = np.clip(np.asarray(weights, dtype=np.float32), 0.0, 1.0)
        return renderers.get().render(load_rig().pose(weights), weights)

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nText-guided, audio-driven 3D facial animation.")
        with gr.Tab("Face rig"):
            sliders, image = build_face_rig_tab(render_still)
        demo.load(lambda: render_still(np.zeros(len(sliders), np.float32)), None, image, api_name=False)
    return demo


def launch(**kwargs) -> None:
    """Start the app: 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise."""
    demo = build_app()
    # Two CPU cores render one video at a time best; more requests wait in the queue.
    demo.queue(default_concurrency_limit=int(os.environ.get("EXPRESSIVE_TALKER_CONCURRENCY", "1")))
    kwargs.setdefault("server_name", os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    kwargs.setdefault("server_port", int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    kwargs.setdefault("ssr_mode", False)
    demo.launch(**kwargs)
