"""Phones -> visemes -> ARKit jaw and mouth curves, with dominance-based coarticulation.

Each phone becomes one or two mouth targets (diphthongs glide between two). A target pulls a
few articulation channels with a strength (its dominance) that falls off with the distance
from the phone's core, wider before the phone than after it (anticipation is longer than
carry-over). Every frame is the dominance-weighted mean of all targets (Cohen & Massaro's
model), so rounding spreads onto neighbouring consonants and fast speech undershoots, while
phones that must hit their shape (p/b/m closure, f/v lip tuck) carry high dominance.

Channels are symmetric (left = right). ``seal`` is the lip closure of bilabials and is not
blended: closure is a must-hit target (speakers never undershoot it), so it is a plateau over
each p/b/m with a short closing ramp before and a release after. It becomes
``mouthClose = seal * jawOpen`` (ARKit's way of keeping the lips together whatever the jaw
does) and suppresses every shape that would part the lips.
"""

from __future__ import annotations

import numpy as np

from ..face.rig import INDEX, NUM_BLENDSHAPES

CHANNELS = ("jaw", "funnel", "pucker", "stretch", "rollLower", "rollUpper", "upperUp", "lowerDown", "shrugUpper", "shrugLower", "press", "seal")
_C = {c: i for i, c in enumerate(CHANNELS)}

# viseme -> (targets, dominance of the channels it sets, reach in seconds before/after its core)
VISEMES: dict[str, tuple[dict[str, float], float, float]] = {
    "rest": ({"jaw": 0.0}, 0.5, 0.10),
    "PBM": ({"jaw": 0.03, "press": 0.3}, 1.0, 0.05),  # the closure itself: closure(),
    "FV": ({"rollLower": 0.6, "upperUp": 0.25, "jaw": 0.05, "shrugUpper": 0.15}, 0.9, 0.05),
    "TH": ({"jaw": 0.12, "rollLower": 0.12, "upperUp": 0.1, "stretch": 0.1}, 0.5, 0.05),
    "TD": ({"jaw": 0.08, "stretch": 0.12}, 0.35, 0.05),
    "L": ({"jaw": 0.14}, 0.3, 0.05),
    "SZ": ({"jaw": 0.04, "stretch": 0.25, "upperUp": 0.1}, 0.6, 0.05),
    "SH": ({"funnel": 0.45, "pucker": 0.3, "upperUp": 0.15, "jaw": 0.08}, 0.75, 0.06),
    "KG": ({"jaw": 0.14}, 0.25, 0.05),
    "HH": ({"jaw": 0.2}, 0.1, 0.05),
    "R": ({"pucker": 0.35, "funnel": 0.25, "jaw": 0.1}, 0.55, 0.06),
    "W": ({"pucker": 0.8, "funnel": 0.25, "jaw": 0.05}, 0.85, 0.07),
    "Y": ({"stretch": 0.25, "jaw": 0.08}, 0.45, 0.05),
    # vowels: jaw opening in proportion to vowel height; rounded vowels pucker/funnel
    "AA": ({"jaw": 0.6, "lowerDown": 0.2}, 0.65, 0.09),
    "AE": ({"jaw": 0.5, "stretch": 0.3, "upperUp": 0.1, "lowerDown": 0.15}, 0.65, 0.09),
    "AH": ({"jaw": 0.42, "lowerDown": 0.1}, 0.6, 0.09),
    "AX": ({"jaw": 0.25}, 0.4, 0.08),
    "AO": ({"jaw": 0.5, "funnel": 0.4, "pucker": 0.1}, 0.65, 0.09),
    "EH": ({"jaw": 0.38, "stretch": 0.22, "lowerDown": 0.1}, 0.6, 0.09),
    "ER": ({"jaw": 0.2, "funnel": 0.3, "pucker": 0.2}, 0.6, 0.09),
    "IH": ({"jaw": 0.2, "stretch": 0.3}, 0.55, 0.08),
    "IY": ({"jaw": 0.13, "stretch": 0.45, "upperUp": 0.05}, 0.6, 0.08),
    "UH": ({"jaw": 0.22, "funnel": 0.3, "pucker": 0.35}, 0.6, 0.08),
    "UW": ({"jaw": 0.13, "pucker": 0.8, "funnel": 0.3}, 0.75, 0.09),
    "OW": ({"jaw": 0.38, "funnel": 0.55, "pucker": 0.25}, 0.65, 0.09),
}
# phone -> one viseme, or two for diphthongs (the glide's start and end).
PHONE_VISEMES: dict[str, tuple[str, ...]] = {
    "pau": ("rest",), "p": ("PBM",), "b": ("PBM",), "m": ("PBM",), "f": ("FV",), "v": ("FV",),
    "th": ("TH",), "dh": ("TH",), "t": ("TD",), "d": ("TD",), "n": ("TD",), "l": ("L",),
    "s": ("SZ",), "z": ("SZ",), "sh": ("SH",), "zh": ("SH",), "ch": ("SH",), "jh": ("SH",),
    "k": ("KG",), "g": ("KG",), "ng": ("KG",), "hh": ("HH",), "r": ("R",), "w": ("W",), "y": ("Y",),
    "aa": ("AA",), "ae": ("AE",), "ah": ("AH",), "ax": ("AX",), "ao": ("AO",), "eh": ("EH",),
    "er": ("ER",), "ih": ("IH",), "iy": ("IY",), "uh": ("UH",), "uw": ("UW",),
    "ay": ("AA", "IY"), "aw": ("AA", "UW"), "ey": ("EH", "IY"), "oy": ("AO", "IY"), "ow": ("OW", "UW"),
}  # fmt: skip
BILABIALS = frozenset({"p", "b", "m"})
_EPS = 0.05  # background dominance of the relaxed mouth, so lone weak targets do not saturate
_REST_DOMINANCE = 0.04  # how much a phone holds channels it does not set at zero


