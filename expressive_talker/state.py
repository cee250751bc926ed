"""The one folder the app writes to: the prepared study, the votes database, Gradio's example
cache and the outputs. The code folder is never written (a Space runs it read-only, as another user).

Chosen once per process, the first that can be written:
1. ``/data``: a Hugging Face Space's persistent storage, when it is mounted;
2. ``EXPRESSIVE_TALKER_HOME``;
3. ``~/.expressive-talker`` in the user's home;
4. ``expressive-talker-<uid>`` in the system's temporary folder (lost at a restart; said in the log).
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile

HOME_ENV = "EXPRESSIVE_TALKER_HOME"
SPACE_STORAGE = "/data"
log = logging.getLogger(__name__)


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def candidates() -> list[str]:
    """The folders tried, in order (see the module's docstring)."""
    folders = [SPACE_STORAGE] if os.path.isdir(SPACE_STORAGE) else []
    if os.environ.get(HOME_ENV):
        folders.append(os.path.abspath(os.environ[HOME_ENV]))
    home = os.path.expanduser("~")
    if home and home != "~":
        folders.append(os.path.join(home, ".expressive-talker"))
    folders.append(os.path.join(tempfile.gettempdir(), f"expressive-talker-{os.getuid() if hasattr(os, 'getuid') else 'user'}"))
    return folders


@functools.cache
def state_dir() -> str:
    """The app's writable state folder, created if need be."""
    folders = candidates()
    for folder in folders:
        if _writable(folder):
            if folder == folders[-1]:
                log.warning("no writable /data, %s or home folder: the study and votes live in %s until the next restart", HOME_ENV, folder)
            return folder
    raise OSError(f"no writable folder for the app's state among {', '.join(folders)}: set {HOME_ENV} to one")


def state_path(*parts: str) -> str:
    return os.path.join(state_dir(), *parts)
