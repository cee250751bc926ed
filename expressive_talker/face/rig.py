"""The ARKit face rig: facecap's head with its 52 blendshapes, eyes, teeth and regions.

Units are metres, y up, the face looking down +z, origin at the centre of the head's bounding
box. "Left" and "right" are the face's own, as in Apple's ARKit: ``eyeBlinkLeft`` closes the eye
at +x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy.optimize import lsq_linear, nnls
from scipy.spatial.transform import Rotation

from .facecap import load_facecap

# The 52 ARKit blendshapes as Apple spells them, in facecap's order (the order of every weight
# vector in this project).
ARKIT_NAMES = [
    "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft", "browOuterUpRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft",
    "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "jawOpen",
    "jawForward", "jawLeft", "jawRight", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthRollUpper", "mouthRollLower", "mouthShrugUpper", "mouthShrugLower", "mouthClose",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft",
    "mouthDimpleRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthStretchLeft",
    "mouthStretchRight", "tongueOut",
]  # fmt: skip
NUM_BLENDSHAPES = len(ARKIT_NAMES)
INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}


def arkit_name(facecap_name: str) -> str:
    """facecap's ``eyeBlink_L`` -> Apple's ``eyeBlinkLeft``."""
    if facecap_name.endswith("_L"):
        return facecap_name[:-2] + "Left"
    if facecap_name.endswith("_R"):
        return facecap_name[:-2] + "Right"
    return facecap_name


# How far the eyeballs turn at eyeLook* = 1 (degrees): ARKit's range is roughly this.
EYE_YAW_DEG = 30.0
EYE_PITCH_DEG = 25.0


def eye_angles(weights) -> np.ndarray:
    """(T,52) eyeLook* weights -> (T, 2, 2) eyeball angles in degrees, ``[left, right] x [yaw, pitch]``:
    yaw about the head's y axis (> 0 looks to the face's own left), pitch about its x axis (> 0
    looks down). The one eyeLook*-to-angle scale the renderer, the .glb and the exports share."""
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    out = []
    # "In" turns towards the nose: for the left eye (at +x) that is towards -x.
    for side, inward in (("Left", -1.0), ("Right", 1.0)):
        yaw = (w[:, INDEX[f"eyeLookIn{side}"]] - w[:, INDEX[f"eyeLookOut{side}"]]) * inward * EYE_YAW_DEG
        pitch = (w[:, INDEX[f"eyeLookDown{side}"]] - w[:, INDEX[f"eyeLookUp{side}"]]) * EYE_PITCH_DEG
        out.append(np.stack([yaw, pitch], 1))
    return np.stack(out, 1)


@dataclass(frozen=True)
class RigidMotion:
    """A rotation about a pivot plus a slide along the rotation axis, scalable by a weight."""

    rotvec: np.ndarray  # (3,) axis * angle at weight 1
    pivot: np.ndarray  # (3,)
    slide: np.ndarray  # (3,) translation at weight 1 not explained by the rotation

    def apply(self, points: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """points (N,3) or (T,N,3), weight (T,) -> (T,N,3)."""
        rot = Rotation.from_rotvec(weight[:, None] * self.rotvec[None]).as_matrix()  # (T,3,3)
        points = np.broadcast_to(points, (len(weight), *points.shape[-2:]))
        moved = np.einsum("tij,tnj->tni", rot, points - self.pivot) + self.pivot
        return moved + weight[:, None, None] * self.slide

    def matrix(self, weight: float) -> np.ndarray:
        """The motion at one weight as a 4x4 matrix (``apply`` for a scene node)."""
        m = np.eye(4)
        if weight and self.rotvec.any():
            m[:3, :3] = Rotation.from_rotvec(weight * self.rotvec).as_matrix()
        m[:3, 3] = self.pivot - m[:3, :3] @ self.pivot + weight * self.slide
        return m

    @staticmethod
    def fit(before: np.ndarray, after: np.ndarray) -> "RigidMotion":
        """Least-squares rigid motion (Kabsch), written as rotation about a pivot."""
        cb, ca = before.mean(0), after.mean(0)
        u, _, vt = np.linalg.svd((before - cb).T @ (after - ca))
        d = np.sign(np.linalg.det(vt.T @ u.T))
        rot = vt.T @ np.diag([1, 1, d]) @ u.T
        shift = ca - rot @ cb
        # shift = (I - R) pivot + slide, slide along the axis: solve the part off the axis.
        pivot, *_ = np.linalg.lstsq(np.eye(3) - rot, shift, rcond=1e-3)
        slide = shift - (np.eye(3) - rot) @ pivot
        return RigidMotion(Rotation.from_matrix(rot).as_rotvec(), pivot, slide)


class FaceRig:
    """Neutral head, blendshape deltas, eyes, teeth and vertex regions of the facecap head."""

    def __init__(self):
        mesh = load_facecap()
        self.names = list(ARKIT_NAMES)
        order = [self.names.index(arkit_name(n)) for n in mesh.target_names]
        if sorted(order) != list(range(NUM_BLENDSHAPES)):
            raise RuntimeError("facecap.glb does not carry the 52 ARKit blendshapes")
        self.neutral = mesh.head_vertices  # (V,3)
        self.head_uv = mesh.head_uv  # (V,2) into facecap's skin texture (face/facecap.py)
        self.triangles = mesh.head_triangles  # (F,3)
        deltas = np.zeros_like(mesh.target_deltas)
        deltas[order] = mesh.target_deltas
        self.deltas = deltas  # (52,V,3)
        self._basis = deltas.reshape(NUM_BLENDSHAPES, -1).T.astype(np.float64)  # (3V,52)

        # The eye mesh facecap calls "eyeLeft" sits at -x; name eyes by the face's own side.
        eyes = [(mesh.eye_left_vertices, mesh.eye_left_triangles, mesh.eye_left_uv), (mesh.eye_right_vertices, mesh.eye_right_triangles, mesh.eye_right_uv)]
        eyes.sort(key=lambda e: -e[0][:, 0].mean())
        (self.eye_left_vertices, self.eye_left_triangles, self.eye_left_uv), (self.eye_right_vertices, self.eye_right_triangles, self.eye_right_uv) = eyes
        self.eye_left_centre = self._eyeball_centre(self.eye_left_vertices)
        self.eye_right_centre = self._eyeball_centre(self.eye_right_vertices)

        self._build_regions()
        self._build_teeth(mesh.teeth_vertices, mesh.teeth_triangles)
        self.teeth_uv = np.concatenate([mesh.teeth_uv, mesh.teeth_uv])  # the lower row is the upper one mirrored

    @property
    def num_vertices(self) -> int:
        return len(self.neutral)

    # ---- blendshapes -------------------------------------------------------------------------
    def pose(self, weights) -> np.ndarray:
        """weights (T,52) or (52,) -> head vertices (T,V,3) or (V,3)."""
        w = np.asarray(weights, dtype=np.float32)
        single = w.ndim == 1
        w = np.atleast_2d(w)
        if w.shape[-1] != NUM_BLENDSHAPES:
            raise ValueError(f"expected {NUM_BLENDSHAPES} blendshape weights per frame, got {w.shape[-1]}")
        out = self.neutral[None] + np.einsum("tk,kvc->tvc", w, self.deltas)
        return out[0] if single else out

    @cached_property
    def _reduced_basis(self):
        """Each frame's problem reduced from 3V rows to 52: ||Ax-b|| = ||Rx - Q^T b|| + const.
        Factored once per rig: the live path solves a few frames at a time."""
        active = np.abs(self._basis).sum(0) > 0  # tongueOut moves no vertex of this head
        q, r = np.linalg.qr(self._basis[:, active])
        return active, q, r

    def solve(self, vertices) -> np.ndarray:
        """Head vertices (T,V,3) or (V,3) -> the weights in [0,1] that best reproduce them."""
        v = np.asarray(vertices, dtype=np.float64)
        single = v.ndim == 2
        v = v.reshape(-1, self.num_vertices * 3) - self.neutral.reshape(1, -1)
        active, q, r = self._reduced_basis
        out = np.zeros((len(v), NUM_BLENDSHAPES), dtype=np.float32)
        for t, target in enumerate(v @ q):
            # Non-negative least squares is 10x faster than the box-bounded solver, and where its
            # answer stays within 1 it is the box problem's answer too; otherwise solve the box.
            x = nnls(r, target)[0]
            if x.max() > 1.0 + 1e-6:
                x = lsq_linear(r, target, bounds=(0.0, 1.0), method="bvls").x
            out[t, active] = x
        np.clip(out, 0.0, 1.0, out=out)  # the solver may overshoot its bounds by rounding error
        return out[0] if single else out

    # ---- eyes and teeth ----------------------------------------------------------------------
    @staticmethod
    def _eyeball_centre(vertices):
        # Each eye is a whole sphere: it turns about the centre of its bounding box.
        return ((vertices.min(0) + vertices.max(0)) / 2).astype(np.float32)

    def eye_rotations(self, weights) -> tuple[np.ndarray, np.ndarray]:
        """(T,52) -> rotation matrices (T,3,3) for the left and right eyeball."""
        angles = eye_angles(weights)
        left, right = (Rotation.from_euler("yx", angles[:, i], degrees=True).as_matrix() for i in range(2))
        return left, right

    def eye_vertices(self, weights) -> tuple[np.ndarray, np.ndarray]:
        """(T,52) -> left and right eyeball vertices (T,Ve,3)."""
        rot_l, rot_r = self.eye_rotations(weights)
        left = np.einsum("tij,nj->tni", rot_l, self.eye_left_vertices - self.eye_left_centre) + self.eye_left_centre
        right = np.einsum("tij,nj->tni", rot_r, self.eye_right_vertices - self.eye_right_centre) + self.eye_right_centre
        return left.astype(np.float32), right.astype(np.float32)

    def _build_teeth(self, upper, triangles):
        # facecap ships the upper teeth only. The lower row is the upper one mirrored below the
        # bite plane, slightly narrower and behind it (an overbite), riding on the jaw.
        bite = upper[:, 1].min()
        lower = upper.copy()
        lower[:, 1] = 2 * bite - upper[:, 1] - 0.0005
        lower[:, 0] *= 0.93
        lower[:, 2] -= 0.0025
        self.teeth_vertices = np.concatenate([upper, lower]).astype(np.float32)
        self.teeth_triangles = np.concatenate([triangles, triangles[:, ::-1] + len(upper)]).astype(np.int32)
        self._lower_teeth = np.arange(len(upper), 2 * len(upper))
        self.teeth_on_jaw = np.arange(len(self.teeth_triangles)) >= len(triangles)  # per triangle: the lower row's
        # The jaw's motion per jaw blendshape, fitted on chin vertices (they ride the jaw): jawOpen
        # rotates about a hinge; jawForward/Left/Right slide.
        chin = self.regions["chin"]
        self.jaw_motions = {"jawOpen": RigidMotion.fit(self.neutral[chin], self.neutral[chin] + self.deltas[INDEX["jawOpen"]][chin])}
        for name in ("jawForward", "jawLeft", "jawRight"):
            slide = self.deltas[INDEX[name]][chin].mean(0).astype(np.float64)
            self.jaw_motions[name] = RigidMotion(np.zeros(3), np.zeros(3), slide)

    def teeth_vertices_posed(self, weights) -> np.ndarray:
        """(T,52) -> teeth vertices (T,Vt,3): the upper row fixed to the skull, the lower on the jaw."""
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        out = np.repeat(self.teeth_vertices[None].astype(np.float64), len(w), 0)
        lower = out[:, self._lower_teeth]
        for name, motion in self.jaw_motions.items():
            lower = motion.apply(lower, w[:, INDEX[name]])
        out[:, self._lower_teeth] = lower
        return out.astype(np.float32)

    def teeth_row(self, on_jaw: bool) -> tuple[np.ndarray, np.ndarray]:
        """One row of teeth as a mesh of its own (the exports' nodes): its indices into
        ``teeth_vertices`` and its triangles renumbered to them. The lower row rides the jaw."""
        rows = self._lower_teeth if on_jaw else np.setdiff1d(np.arange(len(self.teeth_vertices)), self._lower_teeth)
        return rows, self.teeth_triangles[self.teeth_on_jaw == on_jaw] - rows.min()

    def jaw_matrix(self, weights) -> np.ndarray:
        """(52,) -> the 4x4 motion of the lower teeth (``teeth_vertices_posed`` as one matrix)."""
        m = np.eye(4)
        for name, motion in self.jaw_motions.items():
            m = motion.matrix(float(weights[INDEX[name]])) @ m
        return m

    # ---- regions -----------------------------------------------------------------------------
    def _build_regions(self):
        v = self.neutral
        motion = lambda *names: np.linalg.norm(self.deltas[[INDEX[n] for n in names]], axis=2).max(0)  # noqa: E731
        # Mouth: the front of the lower face that the mouth and jaw shapes move by more than 4 mm.
        mouth_names = [n for n in ARKIT_NAMES if n.startswith(("mouth", "jaw"))]
        mouth_idx = np.flatnonzero((motion(*mouth_names) > 0.004) & (v[:, 2] > 0.04) & (v[:, 1] < -0.035))
        # Mouth interior (gums, the inside of the lips and the mouth bag): near the mouth and
        # hidden behind the skin when the neutral face is seen from the front.
        near_mouth = np.flatnonzero((np.abs(v[:, 0]) < 0.045) & (v[:, 1] > -0.1) & (v[:, 1] < -0.03) & (v[:, 2] > 0.02))
        interior_idx = near_mouth[_hidden_from_front(v[near_mouth], v[self.triangles])]
        # Upper face (for FDD): the front of the head above the lower eyelids.
        eye_y = min(self.eye_left_centre[1], self.eye_right_centre[1])
        upper_idx = np.flatnonzero((v[:, 1] > eye_y - 0.015) & (v[:, 2] > 0.02))
        # Lips: the skin within an ellipse around the mouth line, its width set by the mouth
        # corners (where mouthSmile pulls hardest), about 1.6 cm above and below the line.
        corner = v[np.argmax(np.linalg.norm(self.deltas[INDEX["mouthSmileLeft"]], axis=1))]
        ellipse = (v[:, 0] / (abs(corner[0]) + 0.006)) ** 2 + ((v[:, 1] - corner[1]) / 0.016) ** 2
        lip_idx = np.setdiff1d(np.flatnonzero((ellipse <= 1.0) & (v[:, 2] > 0.06)), interior_idx)
        # Chin: moved at least 60% of the strongest jawOpen displacement, below the lips.
        jaw = np.linalg.norm(self.deltas[INDEX["jawOpen"]], axis=1)
        chin_idx = np.flatnonzero((jaw > 0.6 * jaw.max()) & (v[:, 1] < v[lip_idx, 1].min() + 0.01))
        self.regions = {
            "lips": lip_idx,
            "mouth": mouth_idx,
            "upper_face": upper_idx,
            "chin": chin_idx,
            "mouth_interior": interior_idx,
        }

    @property
    def lip_indices(self) -> np.ndarray:
        return self.regions["lips"]

    @property
    def upper_face_indices(self) -> np.ndarray:
        return self.regions["upper_face"]

    @property
    def mouth_indices(self) -> np.ndarray:
        return self.regions["mouth"]


def _hidden_from_front(points: np.ndarray, triangles: np.ndarray, margin: float = 0.002) -> np.ndarray:
    """For each point, whether a triangle lies more than ``margin`` in front of it along +z."""
    a, b, c = (triangles[:, i, None, :] for i in range(3))  # (F,1,3)
    p = points[None]  # (1,N,3)
    # Barycentric coordinates of each point's xy in each triangle's xy projection.
    d = (b[..., 1] - c[..., 1]) * (a[..., 0] - c[..., 0]) + (c[..., 0] - b[..., 0]) * (a[..., 1] - c[..., 1])
    d = np.where(np.abs(d) < 1e-12, np.nan, d)
    l1 = ((b[..., 1] - c[..., 1]) * (p[..., 0] - c[..., 0]) + (c[..., 0] - b[..., 0]) * (p[..., 1] - c[..., 1])) / d
    l2 = ((c[..., 1] - a[..., 1]) * (p[..., 0] - c[..., 0]) + (a[..., 0] - c[..., 0]) * (p[..., 1] - c[..., 1])) / d
    l3 = 1 - l1 - l2
    inside = (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
    z = l1 * a[..., 2] + l2 * b[..., 2] + l3 * c[..., 2]
    return np.any(inside & (z > p[..., 2] + margin), axis=0)


@lru_cache(maxsize=1)
def load_rig() -> FaceRig:
    """The process-wide rig, decoded from the installed package on first use."""
    return FaceRig()
