"""A tiny prepared study for the app and CLI tests: two stimuli, ours vs expclip (both tiny
untrained models), 1 s of tone, 256-pixel videos."""

import json

from .helpers import make_tiny_weights, write_tone


def write_study_file(root, mode="fixed", name="tiny"):
    audio = write_tone(root / "speech.wav", seconds=1.0)
    study = {
        "name": name, "mode": mode, "methods": ["ours", "expclip"], "size": 256,
        "stimuli": [{"id": "one", "audio": audio.name, "prompt": "happy <b>really</b>"}, {"id": "two", "audio": audio.name, "prompt": "sad"}],
    }  # fmt: skip
    path = root / "study.json"
    path.write_text(json.dumps(study))
    return path


def prepare_tiny_study(root, mode="fixed"):
    """(weights folder, prepared study folder) under ``root``."""
    from expressive_talker.study import load_config
    from expressive_talker.study.prepare import prepare_study

    weights = make_tiny_weights(root / "weights", ("ours", "expclip"))
    prepare_study(load_config(write_study_file(root, mode)), root / "prepared", weights_dir=str(weights), quiet=True)
    return weights, root / "prepared"
