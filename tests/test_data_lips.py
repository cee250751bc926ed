"""Lips from phones, the FACS table, living expressions and DTW alignment."""

import numpy as np
import pytest

from expressive_talker.data import lips
from expressive_talker.data.pairs import dtw_path
from expressive_talker.data.performance import STYLES, blink_curve, compose, expression_track, perform
from expressive_talker.face.expressions import AU_TO_ARKIT, EMOTION_AUS, EMOTIONS, INTENSITY_SCALE, emotion_weights
from expressive_talker.face.rig import ARKIT_NAMES, INDEX, load_rig


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def gap(rig):
    return lips.LipGap(rig)


def timed(seq, step=0.12):
    """['pau', 'b', 'aa', ...] -> phone timings with equal durations."""
    return [(p, round(i * step, 3), round((i + 1) * step, 3)) for i, p in enumerate(seq)]


# "bob moved my map": bilabials between open vowels, a labiodental, a rounded vowel
PHONES = timed("pau b aa b m uw v d m ay m ae p pau".split())
N = int(round(PHONES[-1][2] * 30))


def frames_of(phone):
    return [int(round(0.5 * (t0 + t1) * 30)) for p, t0, t1 in PHONES if p == phone]


def test_bilabials_close_the_lips_between_open_vowels(gap):
    w = lips.lip_curves(PHONES, N)
    g = gap(w)
    closed = lips.bilabial_frames(PHONES, N)
    assert len(closed) == 6
    assert np.all(g[closed] < 0.5), g[closed]  # mm: lips together
    assert g[frames_of("aa")[0]] > 4.0  # an open vowel parts them widely
    assert np.all(w[closed, INDEX["mouthClose"]] > 0.9 * w[closed, INDEX["jawOpen"]] - 1e-6)


def test_labiodental_tucks_rounded_vowel_puckers_open_vowel_opens_jaw():
    w = lips.lip_curves(PHONES, N)
    f_v, f_uw, f_aa, f_ae = frames_of("v")[0], frames_of("uw")[0], frames_of("aa")[0], frames_of("ae")[0]
    assert w[f_v, INDEX["mouthRollLower"]] > 0.4
    assert w[f_uw, INDEX["mouthPucker"]] > 0.5 and w[f_aa, INDEX["mouthPucker"]] < 0.2
    jaw = w[:, INDEX["jawOpen"]]
    assert jaw[f_aa] > jaw[f_ae] * 0.9 and jaw[f_aa] > 2 * jaw[f_uw]


def test_coarticulation_is_smooth_and_anticipates_rounding():
    w = lips.lip_curves(PHONES, N)
    assert np.abs(np.diff(w, axis=0)).max() < 0.5  # no step functions at 30 fps
    # rounding of "uw" starts during the preceding "m": anticipation
    f_m = frames_of("m")[0]
    assert w[f_m, INDEX["mouthPucker"]] > 0.1


@pytest.mark.parametrize("emotion", ["surprised", "happy", "angry", "disgusted", "fearful"])
def test_expressions_do_not_keep_the_lips_from_closing(gap, emotion):
    rng = np.random.default_rng(1)
    wave = (0.1 * np.sin(np.arange(int(PHONES[-1][2] * 16000)) * 0.05)).astype(np.float32)
    w = perform(PHONES, wave, emotion, 3, rng)
    closed = lips.bilabial_frames(PHONES, len(w))
    assert np.all(gap(w)[closed] < 0.6), (emotion, gap(w)[closed])


