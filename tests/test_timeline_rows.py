"""The page's timeline rows as the API's timeline argument, and the examples' timelines."""

import pytest
import soundfile as sf

from expressive_talker.errors import InputError
from expressive_talker.text.timeline import Timeline
from expressive_talker.ui.examples import load_examples
from expressive_talker.ui.generate_tab import example_label
from expressive_talker.ui.timeline_rows import example_row_count, example_rows, rows_timeline


def test_rows_become_the_timeline_argument():
    # Shown rows only; blank ones at the end are rows added and not used.
    values = [1.5, "furious", 3, "a little amused", None, "", 9, "hidden"]
    assert rows_timeline(3, 0.4, *values) == {"rows": [{"at": 1.5, "prompt": "furious"}, {"at": 3, "prompt": "a little amused"}], "ease_s": 0.4}
    assert rows_timeline(0, 0.5, *values) is None
    assert rows_timeline(2, 0.5, None, "", None, "") is None
    # A half-filled row goes as it is, so that its message names it.
    with pytest.raises(InputError, match="timeline row 2: the time is missing"):
        Timeline.from_request("calm", rows_timeline(2, 0.5, None, "furious", 3, "sad"))


def test_the_timeline_example_fills_the_rows_and_fits_its_clip():
    timed = [e for e in load_examples() if e.get("timeline")]
    assert timed, "the app's Examples offer a timeline"
    count = example_row_count(load_examples())
    for example in timed:
        rows = example_rows(example["timeline"], count)
        assert len(rows) == 2 + 2 * count
        timeline = Timeline.from_request(example["prompt"], rows_timeline(*rows))
        assert timeline.rows[1:] == tuple((at, prompt) for at, prompt in example["timeline"])
        timeline.check_fits(sf.info(example["audio"]).duration)
    assert example_label(timed[0]) == "calm → furious at 1.8 s (flite 2.2, voice awb)"
    assert example_rows(None, 2) == [0, 0.5, None, "", None, ""]
