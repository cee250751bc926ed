import os
import subprocess
import sys
import tempfile

import pytest

# Offline everywhere: no hub, no analytics, no telemetry.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# No default study rendering in the background of every app a test builds; the tests of the
# default study ask for it in their Settings.
os.environ["EXPRESSIVE_TALKER_DEFAULT_STUDY"] = ""
# The app's state (study, votes, example cache, outputs) in a folder of this run, not the user's
# home; the speech-feature cache stays shared between runs (it only saves time).
os.environ["EXPRESSIVE_TALKER_HOME"] = tempfile.mkdtemp(prefix="expressive-talker-tests-")
os.environ.setdefault("EXPRESSIVE_TALKER_CACHE", os.path.join(os.path.expanduser("~/.cache"), "expressive_talker"))


@pytest.fixture(scope="session")
def corpus16(tmp_path_factory):
    """A 16-clip synthetic corpus built by the corpus CLI (shared by the data and training tests)."""
    out = tmp_path_factory.mktemp("corpus16")
    proc = subprocess.run([sys.executable, "-m", "expressive_talker.data", "build", "--out", str(out), "--clips", "16", "--seed", "3"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out
