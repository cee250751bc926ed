"""``study prepare``: render every (stimulus, method) video of a study ahead of time, and write
``manifest.json`` next to them, which the app's Vote tab serves.

Video names are keyed hashes of what went into them (audio, prompt, method, weights, size): the
key is a random secret kept in the manifest, so nobody can work out which name is which method
(the audio, prompts and weights of the default study are public), and a rerun renders only what
changed. The app serves the ``videos`` folder and nothing else of the study.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets

from .. import __version__
from ..errors import InputError
from ..pipeline import WEIGHTS_DIR
from .config import StudyConfig
from .store import data_dir

MANIFEST = "manifest.json"
VIDEOS = "videos"  # the only folder of a prepared study that the app serves


def default_study_dir() -> str:
    return os.path.join(data_dir(), "study")


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_version(method: str, weights_dir: str = WEIGHTS_DIR) -> str:
    """The first 12 hex digits of the SHA-256 of a method's model.safetensors."""
    path = os.path.join(weights_dir, method, "model.safetensors")
    if not os.path.isfile(path):
        raise InputError(f"no trained weights for method {method!r} (looked for {path})")
    return _file_hash(path)[:12]


def _seconds(audio: str) -> float:
    """How long the stimulus's videos play (their audio's length)."""
    from ..audio import SAMPLE_RATE, load_audio

    return round(len(load_audio(audio)) / SAMPLE_RATE, 2)


def _secret(out_dir: str) -> str:
    """The naming key of an earlier preparation in ``out_dir`` (so a rerun finds its videos), or a new one."""
    try:
        with open(os.path.join(out_dir, MANIFEST), encoding="utf-8") as f:
            secret = json.load(f).get("secret")
    except (FileNotFoundError, ValueError):
        secret = None
    return secret if isinstance(secret, str) and len(secret) == 64 else secrets.token_hex(32)


def prepare_study(config: StudyConfig, out_dir=None, weights_dir: str = WEIGHTS_DIR, quiet: bool = False, progress=None, turn=None) -> dict:
    """Render what is missing, write the manifest, return it. ``out_dir``: the command line's
    --out, else the study file's ``out``, else ``<data directory>/study``. ``progress(done,
    total)`` is called before the first video and after each one; ``turn``, a lock held while
    each video is made (the app's, so that it renders in turn with visitors' videos)."""
    from tqdm import tqdm

    from ..pipeline import animate_speech, render_animations
    from ..render.renderer import FaceRenderer

    out_dir = os.path.abspath(out_dir or config.out or default_study_dir())
    os.makedirs(os.path.join(out_dir, VIDEOS), exist_ok=True)
    secret = _secret(out_dir)
    versions = {m: weights_version(m, weights_dir) for m in dict.fromkeys(m for s in config.stimuli for m in s.methods)}
    entries, jobs = [], []
    for stimulus in config.stimuli:
        audio_hash = _file_hash(stimulus.audio)
        videos = {}
        for method in stimulus.methods:
            key = json.dumps([audio_hash, stimulus.prompt, method, versions[method], config.size])
            videos[method] = f"{VIDEOS}/{hmac.new(bytes.fromhex(secret), key.encode(), hashlib.sha256).hexdigest()[:32]}.mp4"
            if not os.path.isfile(os.path.join(out_dir, videos[method])):
                jobs.append((stimulus, method, videos[method]))
        entries.append({
            "id": stimulus.id, "audio": os.path.basename(stimulus.audio), "prompt": stimulus.prompt, "seconds": _seconds(stimulus.audio),
            "methods": list(stimulus.methods), "videos": videos, "weights": {m: versions[m] for m in stimulus.methods},
        })  # fmt: skip
    # Rendered in a random order: a video's age says nothing about its method.
    secrets.SystemRandom().shuffle(jobs)
    total = sum(len(s.methods) for s in config.stimuli)
    if progress:
        progress(total - len(jobs), total)
    if jobs:
        renderer = FaceRenderer(config.size)
        try:
            with tqdm(jobs, desc="prepare", unit="video", disable=quiet) as bar:
                for n, (stimulus, method, video) in enumerate(bar, total - len(jobs) + 1):
                    bar.set_postfix_str(f"{stimulus.id} / {method}")
                    with turn or contextlib.nullcontext():
                        animation = animate_speech(stimulus.audio, stimulus.prompt, method, weights_dir=weights_dir)
                        render_animations([animation], os.path.join(out_dir, video), config.size, renderer=renderer)  # writes atomically
                    for note in animation.notes:
                        bar.write(f"note: {stimulus.id}: {note}")
                    if progress:
                        progress(n, total)
        finally:
            renderer.close()
    manifest = {
        "study": config.name, "mode": config.mode, "consent": config.consent, "size": config.size, "secret": secret,
        "app_version": __version__, "prepared": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rendered": len(jobs), "stimuli": entries,
    }  # fmt: skip
    tmp = os.path.join(out_dir, MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, os.path.join(out_dir, MANIFEST))  # the app never sees a half-written manifest
    return manifest


def read_manifest(folder) -> dict:
    path = os.path.join(folder, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"no prepared study in {folder}: run `python -m expressive_talker study prepare --config study.json` first") from None
