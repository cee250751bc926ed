"""The study served for real on loopback, as on a fresh install: the app starts with no prepared
study and prepares its default study (a tiny one here: two stimuli, ours vs expclip, tiny untrained
models) in the background. Through gradio_client: the study opens once its videos are ready; it is
blind (only the videos are served, under names that say nothing); votes are idempotent (against
SQLite and PostgreSQL); 16 waiting video jobs neither delay nor refuse a study call. In headless
Chromium: the page says the study opens soon, then opens by itself; Start waits for consent; an
error is one line that goes away; a participant votes and carries on after a reload."""

import hashlib
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager

import pytest

from .helpers import make_tiny_weights, write_tone
from .postgres import fresh_postgres_db, postgres_url  # noqa: F401  (fixtures)
from .study_helpers import write_study_file

pytestmark = pytest.mark.slow
TOKEN = "s3cret-admin"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
CRITERIA_IDS = ("lip", "expression", "overall")
METHOD_WORDS = re.compile("ours|expclip|faceformer", re.IGNORECASE)
FILE_ROUTE = "/gradio_api/file="
VIDEO_ROUTE = "/study/videos/"


@contextmanager
def serve(settings, hold_lane=False):
    """(url, demo) of the app on a free loopback port; ``hold_lane``: take the video lane before
    the default study's first video, so the test sees the study while it is being prepared."""
    from expressive_talker.ui import build_app, queue
    from expressive_talker.ui.app import app_kwargs

    demo = build_app(settings)
    if hold_lane:
        demo.study.lane.turn().acquire()
    queue(demo)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True, app_kwargs=app_kwargs(demo))
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


class Server:
    def __init__(self, url, demo, root, lane_held=False):
        self.url, self.demo, self.root, self._held = url, demo, root, lane_held

    def open_study(self, timeout=180):
        """Let the default study's videos render, and wait until it is open."""
        if self._held:
            self._held = False
            self.demo.study.lane.turn().release()
        deadline = time.monotonic() + timeout
        while not self.demo.study.prepared():
            assert time.monotonic() < deadline, "the default study did not open"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from expressive_talker.ui import Settings

    root = tmp_path_factory.mktemp("study-app")
    settings = Settings(
        weights_dir=str(make_tiny_weights(root / "weights", ("ours", "expclip"))), study_dir=str(root / "study"),
        default_study=str(write_study_file(root)), db_url=f"sqlite:///{root / 'votes.db'}", results_token=TOKEN,
        output_dir=str(root / "outputs"), video_size=256, queue_size=16, concurrency=1,
    )  # fmt: skip
    with serve(settings, hold_lane=True) as (url, demo):
        server = Server(url, demo, root, lane_held=True)
        yield server
        server.open_study()  # never leave the preparation blocked


@pytest.fixture(scope="module")
def pg_server(server, postgres_url):  # noqa: F811
    """A second replica on the same prepared study, with its votes in PostgreSQL."""
    import sqlalchemy as sa

    from expressive_talker.ui import Settings

    server.open_study()
    name = f"t{os.urandom(6).hex()}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    s = server.demo.settings
    settings = Settings(
        weights_dir=s.weights_dir, study_dir=s.study_dir, default_study="", db_url=postgres_url.rsplit("/", 1)[0] + "/" + name,
        results_token=TOKEN, output_dir=s.output_dir,
    )  # fmt: skip
    with serve(settings) as (url, demo):
        yield Server(url, demo, server.root)
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def replica(request, server):
    """The open study's app with its votes in SQLite, or a second replica of it with them in PostgreSQL."""
    server.open_study()
    return server if request.param == "sqlite" else request.getfixturevalue("pg_server")


def client_of(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def watch(client, pid, pair):
    """What a participant's page reports once both videos played to the end (each lasts 1 s)."""
    time.sleep(1.05)
    for side in ("left", "right"):
        played = client.predict(pid, pair["pair_id"], side, api_name="/study_watched")
    assert played == {"pair_id": pair["pair_id"], "watched": ["left", "right"]}


def refused(client, message, *args, api_name):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api_name)


def status_code(url):
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def page(server):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)
        yield page
        browser.close()


def screenshot(page, name):
    folder = os.environ.get("STUDY_SCREENSHOTS")  # for a person to look at: STUDY_SCREENSHOTS=folder
    if folder:
        page.screenshot(path=os.path.join(folder, name))


def play_both(page):
    """Plays the pair's two videos to the end, as a participant does (muted: headless autoplay rules)."""
    page.evaluate("() => document.querySelectorAll('#study-pair video').forEach(v => { v.muted = true; v.play(); })")


