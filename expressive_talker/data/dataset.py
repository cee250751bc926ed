"""One dataset class for the synthetic corpus and for real MEAD-style reconstructions.

Synthetic corpus: a folder written by ``corpus.build`` (see ``corpus.py`` for the format);
vertices are posed from the stored ARKit weights with the facecap rig when a clip is loaded.

MEAD-style folder: any tree of clips, each ``<name>.npy`` holding float vertices (T, V, 3) at 30
fps on any topology (the same V for every clip) with ``<name>.wav`` beside it. Labels come
from a sidecar ``<name>.json`` (``{"emotion": "angry", "level": 3, "sentence": "...",
"speaker": "M003", "split": "train"}``; only emotion is required, level defaults to 0 for
neutral and 3 otherwise), or else from MEAD's own layout ``.../<speaker>/<emotion>/level_<k>/<nnn>.npy``.
Clips of the same ``sentence`` and speaker become crossing pairs, so give ``sentence`` (the
transcript) when you have it. Optional files at the root: ``template.npy`` (V, 3), the neutral
face (else the mean frame of the neutral clips, or of all clips), and ``lip_indices.npy``
(the lip vertices that DTW aligns on; else every vertex).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..face.expressions import EMOTIONS
from .corpus import FPS, clip_paths, read_metadata, split_of

_EMOTION_ALIASES = {"fear": "fearful", "disgust": "disgusted", "surprise": "surprised", "anger": "angry", "happiness": "happy", "sadness": "sad"}


@dataclass
class Clip:
    id: str
    vertices: np.ndarray  # (T, V, 3) float32, 30 fps
    audio: np.ndarray  # (N,) float32, 16 kHz, loudness-normalised as every input is
    emotion: str  # one of EMOTIONS, or "action" in the synthetic corpus
    level: int  # 0 neutral, 1-3 MEAD intensity
    sentence: str | None  # the content key: clips sharing it (and the speaker) say the same words
    speaker: str
    split: str
    weights: np.ndarray | None = None  # (T, 52) ARKit weights (synthetic corpus only)
    action: str | None = None
    phones: list | None = None

    @property
    def expression(self) -> str:
        """What the face expresses: the emotion and level, or the action."""
        return f"action:{self.action}" if self.action else f"{self.emotion}:{self.level}"


def _emotion_name(raw: str, where: str) -> str:
    name = _EMOTION_ALIASES.get(raw.lower(), raw.lower())
    if name not in EMOTIONS:
        raise InputError(f"{where}: unknown emotion {raw!r}; expected one of {', '.join(EMOTIONS)}")
    return name


class FaceDataset:
    """Clips of a synthetic corpus or a MEAD-style folder; ``ds[i]`` loads one ``Clip``."""

    def __init__(self, root, split: str | None = None, rig=None):
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise InputError(f"dataset folder not found: {root}")
        self.root = root
        self.kind = "synthetic" if os.path.exists(os.path.join(root, "corpus.json")) or os.path.isdir(os.path.join(root, "clips")) and any(n.endswith(".json") for n in os.listdir(os.path.join(root, "clips"))) else "mead"
        self._rig = rig
        entries = self._scan_synthetic() if self.kind == "synthetic" else self._scan_mead()
        if split is not None:
            entries = [e for e in entries if e["split"] == split]
        if not entries:
            raise InputError(f"no clips found in {root}" + (f" for split {split!r}" if split else ""))
        self.entries = entries
        self.split = split

    # ---- scanning ----------------------------------------------------------------------------
    def _scan_synthetic(self) -> list[dict]:
        out = []
        for m in read_metadata(self.root):
            wav, npy, _ = clip_paths(self.root, m["id"])
            out.append({
                "id": m["id"], "npy": npy, "wav": wav, "emotion": m["emotion"], "level": int(m["level"]),
                "sentence": m["text"], "speaker": m["voice"], "split": m["split"], "action": m.get("action"),
                "phones": m["phones"], "frames": m["frames"],
            })  # fmt: skip
        return out

    def _scan_mead(self) -> list[dict]:
        out = []
        for folder, _, files in sorted(os.walk(self.root)):
            for name in sorted(files):
                if not name.endswith(".npy") or folder == self.root and name in ("template.npy", "lip_indices.npy"):
                    continue
                npy = os.path.join(folder, name)
                stem = npy[:-4]
                rel = os.path.relpath(stem, self.root)
                if not os.path.exists(stem + ".wav"):
                    raise InputError(f"{rel}.npy has no {os.path.basename(stem)}.wav beside it")
                labels = {}
                if os.path.exists(stem + ".json"):
                    with open(stem + ".json") as f:
                        labels = json.load(f)
                parts = rel.split(os.sep)
                if "emotion" not in labels:
                    # MEAD layout: <speaker>/<emotion>/level_<k>/<nnn>
                    if len(parts) >= 4 and parts[-2].startswith("level_"):
                        labels = {"speaker": parts[-4], "emotion": parts[-3], "level": int(parts[-2][6:]), **labels}
                    else:
                        raise InputError(f"{rel}.npy: no emotion label (add {os.path.basename(stem)}.json or use <speaker>/<emotion>/level_<k>/ folders)")
                emotion = _emotion_name(str(labels["emotion"]), rel)
                level = int(labels.get("level", 0 if emotion == "neutral" else 3))
                if emotion == "neutral":
                    level = 0
                elif level not in (1, 2, 3):
                    raise InputError(f"{rel}: intensity level must be 1, 2 or 3, not {level}")
                sentence = labels.get("sentence") or labels.get("text")
                out.append({
                    "id": rel, "npy": npy, "wav": stem + ".wav", "emotion": emotion, "level": level,
                    "sentence": sentence, "speaker": str(labels.get("speaker", parts[0] if len(parts) > 1 else "speaker")),
                    "split": labels.get("split") or split_of(sentence or rel), "action": None, "phones": None,
                })  # fmt: skip
        return out

    # ---- geometry ----------------------------------------------------------------------------
    @property
    def rig(self):
        if self._rig is None:
            from ..face.rig import load_rig

            self._rig = load_rig()
        return self._rig

    @cached_property
    def template(self) -> np.ndarray:
        """The neutral face (V, 3) that offsets are taken from."""
        if self.kind == "synthetic":
            return self.rig.neutral.astype(np.float32)
        path = os.path.join(self.root, "template.npy")
        if os.path.exists(path):
            return np.load(path).astype(np.float32)
        neutral = [e for e in self.entries if e["emotion"] == "neutral"] or self.entries
        return np.concatenate([self._load_vertices(e) for e in neutral[:50]]).mean(0).astype(np.float32)

    @cached_property
    def lip_indices(self) -> np.ndarray:
        if self.kind == "synthetic":
            return np.asarray(self.rig.lip_indices)
        path = os.path.join(self.root, "lip_indices.npy")
        if os.path.exists(path):
            return np.load(path).astype(int)
        return np.arange(self.num_vertices)

    @cached_property
    def num_vertices(self) -> int:
        if self.kind == "synthetic":
            return self.rig.num_vertices
        return int(np.load(self.entries[0]["npy"], mmap_mode="r").shape[1])

    def _load_vertices(self, e) -> np.ndarray:
        v = np.load(e["npy"])
        if v.ndim == 2 and v.shape[1] % 3 == 0:
            v = v.reshape(len(v), -1, 3)  # (T, 3V) flattened vertices
        if v.ndim != 3 or v.shape[2] != 3 or len(v) < 2:
            raise InputError(f"{e['id']}.npy: expected vertices (T, V, 3) with T >= 2, got {v.shape}")
        if "frames" not in e and v.shape[1] != self.num_vertices:
            raise InputError(f"{e['id']}.npy has {v.shape[1]} vertices; the first clip has {self.num_vertices}")
        return v.astype(np.float32)

    # ---- access ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def weights(self, i: int) -> np.ndarray:
        """ARKit weights (T, 52) of a synthetic clip."""
        if self.kind != "synthetic":
            raise InputError("only the synthetic corpus stores ARKit weights")
        return np.load(self.entries[i]["npy"])

    def vertices(self, i: int) -> np.ndarray:
        """(T, V, 3) float32 vertices of clip i, without loading its audio."""
        e = self.entries[i]
        if self.kind == "synthetic":
            return self.rig.pose(self.weights(i)).astype(np.float32)
        return self._load_vertices(e)

    def __getitem__(self, i: int) -> Clip:
        from ..audio.io import load_audio

        e = self.entries[i]
        weights = self.weights(i) if self.kind == "synthetic" else None
        verts = self.rig.pose(weights).astype(np.float32) if weights is not None else self._load_vertices(e)
        return Clip(
            id=e["id"], vertices=verts, audio=load_audio(e["wav"]), emotion=e["emotion"], level=e["level"],
            sentence=e["sentence"], speaker=e["speaker"], split=e["split"], weights=weights,
            action=e["action"], phones=e["phones"],
        )  # fmt: skip

    def expression_of(self, i: int) -> str:
        e = self.entries[i]
        return f"action:{e['action']}" if e["action"] else f"{e['emotion']}:{e['level']}"

    @property
    def fps(self) -> int:
        return FPS
