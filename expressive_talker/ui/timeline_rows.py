"""The timeline of prompts under a prompt box: rows of a time and a prompt after the main prompt
(row 1, at 0 s), each with its own reading, the ease between rows, and buttons to add and remove
rows; folded away until used. The rows are a fixed set of hidden ones that "Add row" reveals
(robust in Gradio, and plain inputs for a browser test to fill). When the tab's button is pressed,
``rows_timeline`` turns them into the API's ``timeline`` argument
(``{"rows": [{"at": 4.5, "prompt": "furious"}], "ease_s": 0.5}``, read by
``text.timeline.Timeline.from_request``, which checks it and names a bad row)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ..text.timeline import EASE_S, MAX_EASE_S, MAX_ROWS
from .prompt_reading import add_prompt_reading
from .refusals import optional_input

PAGE_ROWS = 6  # later rows the page offers; the API takes up to MAX_ROWS in all
LAYOUT_EVENTS = {"queue": False, "show_progress": "hidden", "api_name": False}


@dataclass
class TimelineRows:
    shown: gr.Number  # hidden: how many of the later rows are shown
    ease: gr.Slider
    times: list[gr.Number]
    prompts: list[gr.Textbox]
    timeline: gr.JSON  # hidden: the API's ``timeline`` argument, gathered from the rows on each press

    def inputs(self, rows: int = PAGE_ROWS) -> list:
        """What ``rows_timeline`` takes: shown, ease, then time and prompt of the first ``rows`` rows."""
        return [self.shown, self.ease, *[c for pair in zip(self.times[:rows], self.prompts[:rows]) for c in pair]]


def rows_timeline(shown, ease, *values) -> dict | None:
    """The shown rows (``values``: time, prompt, time, prompt, ...) as the API's timeline, or None
    when no row is filled in. Rows left blank at the end count as not added; any other row goes
    as it is, so that a half-filled one gets the message naming it."""
    pairs = list(zip(values[0::2], values[1::2]))[: int(shown or 0)]
    while pairs and pairs[-1][0] is None and not str(pairs[-1][1] or "").strip():
        pairs.pop()
    if not pairs:
        return None
    return {"rows": [{"at": at, "prompt": prompt or ""} for at, prompt in pairs], "ease_s": EASE_S if ease is None else ease}


def example_rows(timeline: list | None, rows: int) -> list:
    """An example's ``"timeline"`` ([[seconds, prompt], ...] after its main prompt) as the values
    of ``TimelineRows.inputs(rows)``."""
    filled = list(timeline or [])[:rows]
    values = [v for at, prompt in filled for v in (at, prompt)] + [None, ""] * (rows - len(filled))
    return [len(filled), EASE_S, *values]


def example_row_count(examples: list[dict]) -> int:
    """How many rows the Examples fill: the longest example timeline. (Gradio's Examples leave
    out an input that is None in every example, and then fail to load any.)"""
    return min(max((len(e.get("timeline") or []) for e in examples), default=0), PAGE_ROWS)


def build_timeline_rows(jobs, tab: str, method: gr.Radio | None = None) -> TimelineRows:
    """The rows, placed where this is called (under the tab's prompt box and its reading); element
    ids ``{tab}-timeline`` (the accordion), ``{tab}-row-N-at`` / ``-prompt`` / ``-reading`` /
    ``-remove`` for row N (2 onwards), ``{tab}-add-row`` and ``{tab}-ease``."""
    with gr.Accordion("Timeline: change the expression during the clip (optional)", open=False, elem_id=f"{tab}-timeline") as fold:
        gr.Markdown(
            "Row 1 is the *Expression* above, from the start. Each row you add takes over from its time "
            "(seconds into the speech); the face eases from one row to the next over the ease time. "
            "The viewer marks each row on its bar.",
            elem_classes=["timeline-help"],
        )
        shown = gr.Number(0, precision=0, visible=False, elem_id=f"{tab}-timeline-shown")
        groups, times, prompts, removes = [], [], [], []
        for number in range(2, PAGE_ROWS + 2):
            with gr.Group(visible=False, elem_id=f"{tab}-row-{number}") as group:
                with gr.Row(equal_height=True):
                    at = gr.Number(None, label=f"Row {number}: from (s)", placeholder="e.g. 2.5", min_width=110, scale=1, elem_id=f"{tab}-row-{number}-at")
                    prompt = gr.Textbox(label=f"Row {number}: expression", placeholder="e.g. furious", max_lines=1, scale=3, elem_id=f"{tab}-row-{number}-prompt")
                    remove = gr.Button("Remove", size="sm", min_width=80, scale=0, elem_id=f"{tab}-row-{number}-remove")
                add_prompt_reading(jobs, prompt, method, elem_id=f"{tab}-row-{number}-reading")
            groups.append(group)
            times.append(at)
            prompts.append(prompt)
            removes.append(remove)
        with gr.Row():
            add = gr.Button("Add row", size="sm", scale=0, min_width=110, elem_id=f"{tab}-add-row")
            ease = gr.Slider(0.0, MAX_EASE_S, value=EASE_S, step=0.1, label="Ease between rows (s)", scale=3, elem_id=f"{tab}-ease")
        gr.Markdown(f"Up to {PAGE_ROWS + 1} rows here, {MAX_ROWS} through the API.", elem_classes=["timeline-help"])
    timeline = optional_input(gr.JSON(None, label="Timeline", visible=False))
    rows = TimelineRows(shown, ease, times, prompts, timeline)
    pairs = [c for pair in zip(times, prompts) for c in pair]

    # Rows shown follow ``shown``, unfolded when there are any (an example's); a hidden row is
    # blank (an example may fill fewer rows than were shown).
    shown.change(_layout, shown, [fold, *groups, add, *pairs], **LAYOUT_EVENTS)
    add.click(lambda n: min(int(n or 0) + 1, PAGE_ROWS), shown, shown, **LAYOUT_EVENTS)
    for index, remove in enumerate(removes):
        remove.click(_remover(index), [shown, *pairs], [shown, *pairs], **LAYOUT_EVENTS)
    return rows


def _layout(shown):
    n = int(shown or 0)
    visible = [gr.update(open=True) if n else gr.update()] + [gr.update(visible=i < n) for i in range(PAGE_ROWS)] + [gr.update(visible=n < PAGE_ROWS)]
    return visible + [v for i in range(PAGE_ROWS) for v in ((gr.update(), gr.update()) if i < n else (None, ""))]


def _remover(index: int):
    """Removes row ``index`` (0 = row 2): the rows below move up, the last shown one goes."""

    def remove(shown, *values):
        pairs = list(zip(values[0::2], values[1::2]))
        del pairs[index]
        pairs.append((None, ""))
        return [max(int(shown or 0) - 1, 0), *[v for pair in pairs for v in pair]]

    return remove