def _targets(phones):
    """[(phone, t0, t1)] -> arrays of target start, end, viseme values (N,C), dominance (N,C), reach."""
    starts, ends, values, dom, reach = [], [], [], [], []
    for phone, t0, t1 in phones:
        names = PHONE_VISEMES.get(phone, ("rest",))
        edges = np.linspace(t0, t1, len(names) + 1) if len(names) == 1 else [t0, t0 + 0.55 * (t1 - t0), t1]
        for k, name in enumerate(names):
            target, alpha, r = VISEMES[name]
            v = np.zeros(len(CHANNELS))
            d = np.full(len(CHANNELS), _REST_DOMINANCE)
            for ch, val in target.items():
                v[_C[ch]] = val
                d[_C[ch]] = alpha
            if name == "rest":
                d[:] = alpha
            starts.append(edges[k])
            ends.append(edges[k + 1])
            values.append(v)
            dom.append(d)
            reach.append(r)
    return np.array(starts), np.array(ends), np.array(values), np.array(dom), np.array(reach)


def articulation(phones, n_frames: int, fps: float = 30.0, loudness=None) -> np.ndarray:
    """Phone timings -> (T, len(CHANNELS)) articulation channels in [0, 1].

    ``loudness`` (optional, one value per phone, about 1 for average) scales each vowel's jaw
    target: louder syllables open wider.
    """
    if not phones:
        raise ValueError("no phones to animate")
    phones = list(phones)
    if loudness is not None:
        phones_l = list(zip(phones, loudness))
    else:
        phones_l = [(p, 1.0) for p in phones]
    s, e, v, d, r = _targets([p for p, _ in phones_l])
    # per-target loudness (a diphthong's two halves share the phone's loudness)
    gains = np.concatenate([[g] * len(PHONE_VISEMES.get(p[0], ("rest",))) for p, g in phones_l])
    v[:, _C["jaw"]] *= np.clip(gains, 0.7, 1.3)

    t = np.arange(n_frames) / fps
    core_pad = 0.2 * (e - s)  # the core is the middle 60 % of the target
    c0, c1 = s + core_pad, e - core_pad
    before = np.clip(c0[:, None] - t[None], 0, None)  # distance to the core, ahead of it
    after = np.clip(t[None] - c1[:, None], 0, None)
    # anticipation reaches 1.5x as far as carry-over
    dist = before / (1.5 * r[:, None]) + after / r[:, None]
    shape = np.exp(-(dist**1.5))  # (N,T)
    dom = shape[:, :, None] * d[:, None, :]  # (N,T,C)
    num = np.einsum("ntc,nc->tc", dom, v)
    den = dom.sum(0) + _EPS
    out = num / den
    out[:, _C["seal"]] = closure(phones, t)  # not blended: see the module doc
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


CLOSE_S, RELEASE_S = 0.05, 0.04  # lip closing and opening movements around a bilabial


def closure(phones, t: np.ndarray) -> np.ndarray:
    """Bilabial lip seal (T,) in [0, 1]: 1 over the middle 70 % of each p/b/m, smooth ramps around it."""
    seal = np.zeros(len(t))
    for p, t0, t1 in phones:
        if p not in BILABIALS:
            continue
        c0, c1 = t0 + 0.15 * (t1 - t0), t1 - 0.15 * (t1 - t0)
        rise = _smoothstep((t - (c0 - CLOSE_S)) / CLOSE_S)
        fall = 1.0 - _smoothstep((t - c1) / RELEASE_S)
        seal = np.maximum(seal, np.minimum(rise, fall))
    return seal


def seal_weight(seal: np.ndarray, jaw: np.ndarray, overshoot: float = 0.0) -> np.ndarray:
    """``mouthClose`` for a seal over a jaw opening: ``seal * jaw`` brings the lips together
    whatever the jaw does; ``overshoot`` > 0 presses them on into each other (0.05 is about 2.4 mm
    past contact on the facecap rig), a stronger closure for models that undershoot it."""
    return np.clip(seal * (jaw + overshoot), 0.0, 1.0)


