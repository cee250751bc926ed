"""``python -m expressive_talker bench features``: speech and text feature speed and memory.

Each backend runs in a fresh process so its load time is a true first load (imports included)
and its peak memory is its own.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import tempfile
import time

import numpy as np

from .io import SAMPLE_RATE

BENCH_BACKENDS = ("whisper-tiny", "mel", "wav2vec2", "minilm")


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced harmonics with a wandering pitch, syllable-rate envelope and pauses: speech-shaped load."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 12))
    wave = wave * np.clip(np.sin(2 * np.pi * 3.5 * t), 0, 1) * (np.sin(2 * np.pi * 0.25 * t) > -0.7)
    wave = wave + 0.01 * rng.standard_normal(len(t))
    return (0.1 * wave / np.abs(wave).max()).astype(np.float32)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_one(backend: str, seconds: float, repeats: int, threads: int, queue) -> None:
    try:
        queue.put(_measure(backend, seconds, repeats, threads))
    except Exception as exc:  # noqa: BLE001 - report, don't hang the parent
        queue.put({"backend": backend, "error": f"{type(exc).__name__}: {exc}"})


def _measure(backend: str, seconds: float, repeats: int, threads: int) -> dict:
    if backend in ("wav2vec2", "minilm"):  # torch backends; the others run without importing torch
        import torch

        torch.set_num_threads(threads)
    wave = speech_like(seconds)
    base_mb = _peak_mb()
    t0 = time.perf_counter()
    note = None
    if backend == "minilm":
        from ..text import get_text_encoder

        encoder = get_text_encoder("minilm")
        run = lambda: encoder.encode(["slightly disgusted", "disgust", "happy"])  # noqa: E731
        unit = "3 prompts"
    else:
        from .features import Wav2Vec2Encoder, get_speech_encoder

        if backend == "wav2vec2":
            # No wav2vec 2.0 weights ship offline: time the base architecture with random weights,
            # saved and loaded from disk like a real checkpoint.
            from .._torch_compat import ensure_torchvision_importable

            ensure_torchvision_importable()
            from transformers import Wav2Vec2Config, Wav2Vec2Model

            folder = tempfile.mkdtemp(prefix="w2v2-bench-")
            Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(folder)
            t0 = time.perf_counter()
            encoder = Wav2Vec2Encoder(folder)
            note = "wav2vec2-base architecture, random weights (none ship offline)"
        else:
            encoder = get_speech_encoder(backend)
        run = lambda: encoder(wave)  # noqa: E731
        unit = f"{seconds:g} s audio"
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run()
    first_ms = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    shape = list(getattr(out, "vectors", out).shape)
    result = {
        "backend": backend,
        "per": unit,
        "load_s": round(load_s, 3),
        "first_call_ms": round(first_ms, 1),
        "ms": round(float(np.median(times)), 1),
        "ms_min": round(float(np.min(times)), 1),
        "output_shape": shape,
        "peak_rss_mb": round(_peak_mb(), 1),
        "rss_before_load_mb": round(base_mb, 1),
    }
    if note:
        result["note"] = note
    return result


def bench_features(seconds: float = 10.0, repeats: int = 5, backends=BENCH_BACKENDS, threads: int | None = None) -> dict:
    from .features import default_threads

    threads = threads or default_threads()
    ctx = multiprocessing.get_context("spawn")
    results = []
    for backend in backends:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run_one, args=(backend, seconds, repeats, threads, queue))
        proc.start()
        results.append(queue.get(timeout=900))
        proc.join()
    return {
        "clip_seconds": seconds,
        "repeats": repeats,
        "threads": threads,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "backends": results,
    }
