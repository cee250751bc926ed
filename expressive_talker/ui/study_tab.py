"""The "Vote" and "Results" tabs of the user study, and its API for scripted clients:
``study_join`` (consent) → participant id, ``study_next`` (participant id) → the next pair,
``study_watched`` (participant id, pair id, side) → the sides played to the end,
``study_vote`` (participant id, pair id, lip, expression, overall, vote id) → acknowledgement,
``study_results`` (admin token) → the report.

Everything a participant can type or send is validated by ``expressive_talker.study`` on the
server and never rendered as HTML: the prompt is shown in a text box, the rest are fixed choices.
The study is blind: only the videos are served, by a route of their own (``/study/videos/NAME``,
keyed-hash names, the same Last-Modified for every one and an ETag that is the name), and nothing
a participant receives names a method. A vote counts only once both videos have played to the
end in the page (or a script reported them with ``study_watched``); new participants are capped
per network address and per browser session. Visitors never see operator instructions; those go to the log.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import re
import threading
import uuid

import gradio as gr
import pandas as pd

from ..errors import InputError, RenderError
from ..study.config import load_config
from ..study.limits import JoinLimits
from ..study.prepare import MANIFEST, VIDEOS, prepare_study
from ..study.report import make_report
from ..study.session import QUESTIONS, Study, method_label
from ..study.store import AGE_RANGES, BACKGROUNDS, CRITERIA, StudyStore
from .jobs import user_errors

log = logging.getLogger(__name__)
ANSWERS = [("Left", "left"), ("Equal", "equal"), ("Right", "right")]
CRITERION_LABELS = {"lip": "Lip sync", "expression": "Facial expression", "overall": "Overall"}
VIDEO_ROUTE = "/study/videos/"  # the stimuli, and nothing else of the study
_VIDEO_NAME = re.compile(r"^[0-9a-f]{32}\.mp4$")
# Every stimulus is served as modified at the same moment: file times would order the videos.
SAME_TIME = "Thu, 01 Jan 2026 00:00:00 GMT"
STORAGE_KEY = "expressive-talker-study-participant"
# Database work, not rendering: a lane of its own, so study calls never wait behind videos.
STUDY_EVENTS = {"concurrency_id": "study", "concurrency_limit": 4}
CLOSED = "No user study is running on this server at the moment."
POLL_S = 3.0  # how often a page waiting for the study to open asks again


class StudyBackend:
    """The votes store and the study, opened on first use (an app with no study never touches a
    database). With no study prepared, ``start`` prepares the default study file in the
    background; ``lane`` (the app's video lane) makes it render in turn with visitors' videos."""

    def __init__(self, settings, lane=None):
        self.settings = settings
        self.lane = lane
        self._lock = threading.Lock()
        self._store = None
        self._study = None
        self.progress = None  # (videos ready, total) while the default study is being prepared
        self.joins = JoinLimits(settings.study_joins_per_address, settings.study_joins_per_session)

    @property
    def videos_dir(self) -> str:
        return os.path.join(self.settings.study_dir, VIDEOS)

    def prepared(self) -> bool:
        return os.path.isfile(os.path.join(self.settings.study_dir, MANIFEST))

    def start(self) -> threading.Thread | None:
        if self.prepared():
            return None
        if not self.settings.default_study:
            log.warning("no prepared study in %s and no default study: the Vote tab is closed (see README: User study)", self.settings.study_dir)
            return None
        self.progress = (0, 0)
        thread = threading.Thread(target=self._prepare_default, name="study-prepare", daemon=True)
        thread.start()
        return thread

    def _prepare_default(self) -> None:
        s = self.settings
        try:
            prepare_study(
                load_config(s.default_study), s.study_dir, weights_dir=s.weights_dir, quiet=True,
                progress=lambda done, total: setattr(self, "progress", (done, total)), turn=self.lane.turn() if self.lane else None,
            )  # fmt: skip
            log.info("default study %s prepared in %s", s.default_study, s.study_dir)
        except InputError as exc:  # the operator reads why in the log; visitors see the study closed
            log.error("could not prepare the default study %s in %s: %s", s.default_study, s.study_dir, exc)
        except Exception:
            log.exception("could not prepare the default study %s in %s", s.default_study, s.study_dir)
        finally:
            self.progress = None

    def status(self) -> str:
        """What a visitor is told while the study is not open; '' once it is."""
        if self.prepared():
            return ""
        progress = self.progress
        if progress is None:
            return CLOSED
        done, total = progress
        return f"The study opens in a minute: preparing its videos ({done} of {total} ready)." if total else "The study opens in a minute."

    def store(self) -> StudyStore:
        with self._lock:
            if self._store is None:
                self._store = StudyStore(self.settings.db_url or None, self.settings.study_rate)
            return self._store

    def study(self) -> Study:
        status = self.status()
        if status:
            raise InputError(status)
        store = self.store()
        with self._lock:
            if self._study is None:
                self._study = Study(self.settings.study_dir, store)
            return self._study

    def join(self, consent, age_range, background, request: gr.Request | None) -> str:
        """A new participant, within the caps per network address and per browser session."""
        address = request.client.host if request is not None and request.client else None
        session = request.session_hash if request is not None else None
        return self.study().join(consent, age_range or None, background or None, admit=lambda: self.joins.admit(address, session))

    def video_response(self, name: str):
        """One stimulus video, or 404. Its headers say nothing that orders the videos."""
        from starlette.responses import FileResponse, PlainTextResponse

        path = os.path.join(self.videos_dir, name)
        if not _VIDEO_NAME.match(name) or not os.path.isfile(path):
            return PlainTextResponse("no such study video", status_code=404)
        headers = {"last-modified": SAME_TIME, "etag": f'"{name[:32]}"', "cache-control": "private, max-age=3600"}
        return FileResponse(path, media_type="video/mp4", stat_result=os.stat(path), headers=headers)

    def routes(self) -> list:
        """The app's route for the stimuli (``launch`` adds it to Gradio's server)."""
        from starlette.routing import Route

        async def video(request):
            return self.video_response(request.path_params["name"])

        return [Route(VIDEO_ROUTE + "{name}", video, methods=["GET", "HEAD"])]

    def check_access(self, token: str | None) -> None:
        s = self.settings
        if s.results_public:
            return
        if s.results_token and hmac.compare_digest((token or "").encode(), s.results_token.encode()):
            return
        raise InputError("the results are private: enter the admin token" if s.results_token else "the results are private to the study's operator")

    def report(self, token: str | None) -> dict:
        """The served study's report, for the operator (see ``check_access``)."""
        self.check_access(token)
        study = self.study()  # first: with no study open, no database is touched
        return make_report(self.store().vote_rows(study.name))


