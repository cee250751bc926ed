"""An animated binary glTF (.glb) of the facecap head, written with numpy and json.

The head carries the 52 ARKit blendshapes as morph targets (named in ``mesh.extras.targetNames``,
which Blender and three.js read as shape-key / morph-target names) and one animation that keys
their weights per frame. The eyeballs turn and the lower teeth ride the jaw through animated
node rotations and translations, and the node ``neck`` (at the top of the neck) turns the whole
head with the motion layer's head rotation, so the file plays as the video looks. Nodes:
``expressive-talker`` > ``neck`` > ``headRig`` > ``head``, ``eyeLeft``, ``eyeRight``,
``teethUpper``, ``teethLower``, ``mouthCavity``. Units are metres, +y up, the face looking down +z
(glTF's own conventions). Materials, so that it looks as the video does in three.js and Blender:
skin, lips and the inside of the mouth (the head in three primitives that share its vertices),
eyes and teeth, all but the mouth on facecap's texture, embedded as PNG (Blender's importer reads
no KTX2). Model and texture by Face Cap (Bannaflak), MIT; the file says so in ``asset.copyright``.
"""

from __future__ import annotations

import functools
import io
import json
import struct

import numpy as np
from scipy.spatial.transform import Rotation

from ..face.look import EYE, LIPS, MOUTH, ROUGHNESS, SKIN, TEETH, bright_texture, head_parts, mouth_cavity_geometry, tint
from ..face.motion import NECK_PIVOT, head_matrices
from ..face.rig import ARKIT_NAMES, FaceRig, load_rig
from .curves import head_track

FLOAT, UINT32 = 5126, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
CREDIT = "facecap head model and texture by Face Cap (Bannaflak), MIT"


