"""Your own avatar: which morph targets of a .glb or .vrm file are ARKit blendshapes.

A binary glTF 2.0 file (VRM is one) names its morph targets in ``mesh.extras.targetNames`` (what
three.js and Blender read) or, as some VRM exporters write it, in each primitive's ``extras``.
Names match ARKit's case-insensitively and with the prefixes exporters add (``blendShape1.jawOpen``,
``mesh_jawOpen``, ``ARKit:JawOpen``) and facecap's ``_L``/``_R`` sides (``eyeBlink_L``). Only the
file's JSON chunk is read: the viewer in the page loads the geometry itself.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass

from ..errors import InputError
from .rig import ARKIT_NAMES

AVATAR_SUFFIXES = (".glb", ".vrm")
# Required glTF extensions whose decoders the viewer does not ship (it reads meshopt and quantized
# meshes, PNG/JPEG textures and KTX2 (Basis) textures).
UNSUPPORTED = {"KHR_draco_mesh_compression": "Draco-compressed meshes"}
_ARKIT_LOWER = {name.lower(): name for name in ARKIT_NAMES}
# Longest first, so that a prefixed name is matched by the longest ARKit name it ends with.
_BY_LENGTH = sorted(_ARKIT_LOWER, key=len, reverse=True)


def arkit_match(target_name: str) -> str | None:
    """A morph target's name -> the ARKit blendshape it is, or None."""
    name = re.split(r"[.:|/]", str(target_name))[-1]  # "blendShape1.jawOpen" -> "jawOpen"
    name = re.sub(r"[_\-\s]([LR])$", lambda m: "Left" if m.group(1) == "L" else "Right", name.strip(), flags=re.IGNORECASE)
    key = re.sub(r"[^0-9a-z]", "", name.lower())
    if key in _ARKIT_LOWER:
        return _ARKIT_LOWER[key]
    # A prefix such as "mesh_" or "ARKit_": the name ends with an ARKit name.
    for arkit in _BY_LENGTH:
        if key.endswith(arkit):
            return _ARKIT_LOWER[arkit]
    return None


@dataclass(frozen=True)
class AvatarMorphs:
    """What the viewer needs to drive an avatar, and what it lacks."""

    bindings: dict[int, list[tuple[int, str]]]  # glTF mesh index -> [(morph target index, ARKit name)]
    found: list[str]  # ARKit names the avatar has, in ARKit order
    missing: list[str]  # ARKit names it lacks, in ARKit order
    turn_deg: float = 0.0  # about y, to face the camera (+z): VRM 0.x avatars face -z

    def to_json(self) -> dict:
        bindings = {str(m): [[k, name] for k, name in pairs] for m, pairs in self.bindings.items()}
        return {"bindings": bindings, "found": self.found, "missing": self.missing, "turn": self.turn_deg}


# Limits checked before the JSON is parsed: a hostile file must not take the server's memory (a
# million tiny objects take ~100 MB). Real avatars stay far below: a VRoid or Ready Player Me
# avatar's JSON is a few hundred KB with some 10,000 objects. Nesting is bounded by the parser
# itself (RecursionError past ~1,000 levels, where an avatar has about ten).
MAX_JSON_BYTES = 16 << 20
MAX_JSON_CONTAINERS = 250_000  # objects and arrays, counted by their opening brackets (strings included: a safe overcount)


def _gltf_json(path: str) -> dict:
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            header = f.read(20)
            if len(header) < 20 or header[:4] != b"glTF":
                raise InputError(f"{name} is not a binary glTF file: export the avatar as .glb or .vrm")
            version, _length, chunk_length, chunk_type = struct.unpack("<IIII", header[4:])
            if version != 2 or chunk_type != 0x4E4F534A:  # "JSON"
                raise InputError(f"{name} is not a glTF 2.0 binary file (the viewer reads glTF 2.0 .glb and .vrm)")
            size = os.fstat(f.fileno()).st_size
            if chunk_length > size - 20:
                raise InputError(f"{name} is cut short or damaged: its header announces {chunk_length:,} bytes of JSON in a file of {size:,} bytes")
            if chunk_length > MAX_JSON_BYTES:
                raise InputError(f"{name} has {chunk_length / 1e6:.0f} MB of glTF JSON; the viewer reads avatars with at most {MAX_JSON_BYTES >> 20} MB")
            raw = f.read(chunk_length)
        if raw.count(b"{") + raw.count(b"[") > MAX_JSON_CONTAINERS:
            raise InputError(f"{name} describes more than {MAX_JSON_CONTAINERS:,} glTF objects: export the avatar with fewer meshes and nodes")
        doc = json.loads(raw)
    except FileNotFoundError:
        raise InputError(f"avatar file not found: {path}") from None
    except RecursionError:
        raise InputError(f"{name} nests its glTF JSON too deeply to be an avatar: export it again as .glb or .vrm") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{name} could not be read as glTF: its JSON part is damaged; export the avatar again as .glb or .vrm") from None
    if not isinstance(doc, dict):
        raise InputError(f"{name} could not be read as glTF: its JSON is not an object")
    return doc


def _dicts(value) -> list[dict]:
    """The objects in a glTF array (anything else in a broken file is skipped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _target_names(mesh: dict) -> list[str]:
    for holder in (mesh, *_dicts(mesh.get("primitives"))):
        extras = holder.get("extras")
        names = extras.get("targetNames") if isinstance(extras, dict) else None
        if isinstance(names, list) and names:
            return [str(n) for n in names]
    return []


def read_avatar(path) -> AvatarMorphs:
    """The ARKit morph targets of a .glb/.vrm file; ``InputError`` when it has none usable."""
    path = os.fspath(path)
    name = os.path.basename(path)
    if not name.lower().endswith(AVATAR_SUFFIXES):
        raise InputError(f"{name}: upload an avatar as .glb or .vrm (glTF 2.0 with ARKit-named morph targets)")
    doc = _gltf_json(path)
    required = doc.get("extensionsRequired")
    for extension in required if isinstance(required, list) else []:
        if isinstance(extension, str) and extension in UNSUPPORTED:
            raise InputError(f"{name} uses {UNSUPPORTED[extension]}, which the viewer cannot decode: export the avatar without them")
    bindings: dict[int, list[tuple[int, str]]] = {}
    morphs = 0
    meshes = doc.get("meshes")
    for m, mesh in enumerate(meshes if isinstance(meshes, list) else []):
        if not isinstance(mesh, dict):
            continue
        count = max((len(p["targets"]) for p in _dicts(mesh.get("primitives")) if isinstance(p.get("targets"), list)), default=0)
        morphs += count
        pairs = []
        for k, target in enumerate(_target_names(mesh)[:count]):
            arkit = arkit_match(target)
            if arkit is not None:
                pairs.append((k, arkit))
        if pairs:
            bindings[m] = pairs
    if not morphs:
        raise InputError(f"{name} has no morph targets (blendshapes): the viewer drives an avatar through ARKit-named morph targets such as jawOpen")
    if not bindings:
        raise InputError(f"{name} has {morphs} morph targets but none is named after an ARKit blendshape (such as jawOpen or eyeBlinkLeft)")
    have = {arkit for pairs in bindings.values() for _, arkit in pairs}
    found = [n for n in ARKIT_NAMES if n in have]
    missing = [n for n in ARKIT_NAMES if n not in have]
    extensions = doc.get("extensions")
    vrm0 = isinstance(extensions, dict) and "VRM" in extensions
    return AvatarMorphs(bindings, found, missing, 180.0 if vrm0 else 0.0)
