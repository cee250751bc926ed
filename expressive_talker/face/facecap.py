"""Read three.js's *facecap* head out of the installed ``openfacefx`` package.

The asset is a binary glTF whose buffers are meshopt-compressed (EXT_meshopt_compression)
and quantized (KHR_mesh_quantization). We decode it here at run time instead of committing a
decoded copy, and bake every node transform so the returned geometry is upright, facing +z,
in metres. Every mesh carries its texture coordinates into the one skin texture, a KTX2 (Basis
Universal) image that ``facecap_texture`` transcodes with ``opengl_basisu`` once per process.
Model and texture by Face Cap (Bannaflak), distributed with three.js under MIT.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from importlib import resources

import meshopt
import numpy as np

# glTF accessor component types -> numpy dtypes
_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


@dataclass(frozen=True)
class FacecapMeshes:
    """Geometry in metres, y up, the face looking down +z."""

    head_vertices: np.ndarray  # (V, 3) float32, neutral
    head_triangles: np.ndarray  # (F, 3) int32
    target_names: list[str]  # facecap's names, e.g. "eyeBlink_L"
    target_deltas: np.ndarray  # (52, V, 3) float32
    eye_left_vertices: np.ndarray
    eye_left_triangles: np.ndarray
    eye_right_vertices: np.ndarray
    eye_right_triangles: np.ndarray
    teeth_vertices: np.ndarray
    teeth_triangles: np.ndarray
    # (N, 2) float32 texture coordinates of each mesh's vertices (glTF's: v runs down the image)
    head_uv: np.ndarray
    eye_left_uv: np.ndarray
    eye_right_uv: np.ndarray
    teeth_uv: np.ndarray


@dataclass(frozen=True)
class FacecapTexture:
    """The skin texture: the file's own KTX2 bytes and its top level as (H, W, 4) sRGB uint8."""

    ktx2: bytes
    rgba: np.ndarray


def facecap_path():
    return resources.files("openfacefx") / "studio_web" / "assets" / "facecap.glb"


def _quat_matrix(q):
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _node_matrix(node) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = _quat_matrix(node.get("rotation", [0, 0, 0, 1])) * np.asarray(node.get("scale", [1, 1, 1]))
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


class _Glb:
    def __init__(self, data: bytes):
        magic, _version, _length = struct.unpack_from("<4sII", data, 0)
        if magic != b"glTF":
            raise ValueError("facecap.glb is not a binary glTF file")
        json_len, _ = struct.unpack_from("<I4s", data, 12)
        self.gltf = json.loads(data[20 : 20 + json_len])
        bin_start = 20 + json_len
        bin_len, _ = struct.unpack_from("<I4s", data, bin_start)
        self.bin = data[bin_start + 8 : bin_start + 8 + bin_len]
        self._views: dict[int, bytes] = {}

    def view(self, index: int) -> bytes:
        if index not in self._views:
            view = self.gltf["bufferViews"][index]
            ext = view.get("extensions", {}).get("EXT_meshopt_compression")
            if ext is None:
                start = view.get("byteOffset", 0)
                self._views[index] = self.bin[start : start + view["byteLength"]]
            else:
                start = ext.get("byteOffset", 0)
                raw = self.bin[start : start + ext["byteLength"]]
                decoded = meshopt.decode_gltf_buffer(raw, ext["count"], ext["byteStride"], ext["mode"], ext.get("filter"))
                self._views[index] = np.ascontiguousarray(decoded).tobytes()
        return self._views[index]

    def accessor(self, index: int) -> np.ndarray:
        acc = self.gltf["accessors"][index]
        view = self.gltf["bufferViews"][acc["bufferView"]]
        dtype = np.dtype(_COMPONENT[acc["componentType"]])
        width = _WIDTH[acc["type"]]
        stride = view.get("byteStride", dtype.itemsize * width)
        data = self.view(acc["bufferView"])
        offset = acc.get("byteOffset", 0)
        rows = np.ndarray((acc["count"], width), dtype=dtype, buffer=data, offset=offset, strides=(stride, dtype.itemsize))
        out = rows.astype(np.float64)
        if acc.get("normalized"):
            out /= float(np.iinfo(dtype).max)
        return out

    def world_matrices(self) -> dict[int, np.ndarray]:
        """Mesh index -> 4x4 world transform of the node that draws it."""
        nodes = self.gltf["nodes"]
        scene = self.gltf["scenes"][self.gltf.get("scene", 0)]
        out: dict[int, np.ndarray] = {}

        def walk(i, parent):
            world = parent @ _node_matrix(nodes[i])
            if "mesh" in nodes[i]:
                out[nodes[i]["mesh"]] = world
            for child in nodes[i].get("children", []):
                walk(child, world)

        for root in scene["nodes"]:
            walk(root, np.eye(4))
        return out


