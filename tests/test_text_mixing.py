"""Two feelings in a prompt (text/mixing.py) and the read-out's calibration (text/calibration.py)."""

import numpy as np
import pytest

from expressive_talker.text import calibration
from expressive_talker.text.mixing import feeling_parts
from expressive_talker.text.reading import Evidence


@pytest.mark.parametrize(
    "prompt, parts",
    [
        ("nervous but excited", ["nervous", "excited"]),
        ("grumpy and tired, yet hopeful", ["grumpy", "tired", "hopeful"]),
        ("Pleased & proud!", ["Pleased", "proud"]),
        ("happy", ["happy"]),
        ("with a grin", ["with a grin"]),  # nothing before the joiner: one part
        ("wide eyes and raised brows", ["wide eyes and raised brows"]),  # one face described, not two feelings
        ("a and b and c and d", ["a and b and c and d"]),  # no real words in the parts
        ("tired and sad and angry and scared", ["tired and sad and angry and scared"]),  # more than three: read whole
        ("The person is amused and lighthearted.", ["The person is amused and lighthearted."]),  # a sentence describes one feeling
    ],
)
def test_feeling_parts(prompt, parts):
    assert feeling_parts(prompt) == parts


def test_reliability_is_the_gap_between_confidence_and_accuracy():
    ece, rows = calibration.reliability([0.9, 0.9, 0.9, 0.9, 0.1, 0.1], [True, True, True, False, False, False], bins=5)
    # bin 0.8-1.0: confidence 0.9, accuracy 0.75; bin 0.0-0.2: confidence 0.1, accuracy 0
    assert ece == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.1, abs=1e-4)  # rounded to 4 places
    assert [(r["count"], r["accuracy"]) for r in rows] == [(2, 0.0), (4, 0.75)]


def test_calibration_fits_rising_with_the_share_and_falling_for_unfamiliar_prompts(tmp_path):
    rng = np.random.default_rng(0)
    share = rng.uniform(0.15, 0.95, 400)
    similarity = rng.uniform(0.2, 1.0, 400)
    right = rng.uniform(size=400) < share * similarity  # readings of familiar prompts at a high share are right
    fit = calibration.fit([Evidence(s, m, 0.5, False) for s, m in zip(share, similarity)], right.tolist())
    assert fit["weights"][0] > 0 and fit["weights"][1] > 0
    sure, unfamiliar = Evidence(0.9, 0.95, 0.5, False), Evidence(0.9, 0.25, 0.5, False)
    assert calibration.probability(fit, sure) > calibration.probability(fit, unfamiliar)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"kind": "two-stage", "config": {}}')
    assert calibration.calibrated(str(folder), sure) == pytest.approx(0.9)  # no calibration: the share
    calibration.save(str(folder), fit, {"dev_prompts": 0})
    assert calibration.calibrated(str(folder), sure) == pytest.approx(calibration.probability(fit, sure))
