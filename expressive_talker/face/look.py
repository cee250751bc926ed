"""How the facecap head looks wherever it is drawn: the MP4 renderer, the in-page viewer's head
and the exported .glb all take their colours, texture and lights from here, so they look alike.

The skin is facecap's own texture (``facecap.facecap_texture``): a mostly grey atlas that carries
the brows, the shading of the eye sockets, nostrils and ears, and the eyes' irises. Each part
tints it: a colour times the texture. The texture is dark (about 0.39 in linear light on the
face), so the lights are ``LIGHT_GAIN`` times brighter than for a white surface and each part's
tint is its intended colour over ``LIGHT_GAIN`` times the texture's mean on that part: the head
keeps the skin tone it had untextured, with the texture's detail on it. Highlights are not to
grow with the gain: materials reflect ``SPECULAR`` (= 1 / gain) of the usual specular light
(glTF's KHR_materials_specular in the viewer, a constant in the renderer's shader).
"""

from __future__ import annotations

import functools

import numpy as np

from .facecap import facecap_texture
from .rig import FaceRig

BACKGROUND = (0.93, 0.94, 0.96)
# What each part looks like on average (linear RGB), texture included.
SKIN = (0.80, 0.60, 0.50, 1.0)
TEETH = (0.93, 0.91, 0.84, 1.0)
MOUTH = (0.35, 0.10, 0.10, 1.0)
LIPS = (0.62, 0.24, 0.24, 1.0)  # the vermilion: a mouth that reads at 256-512 px
EYE = (0.90, 0.88, 0.86, 1.0)
MOUTH_TINT = (1.0, 0.3, 0.28, 1.0)  # inside the lips facecap's texture is dark grey: a red cast on it
IRIS = (0.55, 0.36, 0.22)  # a brown tint on the texture's grey iris
IRIS_DEG = 17.0  # half-angle of the texture's iris on the eyeball
ROUGHNESS = {"skin": 0.62, "lips": 0.5, "mouth": 0.9, "eye": 0.2, "teeth": 0.35}
LIGHT_GAIN = 2.5
SPECULAR = 1.0 / LIGHT_GAIN
AMBIENT = 0.12 * LIGHT_GAIN
# Three-point lighting, (colour, intensity, where it shines from towards the origin): warm key
# upper-left, cool fill right, rim from behind above. The in-page viewer lights the same way.
LIGHTS = (
    ((1.0, 0.96, 0.9), 3.2 * LIGHT_GAIN, (-0.6, 0.5, 0.9)),
    ((0.85, 0.9, 1.0), 1.4 * LIGHT_GAIN, (0.8, 0.1, 0.6)),
    ((1.0, 1.0, 1.0), 2.0 * LIGHT_GAIN, (0.2, 0.8, -0.9)),
)


@functools.lru_cache(maxsize=1)
def _linear_texture() -> np.ndarray:
    return (facecap_texture().rgba[..., :3].astype(np.float32) / 255.0) ** 2.2


def bright_texture() -> np.ndarray:
    """(H,W,3) sRGB uint8: the texture with the lights' gain baked in (clipped at white), for
    files that a viewer lights with its own lights (the .glb export)."""
    return np.round(np.minimum(LIGHT_GAIN * _linear_texture(), 1.0) ** (1 / 2.2) * 255).astype(np.uint8)


def tint(colour, uv: np.ndarray, baked: bool = False) -> tuple[float, float, float, float]:
    """The base colour factor that makes the texture at ``uv`` look ``colour`` on average: under
    ``LIGHT_GAIN`` times brighter lights, or on ``bright_texture`` (``baked``)."""
    image = LIGHT_GAIN * _linear_texture()
    if baked:
        image = np.minimum(image, 1.0)
    h, w = image.shape[:2]
    x = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    y = np.clip((uv[:, 1] * h).astype(int), 0, h - 1)
    rgb = np.clip(np.asarray(colour[:3]) / float(image[y, x].mean()), 0.0, 1.0)
    return (*(float(c) for c in rgb), float(colour[3]) if len(colour) > 3 else 1.0)


