"""Save and load models as a folder: ``config.json`` + ``model.safetensors``. Local only."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields

import torch
from safetensors.torch import load_file, save_file


def save_folder(folder, module: torch.nn.Module, config, kind: str, extra: dict | None = None, half: bool = False) -> None:
    """Write the module's state (optionally as float16, to keep shipped weights small)."""
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "config": asdict(config), **(extra or {})}, f, indent=2)


def read_config(folder) -> dict:
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model in {folder}: config.json is missing")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def config_from_dict(cls, values: dict):
    """The dataclass from JSON, ignoring keys it does not know (older or newer files)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def load_state(folder, module: torch.nn.Module, prefix: str = "") -> None:
    """Load the folder's weights into ``module``; with ``prefix``, only those under it (e.g.
    "stage1." takes a two-stage model's stage 1)."""
    state = load_file(os.path.join(folder, "model.safetensors"))
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
