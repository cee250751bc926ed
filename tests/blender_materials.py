"""Imports a .glb with Blender's own glTF importer (the `bpy` wheel) and prints, as JSON, each
mesh object's name with its materials' names and whether each has an image texture.
Usage: python tests/blender_materials.py FILE.glb (with bpy installed; tests/test_export_look.py)."""

import json
import sys

import bpy

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[1])
objects = {}
for obj in bpy.data.objects:
    if obj.type != "MESH":
        continue
    materials = []
    for slot in obj.material_slots:
        mat = slot.material
        images = [n.image.name for n in mat.node_tree.nodes if n.type == "TEX_IMAGE" and n.image] if mat and mat.use_nodes else []
        materials.append({"name": mat.name if mat else None, "images": images})
    keys = obj.data.shape_keys
    objects[obj.name] = {"materials": materials, "shape_keys": len(keys.key_blocks) - 1 if keys else 0}
print("BLENDER_JSON " + json.dumps(objects))
