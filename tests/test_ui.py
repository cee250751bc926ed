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
    assert "this endpoint takes 6 inputs (Speech, Expression, Method, Still face, Timeline, Expression strength) and got 1" in stream


# A timeline of prompts through the API (the ``timeline`` and ``strength`` inputs after the
# existing ones; the README's form). The speech is 1.2 s (36 frames): "furious" from 0.6 s with a
# 0.2 s ease changes frames 18-23 and holds from frame 24.
TIMELINE = {"rows": [{"at": 0.6, "prompt": "furious"}], "ease_s": 0.2}


def curves_frames(curves) -> np.ndarray:
    return np.asarray(curves["frames"])


def test_timeline_changes_the_face_from_its_row_on_animate_and_generate(app, speech):
    from gradio_client import handle_file

    client, _ = app
    # Still face: the model's own output, so frames compare (the curves are rounded to 1e-5).
    calm = curves_frames(client.predict(handle_file(speech), "calm", "ours", True, api_name="/animate"))
    furious = curves_frames(client.predict(handle_file(speech), "furious", "ours", True, api_name="/animate"))
    curves = client.predict(handle_file(speech), "calm", "ours", True, TIMELINE, api_name="/animate")
    timed = curves_frames(curves)
    assert np.abs(timed[:18] - calm[:18]).max() < 1e-4  # calm until the row's time
    assert np.abs(timed[24:] - furious[24:]).max() < 1e-4  # furious once eased
    assert np.abs(timed[24:] - calm[24:]).max() > 1e-3
    # The viewer's curves name the rows it marks, as the .json export records them.
    assert curves["timeline"] == {"rows": [{"at": 0.0, "prompt": "calm"}, {"at": 0.6, "prompt": "furious"}], "ease_s": 0.2}
    # The other forms: [seconds, prompt] pairs and JSON text, by keyword as the README shows.
    for form in ([[0.6, "furious"]], '{"rows": [{"at": 0.6, "prompt": "furious"}]}'):
        again = client.predict(handle_file(speech), "calm", "ours", True, timeline=form, api_name="/animate")
        assert again["timeline"]["rows"] == curves["timeline"]["rows"] and again["timeline"]["ease_s"] == 0.5
    # /generate: the same animation in the video and every export; the .json records the timeline.
    video, files = client.predict(handle_file(speech), "calm", "ours", True, TIMELINE, api_name="/generate")
    check_video(video, 1.2)
    exported = json.loads(open(exports_by_format(files)["json"]).read())
    assert exported["timeline"] == curves["timeline"] and np.abs(curves_frames(exported) - timed).max() < 1e-4


def test_strength_scales_the_expression(app, speech):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client, _ = app
    plain = curves_frames(client.predict(handle_file(speech), "calm", "ours", True, api_name="/animate"))
    by_strength = {s: curves_frames(client.predict(handle_file(speech), "calm", "ours", True, None, s, api_name="/animate")) for s in (0.0, 1.0, 2.0)}
    assert np.array_equal(by_strength[1.0], plain)  # 1 is the prompt as it reads
    assert np.abs(by_strength[0.0] - plain).max() > 1e-3 and np.abs(by_strength[2.0] - plain).max() > 1e-3
    assert np.abs(by_strength[2.0] - by_strength[0.0]).max() > 1e-3
    with pytest.raises(AppError, match="Value 2.5 is greater than maximum value 2.0"):  # the slider's own check
        client.predict(handle_file(speech), "calm", "ours", True, None, 2.5, api_name="/animate")


