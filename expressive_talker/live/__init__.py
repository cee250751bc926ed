"""The live path: speech as it arrives -> ARKit frames at 30 fps, the prompt changeable at any
moment (``session.LiveSession``), and its WebSocket route on the app's server (``server.py``)."""

from .session import MAX_SECONDS, LiveFrame, LiveSession

__all__ = ["MAX_SECONDS", "LiveFrame", "LiveSession"]