def test_expression_changes_the_speaking_mouth():
    art = lips.articulation(PHONES, N)
    rng = np.random.default_rng(0)
    happy = compose(art, expression_track(EMOTION_AUS["happy"], 1.0, N, 30, rng), 1.0)
    neutral = compose(art, np.zeros((N, 52), np.float32), 1.0)
    assert happy[:, INDEX["mouthSmileLeft"]].mean() > 0.3
    f_ae = frames_of("ae")[0]  # a smile widens the spread vowel
    assert happy[f_ae, INDEX["mouthStretchLeft"]] > neutral[f_ae, INDEX["mouthStretchLeft"]]
    f_uw = frames_of("uw")[0]  # and gives way to rounding
    assert happy[f_uw, INDEX["mouthSmileLeft"]] < happy[:, INDEX["mouthSmileLeft"]].max()


def test_facs_table_covers_every_emotion():
    assert EMOTIONS == ["neutral", "happy", "sad", "surprised", "fearful", "angry", "disgusted", "contempt"]
    protos = {}
    for emotion in EMOTIONS:
        for au, strength in EMOTION_AUS[emotion].items():
            assert au in AU_TO_ARKIT and 0 < strength <= 1
        protos[emotion] = emotion_weights(emotion, 1.0)
        assert (protos[emotion].sum() > 0.5) == (emotion != "neutral")
        assert np.allclose(emotion_weights(emotion, 0.5), 0.5 * protos[emotion])
    for au, shapes in AU_TO_ARKIT.items():
        assert shapes and all(name in ARKIT_NAMES for name in shapes), au
    names = [e for e in EMOTIONS if e != "neutral"]
    for i, a in enumerate(names):  # every emotion's prototype is its own
        for b in names[i + 1 :]:
            assert np.linalg.norm(protos[a] - protos[b]) > 0.5, (a, b)
    assert INTENSITY_SCALE[1] < INTENSITY_SCALE[2] < INTENSITY_SCALE[3] == 1.0
    with pytest.raises(ValueError):
        emotion_weights("bored")


def test_expression_is_alive():
    rng = np.random.default_rng(3)
    n = 30 * 12
    w = expression_track(EMOTION_AUS["sad"], 1.0, n, 30, rng, accents=[2.0, 5.0], style=STYLES["sad"])
    inner = w[:, INDEX["browInnerUp"]]
    assert inner[:5].mean() < inner[60:120].mean()  # onset ramp
    assert np.std(w[90:300, INDEX["mouthFrownLeft"]]) > 0.005  # drift: never frozen
    blinks = blink_curve(30 * 60, 30, 17, np.random.default_rng(0))
    n_blinks = int(((blinks[1:] > 0.5) & (blinks[:-1] <= 0.5)).sum())
    assert 8 <= n_blinks <= 30  # a natural rate, about 17 per minute
    other = expression_track(EMOTION_AUS["sad"], 1.0, n, 30, np.random.default_rng(4), style=STYLES["sad"])
    assert not np.allclose(w, other)  # per-clip variation


@pytest.mark.slow  # librosa compiles its DTW with numba on first use
def test_dtw_realigns_a_time_stretched_copy(rig):
    w = lips.lip_curves(PHONES, N)
    lip = rig.pose(w)[:, rig.lip_indices]
    stretch = 1.4
    m = int(round(N * stretch))
    src = np.arange(m) / stretch  # the stretched copy samples the original timeline more densely
    flat = lip.reshape(N, -1)
    stretched = np.stack([np.interp(src, np.arange(N), flat[:, k]) for k in range(flat.shape[1])], 1).reshape(m, -1, 3)
    ia, ib = dtw_path(lip, stretched)
    assert ia[0] == 0 and ib[0] == 0 and ia[-1] == N - 1 and ib[-1] == m - 1
    assert np.all(np.diff(ia) >= 0) and np.all(np.diff(ib) >= 0)
    # every matched frame of the copy maps back to (nearly) the same instant of the original
    err = np.abs(src[ib] - ia)
    assert np.median(err) <= 0.75 and err.max() <= 3.0
    warped_error = np.abs(lip[ia] - stretched[ib]).mean()
    naive = np.abs(lip - stretched[:N]).mean()
    assert warped_error < 0.3 * naive