# The asset's own units: after its node transforms, the head is about 2.3 units tall.
# Real heads are ~0.23 m from chin to crown, so one unit is taken as 0.1 m.
_METRES_PER_UNIT = 0.1


def load_facecap() -> FacecapMeshes:
    glb = _Glb(facecap_path().read_bytes())
    worlds = glb.world_matrices()
    meshes = glb.gltf["meshes"]

    def geometry(mesh_index):
        prim = meshes[mesh_index]["primitives"][0]
        world = worlds[mesh_index]
        pos = glb.accessor(prim["attributes"]["POSITION"])
        pos = (pos @ world[:3, :3].T + world[:3, 3]) * _METRES_PER_UNIT
        tri = glb.accessor(prim["indices"]).reshape(-1, 3).astype(np.int32)
        deltas = [glb.accessor(t["POSITION"]) @ world[:3, :3].T * _METRES_PER_UNIT for t in prim.get("targets", [])]
        return pos, tri, deltas, _uv(glb, prim)

    by_name = {n.get("name"): n for n in glb.gltf["nodes"]}
    mesh_of = {name: glb.gltf["nodes"][by_name[name]["children"][0]]["mesh"] for name in ("head", "eyeLeft", "eyeRight", "teeth")}
    head, head_tri, head_deltas, head_uv = geometry(mesh_of["head"])
    eye_l, eye_l_tri, _, eye_l_uv = geometry(mesh_of["eyeLeft"])
    eye_r, eye_r_tri, _, eye_r_uv = geometry(mesh_of["eyeRight"])
    teeth, teeth_tri, _, teeth_uv = geometry(mesh_of["teeth"])
    names = list(meshes[mesh_of["head"]]["extras"]["targetNames"])

    # Centre the model on the head's bounding box so cameras and lights have a stable origin.
    centre = (head.min(0) + head.max(0)) / 2
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return FacecapMeshes(
        head_vertices=f32(head - centre),
        head_triangles=head_tri,
        target_names=names,
        target_deltas=f32(np.stack(head_deltas)),
        eye_left_vertices=f32(eye_l - centre),
        eye_left_triangles=eye_l_tri,
        eye_right_vertices=f32(eye_r - centre),
        eye_right_triangles=eye_r_tri,
        teeth_vertices=f32(teeth - centre),
        teeth_triangles=teeth_tri,
        head_uv=f32(head_uv),
        eye_left_uv=f32(eye_l_uv),
        eye_right_uv=f32(eye_r_uv),
        teeth_uv=f32(teeth_uv),
    )


def _uv(glb: _Glb, prim) -> np.ndarray:
    """A primitive's TEXCOORD_0 with its material's KHR_texture_transform (offset, scale) baked in."""
    uv = glb.accessor(prim["attributes"]["TEXCOORD_0"])
    texture = glb.gltf["materials"][prim["material"]]["pbrMetallicRoughness"]["baseColorTexture"]
    transform = texture.get("extensions", {}).get("KHR_texture_transform", {})
    return uv * np.asarray(transform.get("scale", [1.0, 1.0])) + np.asarray(transform.get("offset", [0.0, 0.0]))


@functools.lru_cache(maxsize=1)
def facecap_texture() -> FacecapTexture:
    """The head's texture, transcoded once per process (~15 ms) by Basis Universal's own transcoder."""
    import opengl_basisu

    glb = _Glb(facecap_path().read_bytes())
    texture = glb.gltf["textures"][glb.gltf["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = glb.gltf["images"][texture["extensions"]["KHR_texture_basisu"]["source"]]
    ktx2 = glb.view(image["bufferView"])
    rgba = opengl_basisu.open(ktx2).transcode("rgba8", level=0).data
    return FacecapTexture(ktx2=bytes(ktx2), rgba=np.ascontiguousarray(rgba))
