"""A prepared study served to participants: consent, the next pair, a vote. The app's Vote tab
and the ``study_*`` API endpoints both go through ``Study``.

Fixed study: each participant gets every (stimulus, method pair) once, in their own random order.
Open arena: each next pair is drawn uniformly at random from the ones they have not judged yet.
Either way the left/right sides are drawn at random for every pair shown, and a pair shown but not
yet voted on is shown again (same sides) until it is voted on, so reloading skips nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets

from ..errors import InputError
from ..pipeline import METHOD_LABELS
from .prepare import read_manifest
from .store import CRITERIA, StudyStore, check_choices, check_demographics, pair_key
from .report import method_pairs

QUESTIONS = {
    "lip": "Lip sync: whose lips match the speech better?",
    "expression": "Expression: whose face matches the text description better?",
    "overall": "Overall: which animation is better?",
}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


class Study:
    def __init__(self, folder, store: StudyStore):
        self.folder = os.path.abspath(folder)
        self.store = store
        manifest = read_manifest(self.folder)
        self.name, self.mode, self.consent = manifest["study"], manifest["mode"], manifest["consent"]
        self.stimuli = {f"{self.name}/{s['id']}": s for s in manifest["stimuli"]}
        store.add_stimuli({"id": sid, "study": self.name, "prompt": s["prompt"], "audio": s["audio"], "methods": s["methods"], "weights": s["weights"]} for sid, s in self.stimuli.items())
        # Every comparison of the study: (stimulus id in the store, method a, method b).
        self.pairs = [(sid, a, b) for sid, s in self.stimuli.items() for a, b in method_pairs(s["methods"])]

    def join(self, consent: bool, age_range: str | None = None, background: str | None = None, admit=None) -> str:
        """A new participant id, once they have agreed to the consent text. ``admit()``, called
        once the answers are valid, may refuse the join (the app's caps per client)."""
        if consent is not True:
            raise InputError("please read the consent text and tick the box to agree before starting")
        check_demographics(age_range, background)
        if admit is not None:
            admit()
        return self.store.add_participant(age_range, background)

    def _order(self, participant_id: str) -> list[tuple[str, str, str]]:
        # Seeded by the participant, so every replica gives the same person the same order.
        seed = int.from_bytes(hashlib.sha256(f"{self.name}:{participant_id}".encode()).digest()[:8], "big")
        order = list(self.pairs)
        random.Random(seed).shuffle(order)
        return order

    def next_pair(self, participant_id: str) -> dict:
        """``{"done": False, "pair_id", "prompt", "left_video", "right_video", "index", "total"}``
        (index: this is pair k of N), or ``{"done": True, ...}`` when they have judged them all."""
        if not self.store.has_participant(participant_id):
            raise InputError("unknown participant id: give consent first (study_join)")
        voted, pending = self.store.history(participant_id)
        done = sum((sid, pair_key(a, b)) in voted for sid, a, b in self.pairs)
        total = len(self.pairs)
        pending = [p for p in pending if p["stimulus_id"] in self.stimuli]
        if pending:
            shown = pending[0]
            pair_id, sid, left, right = shown["id"], shown["stimulus_id"], shown["left_method"], shown["right_method"]
        else:
            remaining = [p for p in self._order(participant_id) if (p[0], pair_key(p[1], p[2])) not in voted]
            if not remaining:
                return {"done": True, "index": done, "total": total}
            sid, left, right = remaining[0] if self.mode == "fixed" else secrets.choice(remaining)
            if secrets.randbelow(2):
                left, right = right, left
            pair_id = self.store.show(participant_id, sid, left, right)
        stimulus = self.stimuli[sid]
        return {
            "done": False, "pair_id": pair_id, "prompt": stimulus["prompt"],
            "left_video": self.video(stimulus, left), "right_video": self.video(stimulus, right),
            "index": done + 1, "total": total,
        }  # fmt: skip

    def video(self, stimulus: dict, method: str) -> str:
        """The video's file name in the served videos folder (a keyed hash: it names no method)."""
        return os.path.basename(stimulus["videos"][method])

    def watched(self, participant_id: str, pair_id: str, side) -> dict:
        """The participant's page played the ``side`` ("left" or "right") video of a pair to the
        end. Refused until the video's length has passed since the pair was shown. A vote on the
        pair is accepted once both sides are reported. Returns ``{"pair_id", "watched": [sides]}``."""
        shown = self.store.shown_pair(participant_id, pair_id)  # checks both ids
        seconds = float(self.stimuli.get(shown["stimulus_id"], {}).get("seconds", 0.0))
        return {"pair_id": pair_id, "watched": self.store.mark_watched(participant_id, pair_id, side, seconds)}

    def vote(self, participant_id: str, pair_id: str, lip, expression, overall, vote_id: str | None = None) -> dict:
        """Store the three answers (each left, equal or right) under the client's ``vote_id`` (a
        retry with the same id is acknowledged as the same vote). The acknowledgement says what
        was stored, never which method was on which side: the study stays blind to the end."""
        answers = {"lip": lip, "expression": expression, "overall": overall}
        missing = [c for c in CRITERIA if answers[c] in (None, "")]
        if missing:
            raise InputError(f"answer all three questions before submitting; missing: {', '.join(missing)}")
        check_choices(answers)
        self.store.shown_pair(participant_id, pair_id)  # checks both ids
        if not vote_id:
            raise InputError("vote_id is missing: send 32 lowercase hex digits you pick for this vote (uuid4().hex), the same ones again if you retry it")
        unplayed = [side for side in ("left", "right") if side not in self.store.watched_sides(pair_id)]
        if unplayed:
            raise InputError(f"play both videos to the end before voting (not yet: {' and '.join(unplayed)}); a script reports each with study_watched")
        ack = self.store.record(participant_id, pair_id, answers, vote_id)  # checks every id and answer
        return {k: ack[k] for k in ("recorded", "vote_id", "duplicate", "pair_id", "choices")}