def test_the_default_study_opens_once_its_videos_are_ready_and_a_participant_votes(server, page):
    client = client_of(server)
    # Fresh install: the videos are still being made. Visitors are told so, in plain words.
    page.goto(server.url)
    page.get_by_role("tab", name="Vote").click()
    waiting = page.wait_for_selector("#study-status:has-text('The study opens in a minute: preparing its videos (0 of 4 ready)')").inner_text()
    assert "python" not in waiting and "study.json" not in waiting  # no operator instructions
    assert not page.is_visible("#study-consent")
    screenshot(page, "vote-tab-opening.png")
    refused(client, "The study opens in a minute", True, "", "", api_name="/study_join")
    refused(client, "The study opens in a minute", TOKEN, api_name="/study_results")
    assert not os.path.exists(server.root / "votes.db")  # nothing opened a database yet

    server.open_study()
    # The page opens by itself; Start waits for consent.
    page.wait_for_selector("#study-consent", state="visible")
    assert "Before you start" in page.inner_text("body")  # the consent text of the study file
    assert page.is_disabled("#study-start") and page.is_visible("#study-consent-hint")  # one line says why
    screenshot(page, "vote-tab-consent.png")
    # Whatever the server refuses shows as one line that goes away, and the form stays usable
    # (here the button is forced on without consent, as a scripted page could).
    page.evaluate("() => { const b = document.querySelector('#study-start'); b.disabled = false; b.click(); }")
    toast = page.wait_for_selector("[data-testid=toast-body]:has-text('tick the box to agree')")
    toasts = [t.inner_text() for t in page.query_selector_all("[data-testid=toast-body]")]
    assert len(toasts) == 1, toasts
    page.wait_for_timeout(500)  # the toast slides in
    screenshot(page, "vote-tab-error.png")
    page.wait_for_selector("[data-testid=toast-body]", state="detached", timeout=30_000)  # it goes away by itself
    assert toast and page.is_visible("#study-consent") and page.is_visible("#study-age")
    page.click("#study-consent input")
    page.wait_for_function("() => !document.querySelector('#study-start').disabled")
    page.wait_for_selector("#study-consent-hint", state="hidden")  # the line goes once consent is given
    page.click("#study-start")
    page.wait_for_selector("#study-progress:has-text('Pair 1 of 2')")
    assert page.input_value("#study-prompt textarea") in ("happy <b>really</b>", "sad")  # markup stays text
    assert page.query_selector("#study-prompt b") is None
    for side in ("left", "right"):
        src = page.wait_for_selector(f"#study-pair video[data-side={side}]").get_attribute("src")
        assert src.startswith(VIDEO_ROUTE) and str(server.root) not in src and not METHOD_WORDS.search(src)
    assert page.is_disabled("#study-submit")  # not until both videos played and all three are answered
    for criterion, answer in (("lip", "left"), ("expression", "right"), ("overall", "equal")):
        page.check(f"#study-{criterion} input[value={answer}]")
    page.wait_for_timeout(500)
    assert page.is_disabled("#study-submit")  # answered, but neither video has played
    # A vote before both videos played is refused, even from a page that forces Submit on.
    page.evaluate("() => { const b = document.querySelector('#study-submit'); b.disabled = false; b.click(); }")
    page.wait_for_selector("[data-testid=toast-body]:has-text('play both videos to the end before voting')")
    page.wait_for_selector("[data-testid=toast-body]", state="detached", timeout=30_000)
    assert not page.is_visible("#study-next")
    # A reload (which undoes the forced button) shows the same pair; played to the end, it can be voted on.
    page.reload()
    page.get_by_role("tab", name="Vote").click()
    page.wait_for_selector("#study-progress:has-text('Pair 1 of 2')")
    page.wait_for_selector("#study-pair video[data-side=right]")
    for criterion, answer in (("lip", "left"), ("expression", "right"), ("overall", "equal")):
        page.check(f"#study-{criterion} input[value={answer}]")
    play_both(page)
    page.wait_for_function("() => !document.querySelector('#study-submit').disabled")
    page.click("#study-submit")
    page.wait_for_selector("#study-recorded:has-text('Recorded, thank you')")
    page.wait_for_selector("#study-next", state="visible")
    assert not METHOD_WORDS.search(page.inner_text("#study-recorded"))  # blind to the end
    screenshot(page, "vote-tab.png")
    assert client.predict(TOKEN, api_name="/study_results")["votes"] == 3
    # The operator opens the Results tab with the token.
    page.get_by_role("tab", name="Results").click()
    page.fill("#results-token input", TOKEN)
    page.click("#results-refresh")
    page.wait_for_selector("#results-summary:has-text('3 votes · 1 pairs judged · 1 participants')")
    page.get_by_role("tab", name="Vote").click()
    # A reload carries on with the same participant: pair 2, no new consent.
    page.reload()
    page.get_by_role("tab", name="Vote").click()
    page.wait_for_selector("#study-progress:has-text('Pair 2 of 2')")