def test_a_request_without_timeline_or_strength_is_unchanged(app, speech):
    """The three-argument call of before, the defaults spelled out and an empty timeline give the
    pipeline's own plain animation, with no "timeline" key."""
    from gradio_client import handle_file

    from expressive_talker import pipeline
    from expressive_talker.export.curves import curves_doc

    client, root = app
    before = client.predict(handle_file(speech), "calm", "ours", api_name="/animate")
    assert "timeline" not in before
    for extra in ((False, None, 1.0), (False, "", 1.0), (False, {"rows": []}, 1.0), (False, [], 1.0)):
        assert client.predict(handle_file(speech), "calm", "ours", *extra, api_name="/animate") == before
    animation = pipeline.animate_speech(speech, "calm", "ours", weights_dir=str(root / "weights"))
    assert before == json.loads(json.dumps(curves_doc(animation.arkit_weights(), animation.fps, animation.head_rotation)))
    # Over plain HTTP, the four values of before (the inputs added since are filled in).
    import httpx

    base = client.src.rstrip("/")
    with open(speech, "rb") as f:
        path = httpx.post(f"{base}/gradio_api/upload", files={"files": ("speech.wav", f, "audio/wav")}).json()[0]
    event = httpx.post(f"{base}/gradio_api/call/animate", json={"data": [{"path": path, "meta": FILE}, "calm", "ours", False]}).json()["event_id"]
    stream = httpx.get(f"{base}/gradio_api/call/animate/{event}", timeout=120).text
    assert stream.startswith("event: complete"), stream[:300]
    assert json.loads(stream.split("data: ", 1)[1].splitlines()[0])[0] == before


@pytest.mark.parametrize(
    "timeline, message",
    [
        ([[0.8, "furious"], [0.5, "sad"]], "timeline row 3 (0.5 s): the times must increase, and row 2 is at 0.8 s"),
        ([[0.5, "furious"], [0.5, "sad"]], "timeline row 3 (0.5 s): row 2 has the same time"),
        ([[-1, "furious"]], "timeline row 2: the time must be a positive number of seconds, got -1"),
        ([[5, "furious"]], "timeline row 2 (5 s): the clip ends at 1.20 s"),
        ({"rows": [{"at": 0.5, "prompt": "  "}]}, "timeline row 2 (0.5 s): the prompt is empty"),
        ([[0.01 * i, "sad"] for i in range(1, 33)], "a timeline holds at most 32 rows"),
        ("{rows: [", "the timeline is not valid JSON"),
    ],
    ids=["out-of-order", "duplicated", "negative", "past-the-end", "empty-prompt", "too-many", "not-json"],
)
def test_a_bad_timeline_gets_one_message_naming_the_row(app, speech, timeline, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client, _ = app
    for api in ("/animate", "/generate", "/compare"):
        args = (handle_file(speech), "calm", *(("ours",) if api != "/compare" else ()), False, timeline)
        with pytest.raises(AppError) as refused:
            client.predict(*args, api_name=api)
        assert str(refused.value).strip() == message or str(refused.value).startswith(message), str(refused.value)
    assert "timeline" not in client.predict(handle_file(speech), "calm", "ours", api_name="/animate")  # nothing else changed


def test_compare_takes_the_timeline_and_strength(app, speech):
    from gradio_client import handle_file

    client, _ = app
    video = client.predict(handle_file(speech), "calm", False, TIMELINE, 1.5, api_name="/compare")
    check_video(video, 1.2, width=512)  # two panels of 256


def test_interpolate_sweeps_alpha_across_the_clip(app, speech):
    """Sweep (/interpolate's 5th input): the blend starts as prompt A and ends as prompt B, in the
    viewer's curves and the video."""
    from gradio_client import handle_file

    from expressive_talker.ui import Settings
    from expressive_talker.ui.jobs import Jobs

    client, root = app
    video = client.predict(handle_file(speech), "happy", "furious", 0.5, True, api_name="/interpolate")
    check_video(video, 1.2)
    jobs = Jobs(Settings(weights_dir=str(root / "weights"), output_dir=str(root / "sweep")))
    sweep = curves_frames(jobs.animate_blend(speech, "happy", "furious", 0.5, True))
    a, b, half = (curves_frames(jobs.animate_blend(speech, "happy", "furious", alpha, False)) for alpha in (0.0, 1.0, 0.5))
    start, end = slice(0, 3), slice(-3, None)
    assert np.abs(sweep[start] - a[start]).max() < np.abs(sweep[start] - b[start]).max()
    assert np.abs(sweep[end] - b[end]).max() < np.abs(sweep[end] - a[end]).max()
    assert np.abs(sweep - half).max() > 1e-3  # not the one α the slider shows
