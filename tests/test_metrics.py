import numpy as np
import pytest

from expressive_talker.face.expressions import EMOTIONS, emotion_weights
from expressive_talker.face.rig import INDEX, load_rig
from expressive_talker.metrics import fdd, read_emotion, vertex_errors


def test_vertex_errors_follow_their_formulas():
    gt = np.zeros((2, 4, 3))
    pred = gt.copy()
    pred[0, 1] = [0.003, 0.004, 0]  # 5 mm off on a lip vertex in frame 0
    pred[1, 3] = [0.001, 0, 0]  # 1 mm off on a non-lip vertex in frame 1
    e = vertex_errors(pred, gt, lip_indices=[0, 1])
    assert e["lip_max"] == pytest.approx((0.005 + 0.0) / 2)
    assert e["face_max"] == pytest.approx((0.005 + 0.001) / 2)
    assert e["lip_mse"] == pytest.approx(0.005**2 / 4)
    assert e["face_mse"] == pytest.approx((0.005**2 + 0.001**2) / 8)


def test_fdd_is_positive_when_the_prediction_is_stiffer():
    neutral = np.zeros((3, 3))
    t = np.linspace(0, 1, 20)[:, None, None]
    moving = np.repeat(neutral[None], 20, 0) + 0.01 * np.sin(6 * t) * np.array([0, 1, 0])
    still = np.repeat(neutral[None], 20, 0)
    assert fdd(still, moving, neutral, [0, 1, 2]) > 0
    assert fdd(moving, moving, neutral, [0, 1, 2]) == pytest.approx(0)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_readout_names_the_emotion_of_a_talking_face(emotion):
    rig = load_rig()
    frames = 12
    w = np.tile(emotion_weights(emotion, 0.7), (frames, 1))
    w[:, INDEX["jawOpen"]] = np.clip(w[:, INDEX["jawOpen"]] + 0.3 * np.abs(np.sin(np.arange(frames))), 0, 1)  # speech
    assert read_emotion(rig.pose(w), rig) == emotion