def test_only_the_stimuli_are_served_and_nothing_names_a_method(server, replica):
    client = client_of(replica)
    pid = client.predict(True, "", "", api_name="/study_join")
    pair = client.predict(pid, api_name="/study_next")
    assert not METHOD_WORDS.search(json.dumps(pair))
    base = replica.url.rstrip("/")
    study = server.root / "study"
    manifest = json.loads((study / "manifest.json").read_text())
    headers = {}
    for side in ("left_video", "right_video"):
        assert pair[side].startswith(VIDEO_ROUTE) and str(server.root) not in pair[side]  # no server path
        with urllib.request.urlopen(base + pair[side]) as response:
            assert response.read(12)[4:8] == b"ftyp"  # an MP4
            headers[side] = response.headers
    # Nothing in the headers orders the pair: the same Last-Modified, and ETags that are the names.
    left, right = headers["left_video"], headers["right_video"]
    assert left["Last-Modified"] == right["Last-Modified"]
    for side, h in headers.items():
        assert h["ETag"] == '"' + pair[side].rsplit("/", 1)[1][:32] + '"'
    # The names are keyed: not the plain hash of what went in, which anyone could compute.
    audio = hashlib.sha256((server.root / "speech.wav").read_bytes()).hexdigest()
    for s in manifest["stimuli"]:
        for method, version in s["weights"].items():
            plain = hashlib.sha256(json.dumps([audio, s["prompt"], method, version, 256]).encode()).hexdigest()
            assert plain[:20] not in pair["left_video"] + pair["right_video"] and plain[:32] not in s["videos"][method]
    # Everything else of the study: 403 from Gradio's file route (the videos too), 404 from the study's.
    video = study / "videos" / pair["left_video"].rsplit("/", 1)[1]
    for path in (study / "manifest.json", study, study / "videos", video, study / "videos" / ".." / "manifest.json", server.root / "votes.db",
                 server.root / "study.json", server.root / "speech.wav", server.root / "weights" / "ours" / "model.safetensors"):  # fmt: skip
        assert status_code(base + FILE_ROUTE + str(path)) == 403, path
    for name in ("../manifest.json", "..%2Fmanifest.json", "manifest.json", "0" * 32 + ".mp4", pair["left_video"].rsplit("/", 1)[1].upper()):
        assert status_code(base + VIDEO_ROUTE + name) == 404, name
    watch(client, pid, pair)
    ack = client.predict(pid, pair["pair_id"], "left", "equal", "right", uuid.uuid4().hex, api_name="/study_vote")
    assert set(ack) == {"recorded", "vote_id", "duplicate", "pair_id", "choices"} and not METHOD_WORDS.search(json.dumps(ack))


def test_a_retried_vote_is_acknowledged_as_the_same_vote(replica):
    client = client_of(replica)
    pid = client.predict(True, "25-34", "", api_name="/study_join")
    first = client.predict(pid, api_name="/study_next")
    assert (first["index"], first["total"], first["done"]) == (1, 2, False)
    assert client.predict(pid, api_name="/study_next")["pair_id"] == first["pair_id"]  # shown until voted on
    watch(client, pid, first)
    vote_id = uuid.uuid4().hex
    ack = client.predict(pid, first["pair_id"], "left", "equal", "right", vote_id, api_name="/study_vote")
    assert ack["recorded"] and not ack["duplicate"] and ack["vote_id"] == vote_id
    assert ack["choices"] == {"lip": "left", "expression": "equal", "overall": "right"}
    # The answer was lost on the way back; the client sends the same vote again.
    assert client.predict(pid, first["pair_id"], "left", "equal", "right", vote_id, api_name="/study_vote") == ack
    # Another vote on the same pair is a duplicate: the first answers stand.
    again = client.predict(pid, first["pair_id"], "right", "right", "right", uuid.uuid4().hex, api_name="/study_vote")
    assert again["duplicate"] and again["choices"] == ack["choices"]
    second = client.predict(pid, api_name="/study_next")
    assert second["index"] == 2 and second["pair_id"] != first["pair_id"] and second["prompt"] != first["prompt"]
    watch(client, pid, second)
    client.predict(pid, second["pair_id"], "equal", "equal", "equal", uuid.uuid4().hex, api_name="/study_vote")
    assert client.predict(pid, api_name="/study_next") == {"done": True, "index": 2, "total": 2}
    rows = [r for r in replica.demo.study.store().vote_rows() if r["participant_id"] == pid]
    assert len(rows) == 6 and sum(r["vote_id"] == vote_id for r in rows) == 3


