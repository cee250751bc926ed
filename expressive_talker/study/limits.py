"""Caps on how often one client may join the study: per network address and per browser session,
counted over a sliding time window, in this process's memory (a restart forgets them).

An honest participant joins once and then carries on with their participant id (the page keeps it
across reloads), so the caps only ever meet a client that keeps asking for fresh participants.
"""

from __future__ import annotations

import collections
import threading
import time

from ..errors import InputError


class JoinLimits:
    """``per_address`` joins from one network address and ``per_session`` from one browser
    session (or API client) in any ``window_s`` seconds; 0 turns a cap off."""

    def __init__(self, per_address: int, per_session: int, window_s: float = 3600.0):
        self.caps = {"address": per_address, "session": per_session}
        self.window_s = window_s
        self._joins: dict[tuple[str, str], collections.deque] = {}
        self._lock = threading.Lock()

    def admit(self, address: str | None, session: str | None) -> None:
        """Count one join from ``address`` and ``session``, or refuse it (and count nothing)."""
        now = time.monotonic()
        keys = [(kind, key) for kind, key in (("address", address), ("session", session)) if key and self.caps[kind]]
        with self._lock:
            for kind, key in keys:
                joins = self._joins.setdefault((kind, key), collections.deque())
                while joins and joins[0] <= now - self.window_s:
                    joins.popleft()
                if len(joins) >= self.caps[kind]:
                    where = "this network address" if kind == "address" else "this browser session"
                    minutes = max(1, round((joins[0] + self.window_s - now) / 60))
                    raise InputError(
                        f"too many new participants from {where} ({self.caps[kind]} in {self.window_s / 60:.0f} minutes): "
                        f"carry on with the participant id you were given (study_next), or join again in {minutes} minutes"
                    )
            for kind, key in keys:
                self._joins[(kind, key)].append(now)
            if len(self._joins) > 100_000:  # forget windows that have run out, so memory stays bounded
                self._joins = {k: q for k, q in self._joins.items() if q and q[-1] > now - self.window_s}
