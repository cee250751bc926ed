"""The live route on the app's own server: a WebSocket at ``/live`` (binary PCM in, JSON frames
out) and ``/live/take/<id>/<file>`` for the take a stream leaves behind. Same origin as the page,
so it passes a Hugging Face Space's proxy with nothing else to run. The protocol is in the
README ("Live"); in short:

    client: {"type": "start", "rate": 48000, "format": "f32", "prompt": "calm", "still": false}
    client: <binary PCM> ...   {"type": "prompt", "text": "furious"}   ...   {"type": "stop"}
    server: {"type": "ready", ...}  {"type": "frames", "frames": [{"t", "until", "w", "head"}, ...]}
            {"type": "reading", ...}  {"type": "error", "message"}  {"type": "end", "take": {...}}

Why a WebSocket and not WebRTC (FastRTC): the face needs the audio losslessly and in order, not
a media track's jitter-buffered playout; a WebSocket is one route on the server the page already
talks to, with no STUN/TURN to pass a Space's proxy, and any engine can speak it.

A stream holds one of ``capacity`` slots from connect to close; above that a connection gets one
"busy" message and is closed at once, so the streams admitted never slow down for it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from .session import MAX_SECONDS, LiveSession

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0  # a connection must say how it will send audio within this
IDLE_TIMEOUT_S = 30.0  # ... and then never fall silent (no message at all) for longer
TAKE_STEM = "expressive-talker-live"
TAKE_WAV = "take.wav"
TAKE_CURVES = "take-curves.npz"  # what the exports are made from
TAKES_KEPT = 64  # take folders the route still serves (older ones are left to the outputs' clean-up)
TAKE_ID = re.compile(r"[0-9a-f]{32}")
# Close codes (RFC 6455): 1000 normal, 1003 data it cannot accept, 1008 policy, 1013 try again later.
CLOSE_BUSY, CLOSE_BAD_DATA, CLOSE_POLICY = 1013, 1003, 1008


class LiveHub:
    """Admission and takes for the live route; one per app."""

    def __init__(self, capacity: int = 3, weights_dir: str | None = None, new_folder: Callable[[], str] | None = None, max_seconds: float = MAX_SECONDS):
        self.capacity, self.weights_dir, self.max_seconds = max(0, capacity), weights_dir, max_seconds
        self.new_folder = new_folder
        self._lock = threading.Lock()
        self._streams = 0
        self._takes: collections.OrderedDict[str, dict[str, str]] = collections.OrderedDict()

    def admit(self) -> bool:
        with self._lock:
            if self._streams >= self.capacity:
                return False
            self._streams += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._streams -= 1

    @property
    def streams(self) -> int:
        with self._lock:
            return self._streams

    def save_take(self, session: LiveSession) -> dict[str, str]:
        """The stream's audio (WAV) and its curves, kept for download -> {format: URL path}, the
        WAV and every export format. Only the WAV and the curves' arrays are written now: each
        export is made when it is first asked for, so a stream that nobody downloads costs
        nothing more at its end (a 30 s take's .glb alone takes about half a second of CPU)."""
        from ..audio import write_wav
        from ..export import EXPORT_FILES
        from ..export.bundle import CURVE_FORMATS

        wave, weights, heads = session.take()
        if self.new_folder is None or not len(weights):
            return {}
        folder = self.new_folder()
        write_wav(os.path.join(folder, TAKE_WAV), wave)
        np.savez(os.path.join(folder, TAKE_CURVES), weights=weights, heads=heads, fps=session.fps)
        files = {"wav": TAKE_WAV, **{fmt: TAKE_STEM + EXPORT_FILES[fmt] for fmt in CURVE_FORMATS}}
        take_id = secrets.token_hex(16)
        with self._lock:
            self._takes[take_id] = {"folder": folder, "formats": {name: fmt for fmt, name in files.items()}}
            while len(self._takes) > TAKES_KEPT:
                self._takes.popitem(last=False)
        return {fmt: f"live/take/{take_id}/{name}" for fmt, name in files.items()}

    def take_file(self, take_id: str, name: str) -> str | None:
        """The path of a take's file, written first if this is its first request; None when
        there is no such take or file."""
        from ..export.bundle import write_format

        if not TAKE_ID.fullmatch(take_id):
            return None
        with self._lock:
            take = self._takes.get(take_id)
        fmt = take and take["formats"].get(name)
        if not fmt:
            return None
        path = os.path.join(take["folder"], name)
        if not os.path.isfile(path):
            try:
                with np.load(os.path.join(take["folder"], TAKE_CURVES)) as curves:
                    weights, heads, fps = curves["weights"], curves["heads"], float(curves["fps"])
            except OSError:  # the outputs' clean-up took the folder
                return None
            # Written aside and moved in whole: two requests at once never serve half a file.
            partial = f"{path}.{secrets.token_hex(4)}.partial"
            write_format(fmt, partial, weights, fps, head_rotation=heads)
            os.replace(partial, path)
        return path


def _start_options(message: dict) -> dict:
    """The start message's fields, checked: rate, format, prompt, still."""
    if not isinstance(message, dict) or message.get("type") != "start":
        raise InputError('the first message must be {"type": "start", "rate": 16000, "format": "f32", "prompt": "calm"}')
    prompt = message.get("prompt", "neutral")
    if not isinstance(prompt, str):
        raise InputError('"prompt" must be text, e.g. "calm"')
    return {"rate": message.get("rate", 16000), "fmt": message.get("format", "f32"), "prompt": prompt, "still": bool(message.get("still", False))}


def _parse(text: str) -> dict:
    try:
        message = json.loads(text)
    except ValueError:
        raise InputError('text messages must be JSON, e.g. {"type": "prompt", "text": "furious"}') from None
    if not isinstance(message, dict):
        raise InputError('text messages must be JSON objects, e.g. {"type": "stop"}')
    return message


async def live_socket(websocket, hub: LiveHub) -> None:
    """One stream, from connect to close."""
    from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

    from ..face.rig import ARKIT_NAMES
    from ..text.reading import read_prompt
    from .pcm import PcmDecoder

    await websocket.accept()
    if not hub.admit():
        await _refuse(websocket, f"the live face is busy: {hub.capacity} streams are running, the most this server holds; try again in a minute", CLOSE_BUSY)
        return
    try:
        try:
            first = await asyncio.wait_for(websocket.receive_text(), START_TIMEOUT_S)
            options = _start_options(_parse(first))
            decoder = PcmDecoder(options["rate"], options["fmt"])
            session = await asyncio.to_thread(
                LiveSession, options["prompt"], "ours", options["still"], hub.weights_dir, max_seconds=hub.max_seconds
            )
        except asyncio.TimeoutError:
            return await _refuse(websocket, f"no start message within {START_TIMEOUT_S:g} s: send it first", CLOSE_POLICY)
        except (InputError, KeyError, TypeError) as exc:  # receive_text on a binary message raises KeyError
            message = str(exc) if isinstance(exc, InputError) else 'the first message must be the JSON start message, e.g. {"type": "start", "rate": 16000, "format": "f32"}'
            return await _refuse(websocket, message, CLOSE_POLICY)
        w = session.window
        await websocket.send_json({
            "type": "ready", "fps": session.fps, "names": list(ARKIT_NAMES), "lookahead_ms": round(w.lookahead_s * 1000),
            "hop_ms": round(w.hop_s * 1000), "max_seconds": session.max_seconds, "still": session.still,
        })  # fmt: skip
        inbox = _Inbox(websocket)
        readings = [asyncio.create_task(_send_reading(websocket, session, read_prompt))]
        cpu_start = time.process_time()  # the whole server's CPU: a stream's own cost when it runs alone
        pending, gathered = [], 0  # audio received but not yet pushed
        try:
            while True:
                try:
                    message = await inbox.next(IDLE_TIMEOUT_S)
                except asyncio.TimeoutError:
                    return await _refuse(websocket, f"nothing received for {IDLE_TIMEOUT_S:g} s: the stream is closed", CLOSE_POLICY)
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    try:  # bad audio, or a stream past its cap, ends the stream
                        for data in [message["bytes"], *inbox.audio_waiting()]:  # behind? take all that came
                            pending.append(decoder.decode(data))
                            gathered += len(pending[-1])
                        if gathered >= session.samples_before_frames:  # only then is there work: one trip to a worker
                            samples, pending, gathered = np.concatenate(pending), [], 0
                            await _send_frames(websocket, await asyncio.to_thread(session.push, samples))
                    except InputError as exc:
                        return await _refuse(websocket, str(exc), CLOSE_BAD_DATA)
                    continue
                try:  # a bad request is answered and changes nothing: the face keeps its prompt
                    request = _parse(message.get("text") or "")
                    kind = request.get("type")
                    if kind == "prompt":
                        await asyncio.to_thread(session.set_prompt, request.get("text") if isinstance(request.get("text"), str) else "")
                    elif kind != "stop":
                        raise InputError(f'unknown message type {kind!r}: send binary PCM, {{"type": "prompt", "text": ...}} or {{"type": "stop"}}')
                except InputError as exc:
                    await websocket.send_json({"type": "error", "message": str(exc)})
                    continue
                if kind == "prompt":  # the reading follows when it is ready; frames keep flowing
                    readings.append(asyncio.create_task(_send_reading(websocket, session, read_prompt)))
                    continue
                rest = np.concatenate([*pending, decoder.finish()])  # stop: the last frames, the take, and goodbye
                try:
                    await _send_frames(websocket, await asyncio.to_thread(session.push, rest) if len(rest) else [])
                except InputError as exc:  # past the cap
                    return await _refuse(websocket, str(exc), CLOSE_BAD_DATA)
                await _send_frames(websocket, await asyncio.to_thread(session.finish))
                await asyncio.gather(*readings)
                take = await asyncio.to_thread(hub.save_take, session)
                await websocket.send_json({
                    "type": "end", "seconds": round(session.seconds, 3), "frames": session.branches.frames, "take": take,
                    "server_cpu_s": round(time.process_time() - cpu_start, 3),
                })  # fmt: skip
                await websocket.close(1000)
                return
        finally:
            inbox.close()
            for task in readings:
                task.cancel()
    except (WebSocketDisconnect, WebSocketDisconnected):  # the client vanished (while we read, or sent): nothing to say, nothing kept
        return
    except Exception:
        log.exception("live stream failed")
        await _refuse(websocket, "the live stream failed on the server; please start again", 1011)
    finally:
        hub.release()


class _Inbox:
    """Reads the socket in a task of its own, so the server keeps answering the client (its pings
    included) while a worker computes frames, and sees at once when the client has gone."""

    def __init__(self, websocket):
        self._messages: collections.deque = collections.deque()
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read(websocket))

    async def _read(self, websocket):
        while True:
            message = await websocket.receive()
            self._messages.append(message)
            self._arrived.set()
            if message["type"] == "websocket.disconnect":
                return

    async def next(self, timeout: float) -> dict:
        while not self._messages:
            self._arrived.clear()
            if self._task.done():  # the reader stopped without a disconnect message: treat it as one
                return {"type": "websocket.disconnect"}
            await asyncio.wait_for(self._arrived.wait(), timeout)
        return self._messages.popleft()

    def audio_waiting(self) -> list[bytes]:
        """The audio messages already queued behind this one (none past a text message)."""
        out = []
        while self._messages and self._messages[0].get("bytes") is not None:
            out.append(self._messages.popleft()["bytes"])
        return out

    def close(self) -> None:
        self._task.cancel()


