"""The motion layer (face/motion.py) as a user meets it: blinks, gaze and head motion on long
speech, the mouth at rest in silence, --still, the head track in every export, and the lips
untouched while the voice speaks."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

from expressive_talker.audio import load_audio, write_wav
from expressive_talker.data.lips import CLOSED_GAP_MM, LipGap
from expressive_talker.face.expressions import emotion_weights
from expressive_talker.face.motion import CLOSE_S, OPEN_S, add_motion, head_matrices, rotate_head, voice_activity
from expressive_talker.face.rig import INDEX, load_rig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(os.path.join(ROOT, "examples", f) for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".flac"))
SR = 16000


def speech_with_pauses(seconds: float, seed: int = 0) -> np.ndarray:
    """The example clips one after another with 0.4-1.4 s pauses, cut to ``seconds``."""
    rng = np.random.default_rng(seed)
    parts, total, i = [np.zeros(int(0.4 * SR), np.float32)], 0.4, 0
    while total < seconds:
        clip = load_audio(EXAMPLES[i % len(EXAMPLES)])
        pause = np.zeros(int(rng.uniform(0.4, 1.4) * SR), np.float32)
        parts += [clip, pause]
        total += (len(clip) + len(pause)) / SR
        i += 1
    return np.concatenate(parts)[: int(seconds * SR)]


def midline_gap(vertices) -> np.ndarray:
    """(T,) mm: the lip gap at the middle of the mouth minus the rig's closed gap."""
    return LipGap(load_rig(), midline=True).of_vertices(vertices)


def blink_events(weights, names=None) -> list[tuple[int, int]]:
    """[start, end) frames where both eyelids are more than half closed."""
    col = (lambda n: weights[:, names.index(n)]) if names else (lambda n: weights[:, INDEX[n]])
    closed = (col("eyeBlinkLeft") > 0.5) & (col("eyeBlinkRight") > 0.5)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], closed.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "expressive_talker", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def long_generate(tmp_path_factory):
    """generate on 30 s of speech with the shipped weights, as the issue's user ran it."""
    folder = tmp_path_factory.mktemp("long")
    write_wav(folder / "speech.wav", speech_with_pauses(30.0))
    result = cli("generate", "--audio", folder / "speech.wav", "--text", "calm", "--out", folder / "o.mp4", "--export-dir", folder / "exp", "--size", 256, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)["exports"]


@pytest.mark.slow
def test_long_speech_blinks_looks_around_and_nods(long_generate):
    doc = json.loads(open(long_generate["json"]).read())
    weights, names, fps = np.asarray(doc["frames"]), doc["names"], doc["fps"]
    blinks = blink_events(weights, names)
    assert 5 <= len(blinks) <= 13, blinks  # 10-26 a minute
    assert all(3 <= end - start <= 12 for start, end in blinks), blinks
    bounds = [0] + [start for start, _ in blinks] + [len(weights)]
    assert max(np.diff(bounds)) / fps <= 8.0
    head = np.asarray(doc["head_rotation_deg"])
    assert head.shape == (len(weights), 3)
    assert 0.5 <= head[:, 0].std() <= 5 and 0.5 <= head[:, 1].std() <= 5  # pitch, yaw in degrees
    gaze = weights[:, [names.index(n) for n in ("eyeLookOutLeft", "eyeLookInLeft", "eyeLookUpLeft", "eyeLookDownLeft")]]
    assert (np.abs(np.diff(gaze, axis=0)).sum(1) > 0.05).sum() >= 5  # at least five saccades


