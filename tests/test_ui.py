"""The demo served for real on loopback: every endpoint through gradio_client, user mistakes
as errors, and the server still answering after them. Runs on a tiny untrained model."""

import json
import socket

import numpy as np
import pygltflib
import pytest
from PIL import Image

from expressive_talker.export import EXPORT_FILES, read_curves, read_curves_csv, read_livelink, read_talkinghead

from .helpers import duration, make_tiny_weights, probe, write_tone

pytestmark = pytest.mark.slow
FPS = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from gradio_client import Client

    from expressive_talker.ui import Settings, build_app, queue

    root = tmp_path_factory.mktemp("app")
    # ExpCLIP has no weights here: Compare must work with the other two and say so.
    settings = Settings(
        weights_dir=str(make_tiny_weights(root / "weights", ("ours", "faceformer"))),
        max_seconds=3.0, video_size=256, compare_size=256, output_dir=str(root / "outputs"),
    )  # fmt: skip
    demo = queue(build_app(settings))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True, max_file_size="2mb")
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False), root
    finally:
        demo.close()


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return str(write_tone(tmp_path_factory.mktemp("audio") / "speech.wav", seconds=1.2))


def check_video(path, seconds, width=None):
    frames, has_audio, video = probe(path)
    assert has_audio and "h264" in video
    assert frames == round(seconds * FPS)
    assert abs(duration(path) - seconds) <= 1 / FPS  # the video lasts as long as the speech
    if width:
        assert f"{width}x" in video


def exports_by_format(files) -> dict:
    """format -> file, by the longest matching ending ("-livelink.csv" before ".csv")."""
    return {max((k for k, end in EXPORT_FILES.items() if f.endswith(end)), key=lambda k: len(EXPORT_FILES[k])): f for f in files}


def test_generate_returns_video_and_exports_that_parse(app, speech):
    from gradio_client import handle_file

    client, _ = app
    video, files = client.predict(handle_file(speech), "slightly disgusted", "ours", api_name="/generate")
    check_video(video, 1.2, width=256)
    # format -> file by the longest matching ending ("-livelink.csv" before ".csv")
    by_format = exports_by_format(files)
    assert sorted(by_format) == sorted(EXPORT_FILES) and len(files) == len(EXPORT_FILES)
    assert np.load(by_format["npy"]).shape[:1] == (36,)
    assert read_curves(by_format["json"])[0].shape == (36, 52)
    weights, fps = read_curves_csv(by_format["csv"])
    assert weights.shape == (36, 52) and fps == FPS
    assert len(pygltflib.GLTF2().load(by_format["glb"]).meshes[0].primitives[0].targets) == 52
    livelink, fps, _ = read_livelink(by_format["livelink"])
    assert fps == FPS and np.abs(livelink - weights).max() < 1e-4  # the same curves as the CSV
    assert np.abs(read_talkinghead(by_format["talkinghead"])[0] - weights).max() < 1e-4


def test_animate_returns_the_curves_without_a_video(app, speech):
    """/animate: the ARKit curves and head track, the content of the curves JSON export."""
    import json

    from gradio_client import handle_file

    client, _ = app
    curves = client.predict(handle_file(speech), "slightly disgusted", "ours", False, api_name="/animate")
    assert curves.keys() == {"fps", "names", "frames", "head_rotation_deg"}
    assert curves["fps"] == FPS and len(curves["names"]) == 52
    assert np.asarray(curves["frames"]).shape == (36, 52) and np.asarray(curves["head_rotation_deg"]).shape == (36, 3)
    assert np.any(curves["head_rotation_deg"])  # the motion layer's head track
    _, files = client.predict(handle_file(speech), "slightly disgusted", "ours", False, api_name="/generate")
    exported = json.loads(open(next(f for f in files if f.endswith(".json"))).read())
    assert exported == curves
    with pytest.raises(Exception, match="prompt is empty"):
        client.predict(handle_file(speech), "  ", "ours", False, api_name="/animate")


