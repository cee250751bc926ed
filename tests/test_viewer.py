"""The in-page viewer's server side: your own avatar's ARKit morph targets, the facecap head it
draws, and what the app serves of three.js (only the files the viewer imports)."""

import json
import os
import socket
import urllib.error
import urllib.request

import numpy as np
import pygltflib
import pytest

from expressive_talker.errors import InputError
from expressive_talker.face.avatar import arkit_match, read_avatar
from expressive_talker.face.rig import ARKIT_NAMES

from .helpers import write_avatar


@pytest.mark.parametrize(
    "name, arkit",
    [
        ("jawOpen", "jawOpen"),
        ("JAWOPEN", "jawOpen"),
        ("blendShape1.jawOpen", "jawOpen"),
        ("mesh_jawOpen", "jawOpen"),
        ("ARKit:JawOpen", "jawOpen"),
        ("eyeBlink_L", "eyeBlinkLeft"),
        ("Face.eyeBlink_R", "eyeBlinkRight"),
        ("mouth_smile_left", "mouthSmileLeft"),
        ("Fcl_ALL_Joy", None),
        ("smile", None),
    ],
)
def test_morph_target_names_match_arkit_with_prefixes_and_any_case(name, arkit):
    assert arkit_match(name) == arkit


def test_an_avatar_reports_its_bindings_and_the_names_it_lacks(tmp_path):
    path = write_avatar(tmp_path / "me.glb", ["blendShape1.JawOpen", "mesh_eyeBlink_L", "Fcl_ALL_Joy", "EYEBLINKRIGHT"])
    avatar = read_avatar(path)
    assert avatar.bindings == {0: [(0, "jawOpen"), (1, "eyeBlinkLeft"), (3, "eyeBlinkRight")]}
    assert avatar.found == ["eyeBlinkLeft", "eyeBlinkRight", "jawOpen"]
    assert len(avatar.missing) == 49 and "jawOpen" not in avatar.missing and "mouthClose" in avatar.missing
    assert avatar.turn_deg == 0.0
    assert json.loads(json.dumps(avatar.to_json()))["bindings"] == {"0": [[0, "jawOpen"], [1, "eyeBlinkLeft"], [3, "eyeBlinkRight"]]}


def test_a_vrm0_avatar_with_names_on_its_primitive_is_read_and_turned(tmp_path):
    avatar = read_avatar(write_avatar(tmp_path / "me.vrm", ["jawOpen"], vrm0=True))
    assert avatar.bindings == {0: [(0, "jawOpen")]} and avatar.turn_deg == 180.0


def broken_json(path):
    """A .glb whose JSON has the wrong types where meshes, extras and extensions go."""
    import struct

    text = json.dumps({"asset": {"version": "2.0"}, "meshes": [{"extras": [1], "primitives": ["x", {"targets": 3}]}, 7], "extensions": [], "extensionsRequired": {}}).encode()
    text += b" " * ((-len(text)) % 4)
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 20 + len(text)) + struct.pack("<I4s", len(text), b"JSON") + text)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: write_avatar(d / "plain.glb", []), "has no morph targets"),
        (lambda d: write_avatar(d / "vrm.glb", ["Fcl_ALL_Joy", "Fcl_ALL_Angry"]), "has 2 morph targets but none is named after an ARKit blendshape"),
        (lambda d: (d / "notes.glb").write_text("not a model") and d / "notes.glb", "is not a binary glTF file"),
        (lambda d: (d / "face.obj").write_text("v 0 0 0") and d / "face.obj", "upload an avatar as .glb or .vrm"),
        (lambda d: broken_json(d / "odd.glb"), "has no morph targets"),
    ],
)
def test_a_file_the_viewer_cannot_drive_gets_one_clear_message(tmp_path, make, message):
    with pytest.raises(InputError, match=message):
        read_avatar(make(tmp_path))


def test_facecap_as_three_js_ships_it_is_an_avatar():
    """openfacefx's copy of three.js's facecap.glb: KTX2 (Basis) texture, meshopt buffers, facecap's
    _L/_R names. The viewer decodes KTX2 (three's KTX2Loader), so it is read, all 52 found."""
    from expressive_talker.face.facecap import facecap_path

    morphs = read_avatar(facecap_path())
    assert morphs.missing == [] and len(morphs.found) == 52


def test_a_refused_avatar_is_cleared_and_the_viewer_says_why(tmp_path):
    from expressive_talker.ui.viewer import avatar_message

    message, kept = avatar_message(str(write_avatar(tmp_path / "plain.glb", ["Fcl_ALL_Joy"])))
    assert kept is None
    assert json.loads(message) == {"avatar": None, "refused": json.loads(message)["refused"]}
    assert "none is named after an ARKit blendshape" in json.loads(message)["refused"]


