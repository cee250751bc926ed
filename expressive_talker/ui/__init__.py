"""The Gradio app (``build_app``) launched by ``app.py``."""

from .app import build_app, launch, queue
from .jobs import Settings

__all__ = ["Settings", "build_app", "launch", "queue"]
