"""The "Vote" and "Results" tabs of the user study, and its API for scripted clients:
``study_join`` (consent) → participant id, ``study_next`` (participant id) → the next pair,
``study_vote`` (participant id, pair id, lip, expression, overall) → acknowledgement,
``study_results`` (admin token) → the report.

Everything a participant can type or send is validated by ``expressive_talker.study`` on the
server and never rendered as HTML: the prompt is shown in a text box, the rest are fixed choices.
"""

from __future__ import annotations

import hmac
import os
import threading

import gradio as gr
import pandas as pd

from ..errors import InputError
from ..study.prepare import MANIFEST, read_manifest
from ..study.report import make_report
from ..study.session import QUESTIONS, Study, method_label
from ..study.store import AGE_RANGES, BACKGROUNDS, CRITERIA, StudyStore
from .jobs import user_errors

ANSWERS = [("Left", "left"), ("Equal", "equal"), ("Right", "right")]
CRITERION_LABELS = {"lip": "Lip sync", "expression": "Facial expression", "overall": "Overall"}
FILE_ROUTE = "/gradio_api/file="  # Gradio serves files under the study folder here (set_static_paths)
STORAGE_KEY = "expressive-talker-study-participant"
STUDY_EVENTS = {"concurrency_id": "study", "concurrency_limit": 4}  # database work, not rendering: do not wait behind videos