def test_generate_still_face_gives_the_raw_output(app, speech):
    """The Still face box (the 4th input of /generate) turns the motion layer off."""
    import json

    from gradio_client import handle_file

    client, _ = app
    runs = {}
    for still in (False, True):
        _, files = client.predict(handle_file(speech), "calm", "ours", still, api_name="/generate")
        by_format = exports_by_format(files)
        runs[still] = np.load(by_format["npy"]), np.asarray(json.loads(open(by_format["json"]).read())["head_rotation_deg"])
    (living, head), (raw, still_head) = runs[False], runs[True]
    assert not np.any(still_head) and np.any(head)
    assert np.abs(living - raw).max() > 1e-4


def test_face_rig_head_sliders_turn_the_head(app):
    client, _ = app
    level = client.predict("neutral", 1.0, 0.0, 0.0, 0.0, api_name="/face_rig_preset")[-1]
    turned = client.predict("neutral", 1.0, 0.0, 20.0, 0.0, api_name="/face_rig_preset")[-1]
    a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=int) for p in (level, turned))
    assert np.abs(a - b).mean() > 1.0


def test_interpolate_and_its_strip_of_stills(app, speech):
    from gradio_client import handle_file

    client, _ = app
    video = client.predict(handle_file(speech), "happy", "furious", 0.5, api_name="/interpolate")
    check_video(video, 1.2, width=256)
    strip = np.asarray(Image.open(client.predict(handle_file(speech), "happy", "furious", api_name="/interpolation_strip")))
    assert strip.shape[1] == 5 * 256  # alpha = 0, 0.25, 0.5, 0.75, 1


def test_compare_has_a_panel_per_method_with_weights(app, speech):
    from gradio_client import handle_file

    client, _ = app
    video = client.predict(handle_file(speech), "furious", api_name="/compare")
    check_video(video, 1.2, width=512)  # two 256 px panels: ours and FaceFormer


