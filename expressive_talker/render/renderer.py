"""Offscreen pyrender renderer for the face rig: one scene, vertex buffers updated per frame."""

from __future__ import annotations

import functools
import os
import threading

import numpy as np
import scipy.sparse as sp
from PIL import Image

from ..errors import RenderError
from ..face.facecap import facecap_texture
from ..face.look import AMBIENT, BACKGROUND, EYE, LIGHTS, ROUGHNESS, SPECULAR, TEETH, cavity_colour, eye_colours, head_colours, mouth_cavity_geometry, mouth_inside, tint
from ..face.motion import pose_matrix
from ..face.rig import FaceRig, load_rig
from ..face.subdivide import Subdivision, loop_subdivision
from .gl import import_pyrender

pyrender = import_pyrender()
from OpenGL import GL  # noqa: E402  (after the platform is chosen)
from pyrender.shader_program import ShaderProgramCache  # noqa: E402

MIN_SIZE, MAX_SIZE = 256, 1024
CAMERA_FOV_DEG = 22.0


SHADER_DIR = os.path.join(os.path.dirname(__file__), "shaders")


class _FaceShaders(ShaderProgramCache):
    """pyrender's shader cache with our mesh shaders, written for the face scene (see mesh.frag);
    every other program (depth, flat, segmentation) stays pyrender's own."""

    def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
        if (vertex_shader, fragment_shader, geometry_shader) == ("mesh.vert", "mesh.frag", None):
            vertex_shader, fragment_shader = (os.path.join(SHADER_DIR, name) for name in ("mesh.vert", "mesh.frag"))
            defines = {**(defines or {}), "SPECULAR": f"{SPECULAR:.6f}"}
        return super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)


def _vertex_normal_operator(vertices: np.ndarray, triangles: np.ndarray) -> sp.csr_matrix:
    """Sparse (V,F) matrix that sums the normals of the faces around each vertex.

    Vertices duplicated at texture seams share one normal, so seams do not show as creases.
    """
    rows = triangles.reshape(-1)
    cols = np.repeat(np.arange(len(triangles)), 3)
    faces_of_vertex = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(vertices), len(triangles)))
    _, group = np.unique(np.round(vertices, 6), axis=0, return_inverse=True)
    same_place = sp.csr_matrix((np.ones(len(vertices), np.float32), (group.ravel(), np.arange(len(vertices)))))
    return (same_place.T @ same_place @ faces_of_vertex).tocsr()