@pytest.mark.slow
def test_head_track_is_in_every_export(long_generate):
    head = np.asarray(json.loads(open(long_generate["json"]).read())["head_rotation_deg"])
    with open(long_generate["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    from_csv = np.array([[float(r[c]) for c in ("headPitch", "headYaw", "headRoll")] for r in rows])
    assert np.abs(from_csv - head).max() < 1e-3
    # The .glb turns the neck node by the same angles: a point on the face lands where the
    # renderer puts it.
    gltf = pygltflib.GLTF2().load(long_generate["glb"])
    blob = gltf.binary_blob()
    neck = next(i for i, n in enumerate(gltf.nodes) if n.name == "neck")
    channel = next(c for c in gltf.animations[0].channels if c.target.node == neck)
    accessor = gltf.accessors[gltf.animations[0].samplers[channel.sampler].output]
    view = gltf.bufferViews[accessor.bufferView]
    quats = np.frombuffer(blob[view.byteOffset : view.byteOffset + view.byteLength], np.float32).reshape(-1, 4)
    assert channel.target.path == "rotation" and len(quats) == len(head)
    rig_node = next(n for n in gltf.nodes if n.name == "headRig")
    nose = load_rig().neutral[np.argmax(load_rig().neutral[:, 2])].astype(np.float64)
    t = int(np.argmax(np.abs(head).sum(1)))
    world = Rotation.from_quat(quats[t]).apply(nose + rig_node.translation) + gltf.nodes[neck].translation
    assert np.abs(world - rotate_head(nose, head_matrices(head[t])[0])).max() < 1e-5
    assert np.abs(world - nose).max() > 1e-3  # and it does move


@pytest.mark.slow
def test_still_gives_the_raw_model_output(tmp_path):
    from expressive_talker.pipeline import load_animator, speech_features, text_feature
    from expressive_talker.render.video import frame_count

    speech = EXAMPLES[0]
    for flag in ("--still", None):
        result = cli("generate", "--audio", speech, "--text", "calm", "--out", tmp_path / "o.mp4", "--export-dir", tmp_path / str(flag), "--size", 256, "--quiet", *([flag] if flag else []))
        assert result.returncode == 0, result.stderr[-2000:]
    animator = load_animator("ours")
    wave = load_audio(speech)
    raw = animator.animate(speech_features(animator, wave), text_feature(animator, "calm")[0], frame_count(wave, animator.fps))
    still = np.load(tmp_path / "--still" / "expressive-talker-ours.npy")
    living = np.load(tmp_path / "None" / "expressive-talker-ours.npy")
    assert np.abs(still - raw).max() < 1e-6
    assert np.abs(living - raw).max() > 1e-3
    assert not np.any(json.loads((tmp_path / "--still" / "expressive-talker-ours.json").read_text())["head_rotation_deg"])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ours", "expclip", "faceformer"])
def test_silence_rests_with_the_lips_closed(method):
    from expressive_talker.pipeline import animate_speech

    silence = np.zeros(3 * SR, np.float32)
    living = animate_speech(silence, "calm", method)
    raw = animate_speech(silence, "calm", method, still=True)
    after = int(round(0.15 * living.fps))
    closed = np.abs(midline_gap(living.vertices[after:])) <= CLOSED_GAP_MM
    assert closed.mean() >= 0.95
    assert np.abs(np.diff(living.vertices[after:], axis=0))[:, load_rig().regions["chin"]].max() < 1e-4  # the jaw is still
    assert np.abs(living.head_track()).max() < 0.5  # and so is the head
    # What the layer fixed: the raw model leaves the lips apart (keep this test able to fail).
    assert (np.abs(midline_gap(raw.vertices[after:])) <= CLOSED_GAP_MM).mean() < 0.95


@pytest.mark.slow
def test_mouth_closes_in_a_pause_and_opens_for_the_next_word():
    from expressive_talker.pipeline import animate_speech

    clip = load_audio(EXAMPLES[0])
    wave = np.concatenate([clip, np.zeros(int(1.5 * SR), np.float32), clip])
    living = animate_speech(wave, "calm", "ours")
    raw = animate_speech(wave, "calm", "ours", still=True)
    voiced = voice_activity(wave, living.fps, len(living.vertices))
    gap = midline_gap(living.vertices)
    # The pause between the two sentences: the longest silent run that is not at either end.
    runs = np.flatnonzero(np.diff(np.concatenate([[1], voiced.astype(int), [1]])))
    start, end = max(zip(runs[::2], runs[1::2]), key=lambda r: r[1] - r[0] if 0 < r[0] and r[1] < len(voiced) else -1)
    shut = slice(start + int(np.ceil(CLOSE_S * living.fps)) + 1, end - int(np.ceil(OPEN_S * living.fps)))
    assert (end - start) / living.fps > 1.0 and np.all(np.abs(gap[shut]) <= CLOSED_GAP_MM)
    # While the voice speaks, the lips are the model's own, to the bit.
    lips = load_rig().lip_indices
    assert np.array_equal(living.vertices[voiced][:, lips], raw.vertices[voiced][:, lips])


@pytest.mark.slow
def test_lip_metrics_unchanged_while_the_voice_speaks(corpus16):
    """On held-out-style corpus clips, the lip errors over voiced frames are the raw model's."""
    from expressive_talker.data.dataset import FaceDataset
    from expressive_talker.metrics import vertex_errors
    from expressive_talker.pipeline import animate_speech

    ds = FaceDataset(corpus16)
    for i in range(4):
        e = ds.entries[i]
        gt = ds.vertices(i)
        raw = animate_speech(e["wav"], e["emotion"], "ours", still=True)
        living = raw.with_motion()
        voiced = voice_activity(raw.wave, raw.fps, len(raw.vertices))[: len(gt)]
        assert voiced.mean() > 0.5
        before = vertex_errors(raw.vertices[: len(gt)][voiced], gt[voiced], ds.lip_indices)
        after = vertex_errors(living.vertices[: len(gt)][voiced], gt[voiced], ds.lip_indices)
        assert before["lip_max"] == after["lip_max"] and before["lip_mse"] == after["lip_mse"]


def test_same_audio_same_motion_and_reproducible():
    rig = load_rig()
    wave = speech_with_pauses(12.0, seed=1)
    frames = 12 * 30
    face = rig.pose(np.zeros((frames, 52), np.float32))
    first, again = add_motion(face, wave, 30.0), add_motion(face, wave, 30.0)
    assert np.array_equal(first.vertices, again.vertices) and np.array_equal(first.head_rotation, again.head_rotation)
    # Another method's output on the same audio blinks at the same moments.
    other = add_motion(face + np.float32(0.0002), wave, 30.0)
    assert other.blinks == first.blinks
    assert add_motion(face, speech_with_pauses(12.0, seed=2), 30.0).blinks != first.blinks


def _constant_face(emotion, frames, level=1.0):
    w = np.repeat(emotion_weights(emotion, level)[None], frames, 0)
    return load_rig().pose(w), w


def test_expression_shapes_blinks_gaze_and_keeps_the_models_eyelids():
    wave = speech_with_pauses(12.0, seed=3)
    frames = 12 * 30
    neutral = add_motion(*_constant_face("neutral", frames)[:1], wave, 30.0)
    # Fear and surprise: eyes widened at the start and no blink in the first 1.5 s.
    for emotion in ("fearful", "surprised"):
        vertices, w = _constant_face(emotion, frames, level=0.66)
        m = add_motion(vertices, wave, 30.0, weights=w)
        assert m.emotion == emotion and min(m.blinks) >= 1.5
        assert m.weights[:10, INDEX["eyeWideLeft"]].mean() > w[0, INDEX["eyeWideLeft"]] + 0.05
    # Sadness lowers the gaze.
    vertices, w = _constant_face("sad", frames)
    sad = add_motion(vertices, wave, 30.0, weights=w)
    down = lambda m: (m.weights[:, INDEX["eyeLookDownLeft"]] - m.weights[:, INDEX["eyeLookUpLeft"]]).mean()  # noqa: E731
    assert down(sad) > down(neutral) + 0.15
    # Disgust's squint stays; blinks only ever close the lids further.
    vertices, w = _constant_face("disgusted", frames)
    m = add_motion(vertices, wave, 30.0, weights=w)
    for side in ("Left", "Right"):
        assert np.allclose(m.weights[:, INDEX[f"eyeSquint{side}"]], w[:, INDEX[f"eyeSquint{side}"]])
        assert np.all(m.weights[:, INDEX[f"eyeBlink{side}"]] >= w[:, INDEX[f"eyeBlink{side}"]] - 1e-6)
    assert len(blink_events(m.weights)) >= 2