@pytest.mark.parametrize(
    "make_audio, text, method, message",
    [
        (None, "happy", "ours", "no speech given"),
        ("text", "happy", "ours", "could not read notes.wav as audio"),  # a text file uploaded as speech
        ("long", "happy", "ours", "the limit is 3 s"),  # over the app's 3 s limit
        ("ok", "   ", "ours", "prompt is empty"),
        ("ok", "happy", "expclip", "no trained weights for method 'expclip'"),
    ],
)
def test_user_mistakes_are_errors_and_the_next_request_succeeds(app, speech, tmp_path, make_audio, text, method, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client, _ = app
    audio = {
        None: None,
        "ok": speech,
        "text": str(tmp_path / "notes.wav"),
        "long": str(write_tone(tmp_path / "long.wav", seconds=4.0)),
    }[make_audio]
    if make_audio == "text":
        (tmp_path / "notes.wav").write_text("this is not audio")
    with pytest.raises(AppError, match=message):
        client.predict(None if audio is None else handle_file(audio), text, method, api_name="/generate")
    video, _ = client.predict(handle_file(speech), "calm", "ours", api_name="/generate")
    check_video(video, 1.2)


def test_uploads_over_the_size_limit_are_refused(app, speech, tmp_path):
    from gradio_client import handle_file

    client, _ = app
    big = write_tone(tmp_path / "big.wav", seconds=70.0)  # 2.2 MB of 16-bit audio; the app takes 2 MB
    with pytest.raises(Exception, match="(?i)too large|413|exceeds"):
        client.predict(handle_file(str(big)), "happy", "ours", api_name="/generate")
    video, _ = client.predict(handle_file(speech), "calm", "ours", api_name="/generate")
    check_video(video, 1.2)


def test_old_outputs_are_cleaned_up(app):
    import os
    import time

    from expressive_talker.ui.jobs import Outputs

    _, root = app
    outputs = Outputs(str(root / "cleanup"), ttl_s=60)
    old = outputs.new_job()
    past = time.time() - 120
    os.utime(old, (past, past))
    fresh = outputs.new_job()
    assert not os.path.exists(old) and os.path.isdir(fresh)


def test_warm_up_loads_every_model_and_renderer(tmp_path):
    from expressive_talker import pipeline
    from expressive_talker.ui.jobs import Jobs, Settings

    weights = str(make_tiny_weights(tmp_path / "weights", ("ours", "faceformer")))
    jobs = Jobs(Settings(weights_dir=weights, video_size=256, compare_size=320, output_dir=str(tmp_path / "out"), default_study=""))
    pipeline.load_animator.cache_clear()
    jobs.warm_up()
    assert pipeline.load_animator.cache_info().currsize == 2  # ours and faceformer, loaded once each
    assert sorted(jobs.renderers._renderers) == [256, 320]  # the video, compare and still sizes


def test_outputs_stay_within_their_disk_budget(tmp_path):
    import os
    import time

    from expressive_talker.ui.jobs import Outputs

    outputs = Outputs(str(tmp_path / "out"), ttl_s=3600, max_mb=2.5)
    jobs = []
    for i in range(4):  # 1 MB each, oldest first
        folder = outputs.new_job()
        with open(os.path.join(folder, "vertices.npy"), "wb") as f:
            f.write(b"\0" * 1_000_000)
        then = time.time() - 100 + i
        os.utime(folder, (then, then))
        jobs.append(folder)
    newest = outputs.new_job()
    assert [os.path.exists(j) for j in jobs] == [False, False, True, True] and os.path.isdir(newest)


def test_about_shows_the_headline_numbers_of_the_model_card(tmp_path):
    from expressive_talker.ui.about_tab import measured_section

    make_tiny_weights(tmp_path, ("ours",))
    table2 = (
        "| Method | Lip max (mm) | Face max (mm) | Lip MSE (mm²) | Acc. held-out text |\n|---|---|---|---|---|\n"
        "| FaceFormer | 7.794 | 8.877 | 27.398 | — |\n| Ours | 4.087 | 4.454 | 8.402 | 0.87 |\n"
    )
    (tmp_path / "README.md").write_text(f"# w\n\n## Measured\n\n### Baselines (the paper's Table 2)\n\n{table2}\n### Speed\n\nfast\n")
    text = measured_section(str(tmp_path))
    assert "| Ours | 4.087 | 4.454 | 0.87 |" in text and "| FaceFormer | 7.794 | 8.877 | — |" in text
    assert "Lip MSE" not in text and "fast" not in text  # the headline only; the card has the rest
    assert "Not available in this installation: ExpCLIP, FaceFormer" in text


def test_progress_walks_through_the_five_stages_in_order(tmp_path):
    from expressive_talker.pipeline import STAGES, generate_video

    weights = make_tiny_weights(tmp_path / "weights")
    seen = []
    generate_video(
        str(write_tone(tmp_path / "s.wav", seconds=0.5)), "happy", tmp_path / "v.mp4", size=256,
        progress=lambda stage, done: seen.append(stage) if not seen or seen[-1] != stage else None, weights_dir=str(weights),
    )  # fmt: skip
    assert seen == list(STAGES) == ["decode", "features", "animate", "render", "encode"]


FILE = {"_type": "gradio.FileData"}


@pytest.mark.parametrize(
    "audio",
    ["", 123, [1, 2], {"path": "/etc/passwd", "meta": FILE}, {"path": "../../../etc/passwd", "meta": FILE},
     {"path": "https://example.com/speech.wav", "url": "https://example.com/speech.wav", "meta": FILE}],
    ids=["empty", "number", "list", "server-path", "dot-dot", "url"],
)  # fmt: skip
def test_refused_api_inputs_get_one_sentence_saying_what_to_send(app, audio):
    """Inputs Gradio refuses before the app's code runs answered ``error: null``; now one sentence."""
    import httpx

    client, _ = app
    base = client.src.rstrip("/")
    for api in ("animate", "generate"):
        event = httpx.post(f"{base}/gradio_api/call/{api}", json={"data": [audio, "happy", "ours", False]}).json()["event_id"]
        stream = httpx.get(f"{base}/gradio_api/call/{api}/{event}", timeout=60).text
        assert stream.startswith("event: error"), stream
        message = json.loads(stream.split("data: ", 1)[1].splitlines()[0])["error"]
        assert message.startswith("Speech: upload the file to this server first and send what the upload returned (gradio_client: handle_file("), message
        assert "passwd" not in message and "Traceback" not in message
    # Too few inputs: which ones the endpoint takes.
    event = httpx.post(f"{base}/gradio_api/call/animate", json={"data": [None]}).json()["event_id"]
    stream = httpx.get(f"{base}/gradio_api/call/animate/{event}", timeout=60).text
    assert "this endpoint takes 4 inputs (Speech, Expression, Method, Still face) and got 1" in stream
