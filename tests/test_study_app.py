"""The study served for real on loopback: the study_* API through gradio_client (consent, pairs,
votes, mistakes refused with clear messages), and in headless Chromium a participant consents,
votes once and the Results count rises by one. Runs on a tiny prepared study."""

import os
import re
import socket
import urllib.request

import pytest

from .study_helpers import prepare_tiny_study

pytestmark = pytest.mark.slow
TOKEN = "s3cret-admin"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from expressive_talker.ui import Settings, build_app, queue

    root = tmp_path_factory.mktemp("study-app")
    weights, prepared = prepare_tiny_study(root)
    settings = Settings(
        weights_dir=str(weights), study_dir=str(prepared), db_url=f"sqlite:///{root / 'votes.db'}",
        results_token=TOKEN, output_dir=str(root / "outputs"),
    )  # fmt: skip
    demo = queue(build_app(settings))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def refused(client, message, *args, api_name):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api_name)


def test_scripted_participant_votes_through_the_api(client, server):
    refused(client, "tick the box to agree", False, "", "", api_name="/study_join")
    pid = client.predict(True, "25-34", "", api_name="/study_join")
    first = client.predict(pid, api_name="/study_next")
    assert set(first) >= {"pair_id", "prompt", "left_video", "right_video", "index", "total"}
    assert (first["index"], first["total"], first["done"]) == (1, 2, False)
    assert client.predict(pid, api_name="/study_next")["pair_id"] == first["pair_id"]  # shown until voted on
    for side in ("left_video", "right_video"):
        assert not re.search("ours|expclip", first[side])  # the file names give the methods away
        with urllib.request.urlopen(server.rstrip("/") + first[side]) as response:
            assert response.read(12)[4:8] == b"ftyp"  # an MP4
    ack = client.predict(pid, first["pair_id"], "left", "equal", "right", api_name="/study_vote")
    assert ack["recorded"] and not ack["duplicate"]
    assert {ack["left"], ack["right"]} == {"ours", "expclip"} and ack["choices"] == {"lip": "left", "expression": "equal", "overall": "right"}
    again = client.predict(pid, first["pair_id"], "right", "right", "right", api_name="/study_vote")
    assert again["duplicate"] and again["choices"] == ack["choices"]  # a double submit stores one vote
    second = client.predict(pid, api_name="/study_next")
    assert second["index"] == 2 and second["pair_id"] != first["pair_id"] and second["prompt"] != first["prompt"]
    client.predict(pid, second["pair_id"], "equal", "equal", "equal", api_name="/study_vote")
    assert client.predict(pid, api_name="/study_next") == {"done": True, "index": 2, "total": 2}
    report = client.predict(TOKEN, api_name="/study_results")
    assert report["votes"] >= 6 and report["participants"] >= 1


def test_bad_votes_are_refused_with_clear_messages(client):
    pid = client.predict(True, "", "", api_name="/study_join")
    pair = client.predict(pid, api_name="/study_next")["pair_id"]
    refused(client, "lip must be one of left, equal, right", pid, pair, "up", "equal", "left", api_name="/study_vote")
    refused(client, "answer all three questions.*missing: overall", pid, pair, "left", "equal", "", api_name="/study_vote")
    refused(client, "unknown pair_id", pid, "0" * 32, "left", "left", "left", api_name="/study_vote")
    refused(client, "pair_id must be the 32-character id", pid, "<script>", "left", "left", "left", api_name="/study_vote")
    refused(client, "unknown participant id", "f" * 32, api_name="/study_next")
    refused(client, "age range must be one of", True, "<img src=x>", "", api_name="/study_join")
    refused(client, "results are private", "wrong", api_name="/study_results")
    client.predict(pid, pair, "left", "left", "left", api_name="/study_vote")  # still works after the mistakes


@pytest.fixture(scope="module")
def page(server):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(server)
        yield page
        browser.close()


COUNTS = r"(\d+) votes · (\d+) pairs judged · (\d+) participants"


def results_counts(page, previous=None):
    """(votes, pairs judged, participants) from the Results tab after a refresh; with
    ``previous``, waits until they differ from it (the old text stays up while it loads)."""
    page.get_by_role("tab", name="Results").click()
    page.fill("#results-token input", TOKEN)
    page.click("#results-refresh")
    page.wait_for_function(
        "([pattern, prev]) => { const m = document.querySelector('#results-summary').innerText.match(new RegExp(pattern));"
        " return m && m.slice(1).join() !== prev; }",
        arg=[COUNTS, ",".join(map(str, previous or ()))],
    )
    return tuple(int(n) for n in re.search(COUNTS, page.inner_text("#results-summary")).groups())


def test_participant_consents_votes_once_and_results_count_rises(page):
    votes, pairs, people = results_counts(page)
    page.get_by_role("tab", name="Vote").click()
    page.click("#study-consent input")
    page.click("#study-start")
    page.wait_for_selector("#study-progress:has-text('Pair 1 of 2')")
    assert page.input_value("#study-prompt textarea") in ("happy <b>really</b>", "sad")  # markup stays text
    assert page.query_selector("#study-prompt b") is None
    assert page.is_disabled("#study-submit")  # not until all three are answered
    for criterion, answer in (("lip", "left"), ("expression", "right"), ("overall", "equal")):
        page.check(f"#study-{criterion} input[value={answer}]")
    page.wait_for_function("() => !document.querySelector('#study-submit').disabled")
    page.click("#study-submit")
    reveal = page.wait_for_selector("#study-reveal:has-text('Left was')").inner_text()
    assert re.search(r"Left was (Ours|ExpCLIP).*right was (Ours|ExpCLIP)", reveal)  # names revealed after the vote
    page.wait_for_selector("#study-next", state="visible")
    assert results_counts(page, (votes, pairs, people)) == (votes + 3, pairs + 1, people + 1)
    # A reload carries on with the same participant: pair 2, no new consent.
    page.reload()
    page.get_by_role("tab", name="Vote").click()
    page.wait_for_selector("#study-progress:has-text('Pair 2 of 2')")