def test_bad_calls_are_refused_with_clear_messages(server):
    server.open_study()
    client = client_of(server)
    pid = client.predict(True, "", "", api_name="/study_join")
    shown = client.predict(pid, api_name="/study_next")
    pair = shown["pair_id"]
    refused(client, "tick the box to agree", False, "", "", api_name="/study_join")
    refused(client, "play both videos to the end before voting", pid, pair, "left", "left", "left", uuid.uuid4().hex, api_name="/study_vote")
    refused(client, "the left video has not had time to play to the end", pid, pair, "left", api_name="/study_watched")
    refused(client, "side must be 'left' or 'right'", pid, pair, "middle", api_name="/study_watched")
    refused(client, "unknown pair_id", pid, "0" * 32, "left", api_name="/study_watched")
    watch(client, pid, shown)
    refused(client, "vote_id is missing: send 32 lowercase hex digits", pid, pair, "left", "left", "left", "", api_name="/study_vote")
    refused(client, "lip must be one of left, equal, right", pid, pair, "up", "equal", "left", api_name="/study_vote")
    refused(client, "answer all three questions.*missing: overall", pid, pair, "left", "equal", "", api_name="/study_vote")
    refused(client, "unknown pair_id", pid, "0" * 32, "left", "left", "left", api_name="/study_vote")
    refused(client, "pair_id must be the 32-character id", pid, "<script>", "left", "left", "left", api_name="/study_vote")
    refused(client, "vote_id must be 32 lowercase hex digits", pid, pair, "left", "left", "left", "again!", api_name="/study_vote")
    refused(client, "unknown participant id", "f" * 32, api_name="/study_next")
    refused(client, "age range must be one of", True, "<img src=x>", "", api_name="/study_join")
    refused(client, "results are private", "wrong", api_name="/study_results")
    client.predict(pid, pair, "left", "left", "left", uuid.uuid4().hex, api_name="/study_vote")  # still works after the mistakes


def test_sixteen_waiting_videos_neither_delay_nor_refuse_a_study_call(server, tmp_path):
    from gradio_client import handle_file

    server.open_study()
    client = client_of(server)
    speech = handle_file(str(write_tone(tmp_path / "short.wav", seconds=0.3)))
    lane = server.demo.study.lane
    lane.turn().acquire()  # the video being rendered now: every job after it waits
    try:
        jobs = [client.submit(speech, "happy", "sad", 0.5, api_name="/interpolate") for _ in range(17)]
        deadline = time.monotonic() + 60
        while lane.waiting() < 17:  # 16 waiting behind the one "rendering"
            assert time.monotonic() < deadline, f"only {lane.waiting()} video jobs arrived"
            time.sleep(0.1)
        refused(client, "the server is busy: 16 videos are already waiting", speech, "happy", "sad", 0.5, api_name="/interpolate")
        t0 = time.perf_counter()
        for _ in range(2):
            pid = client.predict(True, "", "", api_name="/study_join")
            pair = client.predict(pid, api_name="/study_next")
            watch(client, pid, pair)  # 1 s of it is the videos' length
            assert client.predict(pid, pair["pair_id"], "left", "right", "equal", uuid.uuid4().hex, api_name="/study_vote")["recorded"]
        seconds = time.perf_counter() - t0
        assert lane.waiting() == 17  # the videos were waiting the whole time
    finally:
        lane.turn().release()
    print(f"2 x (join, next, vote) with 16 videos waiting: {seconds:.2f} s")
    assert seconds < 10
    for job in jobs:  # and every one of them is made in the end
        assert job.result(timeout=300).endswith(".mp4")