@functools.lru_cache(maxsize=1)
def _texture_png() -> bytes:
    """facecap's texture, brightened as the video's lights brighten it, as PNG (once per process)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(bright_texture()).save(out, format="PNG")
    return out.getvalue()


class _Builder:
    """Accumulates one binary buffer with its bufferViews and accessors."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.offset = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array, dtype=np.uint32 if kind == "SCALAR_INDEX" else np.float32)
        data = array.tobytes()
        view = {"buffer": 0, "byteOffset": self.offset, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        pad = (-len(data)) % 4  # every view starts 4-byte aligned
        self.chunks.append(data + b"\0" * pad)
        self.offset += len(data) + pad
        gl_type = "SCALAR" if kind == "SCALAR_INDEX" else kind
        rows = array.reshape(len(array), -1)
        accessor = {
            "bufferView": len(self.views) - 1,
            "componentType": UINT32 if kind == "SCALAR_INDEX" else FLOAT,
            "count": int(len(array)) if kind != "SCALAR_INDEX" else int(array.size),
            "type": gl_type,
        }
        if bounds:  # required for POSITION (and morph target POSITION) and animation inputs
            accessor["min"] = rows.min(0).astype(float).tolist()
            accessor["max"] = rows.max(0).astype(float).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_sparse(self, array: np.ndarray, kind: str, bounds: bool = False) -> int:
        """A float array stored sparsely: only its rows that are not zero, with their indices (a
        blendshape moves a fifth of a head: the viewer's head file is a third the size)."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        rows = np.flatnonzero(np.abs(array).max(1) > 0).astype(np.uint32)
        accessor = {"componentType": FLOAT, "count": int(len(array)), "type": kind}  # no bufferView: zeros
        if len(rows):
            indices, values = self.add_bytes(rows.tobytes()), self.add_bytes(array[rows].tobytes())
            accessor["sparse"] = {"count": int(len(rows)), "indices": {"bufferView": indices, "componentType": UINT32}, "values": {"bufferView": values}}
        if bounds:
            accessor["min"] = array.min(0).astype(float).tolist()
            accessor["max"] = array.max(0).astype(float).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_bytes(self, data: bytes) -> int:
        """Raw bytes (an image) as a bufferView; returns its index."""
        self.views.append({"buffer": 0, "byteOffset": self.offset, "byteLength": len(data)})
        pad = (-len(data)) % 4
        self.chunks.append(bytes(data) + b"\0" * pad)
        self.offset += len(data) + pad
        return len(self.views) - 1

    def blob(self) -> bytes:
        return b"".join(self.chunks)


def _smooth_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    tri = vertices[triangles]
    face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, triangles[:, corner], face)
    return (normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def write_glb(path, weights: np.ndarray, fps: float, rig: FaceRig | None = None, head_rotation: np.ndarray | None = None) -> None:
    """ARKit weights (T,52) at ``fps`` -> an animated .glb of the head, eyes and teeth;
    ``head_rotation`` (T,3) degrees (pitch, yaw, roll) turns the ``neck`` node."""
    rig = rig or load_rig()
    weights = np.clip(np.asarray(weights, dtype=np.float32), 0.0, 1.0)
    frames = len(weights)
    b = _Builder()
    # The video's look for a viewer's own lights: the lights' gain is baked into the texture
    # (face/look.py), and each textured part's colour tints it.
    materials, material = [], {}
    for name, colour, uv in (
        ("skin", SKIN, rig.head_uv), ("lips", LIPS, rig.head_uv), ("mouth", MOUTH, None), ("eye", EYE, rig.eye_left_uv), ("teeth", TEETH, rig.teeth_uv),
    ):  # fmt: skip
        pbr = {"baseColorFactor": list(colour if uv is None else tint(colour, uv, baked=True)), "metallicFactor": 0.0, "roughnessFactor": ROUGHNESS[name]}
        if uv is not None:
            pbr["baseColorTexture"] = {"index": 0}
        material[name] = len(materials)
        materials.append({"name": name, "pbrMetallicRoughness": pbr, "doubleSided": name == "teeth"})
    image = b.add_bytes(_texture_png())

    def primitive(vertices, triangles, mat, uv=None, targets=None):
        attributes = {
            "POSITION": b.add(vertices, "VEC3", ARRAY_BUFFER, bounds=True),
            "NORMAL": b.add(_smooth_normals(vertices, triangles), "VEC3", ARRAY_BUFFER),
        }
        if uv is not None:
            attributes["TEXCOORD_0"] = b.add(uv, "VEC2", ARRAY_BUFFER)
        prim = {"attributes": attributes, "indices": b.add(triangles.reshape(-1), "SCALAR_INDEX", ELEMENT_ARRAY_BUFFER), "material": material[mat]}
        if targets is not None:
            prim["targets"] = [{"POSITION": b.add(d, "VEC3", ARRAY_BUFFER, bounds=True)} for d in targets]
        return prim

    # The head: one primitive per material, sharing the vertices and morph targets of the first.
    parts = head_parts(rig)
    skin = primitive(rig.neutral, parts["skin"], "skin", rig.head_uv, rig.deltas)
    head = [skin] + [
        {**skin, "indices": b.add(parts[name].reshape(-1), "SCALAR_INDEX", ELEMENT_ARRAY_BUFFER), "material": material[name]} for name in ("lips", "mouth")
    ]
    meshes = [
        {"name": "head", "primitives": head, "weights": [0.0] * len(ARKIT_NAMES), "extras": {"targetNames": list(ARKIT_NAMES)}},
    ]
    nodes = [{"name": "head", "mesh": 0}]
    # Eyes: vertices about their centre, the node placed at the centre and rotated per frame.
    rot_left, rot_right = rig.eye_rotations(weights)
    eye_nodes = []
    for side, verts, tris, centre, uv in (
        ("eyeLeft", rig.eye_left_vertices, rig.eye_left_triangles, rig.eye_left_centre, rig.eye_left_uv),
        ("eyeRight", rig.eye_right_vertices, rig.eye_right_triangles, rig.eye_right_centre, rig.eye_right_uv),
    ):
        meshes.append({"name": side, "primitives": [primitive(verts - centre, tris, "eye", uv)]})
        nodes.append({"name": side, "mesh": len(meshes) - 1, "translation": centre.astype(float).tolist()})
        eye_nodes.append(len(nodes) - 1)
    # Teeth: the upper row is fixed to the skull; the lower row is a rigid body on the jaw.
    for name, on_jaw in (("teethUpper", False), ("teethLower", True)):
        rows, tris = rig.teeth_row(on_jaw)
        meshes.append({"name": name, "primitives": [primitive(rig.teeth_vertices[rows], tris, "teeth", rig.teeth_uv[rows])]})
        nodes.append({"name": name, "mesh": len(meshes) - 1})
    jaw_node = len(nodes) - 1
    # A dark throat behind the lips: an open mouth shows it, not the back of the head.
    meshes.append({"name": "mouthCavity", "primitives": [primitive(*mouth_cavity_geometry(rig), "mouth")]})
    nodes.append({"name": "mouthCavity", "mesh": len(meshes) - 1})
    # The head turns about the neck: the rig is shifted so that the pivot is the neck's origin.
    nodes.append({"name": "headRig", "translation": (-NECK_PIVOT).astype(float).tolist(), "children": list(range(len(nodes)))})
    nodes.append({"name": "neck", "translation": NECK_PIVOT.astype(float).tolist(), "children": [len(nodes) - 1]})
    neck_node = len(nodes) - 1
    nodes.append({"name": "expressive-talker", "children": [neck_node]})

    times = b.add(np.arange(frames, dtype=np.float32) / fps, "SCALAR", bounds=True)
    samplers = [{"input": times, "output": b.add(weights.reshape(-1), "SCALAR"), "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "weights"}}]
    for node, rot in zip(eye_nodes, (rot_left, rot_right)):
        samplers.append({"input": times, "output": b.add(Rotation.from_matrix(rot).as_quat(), "VEC4"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": "rotation"}})
    jaw = np.stack([rig.jaw_matrix(w) for w in weights])
    quats, shifts = Rotation.from_matrix(jaw[:, :3, :3]).as_quat(), jaw[:, :3, 3]
    for channel, values in (("rotation", quats), ("translation", shifts)):
        samplers.append({"input": times, "output": b.add(values, "VEC4" if channel == "rotation" else "VEC3"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": jaw_node, "path": channel}})

    head = Rotation.from_matrix(head_matrices(head_track(head_rotation, frames))).as_quat()
    samplers.append({"input": times, "output": b.add(head, "VEC4"), "interpolation": "LINEAR"})
    channels.append({"sampler": len(samplers) - 1, "target": {"node": neck_node, "path": "rotation"}})

    blob = b.blob()
    doc = {
        "asset": {"version": "2.0", "generator": "expressive-talker", "copyright": CREDIT},
        "scene": 0,
        "scenes": [{"name": "face", "nodes": [len(nodes) - 1]}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "textures": [{"source": 0}],
        "images": [{"bufferView": image, "mimeType": "image/png", "name": "facecap"}],
        "animations": [{"name": "speech", "samplers": samplers, "channels": channels}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(blob)}],
        "extras": {"fps": fps, "frames": frames},
    }
    write_glb_container(path, doc, blob)


def write_glb_container(path, doc: dict, blob: bytes) -> None:
    """A glTF document and its one binary buffer (4-byte aligned) as a .glb file."""
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 4)  # the JSON chunk is padded with spaces, the BIN chunk with zeros
    total = 12 + 8 + len(text) + 8 + len(blob)
    with open(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(text), b"JSON") + text)
        f.write(struct.pack("<I4s", len(blob), b"BIN\0") + blob)