async def _refuse(websocket, message: str, code: int) -> None:
    """One error message, then close; the client may already be gone."""
    try:
        await websocket.send_json({"type": "error", "message": message})
        await websocket.close(code)
    except Exception:
        pass


async def _send_frames(websocket, frames) -> None:
    if frames:
        await websocket.send_json({"type": "frames", "frames": [f.to_json() for f in frames]})


async def _send_reading(websocket, session: LiveSession, read_prompt) -> None:
    """How the model reads the current prompt ("read as: ..."), as the page shows it."""
    prompt = session.prompt
    try:
        text = (await asyncio.to_thread(read_prompt, prompt, session.method, session.weights_dir)).summary()
    except InputError as exc:
        text = str(exc)
    await websocket.send_json({"type": "reading", "prompt": prompt, "text": text})


def live_routes(hub: LiveHub) -> list:
    """The Starlette routes: ``/live`` (WebSocket) and ``/live/take/{take_id}/{name}`` (GET)."""
    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Route, WebSocketRoute

    async def socket(websocket):
        await live_socket(websocket, hub)

    async def take(request):
        path = await asyncio.to_thread(hub.take_file, request.path_params["take_id"], request.path_params["name"])
        if path is None:
            return PlainTextResponse("no such take (takes are kept for an hour)", status_code=404)
        return FileResponse(path, filename=os.path.basename(path))

    return [WebSocketRoute("/live", socket), Route("/live/take/{take_id}/{name}", take)]