def vertex_normals(sum_faces: sp.csr_matrix, vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V,3) unit normals: the face normals around each vertex summed by ``sum_faces``
    (``_vertex_normal_operator`` of the same mesh)."""
    tri = vertices[triangles]
    normals = sum_faces @ np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return (normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class _LinearTexture(pyrender.Texture):
    """An sRGB colour texture stored in linear light, 16 bits a channel (as the shader's gamma
    2.2 had it, without banding in the dark), so the shader does no power per pixel: that cost
    about 1.5 ms a 512 px frame on llvmpipe."""

    def _add_to_context(self):
        super()._add_to_context()
        GL.glBindTexture(self.tex_type, self._texid)
        image = np.ascontiguousarray(np.flip(np.round((self.source / 255.0) ** 2.2 * 65535).astype(np.uint16), axis=0))
        GL.glTexImage2D(self.tex_type, 0, GL.GL_RGBA16, image.shape[1], image.shape[0], 0, GL.GL_RGBA, GL.GL_UNSIGNED_SHORT, image)
        GL.glBindTexture(self.tex_type, 0)


class _DynamicMesh:
    """A pyrender mesh whose positions and normals are rewritten in place each frame. With a
    ``subdivision`` (face/subdivide.py) it is given the coarse mesh's vertices and draws the fine
    one, its normals those of the coarse mesh through the subdivision."""

    def __init__(self, vertices, triangles, material, uv, colors=None, subdivision=None):
        self.triangles = np.asarray(triangles, dtype=np.int32)
        self.subdivision = subdivision
        self._sum_faces = _vertex_normal_operator(np.asarray(vertices), self.triangles)
        drawn = self.triangles
        if subdivision is not None:
            drawn, uv = subdivision.triangles, subdivision.midpoints(uv)
            colors = None if colors is None else subdivision.midpoints(colors)
        uv = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]])  # glTF's v runs down; pyrender uploads the image bottom row first
        positions, normals = self._geometry(vertices)
        self.primitive = pyrender.Primitive(positions=positions, normals=normals, texcoord_0=uv, indices=drawn, material=material, color_0=colors)
        self.colors = None if colors is None else self.primitive.color_0
        self.mesh = pyrender.Mesh([self.primitive])

    def _geometry(self, vertices):
        vertices = np.asarray(vertices, dtype=np.float32)
        normals = vertex_normals(self._sum_faces, vertices, self.triangles)
        if self.subdivision is None:
            return vertices, normals
        return self.subdivision(vertices), self.subdivision.normals(normals)

    def update(self, vertices):
        prim = self.primitive
        prim.positions, prim.normals = self._geometry(vertices)  # positions: keeps pyrender's bounds right
        if prim._vaid is None:  # not uploaded yet: the first render will upload it
            return
        # Same interleaved layout pyrender uploads: position, normal, texture coordinate, [colour].
        parts = [prim.positions, prim.normals, prim.texcoord_0] + ([self.colors] if self.colors is not None else [])
        data = np.ascontiguousarray(np.hstack(parts), dtype=np.float32)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, prim._buffers[0])
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, data.nbytes, data)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)


def _static_mesh(vertices, triangles, material, uv, colors=None):
    normals = vertex_normals(_vertex_normal_operator(vertices, triangles), vertices, triangles)
    uv = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]])  # as _DynamicMesh's
    return pyrender.Mesh([pyrender.Primitive(positions=vertices, normals=normals, texcoord_0=uv, indices=triangles, material=material, color_0=colors)])


def _antialias_silhouette(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Smooth the face's outline against the background: where a 3x3 neighbourhood holds both,
    the pixel becomes the neighbourhood's mean (the background's share is its coverage)."""
    h, w = depth.shape
    face = depth > 0
    rows, cols = np.flatnonzero(face.any(1)), np.flatnonzero(face.any(0))
    # Only within the face's box, and only the outline's few thousand pixels: a whole-frame filter costs ~10 ms.
    y0, y1 = max(rows[0] - 1, 1), min(rows[-1] + 2, h - 1)
    x0, x1 = max(cols[0] - 1, 1), min(cols[-1] + 2, w - 1)
    box = face[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1]
    across, along = box[1:] != box[:-1], box[:, 1:] != box[:, :-1]
    edge = across[:-1, 1:-1] | across[1:, 1:-1] | along[1:-1, :-1] | along[1:-1, 1:]  # a 4-neighbour on the other side
    ys, xs = np.nonzero(edge)
    at = (ys + y0) * w + xs + x0
    flat = color.reshape(-1, 3)
    total = sum(flat[at + dy * w + dx].astype(np.uint16) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    out = color.copy()
    out.reshape(-1, 3)[at] = ((total + 4) // 9).astype(np.uint8)
    return out


def _mouth_cavity(rig: FaceRig, material):
    vertices, triangles = mouth_cavity_geometry(rig)
    return pyrender.Mesh([pyrender.Primitive(positions=vertices, indices=triangles, material=material)])


@functools.lru_cache(maxsize=2)
def head_subdivision(rig: FaceRig) -> Subdivision:
    """The head as the MP4 and the viewer draw it, subdivided once where it can make the outline:
    triangles within 20 degrees of edge-on to the camera (the motion layer turns the head by a few
    degrees), not the mouth's inside. Subdividing all of it cost 9 ms more a 512 px frame on
    llvmpipe; the front of the face is dense enough as it is."""
    v, t = rig.neutral, rig.triangles
    normal = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    to_camera = camera_position(rig) - v[t].mean(1)
    facing = np.einsum("ij,ij->i", normal, to_camera) / np.linalg.norm(normal, axis=1) / np.linalg.norm(to_camera, axis=1)
    return loop_subdivision(v, t, (np.abs(facing) < np.sin(np.radians(20))) & ~mouth_inside(rig))


def camera_position(rig: FaceRig) -> np.ndarray:
    """Where the camera sits, looking down -z: the head fills about 90% of the frame height,
    nudged towards the mouth."""
    v = rig.neutral
    height = np.ptp(v[:, 1])
    distance = 0.55 * height / np.tan(np.radians(CAMERA_FOV_DEG) / 2) + v[:, 2].max()
    return np.array([0.0, -0.1 * height, distance])


class FaceRenderer:
    """Renders rig poses to RGB frames. Not thread-safe on its own: a lock serialises renders."""

    def __init__(self, size: int = 512, rig: FaceRig | None = None):
        if not MIN_SIZE <= int(size) <= MAX_SIZE:
            raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
        self.size = int(size)
        self.rig = rig or load_rig()
        self.lock = threading.Lock()
        self.scene = pyrender.Scene(bg_color=(*BACKGROUND, 1.0), ambient_light=(AMBIENT,) * 3)
        rig = self.rig
        # facecap's skin texture on the head, eyes and teeth (one atlas, uploaded once); the
        # head's colours are per vertex: skin, the lips, dark red inside the mouth (face/look.py).
        # Halved to 512 px (the face spans under 300 px of a 512 px frame) and sampled bilinearly,
        # not trilinearly: per-pixel texturing is most of what it costs on llvmpipe.
        half = np.asarray(Image.fromarray(facecap_texture().rgba).resize((512, 512), Image.LANCZOS))
        sampler = pyrender.Sampler(magFilter=GL.GL_LINEAR, minFilter=GL.GL_LINEAR)
        texture = _LinearTexture(source=half, source_channels="RGBA", sampler=sampler)

        def textured(colour, roughness, double_sided=False):
            return pyrender.MetallicRoughnessMaterial(
                baseColorFactor=colour, baseColorTexture=texture, metallicFactor=0.0, roughnessFactor=roughness, doubleSided=double_sided
            )

        skin = textured((1.0, 1.0, 1.0, 1.0), ROUGHNESS["skin"])  # one-sided: its dark inside showed at the outline
        eyes = textured(tint(EYE, rig.eye_left_uv), ROUGHNESS["eye"])
        teeth = textured(tint(TEETH, rig.teeth_uv), ROUGHNESS["teeth"], True)
        mouth = pyrender.MetallicRoughnessMaterial(baseColorFactor=cavity_colour(), metallicFactor=0.0, roughnessFactor=ROUGHNESS["mouth"])
        self.head = _DynamicMesh(rig.neutral, rig.triangles, skin, rig.head_uv, head_colours(rig), head_subdivision(rig))
        # The eyes and the lower teeth move rigidly: nodes posed each frame, their vertices uploaded once.
        self._eye_nodes = [
            self.scene.add(_static_mesh(v, t, eyes, uv, eye_colours(v, c)))
            for v, t, uv, c in ((rig.eye_left_vertices, rig.eye_left_triangles, rig.eye_left_uv, rig.eye_left_centre), (rig.eye_right_vertices, rig.eye_right_triangles, rig.eye_right_uv, rig.eye_right_centre))
        ]
        upper_teeth, self._jaw_node = (self.scene.add(_static_mesh(rig.teeth_vertices, rig.teeth_triangles[m], teeth, rig.teeth_uv)) for m in (~rig.teeth_on_jaw, rig.teeth_on_jaw))
        # Everything that turns with the head (face/motion.py's head rotation track).
        self._head_nodes = [self.scene.add(self.head.mesh), upper_teeth, self.scene.add(_mouth_cavity(rig, mouth))]
        self._add_camera_and_lights()
        self._renderer = pyrender.OffscreenRenderer(self.size, self.size)
        self._renderer._renderer._program_cache = _FaceShaders()

    def _add_camera_and_lights(self):
        camera = np.eye(4)
        camera[:3, 3] = camera_position(self.rig)
        self.scene.add(pyrender.PerspectiveCamera(yfov=np.radians(CAMERA_FOV_DEG), znear=0.05, zfar=5.0), pose=camera)

        def look_from(position, target=(0.0, 0.0, 0.0)):
            # A pose whose -z axis points from position to target (pyrender lights shine along -z).
            position = np.asarray(position, float)
            back = position - np.asarray(target, float)
            back /= np.linalg.norm(back)
            right = np.cross([0.0, 1.0, 0.0], back)
            right /= np.linalg.norm(right)
            pose = np.eye(4)
            pose[:3, :3] = np.stack([right, np.cross(back, right), back], 1)
            pose[:3, 3] = position
            return pose

        for colour, intensity, position in LIGHTS:
            self.scene.add(pyrender.DirectionalLight(color=colour, intensity=intensity), pose=look_from(position))

    def render(self, head_vertices, weights=None, head_rotation=None) -> np.ndarray:
        """One frame (H,W,3) uint8. ``weights`` (52,) turns the eyes and moves the jaw's teeth;
        when only vertices are given, they are solved for from the head. ``head_rotation``
        ([pitch, yaw, roll] degrees) turns the whole head about the neck."""
        head_vertices = np.asarray(head_vertices, dtype=np.float32)
        if head_vertices.shape != self.rig.neutral.shape:
            raise ValueError(f"expected head vertices of shape {self.rig.neutral.shape}, got {head_vertices.shape}")
        if weights is None:
            weights = self.rig.solve(head_vertices)
        w = np.asarray(weights, dtype=np.float32)
        pose = np.eye(4) if head_rotation is None else pose_matrix(head_rotation)
        eyes = []
        for rotation, centre in zip(self.rig.eye_rotations(w[None]), (self.rig.eye_left_centre, self.rig.eye_right_centre)):
            turn = np.eye(4)  # about the eyeball's centre
            turn[:3, :3] = rotation[0]
            turn[:3, 3] = centre - rotation[0] @ centre
            eyes.append(pose @ turn)
        with self.lock:
            for node in self._head_nodes:
                self.scene.set_pose(node, pose)
            for node, eye in zip(self._eye_nodes, eyes):
                self.scene.set_pose(node, eye)
            self.scene.set_pose(self._jaw_node, pose @ self.rig.jaw_matrix(w))
            self._renderer._platform.make_current()
            self.head.update(head_vertices)
            try:
                color, depth = self._renderer.render(self.scene)
            except Exception as exc:  # noqa: BLE001 - any GL failure becomes one clear error
                raise RenderError(f"rendering failed: {exc}") from exc
        # A broken GL stack tends to return black or empty buffers rather than fail loudly.
        if not np.any(depth > 0) or not np.any(color[..., :3]):
            raise RenderError("rendering produced an empty frame; the OpenGL backend may be broken (try EXPRESSIVE_TALKER_GL=osmesa)")
        return _antialias_silhouette(np.ascontiguousarray(color[..., :3]), depth)

    def close(self):
        self._renderer.delete()