def test_the_viewer_face_is_the_rig_with_its_colours_eyes_teeth_and_neck(tmp_path):
    from expressive_talker.face.motion import NECK_PIVOT
    from expressive_talker.face.rig import load_rig
    from expressive_talker.face.look import LIPS, SKIN, head_colours, tint
    from expressive_talker.render.renderer import head_subdivision
    from expressive_talker.render.viewer_face import write_viewer_face

    rig = load_rig()
    fine = head_subdivision(rig)  # the MP4's head: the coarse vertices first, then the new ones
    gltf = pygltflib.GLTF2().load(write_viewer_face(tmp_path / "face.glb"))
    names = [n.name for n in gltf.nodes]
    assert names == ["head", "eyeLeft", "eyeRight", "teethUpper", "teethLower", "mouthCavity", "headRig", "neck", "expressive-talker"]
    assert np.allclose(gltf.nodes[names.index("neck")].translation, NECK_PIVOT)
    head = gltf.meshes[0]
    assert head.extras["targetNames"] == ARKIT_NAMES and len(head.primitives[0].targets) == 52
    blob = gltf.binary_blob()

    def read(accessor):
        acc = gltf.accessors[accessor]
        width = {"VEC2": 2, "VEC3": 3, "VEC4": 4}[acc.type]
        if acc.sparse is None:
            return np.frombuffer(blob, np.float32, acc.count * width, gltf.bufferViews[acc.bufferView].byteOffset).reshape(acc.count, width)
        # The morph targets are sparse: only the rows a blendshape moves are stored.
        out = np.zeros((acc.count, width), np.float32)
        rows = np.frombuffer(blob, np.uint32, acc.sparse.count, gltf.bufferViews[acc.sparse.indices.bufferView].byteOffset)
        out[rows] = np.frombuffer(blob, np.float32, acc.sparse.count * width, gltf.bufferViews[acc.sparse.values.bufferView].byteOffset).reshape(-1, width)
        return out

    prim = head.primitives[0]
    assert np.allclose(read(prim.attributes.POSITION), fine(rig.neutral))
    jaw = rig.deltas[ARKIT_NAMES.index("jawOpen")]
    assert np.allclose(read(prim.targets[ARKIT_NAMES.index("jawOpen")]["POSITION"]), fine(jaw))
    # The triangles inside the mouth come last (viewer.js draws them with a depth bias).
    from expressive_talker.face.look import mouth_inside

    indices = gltf.accessors[prim.indices]
    start = head.extras["mouthInsideFrom"]
    assert start == 3 * (~mouth_inside(rig)[fine.parents]).sum() and 0 < start < indices.count
    # Skin and lips tint facecap's texture, which the file carries as the package ships it (KTX2).
    colours = read(prim.attributes.COLOR_0)[: rig.num_vertices]
    assert np.allclose(colours, head_colours(rig))
    skin, lips = tint(SKIN, rig.head_uv), tint(LIPS, rig.head_uv)
    assert np.isclose(colours, skin).all(1).mean() > 0.5 and np.isclose(colours, lips, atol=0.02).all(1).any()
    assert np.allclose(read(prim.attributes.TEXCOORD_0)[: rig.num_vertices], rig.head_uv)
    assert "KHR_texture_basisu" in gltf.extensionsRequired and gltf.images[0].mimeType == "image/ktx2"
    image = gltf.bufferViews[gltf.images[0].bufferView]
    assert blob[image.byteOffset : image.byteOffset + 12] == b"\xabKTX 20\xbb\r\n\x1a\n"
    assert all(m.pbrMetallicRoughness.baseColorTexture is not None for m in gltf.materials[:3])
    extras = gltf.scenes[0].extras
    assert extras["jaw"]["slides"].keys() == {"jawOpen", "jawForward", "jawLeft", "jawRight"}
    assert extras["eyes"] == {"yawDeg": 30.0, "pitchDeg": 25.0} and len(extras["lights"]) == 3


@pytest.mark.slow
def test_only_the_viewer_files_of_three_js_are_served(tmp_path):
    from expressive_talker.ui import Settings, build_app
    from expressive_talker.ui.viewer import THREE_DIR, VIEWER_SCRIPT, file_url, vendor_paths

    if vendor_paths() is None:
        pytest.skip("three.js is not installed (make setup runs npm)")
    demo = build_app(Settings(output_dir=str(tmp_path / "outputs")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        base = f"http://127.0.0.1:{port}/"
        # The face is there before any job has run: a cached example plays on a fresh start.
        face = str(tmp_path / "outputs" / "viewer-face.glb")
        with urllib.request.urlopen(base + file_url(face)) as response:
            assert response.status == 200 and len(response.read()) > 100_000
        for path in (vendor_paths()[0], VIEWER_SCRIPT):
            with urllib.request.urlopen(base + file_url(path)) as response:
                assert response.status == 200 and "javascript" in response.headers["content-type"]
        for other in (os.path.join(THREE_DIR, "package.json"), os.path.join(THREE_DIR, "src", "Three.js")):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(base + file_url(other))
    finally:
        demo.close()


def test_without_three_js_the_viewer_says_so_and_serves_nothing(monkeypatch, tmp_path):
    import gradio as gr

    from expressive_talker.ui import viewer

    monkeypatch.setattr(viewer, "THREE_DIR", str(tmp_path / "missing"))
    assert viewer.vendor_paths() is None

    class Jobs:
        def viewer_face(self):  # the app would write it here; nothing to serve without three.js
            return str(tmp_path / "viewer-face.glb")

    with gr.Blocks():
        html = viewer.build_viewer("generate", Jobs())
    assert html.props["vendor"] is None and html.props["missing_note"] == viewer.MISSING_NOTE
    assert "make setup" in viewer.MISSING_NOTE