class StudyBackend:
    """The votes store and the prepared study, opened on first use (an app with no study never
    touches a database)."""

    def __init__(self, settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._store = None
        self._study = None

    def prepared(self) -> bool:
        return os.path.isfile(os.path.join(self.settings.study_dir, MANIFEST))

    def store(self) -> StudyStore:
        with self._lock:
            if self._store is None:
                self._store = StudyStore(self.settings.db_url or None, self.settings.study_rate)
            return self._store

    def study(self) -> Study:
        store = self.store()
        with self._lock:
            if self._study is None:
                self._study = Study(self.settings.study_dir, store)
            return self._study

    def check_token(self, token: str | None) -> None:
        expected = self.settings.results_token
        if expected and not hmac.compare_digest((token or "").encode(), expected.encode()):
            raise InputError("the results are private: enter the admin token")

    def report(self, token: str | None) -> dict:
        """The served study's report (every vote in the database when no study is prepared)."""
        self.check_token(token)
        study = self.study().name if self.prepared() else None
        return make_report(self.store().vote_rows(study))


def _file_url(path: str) -> str:
    return FILE_ROUTE + path


def build_vote_tab(backend: StudyBackend) -> dict | None:
    """The Vote tab; returns the arguments of the page-load event that resumes a participant who
    reloads (None when no study is prepared)."""
    s = backend.settings
    api_events = {"api_visibility": "public", **STUDY_EVENTS}

    def join(consent: bool, age_range: str = "", background: str = "") -> str:
        """Agree to the consent text (consent=True); optional age range and background. Returns the participant id."""
        return backend.study().join(consent, age_range or None, background or None)

    def next_pair(participant_id: str) -> dict:
        """The next pair for a participant: pair_id, prompt, left_video and right_video (URLs on this server), index, total, done."""
        pair = backend.study().next_pair(participant_id)
        if not pair["done"]:
            pair["left_video"], pair["right_video"] = _file_url(pair["left_video"]), _file_url(pair["right_video"])
        return pair

    def vote(participant_id: str, pair_id: str, lip: str, expression: str, overall: str) -> dict:
        """Vote on a pair: lip, expression and overall are each 'left', 'equal' or 'right'. Returns the acknowledgement with the method on each side."""
        return backend.study().vote(participant_id, pair_id, lip, expression, overall)

    gr.api(user_errors(join), api_name="study_join", **api_events)
    gr.api(user_errors(next_pair), api_name="study_next", **api_events)
    gr.api(user_errors(vote), api_name="study_vote", **api_events)

    if not backend.prepared():
        gr.Markdown(
            "No study is prepared on this server. Write a study file (see `examples/study.json`), run "
            "`python -m expressive_talker study prepare --config study.json`, and point "
            "`EXPRESSIVE_TALKER_STUDY` at the folder it writes (default: `data/study`, or `/data/study` on a Space)."
        )
        return None
    gr.set_static_paths([s.study_dir])  # the videos are served from the prepared folder as they are
    manifest = read_manifest(s.study_dir)

    # The participant id, also kept in the browser's localStorage so that a reload carries on
    # with the same participant (the server checks it like any other input).
    participant = gr.Textbox(visible=False)
    pair_id = gr.State("")
    with gr.Column(visible=True) as consent_box:
        gr.Markdown(manifest["consent"])  # the researcher's text from the study file
        age = gr.Dropdown(list(AGE_RANGES), value=None, label="Age range (optional)", elem_id="study-age")
        background = gr.Dropdown(list(BACKGROUNDS), value=None, label="Background (optional)", elem_id="study-background")
        agree = gr.Checkbox(label="I have read the above and agree to take part", elem_id="study-consent")
        start = gr.Button("Start", variant="primary", elem_id="study-start")
    with gr.Column(visible=False) as vote_box:
        progress = gr.Markdown(elem_id="study-progress")
        prompt = gr.Textbox(label="Text description of the expression", interactive=False, elem_id="study-prompt")
        gr.Markdown("Watch both animations (with sound), then answer the three questions.")
        with gr.Row():
            left = gr.Video(label="Left", interactive=False, elem_id="study-left")
            right = gr.Video(label="Right", interactive=False, elem_id="study-right")
        radios = [gr.Radio(ANSWERS, label=QUESTIONS[c], elem_id=f"study-{c}") for c in CRITERIA]
        submit = gr.Button("Submit", variant="primary", interactive=False, elem_id="study-submit")
        reveal = gr.Markdown(elem_id="study-reveal")
        next_button = gr.Button("Next pair", visible=False, elem_id="study-next")
    done_box = gr.Markdown("## Thank you!\nYou have judged every pair of this study.", visible=False, elem_id="study-done")

    pair_outputs = [pair_id, consent_box, vote_box, done_box, progress, prompt, left, right, *radios, submit, reveal, next_button]

    def show(pair: dict) -> list:
        if pair["done"]:
            return ["", gr.update(visible=False), gr.update(visible=False), gr.update(visible=True), *[gr.update()] * (len(pair_outputs) - 4)]
        return [
            pair["pair_id"], gr.update(visible=False), gr.update(visible=True), gr.update(visible=False),
            f"**Pair {pair['index']} of {pair['total']}**", pair["prompt"], pair["left_video"], pair["right_video"],
            *[gr.update(value=None, interactive=True) for _ in radios], gr.update(interactive=False, visible=True), "", gr.update(visible=False),
        ]  # fmt: skip

    def on_start(consent, age_range, background_):
        pid = backend.study().join(consent, age_range or None, background_ or None)
        return [pid, *show(backend.study().next_pair(pid))]

    def on_submit(pid, pair, lip, expression, overall):
        ack = backend.study().vote(pid, pair, lip, expression, overall)
        note = "You had already voted on this pair; your first answers stand. " if ack["duplicate"] else "Recorded, thank you. "
        text = f"{note}Left was **{ack['left_label']}**, right was **{ack['right_label']}**."
        return [*[gr.update(interactive=False) for _ in radios], gr.update(visible=False), text, gr.update(visible=True)]

    def on_next(pid):
        return show(backend.study().next_pair(pid))

    def on_load(pid):
        # A participant who reloads the page carries on where they were, without a new consent.
        try:
            known = bool(pid) and backend.store().has_participant(pid)
        except InputError:  # not an id this server gives out: start afresh
            known = False
        if known:
            return [pid, *show(backend.study().next_pair(pid))]
        return ["", *[gr.update()] * len(pair_outputs)]

    ui = {"api_visibility": "private", **STUDY_EVENTS}
    start.click(user_errors(on_start), [agree, age, background], [participant, *pair_outputs], **ui).then(
        None, [participant], None, js=f"(pid) => {{ if (pid) localStorage.setItem('{STORAGE_KEY}', pid); }}"
    )
    submit.click(user_errors(on_submit), [participant, pair_id, *radios], [*radios, submit, reveal, next_button], **ui)
    next_button.click(user_errors(on_next), [participant], pair_outputs, **ui)
    for radio in radios:  # Submit is enabled once all three questions are answered
        radio.change(lambda *answers: gr.update(interactive=all(answers)), radios, submit, api_visibility="private", queue=False, show_progress="hidden")
    return {"fn": user_errors(on_load), "inputs": [participant], "outputs": [participant, *pair_outputs], "js": f"() => localStorage.getItem('{STORAGE_KEY}') || ''", **ui}


def build_results_tab(backend: StudyBackend) -> None:
    private = bool(backend.settings.results_token)
    gr.Markdown(
        "The study's votes as in the paper's Table 3 (per question and method pair: the share of votes for each method, "
        "for equal, and for better or equal), and Bradley–Terry strengths of the methods (ties count as half a win) with "
        "95% bootstrap intervals over participants. `python -m expressive_talker study report` writes the same as JSON."
    )
    token = gr.Textbox(label="Admin token", type="password", visible=private, elem_id="results-token")
    refresh = gr.Button("Show results" if private else "Refresh", elem_id="results-refresh")
    summary = gr.Markdown(elem_id="results-summary")
    table = gr.Dataframe(label="Table 3: percentage of votes", interactive=False, elem_id="results-table3")
    strengths = gr.Dataframe(label="Bradley–Terry strengths (sum to 1), 95% bootstrap interval", interactive=False, elem_id="results-bt")

    def results(token_text: str = "") -> dict:
        """The study report: votes, participants, Table 3 and Bradley-Terry strengths (the admin token when results are private)."""
        return backend.report(token_text)

    def show(token_text):
        report = backend.report(token_text)
        text = f"**{report['votes']}** votes · **{report['pairs_judged']}** pairs judged · **{report['participants']}** participants"
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

    gr.api(user_errors(results), api_name="study_results", api_visibility="public", **STUDY_EVENTS)
    refresh.click(user_errors(show), [token], [summary, table, strengths], api_visibility="private", **STUDY_EVENTS)
