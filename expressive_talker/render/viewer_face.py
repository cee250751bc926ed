"""The facecap head for the in-page viewer, drawn like the MP4: one .glb, written at run time.

The head is the MP4's (subdivided where it makes the outline, ``renderer.head_subdivision``) and
carries the 52 ARKit blendshapes as sparse morph targets (positions, and normals linearised about
the neutral face) and the video's vertex colours (skin, the lips' vermilion, the dark mouth
interior); its triangles inside the mouth come last, from the mesh's ``mouthInsideFrom`` on. The
eyes carry their painted iris and pupil; the upper teeth sit on the skull, the lower row on the
node ``teethLower``, and the dark mouth cavity sits behind the lips. Node
tree: ``expressive-talker`` > ``neck`` (at the neck pivot) > ``headRig`` > ``head``, ``eyeLeft``,
``eyeRight``, ``teethUpper``, ``teethLower``, ``mouthCavity``. What the viewer's script needs to
pose it as the renderer does (eye angles, the jaw's motions, camera, lights, background) is in
the scene's ``extras``. The head, eyes and teeth carry facecap's skin texture as the package ships
it, KTX2 (Basis Universal), which the viewer decodes with three.js's KTX2Loader; colours and lights
come from ``face/look.py``, as the renderer's do. Model and texture by Face Cap (Bannaflak), MIT.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..export.gltf import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, _Builder, write_glb_container
from ..face.facecap import facecap_texture
from ..face.look import AMBIENT, BACKGROUND, EYE, LIGHTS, ROUGHNESS, SPECULAR, TEETH, cavity_colour, eye_colours, head_colours, mouth_cavity_geometry, mouth_inside, tint
from ..face.motion import NECK_PIVOT
from ..face.rig import ARKIT_NAMES, EYE_PITCH_DEG, EYE_YAW_DEG, FaceRig, load_rig
from .renderer import CAMERA_FOV_DEG, _vertex_normal_operator, camera_position, head_subdivision, vertex_normals


def write_viewer_face(path, rig: FaceRig | None = None) -> str:
    """Write the viewer's head to ``path`` (atomically: a page may be reading the old one)."""
    rig = rig or load_rig()
    b = _Builder()
    image = b.add_bytes(facecap_texture().ktx2)

    def material(name, colour, double_sided=False, textured=True, roughness=None):
        pbr = {"baseColorFactor": list(colour), "metallicFactor": 0.0, "roughnessFactor": ROUGHNESS[roughness or name]}
        if textured:
            pbr["baseColorTexture"] = {"index": 0}
        # Highlights as the renderer's (face/look.py: not brightened with the lights).
        return {"name": name, "pbrMetallicRoughness": pbr, "doubleSided": double_sided, "extensions": {"KHR_materials_specular": {"specularFactor": SPECULAR}}}

    materials = [
        material("skin", (1.0, 1.0, 1.0, 1.0)),  # tinted per vertex (COLOR_0); one-sided: no dark inside at the outline
        material("eye", tint(EYE, rig.eye_left_uv)),
        material("teeth", tint(TEETH, rig.teeth_uv), True),
        material("mouth", cavity_colour(), textured=False),
    ]

    def primitive(vertices, triangles, material, uv=None, colours=None, normals=None, targets=()):
        if normals is None:
            normals = vertex_normals(_vertex_normal_operator(vertices, triangles), vertices, triangles)
        attributes = {"POSITION": b.add(vertices, "VEC3", ARRAY_BUFFER, bounds=True), "NORMAL": b.add(normals, "VEC3", ARRAY_BUFFER)}
        if uv is not None:
            attributes["TEXCOORD_0"] = b.add(uv, "VEC2", ARRAY_BUFFER)
        if colours is not None:
            attributes["COLOR_0"] = b.add(colours, "VEC4", ARRAY_BUFFER)
        prim = {"attributes": attributes, "indices": b.add(triangles.reshape(-1), "SCALAR_INDEX", ELEMENT_ARRAY_BUFFER), "material": material}
        if len(targets):
            prim["targets"] = [{"POSITION": b.add_sparse(d, "VEC3", bounds=True), "NORMAL": b.add_sparse(n, "VEC3")} for d, n in targets]
        return prim

    meshes, nodes = [], []

    def add(name, prim, **node):
        meshes.append({"name": name, "primitives": [prim]})
        nodes.append({"name": name, "mesh": len(meshes) - 1, **node})

    # The head as the MP4 draws it: subdivided where it makes the outline, normals as the
    # renderer's (the coarse mesh's, through the subdivision), the morph targets through it too
    # (normals linearised about the neutral face). The triangles inside the mouth come last, from
    # index ``mouthInsideFrom`` on: viewer.js draws them with the "mouthInside" material.
    fine = head_subdivision(rig)
    sum_faces = _vertex_normal_operator(rig.neutral, rig.triangles)
    normals = fine.normals(vertex_normals(sum_faces, rig.neutral, rig.triangles))
    targets = [(fine(d), fine.normals(vertex_normals(sum_faces, rig.neutral + d, rig.triangles)) - normals) for d in rig.deltas]
    in_mouth = mouth_inside(rig)[fine.parents]
    triangles = np.concatenate([fine.triangles[~in_mouth], fine.triangles[in_mouth]])
    add("head", primitive(fine(rig.neutral), triangles, 0, fine.midpoints(rig.head_uv), fine.midpoints(head_colours(rig)), normals, targets))
    meshes[0]["weights"] = [0.0] * len(ARKIT_NAMES)
    meshes[0]["extras"] = {"targetNames": list(ARKIT_NAMES), "mouthInsideFrom": int(3 * (~in_mouth).sum())}
    for side, verts, tris, centre, uv in (
        ("eyeLeft", rig.eye_left_vertices, rig.eye_left_triangles, rig.eye_left_centre, rig.eye_left_uv),
        ("eyeRight", rig.eye_right_vertices, rig.eye_right_triangles, rig.eye_right_centre, rig.eye_right_uv),
    ):
        add(side, primitive(verts - centre, tris, 1, uv, eye_colours(verts, centre)), translation=centre.astype(float).tolist())
    for name, on_jaw in (("teethUpper", False), ("teethLower", True)):
        rows, tris = rig.teeth_row(on_jaw)
        add(name, primitive(rig.teeth_vertices[rows], tris, 2, rig.teeth_uv[rows]))
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
        "asset": {"version": "2.0", "generator": "expressive-talker viewer", "copyright": "facecap head model and texture by Face Cap (Bannaflak), MIT"},
        "extensionsUsed": ["KHR_texture_basisu", "KHR_materials_specular"],
        "extensionsRequired": ["KHR_texture_basisu"],
        "scene": 0,
        "scenes": [{"name": "face", "nodes": [len(nodes) - 1], "extras": pose}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "textures": [{"extensions": {"KHR_texture_basisu": {"source": 0}}}],
        "images": [{"bufferView": image, "mimeType": "image/ktx2"}],
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
