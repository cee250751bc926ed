"""Pick the OpenGL platform for offscreen rendering before anything imports pyrender.

EGL when an NVIDIA GPU is present, OSMesa (pure CPU) otherwise. ``EXPRESSIVE_TALKER_GL=egl`` or
``=osmesa`` overrides the choice; an explicit ``PYOPENGL_PLATFORM`` is respected as well.
"""

from __future__ import annotations

import ctypes
import glob
import os

PLATFORMS = ("egl", "osmesa")


def choose_platform() -> str:
    forced = os.environ.get("EXPRESSIVE_TALKER_GL") or os.environ.get("PYOPENGL_PLATFORM")
    if forced:
        if forced not in PLATFORMS:
            raise RuntimeError(f"EXPRESSIVE_TALKER_GL must be one of {', '.join(PLATFORMS)}, not {forced!r}")
        return forced
    return "egl" if glob.glob("/dev/nvidia[0-9]*") else "osmesa"


def import_pyrender():
    """Import pyrender with the platform chosen above (PyOpenGL reads it once, at import)."""
    platform = choose_platform()
    os.environ["PYOPENGL_PLATFORM"] = platform
    if platform == "egl":
        # pyrender imports pyglet (for its viewer), and pyglet's default X11 backend fails to load
        # on a GPU server without X libraries (seen on an H200 host: no libXrender). Headless
        # pyglet uses EGL, which this platform has anyway.
        os.environ.setdefault("PYGLET_HEADLESS", "true")
    import OpenGL.contextdata
    import pyrender

    _stable_context_ids(OpenGL.contextdata)
    return pyrender


def _stable_context_ids(contextdata) -> None:
    """Make PyOpenGL name the current context by its address.

    With OSMesa (and EGL) PyOpenGL returns a fresh ctypes pointer object for the same context on
    every call, and those compare unequal. pyrender keys its shader cache on it, so every frame
    recompiled every shader: 3x slower and leaking memory. An address is a stable key.
    """
    original = contextdata.getContext
    if getattr(original, "_stable", False):
        return

    def get_context(context=None):
        ctx = original(context)
        return ctypes.cast(ctx, ctypes.c_void_p).value if isinstance(ctx, ctypes._Pointer) else ctx

    get_context._stable = True
    contextdata.getContext = get_context
