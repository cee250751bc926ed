"""``python -m expressive_talker bench render``: rendering and encoding speed."""

from __future__ import annotations

import os
import platform
import resource
import tempfile
import time

import numpy as np

from ..audio import SAMPLE_RATE
from ..face.expressions import emotion_weights
from ..face.rig import INDEX, load_rig
from .gl import choose_platform


def _speech_like_animation(frames: int, fps: int = 30) -> np.ndarray:
    """Jaw and lip motion at syllable rate over a smile, with blinks: a realistic workload."""
    t = np.arange(frames) / fps
    w = np.tile(emotion_weights("happy", 0.5), (frames, 1))
    w[:, INDEX["jawOpen"]] = 0.25 + 0.25 * np.sin(2 * np.pi * 4.0 * t)
    w[:, INDEX["mouthFunnel"]] = 0.3 * np.clip(np.sin(2 * np.pi * 1.3 * t), 0, 1)
    blink = (t % 3.0) < 0.15
    w[blink, INDEX["eyeBlinkLeft"]] = w[blink, INDEX["eyeBlinkRight"]] = 1.0
    return w


def bench_render(frames: int = 300, size: int = 512, fps: int = 30) -> dict:
    from .renderer import FaceRenderer
    from .video import Animation, encode_mp4

    t0 = time.perf_counter()
    rig = load_rig()
    renderer = FaceRenderer(size, rig)
    setup_s = time.perf_counter() - t0
    animation = Animation.from_weights(_speech_like_animation(frames, fps), rig)
    wave = (0.1 * np.sin(2 * np.pi * 220 * np.arange(int(frames / fps * SAMPLE_RATE)) / SAMPLE_RATE)).astype(np.float32)

    t0 = time.perf_counter()
    images = [renderer.render(animation.vertices[i], animation.weights[i]) for i in range(frames)]
    render_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.mp4")
        t0 = time.perf_counter()
        encode_mp4(images, out, fps, (size, size), wave)
        encode_s = time.perf_counter() - t0
        mp4_bytes = os.path.getsize(out)
    renderer.close()
    return {
        "frames": frames,
        "size": size,
        "platform": choose_platform(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "setup_s": round(setup_s, 3),
        "render_ms_per_frame": round(1000 * render_s / frames, 2),
        "encode_ms_per_frame": round(1000 * encode_s / frames, 2),
        "total_s": round(render_s + encode_s, 3),
        "mp4_bytes": mp4_bytes,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
