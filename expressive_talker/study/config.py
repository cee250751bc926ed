"""Study files (JSON or YAML): which audio, which prompt, which methods to pair.

    {
      "name": "table3",                     # also names the stimuli in the database
      "mode": "fixed",                      # "fixed": everyone sees every pair once; "arena": random pairs
      "methods": ["ours", "expclip"],       # every pair of these is compared on each stimulus
      "size": 384,                          # video width and height in pixels
      "consent": "You will watch ...",      # shown before the study (Markdown); a default otherwise
      "out": "study-out",                   # where `study prepare` writes (default: the data directory's study/)
      "stimuli": [
        {"id": "milk", "audio": "flite_slt_milk.flac", "prompt": "slightly disgusted"},
        {"audio": "speech.wav", "prompt": "furious", "methods": ["ours", "faceformer"]}
      ]
    }

Relative paths are relative to the study file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from ..errors import InputError

MODES = ("fixed", "arena")
DEFAULT_CONSENT = (
    "## Before you start\n\n"
    "You will watch pairs of short animations of a 3D face speaking the same sentence, each made by a "
    "different method, with a description of the expression the face should show. For each pair you "
    "answer three questions: which has the better **lip sync**, which **facial expression matches the "
    "text** better, and which is better **overall** (or that they are equal).\n\n"
    "Taking part is voluntary and you can stop at any time. We store your answers, the time, and the "
    "age range and background you choose to give; no name, e-mail or IP address. The anonymous answers "
    "may be published in research results."
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_STUDY_KEYS = {"name", "mode", "methods", "size", "consent", "out", "stimuli"}
_STIMULUS_KEYS = {"id", "audio", "prompt", "methods"}


@dataclass(frozen=True)
class Stimulus:
    id: str
    audio: str  # absolute path
    prompt: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class StudyConfig:
    name: str
    mode: str
    stimuli: tuple[Stimulus, ...]
    size: int = 384
    consent: str = DEFAULT_CONSENT
    out: str | None = None  # absolute path, or None for the default


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"study file not found: {path}") from None
    try:
        if path.lower().endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json.JSONDecodeError or yaml.YAMLError: both are the user's file
        raise InputError(f"could not parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object with 'stimuli' at the top level")
    return data


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InputError(f"{what} must be letters, digits, '-', '_' or '.', up to 64 characters; got {value!r}")
    return value


def _methods(value, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise InputError(f"{what}: give a list of at least two methods, e.g. [\"ours\", \"expclip\"]")
    methods = tuple(_name(m, f"{what}: method") for m in value)
    if len(set(methods)) != len(methods):
        raise InputError(f"{what}: a method is listed twice")
    return methods


def load_config(path) -> StudyConfig:
    """Read and check a study file; every mistake is an InputError naming the field."""
    path = os.fspath(path)
    data = _read(path)
    here = os.path.dirname(os.path.abspath(path))
    unknown = set(data) - _STUDY_KEYS
    if unknown:
        raise InputError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_STUDY_KEYS))}")
    name = _name(data.get("name", os.path.splitext(os.path.basename(path))[0]), "name")
    mode = data.get("mode", "fixed")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    default_methods = _methods(data.get("methods", ["ours", "expclip"]), "methods")
    size = data.get("size", 384)
    if not isinstance(size, int) or not 256 <= size <= 1024:
        raise InputError(f"size must be a whole number of pixels from 256 to 1024, got {size!r}")
    consent = data.get("consent", DEFAULT_CONSENT)
    if not isinstance(consent, str) or not consent.strip():
        raise InputError("consent must be a non-empty text")
    items = data.get("stimuli")
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: 'stimuli' must be a non-empty list")
    stimuli, seen = [], set()
    for n, item in enumerate(items, 1):
        where = f"stimulus {n}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object with audio and prompt")
        unknown = set(item) - _STIMULUS_KEYS
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_STIMULUS_KEYS))}")
        audio = item.get("audio")
        if not isinstance(audio, str) or not audio:
            raise InputError(f"{where}: 'audio' (a speech file) is missing")
        audio = os.path.join(here, audio)
        if not os.path.isfile(audio):
            raise InputError(f"{where}: audio file not found: {audio}")
        prompt = item.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(f"{where}: 'prompt' (the expression text) is missing or empty")
        sid = _name(item.get("id", os.path.splitext(os.path.basename(audio))[0]), f"{where}: id")
        if sid in seen:
            raise InputError(f"{where}: id {sid!r} is used twice; give each stimulus its own 'id'")
        seen.add(sid)
        methods = _methods(item["methods"], f"{where}: methods") if "methods" in item else default_methods
        stimuli.append(Stimulus(sid, audio, prompt.strip(), methods))
    out = data.get("out")
    if out is not None and (not isinstance(out, str) or not out):
        raise InputError("out must be a folder path")
    return StudyConfig(name, mode, tuple(stimuli), size, consent, os.path.join(here, out) if out else None)
