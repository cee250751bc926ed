"""Engine exports against their formats: Unreal's Live Link Face CSV and TalkingHead's animation JSON,
written, parsed back independently (csv / json) and read back by the project's readers."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from expressive_talker.errors import InputError
from expressive_talker.export import read_livelink, read_talkinghead, write_livelink, write_talkinghead
from expressive_talker.face.motion import head_matrices
from expressive_talker.face.rig import ARKIT_NAMES, INDEX

# A take recorded by the Live Link Face app (credit and licence in tests/data/livelink/README.md).
APP_TAKE = Path(__file__).parent / "data" / "livelink" / "alex_rom_3_first45.csv"
ROTATIONS = ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]


def _clip(frames=45, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0, 1, (frames, 52)).astype(np.float32)
    head = rng.uniform(-8, 8, (frames, 3)).astype(np.float32)
    return weights, head


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _head_only(pitch=0.0, yaw=0.0, roll=0.0, frames=31):
    return np.zeros((frames, 52), np.float32), np.tile(np.float32([pitch, yaw, roll]), (frames, 1))


# ---- Live Link Face CSV ----------------------------------------------------------------------------
def test_livelink_header_is_the_apps_header(tmp_path):
    weights, head = _clip()
    write_livelink(tmp_path / "a.csv", weights, 30.0, head)
    with open(APP_TAKE, newline="") as f:
        app_header = next(csv.reader(f))
    with open(tmp_path / "a.csv", newline="") as f:
        ours = list(csv.reader(f))
    assert ours[0] == app_header
    assert ours[0][:2] == ["Timecode", "BlendShapeCount"] and ours[0][-9:] == ROTATIONS
    assert all(r[1] == "61" and len(r) == 63 for r in ours[1:])


def test_livelink_round_trips_the_curves_and_the_head(tmp_path):
    weights, head = _clip()
    write_livelink(tmp_path / "a.csv", weights, 30.0, head)
    rows = _rows(tmp_path / "a.csv")
    assert len(rows) == len(weights)
    for name in ARKIT_NAMES:  # Live Link spells ARKit's names with a capital first letter
        column = np.array([float(r[name[0].upper() + name[1:]]) for r in rows])
        assert np.abs(column - weights[:, INDEX[name]]).max() < 1e-6
    back, fps, head_back = read_livelink(tmp_path / "a.csv")
    assert fps == 30.0 and np.abs(back - weights).max() < 1e-6
    assert np.abs(head_back - head).max() < 1e-4


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_livelink_timecode_is_the_apps_60_fps_timecode_of_each_row(tmp_path, fps):
    frames = int(2.5 * fps)
    write_livelink(tmp_path / "a.csv", np.zeros((frames, 52)), fps)
    for i, row in enumerate(_rows(tmp_path / "a.csv")):
        hh, mm, ss, ff, sub = re.fullmatch(r"(\d\d):(\d\d):(\d\d):(\d\d)\.(\d\d\d)", row["Timecode"]).groups()
        assert int(ff) < 60
        assert (int(hh) * 60 + int(mm)) * 60 + int(ss) + (int(ff) + int(sub) / 1000) / 60 == pytest.approx(i / fps, abs=1e-5)
    assert read_livelink(tmp_path / "a.csv")[1] == fps
    write_livelink(tmp_path / "short.csv", np.zeros((20, 52)), fps)  # never reaches a new second
    assert read_livelink(tmp_path / "short.csv")[1] == fps


def test_livelink_head_angles_are_radians_with_the_apps_signs(tmp_path):
    # This project: yaw > 0 turns to the face's own left; Live Link: HeadYaw > 0 turns to its right.
    expected = {"yaw": ("HeadYaw", -np.radians(10)), "pitch": ("HeadPitch", np.radians(10)), "roll": ("HeadRoll", -np.radians(10))}
    for angle, (column, value) in expected.items():
        weights, head = _head_only(**{angle: 10.0})
        write_livelink(tmp_path / "a.csv", weights, 30.0, head)
        for row in _rows(tmp_path / "a.csv"):
            got = {c: float(row[c]) for c in ROTATIONS}
            assert got.pop(column) == pytest.approx(value, abs=1e-6)
            assert all(v == 0 for v in got.values())  # nothing leaks into the other head or eye columns


def test_livelink_reads_the_apps_own_take():
    weights, fps, head = read_livelink(APP_TAKE)
    rows = _rows(APP_TAKE)
    assert weights.shape == (45, 52)
    # 60 fps timecode, a row every second frame (the frame number wraps 59 -> 1 inside the take).
    assert fps == pytest.approx(30.0, abs=0.05)
    for name in ("jawOpen", "eyeBlinkLeft", "mouthSmileRight", "browInnerUp"):
        assert np.allclose(weights[:, INDEX[name]], [float(r[name[0].upper() + name[1:]]) for r in rows], atol=1e-7)
    assert not head.any()  # that take was recorded with head rotation off


def test_livelink_eye_angles_follow_the_apps_convention(tmp_path):
    """Written from the app's own eyeLook* weights, our eye columns track the app's recorded
    eye rotations: same sign, about the same scale (the app's ~34 degrees at full weight, the
    renderer's 30 / 25)."""
    weights, fps, _ = read_livelink(APP_TAKE)
    write_livelink(tmp_path / "ours.csv", weights, fps)
    app, ours = _rows(APP_TAKE), _rows(tmp_path / "ours.csv")
    for column in ("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch"):
        a = np.array([float(r[column]) for r in app])
        b = np.array([float(r[column]) for r in ours])
        assert np.corrcoef(a, b)[0, 1] > 0.98, column
        scale = np.polyfit(b, a, 1)[0]
        assert 0.8 < scale < 1.5, (column, scale)


def test_livelink_rejects_what_is_not_a_take(tmp_path):
    (tmp_path / "curves.csv").write_text("frame,time,jawOpen\n0,0,0.5\n")
    with pytest.raises(InputError, match="Timecode,BlendShapeCount"):
        read_livelink(tmp_path / "curves.csv")
    (tmp_path / "bad.csv").write_text("Timecode,BlendShapeCount,JawOpen\n12:00,61,0.5\n")
    with pytest.raises(InputError, match="HH:MM:SS:FF"):
        read_livelink(tmp_path / "bad.csv")
    (tmp_path / "nan.csv").write_text("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,abc\n")
    with pytest.raises(InputError, match="not all numbers"):
        read_livelink(tmp_path / "nan.csv")


# ---- TalkingHead anim JSON -------------------------------------------------------------------------
def test_talkinghead_anim_has_speakaudios_shape_and_round_trips(tmp_path):
    weights, head = _clip(frames=40, seed=1)
    write_talkinghead(tmp_path / "a.json", weights, 30.0, head)
    anim = json.loads((tmp_path / "a.json").read_text())
    assert set(anim) == {"name", "dt", "vs"} and isinstance(anim["name"], str)
    assert set(anim["vs"]) == {*ARKIT_NAMES, "headRotateX", "headRotateY", "headRotateZ"}
    # TalkingHead keys value i at dt[0] + ... + dt[i] milliseconds after the audio starts.
    keyed_at = np.cumsum(anim["dt"])
    assert anim["dt"][0] == 0 and np.abs(keyed_at - np.arange(40) * 1000 / 30).max() < 1e-3  # microseconds, no drift
    for name in ARKIT_NAMES:
        assert len(anim["vs"][name]) == 40
        assert np.abs(np.array(anim["vs"][name]) - weights[:, INDEX[name]]).max() < 1e-5
    back, fps, head_back = read_talkinghead(tmp_path / "a.json")
    assert fps == 30.0 and np.abs(back - weights).max() < 1e-5 and np.abs(head_back - head).max() < 1e-3


def test_talkinghead_head_rotation_is_radians_on_the_head_bones_axes(tmp_path):
    # headRotateX/Y/Z: radians about the avatar's x (its left), y (up), z (forward): pitch, yaw, roll.
    for axis, target in enumerate(("headRotateX", "headRotateY", "headRotateZ")):
        angles = [0.0, 0.0, 0.0]
        angles[axis] = 12.0
        weights, head = _head_only(*angles)
        write_talkinghead(tmp_path / "h.json", weights, 30.0, head)
        vs = json.loads((tmp_path / "h.json").read_text())["vs"]
        assert np.allclose(vs[target], np.radians(12.0), atol=1e-6)
        others = [v for k, v in vs.items() if k != target]
        assert not np.any(others)


def test_talkinghead_head_turns_the_head_as_the_renderer_does(tmp_path):
    # Pitch, yaw and roll together: three.js's XYZ Euler angles make the same rotation as the
    # renderer's yaw · pitch · roll.
    weights, head = _head_only(pitch=6.0, yaw=-9.0, roll=4.0)
    write_talkinghead(tmp_path / "h.json", weights, 30.0, head)
    vs = json.loads((tmp_path / "h.json").read_text())["vs"]
    threejs = Rotation.from_euler("XYZ", [vs["headRotateX"][0], vs["headRotateY"][0], vs["headRotateZ"][0]])
    assert np.allclose(threejs.as_matrix(), head_matrices(head[:1])[0], atol=1e-5)


def test_talkinghead_rejects_ragged_tracks(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"name": "x", "dt": [0, 33, 33], "vs": {"jawOpen": [0, 1]}}))
    with pytest.raises(InputError, match="one value per frame"):
        read_talkinghead(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"fps": 30, "names": [], "frames": []}))
    with pytest.raises(InputError, match='"dt" and "vs"'):
        read_talkinghead(tmp_path / "b.json")
