"""Animation exports: CSV and JSON curves, vertices .npy and the animated .glb, read back."""

import json

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

from expressive_talker.errors import InputError
from expressive_talker.export import EXPORT_FORMATS, export_animation, read_curves, read_curves_csv, read_livelink, read_talkinghead, write_curves_csv, write_glb
from expressive_talker.face.rig import ARKIT_NAMES, INDEX, load_rig

from .helpers import jaw_curves


def test_csv_has_named_columns_and_round_trips(tmp_path):
    w = jaw_curves(frames=12)
    w[:, INDEX["mouthSmileLeft"]] = 0.25
    write_curves_csv(tmp_path / "c.csv", w, fps=25)
    header = (tmp_path / "c.csv").read_text().splitlines()[0].split(",")
    assert header == ["frame", "time", *ARKIT_NAMES, "headPitch", "headYaw", "headRoll"]
    back, fps = read_curves_csv(tmp_path / "c.csv")
    assert fps == 25 and np.abs(back - w).max() < 1e-4


def test_csv_rejects_garbage(tmp_path):
    (tmp_path / "bad.csv").write_text("frame,time,jawOpen\n0,0,abc\n")
    with pytest.raises(InputError, match="not all numbers"):
        read_curves_csv(tmp_path / "bad.csv")


def _accessor(gltf, blob, index):
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = np.uint32 if acc.componentType == pygltflib.UNSIGNED_INT else np.float32
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
    start = view.byteOffset + (acc.byteOffset or 0)
    return np.frombuffer(blob, dtype, acc.count * width, start).reshape(acc.count, width)


def test_glb_has_the_52_blendshapes_as_morph_targets_and_keys_them(tmp_path):
    rig = load_rig()
    frames, fps = 20, 30.0
    w = jaw_curves(frames)
    w[:, INDEX["eyeLookOutLeft"]] = 0.8
    write_glb(tmp_path / "a.glb", w, fps, rig)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    blob = gltf.binary_blob()
    head = next(m for m in gltf.meshes if m.name == "head")
    prim = head.primitives[0]
    assert len(prim.targets) == 52 and head.extras["targetNames"] == ARKIT_NAMES
    # Neutral + every target delta, weighted by a keyframe, gives the rig's pose for that frame.
    neutral = _accessor(gltf, blob, prim.attributes.POSITION)
    deltas = np.stack([_accessor(gltf, blob, t["POSITION"]) for t in prim.targets])
    anim = gltf.animations[0]
    head_node = next(i for i, n in enumerate(gltf.nodes) if n.name == "head")
    channel = next(c for c in anim.channels if c.target.node == head_node and c.target.path == "weights")
    sampler = anim.samplers[channel.sampler]
    times = _accessor(gltf, blob, sampler.input)[:, 0]
    keys = _accessor(gltf, blob, sampler.output).reshape(frames, 52)
    assert np.allclose(times, np.arange(frames) / fps)
    t = frames - 1
    posed = neutral + np.einsum("k,kvc->vc", keys[t], deltas)
    assert np.abs(posed - rig.pose(w[t])).max() < 1e-5
    # The POSITION accessors carry the bounds glTF requires; eyes and lower teeth are animated.
    assert gltf.accessors[prim.attributes.POSITION].min is not None
    animated = {(gltf.nodes[c.target.node].name, c.target.path) for c in anim.channels}
    assert {("eyeLeft", "rotation"), ("eyeRight", "rotation"), ("teethLower", "rotation"), ("teethLower", "translation")} <= animated
    # The lower teeth drop as the jaw opens, and their node takes them where the video draws them.
    jaw = {c.target.path: _accessor(gltf, blob, anim.samplers[c.sampler].output) for c in anim.channels if gltf.nodes[c.target.node].name == "teethLower"}
    shift = jaw["translation"]
    assert shift[-1, 1] < shift[0, 1] - 1e-3
    lower = rig.teeth_row(on_jaw=True)[0]
    moved = Rotation.from_quat(jaw["rotation"][t]).apply(rig.teeth_vertices[lower]) + shift[t]
    assert np.abs(moved - rig.teeth_vertices_posed(w[t : t + 1])[0, lower]).max() < 1e-5


def test_export_animation_writes_every_format(tmp_path):
    rig = load_rig()
    w = jaw_curves(8)
    paths = export_animation(tmp_path / "out", rig.pose(w), w, 30.0, stem="clip", rig=rig)
    assert sorted(paths) == sorted(EXPORT_FORMATS)
    assert np.load(paths["npy"]).shape == (8, rig.num_vertices, 3)
    curves, fps = read_curves(paths["json"])
    assert fps == 30 and np.abs(curves - w).max() < 1e-4
    assert json.loads(open(paths["json"]).read())["names"] == ARKIT_NAMES
    assert read_curves_csv(paths["csv"])[0].shape == (8, 52)
    assert pygltflib.GLTF2().load(paths["glb"]).animations[0].name == "speech"
    assert paths["livelink"].endswith("clip-livelink.csv") and paths["talkinghead"].endswith("clip-talkinghead.json")
    assert np.abs(read_livelink(paths["livelink"], timecode_fps=30)[0] - w).max() < 1e-4
    assert np.abs(read_talkinghead(paths["talkinghead"])[0] - w).max() < 1e-4
