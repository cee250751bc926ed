"""Make ``import torchvision`` (and so ``open_clip`` and transformers' vision-aware models) work
next to a CPU-only torch.

The registry's torchvision wheel is a CUDA build: its compiled ``_C`` extension links against
``libtorch_cuda.so`` and cannot load beside the CPU torch. torchvision then still registers fake
(meta) kernels for ``torchvision::nms`` and ``torchvision::qnms`` at import time, which fails
because those operators were never defined, and the import error propagates into ``open_clip``
and ``transformers.Wav2Vec2Model``. Defining the two operator schemas before torchvision is
imported lets it import; its compiled ops (detection NMS, RoIAlign, ...) stay unavailable, which
nothing here uses.

Import :func:`ensure_torchvision_importable` and call it before importing transformers or
open_clip; it is idempotent and does nothing when torchvision's extension loads.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import os
import sys

# Schemas as torchvision's C++ extension declares them.
_SCHEMAS = {
    "nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def _extension_path() -> str | None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = list(spec.submodule_search_locations)[0]
    for name in sorted(os.listdir(folder)):
        if name.startswith("_C") and name.endswith((".so", ".pyd", ".dylib")):
            return os.path.join(folder, name)
    return None


@functools.lru_cache(maxsize=None)
def ensure_torchvision_importable() -> bool:
    """Returns True when the operator schemas had to be defined (torchvision ops unavailable)."""
    if "torchvision" in sys.modules:  # already imported (successfully or not): too late to help
        return False
    import torch

    path = _extension_path()
    if path is None:  # torchvision not installed: nothing imports it
        return False
    try:
        torch.ops.load_library(path)  # a matching build registers the real ops; keep them
        return False
    except (OSError, RuntimeError):
        pass
    for name, signature in _SCHEMAS.items():
        try:
            torch.library.define(f"torchvision::{name}", signature)
        except RuntimeError:  # already defined by an earlier caller
            pass
    return True


@contextlib.contextmanager
def quiet_loading():
    """Hide transformers' per-tensor "Loading weights" bar for the small local models loaded here
    (the CLI prints JSON on stdout; the bar is noise on stderr), restoring the setting after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class _FixBeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs ``ensure_torchvision_importable`` the moment anything first imports torchvision,
    then steps aside. It lets processes we do not control (the ``accelerate`` CLI imports timm,
    which imports torchvision) start in this environment."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            sys.meta_path.remove(self)
            ensure_torchvision_importable()
        return None


def install_import_hook() -> None:
    if not any(isinstance(f, _FixBeforeTorchvision) for f in sys.meta_path):
        sys.meta_path.insert(0, _FixBeforeTorchvision())
