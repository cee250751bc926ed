"""The exported .glb looks right elsewhere: re-imported by three.js's own GLTFLoader (under node)
and by Blender's glTF importer (the `bpy` wheel, in `.venv-blender`, which `make test` installs),
the eyes and teeth have their materials with facecap's texture, and the head its skin, lips and
mouth."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from expressive_talker.export.gltf import write_glb
from expressive_talker.face.rig import INDEX
from expressive_talker.ui.viewer import THREE_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def glb(tmp_path_factory):
    weights = np.zeros((30, 52), np.float32)
    weights[:, INDEX["jawOpen"]] = np.linspace(0, 0.6, 30)
    path = tmp_path_factory.mktemp("look") / "speech.glb"
    write_glb(path, weights, 30.0)
    return str(path)


def test_three_js_reads_the_export_with_its_materials(glb):
    node = shutil.which("node")
    if node is None or not os.path.isdir(THREE_DIR):
        pytest.skip("node or three.js is not installed (make setup runs npm)")
    out = subprocess.run([node, os.path.join(HERE, "gltf_materials.mjs"), THREE_DIR, glb], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout)
    by_mesh = {}
    for mesh in result["meshes"]:
        by_mesh.setdefault(mesh["name"].split("_")[0], []).append(mesh)
    for name, material in (("eyeLeft", "eye"), ("eyeRight", "eye"), ("teethUpper", "teeth"), ("teethLower", "teeth")):
        (mesh,) = by_mesh[name]
        assert mesh["material"] == material and mesh["map"] == {"mimeType": "image/png", "png": True}, mesh
    head = {m["material"]: m for m in by_mesh["head"]}
    assert set(head) == {"skin", "lips", "mouth"} and all(m["morphs"] == 52 for m in head.values())
    assert head["skin"]["map"] and head["lips"]["map"] and head["mouth"]["map"] is None
    # Lips redder than skin; the mouth dark.
    assert head["lips"]["color"][1] < head["skin"]["color"][1] and max(head["mouth"]["color"]) < 0.4
    assert "Face Cap (Bannaflak)" in result["copyright"] and result["animations"] == ["speech"]


def blender_python() -> str | None:
    path = os.environ.get("EXPRESSIVE_TALKER_BLENDER_PYTHON") or os.path.join(ROOT, ".venv-blender", "bin", "python")
    return path if os.path.exists(path) else None


@pytest.mark.slow
def test_blender_reads_the_export_with_its_materials(glb):
    python = blender_python()
    if python is None:
        pytest.skip("Blender's bpy wheel is not installed (make test installs it in .venv-blender)")
    out = subprocess.run([python, os.path.join(HERE, "blender_materials.py"), glb], capture_output=True, text=True, timeout=300, check=True)
    objects = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("BLENDER_JSON "))[len("BLENDER_JSON ") :])
    for name, material in (("eyeLeft", "eye"), ("eyeRight", "eye"), ("teethUpper", "teeth"), ("teethLower", "teeth")):
        assert objects[name]["materials"] == [{"name": material, "images": ["facecap"]}], objects[name]
    head = objects["head"]
    assert [m["name"] for m in head["materials"]] == ["skin", "lips", "mouth"] and head["shape_keys"] == 52
    assert objects["mouthCavity"]["materials"][0]["name"] == "mouth"
