"""A timeline of prompts: "calm, then furious from 4.5 s, then a little amused at 8 s".

Rows of (time in seconds, prompt); the first row is the main prompt, at 0. Between rows the face
eases over ``ease_s`` in the model's expression space (``text.transition.PromptSchedule`` gives
the per-frame weights, ``models.two_stage.PromptBranches`` blends). Every entry point (CLI
``--at``, the API's ``timeline`` argument, the page's rows) builds one through ``Timeline.make``,
so bad input gets the same message everywhere.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .transition import PromptSchedule

EASE_S = 0.5
MAX_EASE_S = 5.0
MAX_ROWS = 32


@dataclass(frozen=True)
class Timeline:
    rows: tuple[tuple[float, str], ...]  # (seconds, prompt), the first at 0, times increasing
    ease_s: float = EASE_S

    @classmethod
    def make(cls, prompt: str | None, later=(), ease_s: float | None = None) -> "Timeline":
        """The main prompt and later rows [(seconds, prompt), ...]; InputError naming the row for
        a time that is not a number, negative, duplicated or out of order, an empty prompt, more
        than MAX_ROWS rows, or an ease outside 0..MAX_EASE_S."""
        ease_s = EASE_S if ease_s is None else ease_s
        try:
            ease_s = float(ease_s)
        except (TypeError, ValueError):
            raise InputError(f"the ease must be a number of seconds, got {ease_s!r}") from None
        if not 0.0 <= ease_s <= MAX_EASE_S:
            raise InputError(f"the ease must be between 0 and {MAX_EASE_S:g} s, got {ease_s:g}")
        later = list(later)
        if 1 + len(later) > MAX_ROWS:
            raise InputError(f"a timeline holds at most {MAX_ROWS} rows (the main prompt and {MAX_ROWS - 1} more); this one has {1 + len(later)}")
        if not (prompt or "").strip():
            raise InputError("timeline row 1 (0 s): the main prompt is empty; describe an expression, e.g. 'calm'")
        rows = [(0.0, prompt.strip())]
        for number, row in enumerate(later, start=2):
            try:
                at, text = row
            except (TypeError, ValueError):
                raise InputError(f"timeline row {number}: a row is a time in seconds and a prompt, got {row!r}"[:200]) from None
            if at is None or (isinstance(at, str) and not at.strip()):
                raise InputError(f"timeline row {number}: the time is missing")
            try:
                at = float(at)
            except (TypeError, ValueError):
                raise InputError(f"timeline row {number}: the time must be a number of seconds, got {at!r}"[:200]) from None
            if not math.isfinite(at) or at < 0:
                raise InputError(f"timeline row {number}: the time must be a positive number of seconds, got {at:g}")
            if at == 0:
                raise InputError(f"timeline row {number}: 0 s is the main prompt's time; give this row a later one")
            if not str(text or "").strip():
                raise InputError(f"timeline row {number} ({at:g} s): the prompt is empty")
            previous = rows[-1][0]
            if at == previous:
                raise InputError(f"timeline row {number} ({at:g} s): row {number - 1} has the same time")
            if at < previous:
                raise InputError(f"timeline row {number} ({at:g} s): the times must increase, and row {number - 1} is at {previous:g} s")
            rows.append((at, str(text).strip()))
        return cls(tuple(rows), ease_s)

    @classmethod
    def from_request(cls, prompt: str | None, timeline) -> "Timeline | None":
        """What the API's ``timeline`` argument holds, with ``prompt`` as the main prompt: None,
        "" or no rows (no timeline: the request behaves as one without it); a JSON object or its
        text {"rows": [{"at": 4.5, "prompt": "furious"}, ...], "ease_s": 0.5}, whose rows come
        after the main prompt (a first row at 0 s, as the ``.json`` export records it, is the
        main prompt and must match it); or a list of [seconds, prompt] pairs."""
        if timeline is None or (isinstance(timeline, str) and not timeline.strip()):
            return None
        if isinstance(timeline, str):
            try:
                timeline = json.loads(timeline)
            except json.JSONDecodeError as exc:
                raise InputError(f"the timeline is not valid JSON: {exc}") from None
        ease_s = None
        if isinstance(timeline, dict):
            if not isinstance(timeline.get("rows", []), list):
                raise InputError('a timeline is {"rows": [{"at": 4.5, "prompt": "furious"}], "ease_s": 0.5}')
            ease_s, rows = timeline.get("ease_s"), []
            for number, row in enumerate(timeline.get("rows", []), start=2):
                if not isinstance(row, dict) or "at" not in row or "prompt" not in row:
                    raise InputError(f'timeline row {number}: each row is {{"at": seconds, "prompt": text}}')
                rows.append((row["at"], row["prompt"]))
        elif isinstance(timeline, list):
            rows = [tuple(row) if isinstance(row, (list, tuple)) and len(row) == 2 else (row, None) for row in timeline]
        else:
            raise InputError('a timeline is {"rows": [{"at": 4.5, "prompt": "furious"}], "ease_s": 0.5}')
        if rows and _is_zero(rows[0][0]):
            if str(rows[0][1] or "").strip() != str(prompt or "").strip():
                raise InputError(f"timeline row 1 (0 s): {rows[0][1]!r} is not the main prompt {prompt!r}")
            rows = rows[1:]
        return cls.make(prompt, rows, ease_s) if rows else None

    def to_json(self) -> dict:
        return {"rows": [{"at": at, "prompt": prompt} for at, prompt in self.rows], "ease_s": self.ease_s}

    @property
    def changes(self) -> bool:
        """Whether the prompt changes at all (a one-row timeline is a plain prompt)."""
        return len(self.rows) > 1

    @property
    def prompts(self) -> list[str]:
        """The distinct prompts, in the order they first appear."""
        return list(dict.fromkeys(prompt for _, prompt in self.rows))

    def check_fits(self, seconds: float) -> None:
        """InputError for a row at or past the end of a clip ``seconds`` long."""
        for number, (at, _) in enumerate(self.rows[1:], start=2):
            if at >= seconds:
                raise InputError(f"timeline row {number} ({at:g} s): the clip ends at {seconds:.2f} s")

    def weights(self, fps: float, frames: int) -> np.ndarray:
        """(frames, len(prompts)) weight of each distinct prompt in each frame."""
        index = {prompt: i for i, prompt in enumerate(self.prompts)}
        schedule = PromptSchedule(fps, self.ease_s)  # the main prompt, index 0, from frame 0
        for at, prompt in self.rows[1:]:
            schedule.change(index[prompt], int(round(at * fps)))
        return schedule.weights(0, frames, len(index))

    def segments(self, fps: float, frames: int) -> list[tuple[int, int, str]]:
        """(first frame, end frame, prompt) of each row's stretch, the ease counted with the row
        it eases to."""
        starts = [min(int(round(at * fps)), frames) for at, _ in self.rows] + [frames]
        return [(a, b, prompt) for (a, b), (_, prompt) in zip(zip(starts, starts[1:]), self.rows) if b > a]


def _is_zero(value) -> bool:
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False
