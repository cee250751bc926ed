"""The demo page driven in headless Debian Chromium (Playwright, no browser download): upload an
example, generate, the video plays; a mistake shows an error and the next try works; WebM
uploads, labels that nothing covers, and the Face rig's keys, typed values, presets and reset."""

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
    settings = Settings(weights_dir=str(make_tiny_weights(root / "weights", ("ours", "faceformer"))), video_size=256, compare_size=256, output_dir=str(root / "outputs"))
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
def webm(tmp_path_factory):
    """The example as Opus in WebM, as a browser's recorder would save it."""
    import subprocess

    import imageio_ffmpeg

    out = tmp_path_factory.mktemp("webm") / "speech.webm"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", EXAMPLE, "-c:a", "libopus", str(out)], check=True)
    return str(out)


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


def wait_for_upload(page, component: str) -> None:
    """Until the audio component has its file: its waveform shows while "Uploading 1 file..." is
    still on screen, and a click on Generate then would send no audio."""
    page.wait_for_function(
        "sel => { const el = document.querySelector(sel); return el && !el.innerText.includes('Uploading') && /\\d:\\d\\d/.test(el.innerText); }",
        arg=component,
    )


def submit(page, tab: str) -> None:
    """Upload the example in a tab's speech box (ids ``TAB-audio``, ``TAB-button``), wait for the upload, press its button."""
    page.set_input_files(f"#{tab}-audio input[type=file]", EXAMPLE)
    wait_for_upload(page, f"#{tab}-audio")
    page.click(f"#{tab}-button")


def video_duration(page) -> float:
    """Wait for the Generate tab's video to load its metadata; its duration in seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector("#generate-video video[src]")
    except PlaywrightTimeout:  # say what the page showed instead
        raise AssertionError(f"no video; messages on the page: {toasts(page)}; audio box: {page.inner_text('#generate-audio')!r}") from None
    return page.eval_on_selector(
        "#generate-video video",
        "v => v.readyState >= 1 ? v.duration : new Promise(r => v.addEventListener('loadedmetadata', () => r(v.duration), {once: true}))",
    )


def test_upload_generate_and_watch(page):
    page.set_input_files("#generate-audio input[type=file]", EXAMPLE)
    wait_for_upload(page, "#generate-audio")
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


# What is under a point of an element, as a fraction of its box (scrolled into view first).
HIT = """([selector, fx, fy]) => {
  const el = document.querySelector(selector);
  el.scrollIntoView({block: 'center'});
  const box = el.getBoundingClientRect();
  return document.elementFromPoint(box.left + fx * box.width, box.top + fy * box.height) === el;
}"""


def toasts(page) -> list[str]:
    return page.locator("[data-testid=toast-body]").all_inner_texts()


def test_webm_is_accepted_and_other_files_get_the_formats(page, url, webm, tmp_path):
    page.goto(url)
    page.set_input_files("#generate-audio input[type=file]", webm)
    wait_for_upload(page, "#generate-audio")
    assert not any("Invalid file type" in t for t in toasts(page))
    page.click("#generate-button")
    assert video_duration(page) > 3.0
    page.goto(url)
    (tmp_path / "notes.txt").write_text("not speech")
    page.set_input_files("#generate-audio input[type=file]", str(tmp_path / "notes.txt"))
    refusal = page.wait_for_selector("[data-testid=toast-body]:has-text('Invalid file type')")
    assert "Use wav, mp3, flac, ogg, m4a or webm." in refusal.inner_text() and "audio/aac" not in refusal.inner_text()


def test_panel_labels_and_captions_are_not_covered(page, url):
    page.goto(url)
    page.get_by_role("tab", name="Compare").click()
    submit(page, "compare")
    page.wait_for_selector("#compare-video video[src]")
    # Each panel's method name is drawn at the top centre of its third of the video.
    assert all(page.evaluate(HIT, ["#compare-video video", (2 * i + 1) / 4, 0.04]) for i in range(2))
    page.get_by_role("tab", name="Interpolate").click()
    submit(page, "interpolate")
    page.wait_for_selector("#interpolate-strip img")
    # The α captions are drawn at the bottom centre of each fifth of the strip.
    assert all(page.evaluate(HIT, ["#interpolate-strip img", (2 * i + 1) / 10, 0.94]) for i in range(5))
    labels = page.locator("#interpolate-tab-examples, .gallery-item, button").all_inner_texts()
    assert any("happy → disgusted" in t for t in labels)


def test_face_rig_follows_keys_typing_presets_and_reset(page, url):
    page.goto(url)
    page.get_by_role("tab", name="Face rig").click()
    page.wait_for_selector("#face-rig-image img")
    image = lambda: page.get_attribute("#face-rig-image img", "src")  # noqa: E731
    first = image()
    page.focus("#face-rig-jawOpen input[type=range]")
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("first => document.querySelector('#face-rig-image img').src !== first", arg=first)
    assert page.input_value("#face-rig-jawOpen input[type=number]") == "0.2"
    keyed = image()
    page.fill("#face-rig-jawOpen input[type=number]", "0.8")  # no Enter, no blur
    page.wait_for_function("keyed => document.querySelector('#face-rig-image img').src !== keyed", arg=keyed)
    page.locator("#face-rig-emotion input").click()
    page.get_by_role("option", name="surprised").click()
    page.wait_for_function("() => document.querySelector('#face-rig-jawOpen input[type=number]').value === '0.35'")
    page.click("#face-rig-reset")
    page.wait_for_function("() => document.querySelector('#face-rig-jawOpen input[type=number]').value === '0'")
    assert page.input_value("#face-rig-emotion input") == "neutral"


def test_about_is_a_short_page(page, url):
    page.goto(url)
    page.get_by_role("tab", name="About").click()
    page.wait_for_selector("#about-figure svg")
    assert page.evaluate("document.body.scrollHeight") < 2000  # was a 3,100-pixel wall
