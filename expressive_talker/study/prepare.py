"""``study prepare``: render every (stimulus, method) video of a study ahead of time, and write
``manifest.json`` next to them, which the app's Vote tab serves.

Video names are hashes of what went into them (audio, prompt, method, weights, size), so they
give nothing away to participants, and a rerun renders only what changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

from .. import __version__
from ..errors import InputError
from ..pipeline import WEIGHTS_DIR
from .config import StudyConfig
from .store import data_dir

MANIFEST = "manifest.json"


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


def prepare_study(config: StudyConfig, out_dir=None, weights_dir: str = WEIGHTS_DIR, quiet: bool = False) -> dict:
    """Render what is missing, write the manifest, return it. ``out_dir``: the command line's
    --out, else the study file's ``out``, else ``<data directory>/study``."""
    from tqdm import tqdm

    from ..pipeline import animate_speech, render_animations
    from ..render.renderer import FaceRenderer

    out_dir = os.path.abspath(out_dir or config.out or default_study_dir())
    os.makedirs(os.path.join(out_dir, "videos"), exist_ok=True)
    versions = {m: weights_version(m, weights_dir) for m in dict.fromkeys(m for s in config.stimuli for m in s.methods)}
    entries, jobs = [], []
    for stimulus in config.stimuli:
        audio_hash = _file_hash(stimulus.audio)
        videos = {}
        for method in stimulus.methods:
            key = json.dumps([audio_hash, stimulus.prompt, method, versions[method], config.size])
            videos[method] = f"videos/{hashlib.sha256(key.encode()).hexdigest()[:20]}.mp4"
            if not os.path.isfile(os.path.join(out_dir, videos[method])):
                jobs.append((stimulus, method, videos[method]))
        entries.append({
            "id": stimulus.id, "audio": os.path.basename(stimulus.audio), "prompt": stimulus.prompt,
            "methods": list(stimulus.methods), "videos": videos, "weights": {m: versions[m] for m in stimulus.methods},
        })  # fmt: skip
    if jobs:
        renderer = FaceRenderer(config.size)
        try:
            with tqdm(jobs, desc="prepare", unit="video", disable=quiet) as bar:
                for stimulus, method, video in bar:
                    bar.set_postfix_str(f"{stimulus.id} / {method}")
                    animation = animate_speech(stimulus.audio, stimulus.prompt, method, weights_dir=weights_dir)
                    for note in animation.notes:
                        bar.write(f"note: {stimulus.id}: {note}")
                    render_animations([animation], os.path.join(out_dir, video), config.size, renderer=renderer)  # writes atomically
        finally:
            renderer.close()
    manifest = {
        "study": config.name, "mode": config.mode, "consent": config.consent, "size": config.size,
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
