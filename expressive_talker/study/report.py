"""The study's results: Table 3 of the paper (per criterion and method pair, the share of votes
for each method, for "equal", and "better or equal"), and Bradley–Terry strengths of all methods
per criterion with bootstrap 95% intervals.

Bradley–Terry: P(i beats j) = p_i / (p_i + p_j). A tie counts as half a win for each side. The
strengths are fitted by the MM algorithm (Hunter 2004) with one extra tied comparison between
every pair of methods that was compared, which keeps a method that never wins at a finite
strength. Strengths are scaled to sum to 1. The intervals resample participants (not single
votes), since one person's votes are not independent of each other.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter

import numpy as np

from ..pipeline import METHODS
from .store import CRITERIA

BOOTSTRAP_SAMPLES = 1000
CSV_COLUMNS = (
    "id", "time", "participant_id", "age_range", "background", "study", "stimulus_id", "prompt", "left_method",
    "right_method", "criterion", "choice", "app_version", "weights_version",
)  # fmt: skip


def _method_order(method: str):
    # The paper's layout puts the baseline first and ours last: sort by METHODS, reversed.
    return (0, -METHODS.index(method), "") if method in METHODS else (1, 0, method)


def _pct(n: int, total: int) -> float:
    return round(100.0 * n / total, 1) if total else 0.0


def table3(rows: list[dict]) -> list[dict]:
    """One entry per criterion and method pair (a, b): percentages of votes for a, equal, b, and
    "better or equal" for each, with the number of votes."""
    tally: dict[tuple, Counter] = {}
    for r in rows:
        a, b = sorted((r["left_method"], r["right_method"]), key=_method_order)
        winner = {"left": r["left_method"], "right": r["right_method"]}.get(r["choice"], "equal")
        tally.setdefault((r["criterion"], a, b), Counter())[winner] += 1
    out = []
    for (criterion, a, b), n in sorted(tally.items(), key=lambda kv: (CRITERIA.index(kv[0][0]), _method_order(kv[0][1]), _method_order(kv[0][2]))):
        total = sum(n.values())
        out.append({
            "criterion": criterion, "methods": [a, b], "votes": total,
            "percent": {a: _pct(n[a], total), "equal": _pct(n["equal"], total), b: _pct(n[b], total)},
            "better_or_equal": {a: _pct(n[a] + n["equal"], total), b: _pct(n[b] + n["equal"], total)},
        })  # fmt: skip
    return out


def fit_bradley_terry(wins: np.ndarray, prior: np.ndarray | None = None, iterations: int = 5000, tol: float = 1e-10) -> np.ndarray:
    """Strengths (summing to 1) from ``wins[..., i, j]``, i's wins over j (ties as 0.5 each way).
    Leading axes are independent problems (the bootstrap fits them all at once). ``prior`` is
    added to the wins (the extra tied comparisons)."""
    w = np.asarray(wins, dtype=np.float64)
    if prior is not None:
        w = w + prior
    n = w + np.swapaxes(w, -1, -2)  # comparisons between i and j
    won = w.sum(-1)
    p = np.full(w.shape[:-1], 1.0 / w.shape[-1])
    for _ in range(iterations):
        denom = (n / (p[..., :, None] + p[..., None, :])).sum(-1)
        new = np.where(denom > 0, won / np.where(denom > 0, denom, 1.0), p)
        new /= new.sum(-1, keepdims=True)
        if np.max(np.abs(new - p)) < tol:
            return new
        p = new
    return p


def bradley_terry(rows: list[dict], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """Per criterion: {method: {strength, low, high, comparisons}} (95% bootstrap interval)."""
    rng = np.random.default_rng(seed)
    out = {}
    for criterion in CRITERIA:
        mine = [r for r in rows if r["criterion"] == criterion]
        if not mine:
            continue
        methods = sorted({m for r in mine for m in (r["left_method"], r["right_method"])}, key=_method_order)
        index = {m: i for i, m in enumerate(methods)}
        people = sorted({r["participant_id"] for r in mine})
        person = {p: i for i, p in enumerate(people)}
        wins = np.zeros((len(people), len(methods), len(methods)))  # per participant
        for r in mine:
            i, j, k = person[r["participant_id"]], index[r["left_method"]], index[r["right_method"]]
            score = {"left": 1.0, "equal": 0.5, "right": 0.0}[r["choice"]]
            wins[i, j, k] += score
            wins[i, k, j] += 1.0 - score
        total = wins.sum(0)
        prior = 0.5 * ((total + total.T) > 0)  # one tied comparison per compared pair
        strength = fit_bradley_terry(total, prior)
        draws = rng.multinomial(len(people), np.full(len(people), 1.0 / len(people)), size=samples)  # participants drawn with replacement
        boot = fit_bradley_terry(np.einsum("bp,pij->bij", draws, wins), prior)
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
        comparisons = (total + total.T).sum(1)
        out[criterion] = {
            m: {"strength": round(float(strength[i]), 4), "low": round(float(low[i]), 4), "high": round(float(high[i]), 4), "comparisons": int(round(comparisons[i]))}
            for m, i in index.items()
        }
    return out


def per_participant(rows: list[dict]) -> list[dict]:
    """Votes and ballots (pairs judged) of each participant, most first, with the reasons a
    participant stands out: the same answer to every question of 3 or more ballots (answering
    without looking), or more ballots than the median participant plus 3 median deviations."""
    people: dict[str, dict] = {}
    for r in rows:
        p = people.setdefault(r["participant_id"], {"participant_id": r["participant_id"], "votes": 0, "ballots": set(), "choices": set()})
        p["votes"] += 1
        p["ballots"].add(r["shown_id"])
        p["choices"].add(r["choice"])
    ballots = np.array([len(p["ballots"]) for p in people.values()] or [0])
    median = float(np.median(ballots))
    spread = max(1.0, float(np.median(np.abs(ballots - median))))
    out = []
    for p in people.values():
        n = len(p["ballots"])
        flags = []
        if n >= 3 and len(p["choices"]) == 1:
            flags.append(f"answered {next(iter(p['choices']))} to every question")
        if n > median + 3 * spread:
            flags.append(f"{n} ballots where the median participant has {median:g}")
        out.append({"participant_id": p["participant_id"], "votes": p["votes"], "ballots": n, "flags": flags})
    return sorted(out, key=lambda p: (-p["votes"], p["participant_id"]))


def make_report(rows: list[dict], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """The whole report from ``StudyStore.vote_rows()``: ``votes`` (one per criterion answered),
    ``participants`` (who voted at least once), ``pairs_judged``, demographics, votes per
    participant with the ``outliers`` among them (``per_participant``), Table 3 and Bradley–Terry."""
    people = {r["participant_id"]: r for r in rows}
    voters = per_participant(rows)
    return {
        "votes": len(rows),
        "participants": len(people),
        "pairs_judged": len({r["shown_id"] for r in rows}),
        "votes_per_criterion": {c: sum(r["criterion"] == c for r in rows) for c in CRITERIA},
        "demographics": {
            "age_range": dict(Counter(p["age_range"] or "not given" for p in people.values())),
            "background": dict(Counter(p["background"] or "not given" for p in people.values())),
        },
        "per_participant": voters,
        "outliers": [p["participant_id"] for p in voters if p["flags"]],
        "table3": table3(rows),
        "bradley_terry": bradley_terry(rows, samples, seed),
        "bootstrap": {"samples": samples, "resampled": "participants", "interval": 0.95},
    }


def write_votes_csv(rows: list[dict], path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c].isoformat() if c == "time" else r[c] for c in CSV_COLUMNS])


def method_pairs(methods) -> list[tuple[str, str]]:
    """Every unordered pair of ``methods``, each in the report's order (baseline first)."""
    return [tuple(sorted(p, key=_method_order)) for p in itertools.combinations(methods, 2)]
