"""Table 3 percentages and Bradley–Terry strengths from votes."""

import itertools

import numpy as np
import pytest

from expressive_talker.study.report import fit_bradley_terry, make_report, table3


def vote(person, left, right, choice, criterion="overall", shown=None):
    return {"participant_id": person, "left_method": left, "right_method": right, "choice": choice, "criterion": criterion, "shown_id": shown or f"{person}{left}{right}", "age_range": None, "background": None}


def test_table3_layout_puts_the_baseline_first_and_counts_both_sides():
    rows = [
        vote("p1", "ours", "expclip", "left", "lip"),  # ours better (ours shown on the left)
        vote("p2", "expclip", "ours", "left", "lip"),  # expclip better
        vote("p3", "expclip", "ours", "equal", "lip"),
        vote("p4", "expclip", "ours", "right", "lip"),  # ours better
        vote("p1", "faceformer", "ours", "right", "overall"),
    ]
    lip, overall = table3(rows)
    assert lip["criterion"] == "lip" and lip["methods"] == ["expclip", "ours"] and lip["votes"] == 4
    assert lip["percent"] == {"expclip": 25.0, "equal": 25.0, "ours": 50.0}
    assert lip["better_or_equal"] == {"expclip": 50.0, "ours": 75.0}
    assert overall["methods"] == ["faceformer", "ours"] and overall["percent"]["ours"] == 100.0


def test_bradley_terry_fit_is_exact_on_expected_wins():
    strengths = np.array([1.0, 2.0, 4.0, 8.0])
    n = 100
    wins = n * strengths[:, None] / (strengths[:, None] + strengths[None, :])
    np.fill_diagonal(wins, 0)
    assert np.allclose(fit_bradley_terry(wins), strengths / strengths.sum(), atol=1e-6)


def test_bradley_terry_recovers_the_order_of_simulated_methods():
    rng = np.random.default_rng(1)
    true = {"m_weak": 1.0, "m_fair": 2.0, "m_good": 4.0, "m_best": 8.0}
    rows = []
    for person in range(30):
        for stimulus in range(4):
            for a, b in itertools.combinations(true, 2):
                left, right = (a, b) if rng.random() < 0.5 else (b, a)
                if rng.random() < 0.15:
                    choice = "equal"
                else:
                    choice = "left" if rng.random() < true[left] / (true[left] + true[right]) else "right"
                rows.append(vote(f"p{person}", left, right, choice, shown=f"{person}-{stimulus}-{a}-{b}"))
    report = make_report(rows, samples=300)
    bt = report["bradley_terry"]["overall"]
    assert sorted(bt, key=lambda m: bt[m]["strength"]) == list(true)  # weakest to strongest
    assert sum(s["strength"] for s in bt.values()) == pytest.approx(1.0, abs=1e-3)
    for m in true:
        assert bt[m]["low"] <= bt[m]["strength"] <= bt[m]["high"]
        assert bt[m]["comparisons"] == 30 * 4 * 3
    assert bt["m_best"]["low"] > bt["m_weak"]["high"]  # the intervals separate the extremes
    assert report["votes"] == len(rows) and report["participants"] == 30 and report["pairs_judged"] == len(rows)


def test_a_method_that_never_wins_keeps_a_finite_strength():
    rows = [vote(f"p{i}", "ours", "expclip", "left") for i in range(5)]
    bt = make_report(rows, samples=50)["bradley_terry"]["overall"]
    assert 0 < bt["expclip"]["strength"] < bt["ours"]["strength"] < 1


def test_the_report_shows_votes_per_participant_and_flags_outliers():
    rows = []
    for person in ("p1", "p2", "p3", "p4"):  # honest: mixed answers, three pairs each
        for k, choice in enumerate(("left", "equal", "right")):
            rows += [vote(person, "ours", "expclip", choice, c, shown=f"{person}-{k}") for c in ("lip", "expression", "overall")]
    for k in range(3):  # always "left", whatever is shown
        rows += [vote("lazy", "ours", "expclip", "left", c, shown=f"lazy-{k}") for c in ("lip", "expression", "overall")]
    for k in range(12):  # four times as many ballots as anyone else
        rows += [vote("busy", "ours", "expclip", ("left", "right")[k % 2], c, shown=f"busy-{k}") for c in ("lip", "expression", "overall")]
    report = make_report(rows, samples=20)
    counts = {p["participant_id"]: (p["votes"], p["ballots"]) for p in report["per_participant"]}
    assert counts == {"p1": (9, 3), "p2": (9, 3), "p3": (9, 3), "p4": (9, 3), "lazy": (9, 3), "busy": (36, 12)}
    assert report["per_participant"][0]["participant_id"] == "busy"  # most votes first
    flags = {p["participant_id"]: p["flags"] for p in report["per_participant"]}
    assert flags["lazy"] == ["answered left to every question"]
    assert flags["busy"] == ["12 ballots where the median participant has 3"]
    assert sorted(report["outliers"]) == ["busy", "lazy"]
