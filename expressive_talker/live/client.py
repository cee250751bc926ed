"""``python -m expressive_talker stream``: play an audio file through the live path, in this
process or through a running app's live route, and keep every frame with its latency.

A frame's latency is the wall time from sending the last audio sample it depends on (its
``until``) to receiving it. Without ``realtime`` chunks go as fast as they can and the frames
are the same (the live path's windows sit at fixed points of the stream, not of the chunks).
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import urllib.parse

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..errors import InputError


class SendLog:
    """When each chunk left: ``sent_at(seconds)`` is the wall time of the chunk holding that
    stream time's sample."""

    def __init__(self):
        self.ends: list[int] = []  # samples sent up to and including each chunk
        self.times: list[float] = []

    def add(self, end: int, when: float) -> None:
        self.ends.append(end)
        self.times.append(when)

    def sent_at(self, seconds: float) -> float:
        i = bisect.bisect_left(self.ends, int(round(seconds * SAMPLE_RATE)))
        return self.times[min(i, len(self.times) - 1)]


def _chunks(wave: np.ndarray, chunk_ms: float):
    size = max(1, int(round(chunk_ms * SAMPLE_RATE / 1000)))
    for start in range(0, len(wave), size):
        yield start + min(size, len(wave) - start), wave[start : start + size]


def _pace(start: float, end_sample: int, realtime: bool) -> None:
    """In real time a chunk leaves once the audio it holds has been 'spoken'."""
    if realtime:
        delay = start + end_sample / SAMPLE_RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def stream_in_process(wave: np.ndarray, prompt: str, realtime: bool = False, chunk_ms: float = 20.0, still: bool = False, weights_dir: str | None = None) -> dict:
    from .session import LiveSession

    session = LiveSession(prompt, still=still, weights_dir=weights_dir)
    log, frames, latency = SendLog(), [], []
    cpu0, start = time.process_time(), time.perf_counter()
    for end, chunk in _chunks(wave, chunk_ms):
        _pace(start, end, realtime)
        log.add(end, time.perf_counter())
        new = session.push(chunk)
        now = time.perf_counter()
        frames += new
        latency += [now - log.sent_at(f.until) for f in new]
    last = session.finish()
    now = time.perf_counter()
    frames += last
    latency += [now - log.sent_at(f.until) for f in last]
    cpu = time.process_time() - cpu0
    return {"frames": [f.to_json() for f in frames], "latency_s": latency, "fps": session.fps, "cpu_s": cpu, "seconds": len(wave) / SAMPLE_RATE}


def socket_url(url: str) -> str:
    """The app's address (http://host:7860/) -> its live route (ws://host:7860/live)."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise InputError(f"--url must be the app's address, e.g. http://127.0.0.1:7860/, not {url!r}")
    path = parts.path if parts.path.rstrip("/").endswith("/live") else parts.path.rstrip("/") + "/live"
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))


def stream_to_url(url: str, wave: np.ndarray, prompt: str, realtime: bool = False, chunk_ms: float = 20.0, still: bool = False, timeout_s: float = 120.0) -> dict:
    """The same, through a running app's live route."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    address = socket_url(url)
    try:
        ws = connect(address, open_timeout=timeout_s, max_size=None)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"could not reach the live route at {address}: {exc}") from None
    log, frames, latency, errors = SendLog(), [], [], []
    with ws:
        try:
            ws.send(json.dumps({"type": "start", "rate": SAMPLE_RATE, "format": "f32", "prompt": prompt, "still": still}))
        except ConnectionClosed:  # refused at once ("busy"): the reason still waits to be read
            pass
        try:
            ready = json.loads(ws.recv(timeout=timeout_s))
        except ConnectionClosed:
            raise InputError("the live route closed the stream before it started") from None
        if ready.get("type") != "ready":
            raise InputError(f"the live route said: {ready.get('message', ready)}")

        def send():
            start = time.perf_counter()
            try:
                for end, chunk in _chunks(wave, chunk_ms):
                    _pace(start, end, realtime)
                    log.add(end, time.perf_counter())
                    ws.send(chunk.astype("<f4").tobytes())
                ws.send(json.dumps({"type": "stop"}))
            except ConnectionClosed:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        end = None
        try:
            while end is None:
                message = json.loads(ws.recv(timeout=timeout_s))
                now = time.perf_counter()
                if message["type"] == "frames":
                    frames += message["frames"]
                    latency += [now - log.sent_at(f["until"]) for f in message["frames"]]
                elif message["type"] == "error":
                    errors.append(message["message"])
                elif message["type"] == "end":
                    end = message
        except ConnectionClosed:
            pass
        except TimeoutError:
            raise InputError(f"the live route sent nothing for {timeout_s:g} s") from None
        sender.join()
    if end is None:
        raise InputError(f"the live route closed the stream: {'; '.join(errors) or 'no reason given'}")
    return {"frames": frames, "latency_s": latency, "fps": ready["fps"], "cpu_s": end.get("server_cpu_s"), "seconds": len(wave) / SAMPLE_RATE, "take": end.get("take", {}), "errors": errors}


def stream_doc(result: dict) -> dict:
    """The ``.json`` export's format (fps, names, frames, head_rotation_deg) plus per-frame
    ``latency_ms`` and a ``summary``."""
    from ..face.rig import ARKIT_NAMES

    latency_ms = np.asarray(result["latency_s"]) * 1000
    cpu = result.get("cpu_s")
    return {
        "fps": result["fps"],
        "names": list(ARKIT_NAMES),
        "frames": [f["w"] for f in result["frames"]],
        "head_rotation_deg": [f["head"] for f in result["frames"]],
        "latency_ms": np.round(latency_ms, 1).tolist(),
        "summary": {
            "frames": len(result["frames"]),
            "audio_s": round(result["seconds"], 3),
            "latency_ms_median": round(float(np.median(latency_ms)), 1) if len(latency_ms) else None,
            "latency_ms_p95": round(float(np.percentile(latency_ms, 95)), 1) if len(latency_ms) else None,
            "cpu_s_per_audio_s": round(cpu / result["seconds"], 3) if cpu is not None and result["seconds"] else None,
        },
    }
