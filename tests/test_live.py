"""The live path (expressive_talker/live) as an app or engine meets it: frames that do not depend on
how the audio was chunked, lips that follow the offline model, a bounded look-ahead, prompt
changes that ease instead of cutting, PCM in any rate and format with one clear refusal for
garbage, and the WebSocket route on the app's own server: the protocol, the take, the cap on
streams, a hundred connections at once, clients that vanish, and memory that stays flat."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from expressive_talker.audio import load_audio
from expressive_talker.errors import InputError
from expressive_talker.export import read_curves_csv, read_livelink, read_talkinghead
from expressive_talker.face.readout import read_expression
from expressive_talker.face.rig import ARKIT_NAMES, load_rig
from expressive_talker.live import LiveSession
from expressive_talker.live.pcm import PcmDecoder
from expressive_talker.pipeline import WEIGHTS_DIR, animate_speech

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH = os.path.join(ROOT, "examples", "cmu_arctic_a0007.flac")  # a real voice, 4 s
SR = 16000


@pytest.fixture(scope="module")
def wave():
    return load_audio(SPEECH)


def play(session, wave, chunk=320):
    frames = []
    for start in range(0, len(wave), chunk):
        frames += session.push(wave[start : start + chunk])
    return frames + session.finish()


def test_any_chunking_gives_the_same_frames(wave):
    runs = [play(LiveSession("calm"), wave, chunk) for chunk in (160, 441, 4000, len(wave))]
    weights = [np.stack([f.weights for f in run]) for run in runs]
    heads = [np.stack([f.head for f in run]) for run in runs]
    for w, h in zip(weights[1:], heads[1:]):  # the same up to float rounding (matrix shapes differ)
        np.testing.assert_allclose(w, weights[0], atol=1e-5)
        np.testing.assert_allclose(h, heads[0], atol=1e-4)
    assert np.abs(heads[0]).max() > 0.5  # the living face: the head moves with the voice


def test_streamed_lips_follow_the_offline_model(wave):
    session = LiveSession("neutral", still=True, keep_vertices=True)
    frames = play(session, wave)
    streamed = np.concatenate(session.raw_vertices)
    offline = animate_speech(wave, "neutral", still=True).vertices
    assert len(streamed) == len(offline) == len(frames)
    lips = load_rig().lip_indices
    distance_mm = np.linalg.norm(streamed[:, lips] - offline[:, lips], axis=-1).mean() * 1000
    assert distance_mm < 1.5
    # Frames come in order at 30 fps, each after the audio it depends on, and never wait for more
    # than the look-ahead plus one hop (and one feature row) of audio past their own time.
    t = np.array([f.t for f in frames])
    np.testing.assert_allclose(np.diff(t), 1 / 30)
    w = session.window
    ahead = np.array([f.until for f in frames[:-8]]) - t[:-8]
    assert (ahead >= w.lookahead_s - 1e-6).all() and (ahead <= w.lookahead_s + w.hop_s + 1 / 50 + 1e-6).all()


def test_a_frame_does_not_depend_on_audio_after_its_until(wave):
    changed = wave.copy()
    changed[2 * SR :] = np.random.default_rng(0).normal(0, 0.1, len(wave) - 2 * SR)
    a, b = play(LiveSession("calm"), wave), play(LiveSession("calm"), changed)
    known = [i for i, f in enumerate(a) if f.until <= 2.0]
    assert len(known) > 40
    for i in known:
        np.testing.assert_allclose(a[i].weights, b[i].weights, atol=1e-5)
    assert not all(np.allclose(x.weights, y.weights, atol=1e-3) for x, y in zip(a, b))


def test_a_prompt_change_eases_to_the_new_expression(wave):
    session = LiveSession("neutral", still=True, keep_vertices=True)
    frames = []
    for start in range(0, 2 * SR, 320):
        frames += session.push(wave[start : start + 320])
    switch = session.branches.frames  # the next frame to come out is the first to ease
    session.set_prompt("sad")
    assert session.prompt == "sad"
    frames += play(session, wave)  # a second sentence in the same stream
    weights = np.stack([f.weights for f in frames])
    assert read_expression(weights[switch - 15 : switch])[0] == "neutral"
    assert read_expression(weights[switch + 6 : switch + 21])[0] == "sad"  # within half a second
    # No cut: the largest frame-to-frame step is no larger than the stream's own speech makes.
    vertices = np.concatenate(session.raw_vertices)
    steps = np.linalg.norm(np.diff(vertices, axis=0), axis=-1).max(axis=1)
    assert steps[switch - 1 : switch + 10].max() <= steps[: switch - 1].max() * 1.5


def test_an_empty_prompt_is_refused_and_changes_nothing():
    session = LiveSession("calm", still=True)
    with pytest.raises(InputError, match="prompt"):
        session.set_prompt("   ")
    assert session.prompt == "calm" and len(session.schedule.changes) == 1


def test_a_stream_past_its_cap_is_refused():
    session = LiveSession("calm", still=True, max_seconds=1.0)
    session.push(np.zeros(SR // 2, np.float32))
    with pytest.raises(InputError, match="cap of"):
        session.push(np.zeros(SR, np.float32))


def test_pcm_in_any_format_and_rate(wave):
    tone = np.sin(2 * np.pi * 440 * np.arange(48000) / 48000).astype(np.float32) * 0.5
    f32, s16 = PcmDecoder(48000, "f32"), PcmDecoder(48000, "s16")
    out = np.concatenate([f32.decode(tone[i : i + 960].tobytes()) for i in range(0, len(tone), 960)] + [f32.finish()])
    out16 = np.concatenate([s16.decode((tone[i : i + 960] * 32767).astype("<i2").tobytes()) for i in range(0, len(tone), 960)] + [s16.finish()])
    assert abs(len(out) - SR) <= 2
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * SR / len(out) - 440) < 3
    np.testing.assert_allclose(out, out16, atol=1e-3)
    same = PcmDecoder(SR, "f32")
    np.testing.assert_array_equal(same.decode(wave[:320].tobytes()), wave[:320])


@pytest.mark.parametrize(
    "rate, fmt, data, message",
    [
        (SR, "f32", np.random.default_rng(1).bytes(4000), "not float32 PCM"),
        (SR, "f32", b"\x00" * 7, "not whole 4-byte samples"),
        (0, "f32", b"", "sample rate 0"),
        ("fast", "f32", b"", "sample rate 'fast'"),
        (SR, "mp3", b"", "unknown sample format"),
    ],
)
def test_bad_pcm_gets_one_clear_message(rate, fmt, data, message):
    with pytest.raises(InputError, match=message):
        PcmDecoder(rate, fmt).decode(data)


# ---- the route on the app's server --------------------------------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from expressive_talker.ui import Settings, build_app, queue
    from expressive_talker.ui.app import app_kwargs

    root = tmp_path_factory.mktemp("live-app")
    demo = queue(build_app(Settings(weights_dir=WEIGHTS_DIR, output_dir=str(root / "outputs"), live_streams=2)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True, app_kwargs=app_kwargs(demo))
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def connect(url):
    from websockets.sync.client import connect as ws_connect

    return ws_connect(url.replace("http://", "ws://") + "live", open_timeout=60, max_size=None)


def receive(ws, kind, timeout=120):
    """Messages until one of type ``kind``; (it, the frames that came before it)."""
    frames = []
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == kind:
            return message, frames
        if message["type"] == "frames":
            frames += message["frames"]
        elif message["type"] == "error" and kind != "error":
            raise AssertionError(message["message"])


def send_start(ws, **options):
    """The start message; a server that refused the connection at once may already have closed it
    (its message still waits to be read)."""
    from websockets.exceptions import ConnectionClosed

    try:
        ws.send(json.dumps({"type": "start", "rate": SR, "format": "f32", "prompt": "calm", **options}))
    except ConnectionClosed:
        pass


def start(ws, **options):
    send_start(ws, **options)
    return receive(ws, "ready")[0]


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.slow
def test_a_stream_through_the_route_and_its_take(app, wave, tmp_path):
    demo, url = app
    with connect(url) as ws:
        ready = start(ws)
        assert ready["names"] == list(ARKIT_NAMES) and ready["fps"] == 30 and ready["lookahead_ms"] == 100
        assert "read as" in receive(ws, "reading")[0]["text"]
        for i in range(0, 2 * SR, 320):
            ws.send(wave[i : i + 320].tobytes())
        ws.send(json.dumps({"type": "prompt", "text": "furious"}))
        reading, frames = receive(ws, "reading")
        assert reading["prompt"] == "furious" and "angry" in reading["text"]
        ws.send(json.dumps({"type": "prompt", "text": ""}))
        assert "prompt" in receive(ws, "error")[0]["message"]  # refused; the stream goes on
        for i in range(2 * SR, len(wave), 320):
            ws.send(wave[i : i + 320].tobytes())
        ws.send(json.dumps({"type": "stop"}))
        end, more = receive(ws, "end")
    frames += more
    assert len(frames) == end["frames"] == round(len(wave) / SR * 30)
    assert all(len(f["w"]) == 52 and len(f["head"]) == 3 and f["until"] >= f["t"] for f in frames)
    assert set(end["take"]) == {"wav", "json", "csv", "glb", "livelink", "talkinghead"}
    with urllib.request.urlopen(url + end["take"]["json"]) as r:
        doc = json.loads(r.read())
    np.testing.assert_allclose(doc["frames"], [f["w"] for f in frames], atol=1e-3)
    with urllib.request.urlopen(url + end["take"]["wav"]) as r:
        assert r.read(4) == b"RIFF"
    # Every other export is made when first asked for, and the same file is served after.
    files = {}
    for fmt in ("csv", "glb", "livelink", "talkinghead"):
        with urllib.request.urlopen(url + end["take"][fmt]) as r:
            files[fmt] = r.read()
        with urllib.request.urlopen(url + end["take"][fmt]) as r:
            assert r.read() == files[fmt]
    assert files["glb"][:4] == b"glTF"
    folder = {fmt: tmp_path / f"take-{fmt}" for fmt in files}
    for fmt, data in files.items():
        folder[fmt].write_bytes(data)
    weights, _ = read_curves_csv(folder["csv"])
    np.testing.assert_allclose(weights, [f["w"] for f in frames], atol=1e-3)
    weights, _, heads = read_livelink(folder["livelink"])
    assert len(weights) == len(frames)
    weights, fps, _ = read_talkinghead(folder["talkinghead"])
    assert fps == 30 and len(weights) > 0
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url + "live/take/" + "0" * 32 + "/take.wav")
    assert wait_for(lambda: demo.live.streams == 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "first, then, message",
    [
        ({"type": "start", "rate": 0}, None, "sample rate 0"),
        ({"type": "start", "rate": SR, "format": "f32"}, np.random.default_rng(2).bytes(6400), "not float32 PCM"),
        ({"type": "hello"}, None, "first message must be"),
        (b"\x00\x01", None, "first message must be"),
    ],
)
def test_bad_input_gets_one_message_and_costs_nobody_else(app, first, then, message):
    from websockets.exceptions import ConnectionClosed

    demo, url = app
    with connect(url) as bystander:  # a stream already running goes on untouched
        start(bystander)
        with connect(url) as ws:
            ws.send(first if isinstance(first, bytes) else json.dumps(first))
            if then is not None:
                receive(ws, "ready")
                ws.send(then)
            error, _ = receive(ws, "error")
            assert message in error["message"]
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=30)
        bystander.send(np.zeros(SR, np.float32).tobytes())
        assert receive(bystander, "frames")[0]["frames"]
    assert wait_for(lambda: demo.live.streams == 0)


@pytest.mark.slow
def test_streams_above_the_cap_are_refused_and_the_rest_run(app, wave):
    demo, url = app
    with connect(url) as a:
        start(a)
        b = connect(url)
        start(b)
        with b, connect(url) as c:
            send_start(c)
            assert "busy" in receive(c, "error")[0]["message"]
            for ws in (a, b):
                ws.send(wave[:SR].tobytes())
                assert receive(ws, "frames")[0]["frames"]


@pytest.mark.slow
def test_a_hundred_connections_at_once(app):
    import asyncio

    from websockets.asyncio.client import connect as aconnect
    from websockets.exceptions import ConnectionClosed

    demo, url = app

    async def one():
        try:
            async with aconnect(url.replace("http://", "ws://") + "live", open_timeout=60) as ws:
                try:
                    await ws.send(json.dumps({"type": "start"}))
                except ConnectionClosed:  # refused at once: its message still waits to be read
                    pass
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if message["type"] in ("ready", "error"):
                        return message
        except Exception as exc:
            return {"type": "failed", "message": repr(exc)}

    async def all_at_once():
        return await asyncio.gather(*(one() for _ in range(100)))

    answers = asyncio.run(all_at_once())
    kinds = [a["type"] for a in answers]
    assert kinds.count("ready") <= demo.live.capacity
    assert kinds.count("error") >= 100 - demo.live.capacity
    assert all("busy" in a["message"] for a in answers if a["type"] == "error")
    assert wait_for(lambda: demo.live.streams == 0)
    with connect(url) as ws:  # and the server still serves the next one
        start(ws)


@pytest.mark.slow
def test_a_client_that_vanishes_frees_its_slot_and_memory_stays_flat(app, wave):
    demo, url = app

    def vanish():
        assert wait_for(lambda: demo.live.streams < demo.live.capacity)  # the last one's slot came back
        ws = connect(url)
        start(ws)
        ws.send(wave[:SR].tobytes())
        ws.socket.close()  # no stop, no close handshake: the network just goes

    def rss_mb():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))

    for _ in range(5):
        vanish()
    assert wait_for(lambda: demo.live.streams == 0)
    before = rss_mb()
    for _ in range(50):
        vanish()
    assert wait_for(lambda: demo.live.streams == 0)
    assert rss_mb() - before < 50


@pytest.mark.slow
def test_a_stream_past_the_cap_ends_with_a_message(app):
    demo, url = app
    cap, demo.live.max_seconds = demo.live.max_seconds, 1.0
    try:
        with connect(url) as ws:
            start(ws)
            ws.send(np.zeros(2 * SR, np.float32).tobytes())
            assert "cap of" in receive(ws, "error")[0]["message"]
    finally:
        demo.live.max_seconds = cap


@pytest.mark.slow
def test_stream_cli_in_process_and_through_the_route_agree(app, tmp_path):
    _, url = app
    outs = {}
    for name, extra in (("local", []), ("route", ["--url", url])):
        out = tmp_path / f"{name}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "expressive_talker", "stream", "--audio", SPEECH, "--text", "calm", "--json", str(out), *extra],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[name] = json.loads(out.read_text())
    local, route = outs["local"], outs["route"]
    assert local["names"] == list(ARKIT_NAMES) and local["fps"] == 30
    assert len(local["frames"]) == len(local["latency_ms"]) == len(local["head_rotation_deg"]) == 120
    np.testing.assert_allclose(local["frames"], route["frames"], atol=1e-4)
    for doc in (local, route):
        assert {"latency_ms_median", "latency_ms_p95", "cpu_s_per_audio_s"} <= doc["summary"].keys()
    bad = subprocess.run([sys.executable, "-m", "expressive_talker", "stream", "--audio", SPEECH, "--json", str(tmp_path / "x.json"), "--url", "ftp://nowhere"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--url" in bad.stderr