def articulation_to_arkit(channels: np.ndarray, jaw_gain: float = 1.0, extra_jaw=None, seal_overshoot: float = 0.0) -> np.ndarray:
    """Articulation channels (T,C) -> ARKit weights (T,52) of the mouth and jaw alone."""
    T = len(channels)
    a = {c: channels[:, i] for i, c in enumerate(CHANNELS)}
    seal = a["seal"]
    open_lips = 1.0 - seal
    w = np.zeros((T, NUM_BLENDSHAPES), np.float32)
    jaw = np.clip(a["jaw"] * jaw_gain + (0 if extra_jaw is None else extra_jaw), 0, 1)
    w[:, INDEX["jawOpen"]] = jaw
    w[:, INDEX["mouthClose"]] = seal_weight(seal, jaw, seal_overshoot)
    w[:, INDEX["mouthFunnel"]] = a["funnel"] * open_lips
    w[:, INDEX["mouthPucker"]] = a["pucker"]
    w[:, INDEX["mouthRollLower"]] = a["rollLower"]
    w[:, INDEX["mouthRollUpper"]] = a["rollUpper"]
    w[:, INDEX["mouthShrugUpper"]] = a["shrugUpper"] * open_lips
    w[:, INDEX["mouthShrugLower"]] = a["shrugLower"]
    for side in ("Left", "Right"):
        w[:, INDEX["mouthStretch" + side]] = a["stretch"]
        w[:, INDEX["mouthUpperUp" + side]] = a["upperUp"] * open_lips
        w[:, INDEX["mouthLowerDown" + side]] = a["lowerDown"] * open_lips
        w[:, INDEX["mouthPress" + side]] = a["press"]
    return w


def lip_curves(phones, n_frames: int, fps: float = 30.0, loudness=None, jaw_gain: float = 1.0) -> np.ndarray:
    """Phone timings -> ARKit weights (T,52) of a neutral face speaking them."""
    return articulation_to_arkit(articulation(phones, n_frames, fps, loudness), jaw_gain)


def bilabial_frames(phones, n_frames: int, fps: float = 30.0, min_seconds: float = 0.04) -> np.ndarray:
    """Frame indices at the middle of each bilabial at least ``min_seconds`` long."""
    out = [int(round(0.5 * (t0 + t1) * fps)) for p, t0, t1 in phones if p in BILABIALS and t1 - t0 >= min_seconds]
    return np.array([f for f in out if 0 <= f < n_frames], dtype=int)


MIDLINE_HALF_WIDTH = 0.006  # metres either side of the face's midline (x = 0)
CLOSED_GAP_MM = 1.5  # lips count as closed when the gap comes this near the rig's closed gap


class LipGap:
    """Vertical distance (mm) between the inner edges of the upper and lower lip, on the rig,
    minus the same distance on the neutral face (whose lips are shut): 0 mm is the rig's closed
    mouth, negative values are lips pressed together.

    The inner edges are the upper/lower lip vertex pairs that touch on the neutral face; the gap
    is their mean. ``midline=True`` keeps only the pairs within 6 mm of the midline: the opening
    at the middle of the mouth, where closure and opening show, undiluted by the corners.
    """

    def __init__(self, rig, midline: bool = False):
        lip = rig.lip_indices
        rest = rig.neutral[lip]
        w = np.zeros(NUM_BLENDSHAPES, np.float32)
        w[INDEX["jawOpen"]] = 0.5
        drop = (rig.pose(w)[lip] - rest)[:, 1]
        lower = drop < -0.3 * np.abs(drop).max()  # the lower lip rides on the jaw
        up_i, lo_i = np.where(~lower)[0], np.where(lower)[0]
        dist = np.linalg.norm(rest[up_i][:, None] - rest[lo_i][None], axis=-1)
        iu, il = np.where(dist < 0.0015)  # vertex pairs that touch when the mouth is shut
        if midline:
            keep = np.abs(rest[up_i[iu], 0]) < MIDLINE_HALF_WIDTH
            iu, il = iu[keep], il[keep]
        if len(iu) == 0:
            raise RuntimeError("could not find the inner lip edges on this rig")
        self.rig, self.upper, self.lower = rig, lip[up_i[iu]], lip[lo_i[il]]
        self.rest_gap = float((rest[up_i[iu], 1] - rest[lo_i[il], 1]).mean() * 1000)

    def __call__(self, weights) -> np.ndarray:
        """ARKit weights (T,52) or (52,) -> gap (T,) in mm."""
        return self.of_vertices(self.rig.pose(np.atleast_2d(weights)))

    def of_vertices(self, vertices) -> np.ndarray:
        """Head vertices (T,V,3) in metres, in the rig's frame (a model's raw output) -> gap (T,) in mm."""
        v = np.asarray(vertices)
        return (v[:, self.upper, 1] - v[:, self.lower, 1]).mean(-1) * 1000 - self.rest_gap