def test_results_are_for_the_operator_and_say_when_there_is_no_study(tmp_path):
    from expressive_talker.errors import InputError
    from expressive_talker.ui import Settings
    from expressive_talker.ui.study_tab import StudyBackend

    def backend(**kwargs):
        return StudyBackend(Settings(study_dir=str(tmp_path / "none"), default_study="", db_url=f"sqlite:///{tmp_path / 'votes.db'}", **kwargs))

    published = backend(results_public=True)
    assert published.start() is None and published.status() == "No user study is running on this server at the moment."
    with pytest.raises(InputError, match="No user study is running"):
        published.report("")
    with pytest.raises(InputError, match="private to the study's operator"):
        backend().report("")
    with pytest.raises(InputError, match="enter the admin token"):
        backend(results_token=TOKEN).report("guess")
    assert not (tmp_path / "votes.db").exists() and not (tmp_path / "none").exists()  # nothing was created


def test_a_default_study_that_cannot_be_prepared_closes_the_study_and_says_why_in_the_log(tmp_path, caplog):
    from expressive_talker.ui import Settings
    from expressive_talker.ui.study_tab import CLOSED, StudyBackend

    weights = make_tiny_weights(tmp_path / "weights", ("ours",))  # no ExpCLIP weights for the study's pairs
    backend = StudyBackend(Settings(weights_dir=str(weights), study_dir=str(tmp_path / "study"), default_study=str(write_study_file(tmp_path))))
    backend.start().join(timeout=60)
    assert backend.status() == CLOSED and "Traceback" not in CLOSED
    assert "could not prepare the default study" in caplog.text and "no trained weights for method 'expclip'" in caplog.text
    assert "Traceback" not in caplog.text  # the operator's mistake in one line


def join_over_http(http, base):
    """One study_join through Gradio's plain HTTP API: (participant id or None, error message or None)."""
    event = http.post(f"{base}/gradio_api/call/study_join", json={"data": [True, "", ""]}).json()["event_id"]
    stream = http.get(f"{base}/gradio_api/call/study_join/{event}").text
    kind = re.search(r"^event: (\w+)", stream, re.MULTILINE).group(1)
    data = json.loads(stream.split("data: ", 1)[1].splitlines()[0])
    return (data[0], None) if kind == "complete" else (None, data["error"] if isinstance(data, dict) else data)


def test_a_thousand_joins_from_one_client_are_capped_while_honest_participants_vote(server, page):
    import httpx

    server.open_study()
    base = server.url.rstrip("/")
    cap = server.demo.settings.study_joins_per_address
    # The stuffer calls from another loopback address than the browsers (as another machine would).
    outcomes = []

    def stuff():
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=60) as http:
            outcomes.extend(join_over_http(http, base) for _ in range(1000))

    stuffer = threading.Thread(target=stuff)
    stuffer.start()
    # Meanwhile 8 participants, each in a browser of their own, vote on every pair.
    browser = page.context.browser
    for n in range(8):
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        participant = context.new_page()
        participant.set_default_timeout(120_000)
        participant.goto(server.url)
        participant.get_by_role("tab", name="Vote").click()
        participant.click("#study-consent input")
        participant.click("#study-start")
        for k in (1, 2):
            participant.wait_for_selector(f"#study-progress:has-text('Pair {k} of 2')")
            participant.wait_for_selector("#study-pair video[data-side=right]")
            play_both(participant)
            for criterion in CRITERIA_IDS:
                participant.check(f"#study-{criterion} input[value=equal]")
            participant.wait_for_function("() => !document.querySelector('#study-submit').disabled")
            participant.click("#study-submit")
            participant.wait_for_selector("#study-recorded:has-text('Recorded, thank you')")
            participant.click("#study-next")
        participant.wait_for_selector("#study-done", state="visible")
        context.close()
    stuffer.join(timeout=600)
    joined = [pid for pid, _ in outcomes if pid]
    errors = {error for _, error in outcomes if error}
    print(f"1000 joins from one address: {len(joined)} admitted, {1000 - len(joined)} refused: {errors}")
    assert len(outcomes) == 1000 and len(joined) == cap
    prefix = f"too many new participants from this network address ({cap} in 60 minutes): carry on with the participant id you were given (study_next)"
    assert errors and all(e.startswith(prefix) for e in errors)  # one sentence (its "join again in N minutes" counts down)
    # One API client (one session) is capped sooner, with its own sentence.
    client = client_of(server)
    for _ in range(server.demo.settings.study_joins_per_session):
        client.predict(True, "", "", api_name="/study_join")
    refused(client, "too many new participants from this browser session", True, "", "", api_name="/study_join")
    report = client.predict(TOKEN, api_name="/study_results")
    assert report["participants"] >= 8 and report["votes"] >= 8 * 2 * 3
