import numpy as np
import pytest

from expressive_talker.face.expressions import EMOTIONS, emotion_weights
from expressive_talker.face.rig import ARKIT_NAMES, INDEX, NUM_BLENDSHAPES, arkit_name, load_rig

APPLE_NAMES = {
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
}  # fmt: skip


@pytest.fixture(scope="module")
def rig():
    return load_rig()


def one_hot(name, value=1.0):
    w = np.zeros(NUM_BLENDSHAPES, np.float32)
    w[INDEX[name]] = value
    return w


def test_blendshape_names_are_apples_52():
    assert NUM_BLENDSHAPES == 52
    assert set(ARKIT_NAMES) == APPLE_NAMES
    assert arkit_name("eyeBlink_L") == "eyeBlinkLeft" and arkit_name("mouthSmile_R") == "mouthSmileRight"
    assert arkit_name("jawOpen") == "jawOpen"


def test_head_is_upright_facing_plus_z_in_metres(rig):
    v = rig.neutral
    assert v.shape == (2694, 3) and rig.triangles.shape == (5032, 3)
    height = np.ptp(v[:, 1])
    assert 0.18 < height < 0.30  # a human head, chin to crown, in metres
    eyes_y = (rig.eye_left_centre[1] + rig.eye_right_centre[1]) / 2
    assert eyes_y > v[rig.lip_indices, 1].max()  # eyes above the mouth: not upside down
    assert v[rig.lip_indices, 2].mean() > 0.05  # the face looks down +z
    assert rig.eye_left_centre[0] > 0 > rig.eye_right_centre[0]  # the face's own left is +x


def test_pose_neutral_and_single_shapes(rig):
    assert np.allclose(rig.pose(np.zeros(52)), rig.neutral)
    open_jaw = rig.pose(one_hot("jawOpen"))
    chin = rig.regions["chin"]
    assert (open_jaw[chin, 1] - rig.neutral[chin, 1]).mean() < -0.01  # the chin drops by > 1 cm
    blink = rig.pose(one_hot("eyeBlinkLeft")) - rig.neutral
    moved = np.linalg.norm(blink, axis=1) > 1e-4
    assert moved.any() and (rig.neutral[moved, 0] > 0).all()  # only the face's left eye closes
    batch = rig.pose(np.stack([np.zeros(52), one_hot("jawOpen")]))
    assert batch.shape == (2, 2694, 3) and np.allclose(batch[1], open_jaw)


def test_solve_recovers_weights(rig):
    w = np.random.default_rng(0).uniform(0, 1, (8, 52)).astype(np.float32)
    w[:, INDEX["tongueOut"]] = 0.0  # facecap has no tongue geometry: it cannot be observed
    recovered = rig.solve(rig.pose(w))
    assert recovered.shape == (8, 52)
    assert np.abs(recovered - w).max() < 1e-3


def test_solve_keeps_weights_in_unit_range(rig):
    overdone = rig.pose(one_hot("jawOpen", 1.8))
    w = rig.solve(overdone)
    assert w.min() >= 0.0 and w.max() <= 1.0
    assert w[INDEX["jawOpen"]] == pytest.approx(1.0, abs=1e-3)


def test_solve_is_the_best_fit_within_the_unit_box(rig):
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(1)
    w = rng.uniform(-0.2, 1.4, (4, 52))  # some frames need weights outside [0, 1]
    w[:2] = np.clip(w[:2], 0.0, 1.0)  # and some do not
    target = rig.pose(w) + rng.normal(0.0, 2e-4, (4, rig.num_vertices, 3))
    active = np.abs(rig._basis).sum(0) > 0
    for frame, solved in zip(target, rig.solve(target)):
        best = lsq_linear(rig._basis[:, active], (frame - rig.neutral).ravel(), bounds=(0.0, 1.0), method="bvls").x
        assert np.abs(solved[active] - best).max() < 1e-4


def test_regions(rig):
    lips, mouth, upper = rig.lip_indices, rig.mouth_indices, rig.upper_face_indices
    assert 50 < len(lips) < 400 and len(upper) > 200
    assert set(lips) <= set(mouth)
    assert not set(upper) & set(mouth)
    assert rig.neutral[upper, 1].min() > rig.neutral[lips, 1].max()


def test_eyes_turn_and_lower_teeth_ride_the_jaw(rig):
    w = np.stack([np.zeros(52), one_hot("eyeLookUpLeft") + one_hot("eyeLookUpRight")])
    left, right = rig.eye_vertices(w)
    front = np.argmax(rig.eye_left_vertices[:, 2])  # the pupil's vertex at rest
    assert left[1, front, 1] > left[0, front, 1] + 0.003  # looking up raises the pupil
    assert np.allclose(np.linalg.norm(left - rig.eye_left_centre, axis=2)[0], np.linalg.norm(left - rig.eye_left_centre, axis=2)[1], atol=1e-6)
    teeth = rig.teeth_vertices_posed(np.stack([np.zeros(52), one_hot("jawOpen")]))
    moved = np.linalg.norm(teeth[1] - teeth[0], axis=1)
    assert (moved < 1e-6).sum() == len(moved) // 2  # the upper row stays with the skull
    assert teeth[1, moved > 1e-6, 1].mean() < teeth[0, moved > 1e-6, 1].mean() - 0.005  # the lower row drops
    # The MP4 poses the lower row as one node: its matrix moves it exactly as the vertices do.
    w = one_hot("jawOpen") * 0.7 + one_hot("jawLeft") * 0.3 + one_hot("jawForward") * 0.2
    lower = rig.teeth_vertices[rig._lower_teeth]
    m = rig.jaw_matrix(w)
    assert np.allclose(lower @ m[:3, :3].T + m[:3, 3], rig.teeth_vertices_posed(w[None])[0][rig._lower_teeth], atol=1e-6)


def test_every_emotion_preset_changes_the_face(rig):
    for emotion in EMOTIONS:
        w = emotion_weights(emotion)
        assert w.shape == (52,) and w.min() >= 0 and w.max() <= 1
        assert (w.sum() > 0) == (emotion != "neutral")


def test_the_scalp_has_no_seam_to_see_through(rig):
    """facecap's UV seams duplicate vertices: the copies share position and every blendshape's
    offset, so the skin stays closed in every pose (no pinholes along a seam); its only openings
    are the eyes, the mouth and the neck, none above the eyes."""
    _, group = np.unique(np.round(rig.neutral, 6), axis=0, return_inverse=True)
    group = group.ravel()
    first = np.full(group.max() + 1, -1)
    for i, g in enumerate(group):
        if first[g] < 0:
            first[g] = i
    copies = first[group]
    assert (copies != np.arange(len(group))).sum() > 20  # there are seams
    assert np.array_equal(rig.neutral, rig.neutral[copies]) and np.array_equal(rig.deltas, rig.deltas[:, copies])
    welded = group[rig.triangles]
    edges = np.sort(np.concatenate([welded[:, [0, 1]], welded[:, [1, 2]], welded[:, [2, 0]]]), 1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    position = np.zeros((group.max() + 1, 3))
    position[group] = rig.neutral
    open_edges = position[unique[counts == 1]].mean(1)
    assert open_edges[:, 1].max() < rig.neutral[:, 1].max() * 0.2  # nothing open on the scalp
