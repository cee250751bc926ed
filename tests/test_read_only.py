"""The app run as a Space runs it: from a code folder it cannot write. A copy of the repository's
code is made read-only and the app is started from it by root *without* the capabilities that let
root ignore file permissions (so its writes there fail, as another user's would), with a fresh home
folder. It prepares its default study, serves an example, and writes nothing into the code folder:
everything goes to the state folder under the home."""

import json
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from .helpers import write_tone

pytestmark = pytest.mark.slow
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
# Root without these capabilities is held to the permission bits like any user.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
SKIP = ("node_modules", "__pycache__", ".pytest_cache", "*.pyc")


def make_read_only(folder):
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        os.chmod(root, 0o555)


def listing(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def read_only_app(tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop root's permission override")
    code = tmp_path / "code"
    code.mkdir()
    for name in ("expressive_talker", "examples", "weights"):
        shutil.copytree(os.path.join(REPO, name), code / name, ignore=shutil.ignore_patterns(*SKIP))
    shutil.copy(os.path.join(REPO, "app.py"), code / "app.py")
    study = tmp_path / "study-file"
    study.mkdir()
    write_tone(study / "speech.wav", seconds=1.0)
    (study / "study.json").write_text(json.dumps({"name": "ro", "methods": ["ours", "expclip"], "size": 256, "stimuli": [{"id": "one", "audio": "speech.wav", "prompt": "happy"}]}))
    make_read_only(code)
    before = listing(code)
    # Outside the system's temp folder, as a Space's /data is: Gradio serves files from temp freely.
    home = pathlib.Path(tempfile.mkdtemp(prefix="et-home-", dir="/var/tmp"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPRESSIVE_TALKER_", "GRADIO_"))}
    env.update(HOME=str(home), GRADIO_SERVER_PORT=str(port), EXPRESSIVE_TALKER_DEFAULT_STUDY=str(study / "study.json"), PYTHONDONTWRITEBYTECODE="1")
    log = open(tmp_path / "app.log", "w")
    process = subprocess.Popen([*NO_OVERRIDE, sys.executable, "app.py"], cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "app.log").read_text()
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.5)
        yield url, code, before, home, tmp_path / "app.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(home, ignore_errors=True)
        os.chmod(code, 0o755)
        for root, dirs, _ in os.walk(code):  # so that pytest can remove the copy
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)


def test_the_app_runs_from_a_read_only_code_folder_prepares_the_study_and_serves_an_example(read_only_app):
    from gradio_client import Client

    url, code, before, home, log = read_only_app
    # The copy really is read-only for the app's user.
    tried = subprocess.run([*NO_OVERRIDE, sys.executable, "-c", f"open({str(code / 'x')!r}, 'w')"], capture_output=True, text=True)
    assert tried.returncode != 0 and "PermissionError" in tried.stderr
    client = Client(url, verbose=False)
    deadline = time.monotonic() + 300
    while True:  # the default study opens once its two videos are made
        try:
            pid = client.predict(True, "", "", api_name="/study_join")
            break
        except Exception as exc:
            assert "opens in a minute" in str(exc), str(exc) + log.read_text()
            assert time.monotonic() < deadline, "the default study was never prepared"
            time.sleep(1)
    pair = client.predict(pid, api_name="/study_next")
    with urllib.request.urlopen(url.rstrip("/") + pair["left_video"]) as response:
        assert response.read(12)[4:8] == b"ftyp"
    state = home / ".expressive-talker"
    assert (state / "study" / "manifest.json").is_file() and (state / "study.db").is_file()
    if os.path.exists(CHROMIUM):  # an example, clicked as a visitor does
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"], headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(240_000)
            page.goto(url)
            page.get_by_text("slightly disgusted (flite 2.2, voice slt)").click()
            page.wait_for_selector("#generate-video video[src]")
            assert page.query_selector_all(".error") == [] and "PermissionError" not in page.inner_text("body")
            browser.close()
        assert any((state / "examples-cache").rglob("*.mp4")), "the example's video is cached in the state folder"
    assert listing(code) == before  # nothing was written into the code folder
    assert "PermissionError" not in log.read_text() and "Traceback" not in log.read_text()
