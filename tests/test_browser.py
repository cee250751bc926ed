"""The demo page driven in headless Debian Chromium (Playwright, no browser download): upload an
example, generate, the video plays; a mistake shows an error and the next try works."""

import os
import shutil
import socket

import pytest

from .helpers import make_tiny_weights

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "espeak_hallway.flac")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from expressive_talker.ui import Settings, build_app, queue

    root = tmp_path_factory.mktemp("browser")
    settings = Settings(weights_dir=str(make_tiny_weights(root / "weights")), video_size=256, output_dir=str(root / "outputs"))
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
def page(url):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (packages.txt installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.set_default_timeout(180_000)  # generous: the whole suite shares two cores
        page.goto(url)
        yield page
        browser.close()


def video_duration(page) -> float:
    """Wait for the Generate tab's video to load its metadata; its duration in seconds."""
    page.wait_for_selector("#generate-video video[src]")
    return page.eval_on_selector(
        "#generate-video video",
        "v => v.readyState >= 1 ? v.duration : new Promise(r => v.addEventListener('loadedmetadata', () => r(v.duration), {once: true}))",
    )


def test_upload_generate_and_watch(page):
    page.set_input_files("#generate-audio input[type=file]", EXAMPLE)
    page.wait_for_selector("#generate-audio audio, #generate-audio [data-testid=waveform-Speech]", state="attached")
    # A prompt that is markup stays text: nothing in it runs or renders.
    page.fill("#generate-text textarea", '<img src=x onerror="window.__injected=1"> slightly disgusted')
    page.click("#generate-button")
    assert video_duration(page) > 3.0  # the clip is 4.2 s of speech
    assert page.evaluate("window.__injected === undefined")
    assert page.input_value("#generate-text textarea").startswith("<img")


def test_a_mistake_shows_an_error_and_the_next_try_works(page):
    first = page.get_attribute("#generate-video video", "src")
    page.fill("#generate-text textarea", "   ")
    page.click("#generate-button")
    error = page.wait_for_selector("[data-testid=toast-body]:has-text('prompt is empty')")
    assert error.is_visible()
    page.fill("#generate-text textarea", "furious")
    page.click("#generate-button")
    page.wait_for_function("first => { const v = document.querySelector('#generate-video video'); return v && v.src && v.src !== first; }", arg=first)
    assert video_duration(page) > 3.0
