"""The video lane serves waiters in the order they came: a visitor never waits for more than the
one study video being rendered, even while the default study's videos are made in the background."""

import threading
import time

import pytest

from .helpers import make_tiny_weights, write_tone


def test_turns_are_served_in_arrival_order_even_against_a_loop_that_takes_them_back_at_once():
    from expressive_talker.ui.jobs import FifoTurns

    turns = FifoTurns(1)
    served, stop = [], threading.Event()

    def greedy():  # as the study's preparation: release, and take the turn again at once
        while not stop.is_set():
            with turns:
                served.append("greedy")
                time.sleep(0.002)

    turns.acquire()  # held while the others line up, so that their order is known
    loop = threading.Thread(target=greedy)
    loop.start()
    time.sleep(0.05)
    visitors = []
    for name in ("first", "second", "third"):
        t = threading.Thread(target=lambda n=name: (turns.acquire(), served.append(n), turns.release()))
        t.start()
        visitors.append(t)
        time.sleep(0.05)  # each one is waiting before the next arrives
    turns.release()
    for t in visitors:
        t.join(timeout=10)
    stop.set()
    loop.join(timeout=10)
    assert not any(t.is_alive() for t in visitors), "a visitor was starved"
    # The greedy loop was waiting first, so it gets one turn; then each visitor in turn, and the
    # loop's own next turn comes only after every one of them.
    first_four = served[:4]
    assert first_four == ["greedy", "first", "second", "third"], served[:10]


@pytest.mark.slow
def test_generate_while_the_default_study_prepares_takes_at_most_three_times_its_idle_time(tmp_path):
    """The issue's criterion, relative to this machine: /generate within 3x its idle time while
    the default study's videos render (here 16 tiny ones, each about as long as the visitor's)."""
    import json

    from expressive_talker.ui.jobs import Jobs, Settings
    from expressive_talker.ui.study_tab import StudyBackend

    weights = make_tiny_weights(tmp_path / "weights", ("ours", "expclip"))
    write_tone(tmp_path / "speech.wav", seconds=1.0)
    study_file = tmp_path / "study.json"
    stimuli = [{"id": f"s{k}", "audio": "speech.wav", "prompt": f"happy {k}"} for k in range(8)]
    study_file.write_text(json.dumps({"name": "lane", "methods": ["ours", "expclip"], "size": 256, "stimuli": stimuli}))
    settings = Settings(
        weights_dir=str(weights), video_size=256, output_dir=str(tmp_path / "out"), study_dir=str(tmp_path / "study"),
        default_study=str(study_file), db_url=f"sqlite:///{tmp_path / 'votes.db'}", concurrency=1,
    )  # fmt: skip
    jobs = Jobs(settings)
    speech = str(write_tone(tmp_path / "visitor.wav", seconds=1.0))

    def generate(prompt):
        t0 = time.perf_counter()
        video, _ = jobs.generate(speech, prompt, "ours")
        assert video.endswith(".mp4")
        return time.perf_counter() - t0

    generate("calm")  # loads the models and the renderer
    idle = min(generate("calm 1"), generate("calm 2"))  # new prompts: nothing is reused
    backend = StudyBackend(settings, jobs.lane)
    preparing = backend.start()
    deadline = time.monotonic() + 60
    while backend.progress in (None, (0, 0)) or backend.progress[0] < 1:  # the first study video is made
        assert time.monotonic() < deadline and preparing.is_alive(), backend.progress
        time.sleep(0.05)
    busy = min(generate("calm 3"), generate("calm 4"))  # the better of two, as for idle: the machine is shared
    progress = backend.progress  # None once the study is prepared
    print(f"/generate idle {idle:.2f} s, while the study prepares {busy:.2f} s (study videos ready: {progress})")
    assert busy < 3 * idle  # with threading.Semaphore: 13.9 s against 1.7 s idle (it waited for all 16)
    assert progress is not None and progress[0] < progress[1], "the study finished first: the test measured nothing"
    preparing.join(timeout=600)
    assert backend.prepared()
