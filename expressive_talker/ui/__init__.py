"""The Gradio app (``build_app``) launched by ``app.py``."""

from .app import build_app, launch

__all__ = ["build_app", "launch"]
