"""The facecap head for the in-page viewer, drawn like the MP4: one .glb, written at run time.

The head carries the 52 ARKit blendshapes as morph targets (positions, and normals linearised
about the neutral face) and the video's vertex colours (skin, the lips' vermilion, the dark
mouth interior); the eyes carry their painted iris and pupil; the upper teeth sit on the skull,
the lower row on the node ``teethLower``, and the dark mouth cavity sits behind the lips. Node
tree: ``expressive-talker`` > ``neck`` (at the neck pivot) > ``headRig`` > ``head``, ``eyeLeft``,
``eyeRight``, ``teethUpper``, ``teethLower``, ``mouthCavity``. What the viewer's script needs to
pose it as the renderer does (eye angles, the jaw's motions, camera, lights, background) is in
the scene's ``extras``. Model by Face Cap (Bannaflak), MIT.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..export.gltf import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, _Builder, write_glb_container
from ..face.motion import NECK_PIVOT
from ..face.rig import ARKIT_NAMES, EYE_PITCH_DEG, EYE_YAW_DEG, FaceRig, load_rig
from .renderer import (
    AMBIENT, BACKGROUND, CAMERA_FOV_DEG, LIGHTS, MOUTH, TEETH, _vertex_normal_operator, camera_position, eye_colours, head_colours,
    mouth_cavity_geometry, vertex_normals,
)  # fmt: skip


def write_viewer_face(path, rig: FaceRig | None = None) -> str:
    """Write the viewer's head to ``path`` (atomically: a page may be reading the old one)."""
    rig = rig or load_rig()
    b = _Builder()
    materials = [
        {"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0, "roughnessFactor": 0.62}, "doubleSided": True},
        {"name": "eye", "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0, "roughnessFactor": 0.2}},
        {"name": "teeth", "pbrMetallicRoughness": {"baseColorFactor": list(TEETH), "metallicFactor": 0.0, "roughnessFactor": 0.35}, "doubleSided": True},
        {"name": "mouth", "pbrMetallicRoughness": {"baseColorFactor": list(MOUTH), "metallicFactor": 0.0, "roughnessFactor": 0.9}},
    ]

    def primitive(vertices, triangles, material, colours=None, targets=None):
        operator = _vertex_normal_operator(vertices, triangles)
        normals = vertex_normals(operator, vertices, triangles)
        attributes = {"POSITION": b.add(vertices, "VEC3", ARRAY_BUFFER, bounds=True), "NORMAL": b.add(normals, "VEC3", ARRAY_BUFFER)}
        if colours is not None:
            attributes["COLOR_0"] = b.add(colours, "VEC4", ARRAY_BUFFER)
        prim = {"attributes": attributes, "indices": b.add(triangles.reshape(-1), "SCALAR_INDEX", ELEMENT_ARRAY_BUFFER), "material": material}
        if targets is not None:
            prim["targets"] = [
                {"POSITION": b.add(d, "VEC3", ARRAY_BUFFER, bounds=True), "NORMAL": b.add(vertex_normals(operator, vertices + d, triangles) - normals, "VEC3", ARRAY_BUFFER)}
                for d in targets
            ]
        return prim

    meshes, nodes = [], []

    def add(name, prim, **node):
        meshes.append({"name": name, "primitives": [prim]})
        nodes.append({"name": name, "mesh": len(meshes) - 1, **node})

    add("head", primitive(rig.neutral, rig.triangles, 0, head_colours(rig), rig.deltas))
    meshes[0]["weights"] = [0.0] * len(ARKIT_NAMES)
    meshes[0]["extras"] = {"targetNames": list(ARKIT_NAMES)}
    for side, verts, tris, centre in (
        ("eyeLeft", rig.eye_left_vertices, rig.eye_left_triangles, rig.eye_left_centre),
        ("eyeRight", rig.eye_right_vertices, rig.eye_right_triangles, rig.eye_right_centre),
    ):
        add(side, primitive(verts - centre, tris, 1, eye_colours(verts, centre)), translation=centre.astype(float).tolist())
    teeth, lower = rig.teeth_vertices, rig._lower_teeth
    is_lower = np.zeros(len(teeth), bool)
    is_lower[lower] = True
    tris = rig.teeth_triangles
    add("teethUpper", primitive(teeth[~is_lower], tris[~is_lower[tris].any(1)], 2))
    add("teethLower", primitive(teeth[lower], tris[is_lower[tris].all(1)] - lower.min(), 2))
    cavity, cavity_tris = mouth_cavity_geometry(rig)
    add("mouthCavity", primitive(cavity, cavity_tris, 3))
    nodes.append({"name": "headRig", "translation": (-NECK_PIVOT).astype(float).tolist(), "children": list(range(len(nodes)))})
    nodes.append({"name": "neck", "translation": NECK_PIVOT.astype(float).tolist(), "children": [len(nodes) - 1]})
    nodes.append({"name": "expressive-talker", "children": [len(nodes) - 1]})

    jaw_open = rig.jaw_motions["jawOpen"]
    pose = {
        "eyes": {"yawDeg": EYE_YAW_DEG, "pitchDeg": EYE_PITCH_DEG},
        # Lower teeth: rotate jawOpen·rotvec about pivot, then slide by the weighted slides.
        "jaw": {
            "rotvec": jaw_open.rotvec.tolist(),
            "pivot": jaw_open.pivot.tolist(),
            "slides": {name: motion.slide.tolist() for name, motion in rig.jaw_motions.items()},
        },
        "camera": {"fovDeg": CAMERA_FOV_DEG, "position": camera_position(rig).tolist()},
        "lights": [{"colour": list(c), "intensity": i, "from": list(p)} for c, i, p in LIGHTS],
        "ambient": AMBIENT,
        "background": list(BACKGROUND),
    }
    blob = b.blob()
    doc = {
        "asset": {"version": "2.0", "generator": "expressive-talker viewer", "copyright": "facecap head model by Face Cap (Bannaflak), MIT"},
        "scene": 0,
        "scenes": [{"name": "face", "nodes": [len(nodes) - 1], "extras": pose}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(blob)}],
    }
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".glb", dir=folder)
    os.close(fd)
    write_glb_container(tmp, doc, blob)
    os.replace(tmp, path)
    return os.fspath(path)