def video_url(name: str) -> str:
    return VIDEO_ROUTE + name


def pair_html(left: str, right: str) -> str:
    """The two videos of a pair, side by side (the URLs are keyed-hash names: no markup in them)."""
    figures = "".join(
        f'<figure class="study-video"><figcaption>{label}</figcaption>'
        f'<video data-side="{side}" src="{url}" controls preload="auto" playsinline></video></figure>'
        for label, side, url in (("Left", "left", left), ("Right", "right", right))
    )
    return f'<div class="study-pair">{figures}</div>'


# Tells the server when a video has played to the end ("ended" does not bubble: caught on the way down).
PAIR_SCRIPT = """
element.addEventListener('ended', (e) => {
  const side = e.target && e.target.dataset ? e.target.dataset.side : null;
  if (side) trigger('ended', {side: side});
}, true);
"""
PAIR_CSS = ".study-pair { display: flex; gap: 1rem; } .study-video { flex: 1; margin: 0; } .study-video video { width: 100%; }"


def one_line_errors(fn, outputs: int):
    """For the page: a study error becomes one warning line that goes away by itself, and the
    outputs stay as they were (a raised error would cover the form with an overlay)."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except (InputError, RenderError) as exc:
            message = str(exc)
        except Exception:
            log.exception("study page: %s failed", fn.__name__)
            message = "something went wrong on the server; please try again in a moment"
        gr.Warning(message, duration=8)
        return [gr.skip()] * outputs

    return wrapper


def ready(lip, expression, overall, played) -> bool:
    """Submit opens once all three questions are answered and both videos have played to the end."""
    return all((lip, expression, overall)) and set(played or ()) >= {"left", "right"}


def ready_update(lip, expression, overall, played):
    return gr.update(interactive=ready(lip, expression, overall, played))


def build_vote_tab(backend: StudyBackend) -> dict:
    """The Vote tab; returns the arguments of the page-load event that shows the study's state
    and resumes a participant who reloads."""
    api_events = {"api_visibility": "public", **STUDY_EVENTS}

    def join(consent: bool, age_range: str = "", background: str = "", request: gr.Request = None) -> str:
        """Agree to the consent text (consent=True); optional age range and background. Returns the participant id. New participants are capped per network address and per client."""
        return backend.join(consent, age_range, background, request)

    def next_pair(participant_id: str) -> dict:
        """The next pair for a participant: pair_id, prompt, left_video and right_video (paths on this server: /study/videos/NAME.mp4), index, total, done."""
        pair = backend.study().next_pair(participant_id)
        if not pair["done"]:
            pair["left_video"], pair["right_video"] = video_url(pair["left_video"]), video_url(pair["right_video"])
        return pair

    def watched(participant_id: str, pair_id: str, side: str) -> dict:
        """Report that the 'left' or 'right' video of a pair has played to the end (accepted once its length has passed since study_next showed the pair). Returns pair_id and the sides played so far; a vote needs both."""
        return backend.study().watched(participant_id, pair_id, side)

    def vote(participant_id: str, pair_id: str, lip: str, expression: str, overall: str, vote_id: str = "") -> dict:
        """Vote on a pair once both videos have played (study_watched): lip, expression and overall are each 'left', 'equal' or 'right'; vote_id (required), 32 hex digits the client picks for this vote (uuid4().hex), makes a retry count once. Returns the acknowledgement: recorded, vote_id, duplicate, pair_id, choices."""
        return backend.study().vote(participant_id, pair_id, lip, expression, overall, vote_id)

    gr.api(user_errors(join), api_name="study_join", **api_events)
    gr.api(user_errors(next_pair), api_name="study_next", **api_events)
    gr.api(user_errors(watched), api_name="study_watched", **api_events)
    gr.api(user_errors(vote), api_name="study_vote", **api_events)

    # The participant id, also kept in the browser's localStorage so that a reload carries on
    # with the same participant (the server checks it like any other input).
    participant = gr.Textbox(visible=False)
    pair_id, vote_id, played = gr.State(""), gr.State(""), gr.State([])
    status = gr.Markdown(elem_id="study-status")
    timer = gr.Timer(POLL_S, active=False)
    with gr.Column(visible=False) as consent_box:
        consent_text = gr.Markdown()  # the researcher's text from the study file
        age = gr.Dropdown(list(AGE_RANGES), value=None, label="Age range (optional)", elem_id="study-age")
        background = gr.Dropdown(list(BACKGROUNDS), value=None, label="Background (optional)", elem_id="study-background")
        agree = gr.Checkbox(label="I have read the above and agree to take part", elem_id="study-consent")
        start = gr.Button("Start", variant="primary", interactive=False, elem_id="study-start")
        hint = gr.Markdown("Tick the box above to take part.", elem_id="study-consent-hint")
    with gr.Column(visible=False) as vote_box:
        progress = gr.Markdown(elem_id="study-progress")
        prompt = gr.Textbox(label="Text description of the expression", interactive=False, elem_id="study-prompt")
        gr.Markdown("Watch both animations to the end (with sound), then answer the three questions.")
        videos = gr.HTML("", js_on_load=PAIR_SCRIPT, css_template=PAIR_CSS, padding=False, elem_id="study-pair")
        radios = [gr.Radio(ANSWERS, label=QUESTIONS[c], elem_id=f"study-{c}") for c in CRITERIA]
        submit = gr.Button("Submit", variant="primary", interactive=False, elem_id="study-submit")
        recorded = gr.Markdown(elem_id="study-recorded")
        next_button = gr.Button("Next pair", visible=False, elem_id="study-next")
    done_box = gr.Markdown("## Thank you!\nYou have judged every pair of this study.", visible=False, elem_id="study-done")

    pair_outputs = [pair_id, vote_id, played, consent_box, vote_box, done_box, progress, prompt, videos, *radios, submit, recorded, next_button]

    def show(pair: dict) -> list:
        if pair["done"]:
            return ["", "", [], gr.update(visible=False), gr.update(visible=False), gr.update(visible=True), *[gr.skip()] * (len(pair_outputs) - 6)]
        return [
            pair["pair_id"], uuid.uuid4().hex, [], gr.update(visible=False), gr.update(visible=True), gr.update(visible=False),
            f"**Pair {pair['index']} of {pair['total']}**", pair["prompt"], pair_html(video_url(pair["left_video"]), video_url(pair["right_video"])),
            *[gr.update(value=None, interactive=True) for _ in radios], gr.update(interactive=False, visible=True), "", gr.update(visible=False),
        ]  # fmt: skip

    def on_start(consent, age_range, background_, request: gr.Request):
        pid = backend.join(consent, age_range, background_, request)
        return [pid, *show(backend.study().next_pair(pid))]

    def on_ended(pid, pair, evt: gr.EventData):
        return backend.study().watched(pid, pair, evt._data.get("side"))["watched"]

    def on_submit(pid, pair, vid, lip, expression, overall):
        ack = backend.study().vote(pid, pair, lip, expression, overall, vid)
        text = "You had already voted on this pair; your first answers stand." if ack["duplicate"] else "Recorded, thank you."
        return [*[gr.update(interactive=False) for _ in radios], gr.update(visible=False), text, gr.update(visible=True)]

    def on_next(pid):
        return show(backend.study().next_pair(pid))

    def on_load(pid):
        # The study's state; a participant who reloads the page carries on where they were,
        # without a new consent.
        waiting = backend.status()
        if waiting:
            return ["", waiting, gr.skip(), gr.Timer(active=backend.progress is not None), *[gr.skip()] * len(pair_outputs)]
        study = backend.study()
        opened = ["", study.consent, gr.Timer(active=False)]
        try:
            known = bool(pid) and backend.store().has_participant(pid)
        except InputError:  # not an id this server gives out: start afresh
            known = False
        if known:
            return [pid, *opened, *show(study.next_pair(pid))]
        return ["", *opened, gr.skip(), gr.skip(), gr.skip(), gr.update(visible=True), *[gr.skip()] * (len(pair_outputs) - 4)]

    ui = {"api_visibility": "private", **STUDY_EVENTS}
    load_outputs = [participant, status, consent_text, timer, *pair_outputs]
    start.click(one_line_errors(on_start, 1 + len(pair_outputs)), [agree, age, background], [participant, *pair_outputs], **ui).then(
        None, [participant], None, js=f"(pid) => {{ if (pid) localStorage.setItem('{STORAGE_KEY}', pid); }}"
    )
    submit_outputs = [*radios, submit, recorded, next_button]
    submit.click(one_line_errors(on_submit, len(submit_outputs)), [participant, pair_id, vote_id, *radios], submit_outputs, **ui)
    next_button.click(one_line_errors(on_next, len(pair_outputs)), [participant], pair_outputs, **ui)
    # Submit opens once the three answers are given and both videos have ended. The reports of
    # "ended" ("multiple": both videos may end at once, and each counts) and every change of an
    # answer go through one lane, one at a time in the order they happened, so that the last word
    # on Submit is worked out from the answers and the sides as they are by then.
    in_order = {"api_visibility": "private", "show_progress": "hidden", "concurrency_id": "study-submit", "concurrency_limit": 1}
    videos.ended(one_line_errors(on_ended, 1), [participant, pair_id], played, trigger_mode="multiple", **in_order).then(
        ready_update, [*radios, played], submit, **in_order
    )
    timer.tick(one_line_errors(on_load, len(load_outputs)), [participant], load_outputs, show_progress="hidden", **ui)
    # Start waits for consent, as Submit waits for both videos and all three answers (the server checks them again).
    agree.change(lambda yes: (gr.update(interactive=bool(yes)), gr.update(visible=not yes)), agree, [start, hint], api_visibility="private", queue=False, show_progress="hidden")
    for radio in radios:
        radio.change(ready_update, [*radios, played], submit, trigger_mode="multiple", **in_order)
    return {
        "fn": one_line_errors(on_load, len(load_outputs)), "inputs": [participant], "outputs": load_outputs,
        "js": f"() => localStorage.getItem('{STORAGE_KEY}') || ''", **ui,
    }  # fmt: skip


def build_results_tab(backend: StudyBackend) -> dict:
    """The Results tab; returns the arguments of the page-load event that says whether a study runs."""
    s = backend.settings
    gr.Markdown(
        "The study's votes as in the paper's Table 3 (per question and method pair: the share of votes for each method, "
        "for equal, and for better or equal), and Bradley–Terry strengths of the methods (ties count as half a win) with "
        "95% bootstrap intervals over participants."
    )
    status = gr.Markdown(elem_id="results-status")
    load = {"fn": backend.status, "inputs": None, "outputs": status, "api_visibility": "private", "show_progress": "hidden", **STUDY_EVENTS}

    def results(token_text: str = "") -> dict:
        """The study report: votes, participants, Table 3 and Bradley-Terry strengths (for the operator: the admin token)."""
        return backend.report(token_text)

    gr.api(user_errors(results), api_name="study_results", api_visibility="public", **STUDY_EVENTS)
    if not (s.results_token or s.results_public):
        gr.Markdown("The results are shown to the study's operator only.", elem_id="results-private")
        return load
    token = gr.Textbox(label="Admin token", type="password", visible=bool(s.results_token) and not s.results_public, elem_id="results-token")
    refresh = gr.Button("Show results", elem_id="results-refresh")
    summary = gr.Markdown(elem_id="results-summary")
    table = gr.Dataframe(label="Table 3: percentage of votes", interactive=False, elem_id="results-table3")
    strengths = gr.Dataframe(label="Bradley–Terry strengths (sum to 1), 95% bootstrap interval", interactive=False, elem_id="results-bt")

    def show(token_text):
        report = backend.report(token_text)
        text = f"**{report['votes']}** votes · **{report['pairs_judged']}** pairs judged · **{report['participants']}** participants"
        if report["outliers"]:  # their votes still count: the operator decides (the report's per_participant says why)
            text += f" · **{len(report['outliers'])}** flagged (same answer to every question, or far more pairs than the others)"
        rows = [
            [CRITERION_LABELS[t["criterion"]], method_label(a), method_label(b), t["percent"][a], t["percent"]["equal"], t["percent"][b],
             t["better_or_equal"][a], t["better_or_equal"][b], t["votes"]]
            for t in report["table3"] for a, b in [t["methods"]]
        ]  # fmt: skip
        columns = ["question", "A", "B", "A better %", "equal %", "B better %", "A better or equal %", "B better or equal %", "votes"]
        bt = [
            [CRITERION_LABELS[c], method_label(m), v["strength"], v["low"], v["high"], v["comparisons"]]
            for c, methods in report["bradley_terry"].items() for m, v in methods.items()
        ]  # fmt: skip
        return text, pd.DataFrame(rows, columns=columns), pd.DataFrame(bt, columns=["question", "method", "strength", "95% low", "95% high", "comparisons"])

    refresh.click(one_line_errors(show, 3), [token], [summary, table, strengths], api_visibility="private", **STUDY_EVENTS)
    return load
