"""The read-out's percentage as a probability: a logistic calibration of how often a reading is right.

``p = σ(a·logit(share) + b·similarity + c·agreement + d·mixed + e)``, from what the reading knows
(``reading.Evidence``): the named emotion's share of the mix, the prompt's largest similarity to
a training description, the share of its five nearest training descriptions that name the
emotion read, and whether it was read as two feelings. Fitted (``fit``) on readings
whose intended emotions are known: the development prompt set (``prompt_sets/dev.tsv``) and a
sample of the held-out training descriptions; stored in the model folder's ``config.json`` under
``"reading"``, next to what it was fitted on. A reading is right when its emotion is one of the
prompt's intended emotions.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np

FEATURES = ("logit_share", "similarity", "agreement", "mixed")


def _features(evidence) -> np.ndarray:
    share = min(max(float(evidence.share), 1e-3), 1 - 1e-3)
    return np.array([np.log(share / (1 - share)), float(evidence.similarity), float(evidence.agreement), float(evidence.mixed)])


def calibrated(folder: str, evidence) -> float:
    """The probability that the reading is right, by the folder's calibration (its share when it has none)."""
    fit = _calibration(folder)
    if fit is None or fit.get("features") != list(FEATURES):  # none, or fitted on other inputs: refit it
        return float(evidence.share)
    return probability(fit, evidence)


def probability(fit: dict, evidence) -> float:
    z = float(np.dot(fit["weights"], _features(evidence)) + fit["bias"])
    return float(1.0 / (1.0 + np.exp(-z)))


@functools.lru_cache(maxsize=8)
def _calibration(folder: str) -> dict | None:
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            reading = json.load(f).get("reading") or {}
    except OSError:
        return None
    return reading.get("calibration")


def fit(evidence: list, right: list[bool]) -> dict:
    """Logistic regression of ``right`` on the evidence (L2, C = 1: a few parameters, a few hundred readings)."""
    from sklearn.linear_model import LogisticRegression

    x = np.stack([_features(e) for e in evidence])
    model = LogisticRegression(C=1.0).fit(x, np.asarray(right, int))
    return {"features": list(FEATURES), "weights": [round(float(w), 5) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 5)}


def save(folder: str, calibration: dict, fitted_on: dict) -> None:
    """Write the calibration into the folder's config.json (the rest of it unchanged)."""
    path = os.path.join(folder, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config["reading"] = {"calibration": calibration, "fitted_on": fitted_on}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    _calibration.cache_clear()


def reliability(confidence, right, bins: int = 5) -> tuple[float, list[dict]]:
    """Expected calibration error (Σ |B|/n · |accuracy(B) − confidence(B)| over equal-width bins)
    and the diagram's rows (bin, count, mean confidence, accuracy)."""
    confidence, right = np.asarray(confidence, float), np.asarray(right, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        conf, acc = float(confidence[inside].mean()), float(right[inside].mean())
        ece += inside.mean() * abs(acc - conf)
        rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "count": int(inside.sum()), "confidence": round(conf, 3), "accuracy": round(acc, 3)})
    return round(float(ece), 4), rows