def head_colours(rig: FaceRig) -> np.ndarray:
    """(V,4) vertex colours of the head, the texture's tint: skin, the lips' vermilion, dark red
    inside the mouth."""
    skin = np.array(tint(SKIN, rig.head_uv), np.float32)
    lips_colour = np.array(tint(LIPS, rig.head_uv), np.float32)
    colours = np.tile(skin, (rig.num_vertices, 1))
    lips = lip_amount(rig)[:, None]
    colours = (1 - lips) * colours + lips * lips_colour
    colours[rig.regions["mouth_interior"]] = MOUTH_TINT
    return colours.astype(np.float32)


def cavity_colour() -> tuple[float, float, float, float]:
    """The untextured mouth cavity's base colour: ``MOUTH`` under the brightened lights."""
    return (*(c / LIGHT_GAIN for c in MOUTH[:3]), 1.0)


def eye_colours(vertices: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(N,4) vertex colours of an eyeball: white, brown over the texture's iris."""
    direction = vertices - centre
    cos = direction[:, 2] / np.linalg.norm(direction, axis=1)
    colours = np.ones((len(vertices), 4), np.float32)
    colours[cos > np.cos(np.radians(IRIS_DEG)), :3] = IRIS
    return colours


def head_parts(rig: FaceRig) -> dict[str, np.ndarray]:
    """The head's triangles by material, for files whose readers take no vertex colours
    (Blender): "mouth" inside it, "lips" where the vermilion covers most of a triangle, "skin"."""
    tris = rig.triangles
    mouth = mouth_inside(rig)
    lips = ~mouth & (lip_amount(rig)[tris].mean(1) >= 0.5)
    return {"skin": tris[~mouth & ~lips], "lips": tris[lips], "mouth": tris[mouth]}


def mouth_inside(rig: FaceRig) -> np.ndarray:
    """(F,) bool: the head's triangles inside the mouth (gums, the mouth bag)."""
    inside = np.zeros(rig.num_vertices, bool)
    inside[rig.regions["mouth_interior"]] = True
    return inside[rig.triangles].any(1)


def lip_amount(rig: FaceRig) -> np.ndarray:
    """(V,) in [0,1]: how much of the lips' colour each head vertex takes. The vermilion runs
    along the inner lip edge, about 7 mm tall on the upper lip and 8 mm on the lower at the
    middle, narrowing to nothing at the corners, with a 1.5 mm soft border."""
    from ..data.lips import LipGap

    v = rig.neutral
    gap = LipGap(rig)
    edge = np.concatenate([v[gap.upper], v[gap.lower]])
    order = np.argsort(edge[:, 0])
    corner = float(np.abs(edge[:, 0]).max()) + 0.002
    line = np.interp(v[:, 0], edge[order, 0], edge[order, 1])  # the mouth line's height at each x
    taper = np.sqrt(np.clip(1 - (v[:, 0] / corner) ** 2, 0, 1))
    above = v[:, 1] - line
    height = np.where(above >= 0, 0.007, 0.008) * taper
    outside = np.maximum(np.abs(v[:, 1] - line) - height, 0)
    amount = 1 - np.clip(outside / 0.0015, 0, 1)
    front = v[:, 2] > edge[:, 2].min() - 0.004
    amount[~front | (taper == 0)] = 0.0
    amount[rig.regions["mouth_interior"]] = 0.0
    return amount.astype(np.float32)


def mouth_cavity_geometry(rig: FaceRig) -> tuple[np.ndarray, np.ndarray]:
    """A dark, inward-facing ellipsoid behind the lips: an open mouth shows a throat, not the skull.

    Its triangles face inwards and it is drawn single-sided, so only its far inner wall shows and
    the teeth inside it stay visible. Returns (vertices, triangles); the in-page viewer and the
    .glb export carry it too.
    """
    import trimesh

    lips = rig.neutral[rig.lip_indices]
    centre = np.array([0.0, lips[:, 1].mean() - 0.01, lips[:, 2].min() - 0.035])
    radii = np.array([np.ptp(lips[:, 0]) * 0.45, 0.035, 0.045])
    sphere = trimesh.creation.icosphere(subdivisions=3)
    return (sphere.vertices * radii + centre).astype(np.float32), np.ascontiguousarray(sphere.faces[:, ::-1]).astype(np.int32)
