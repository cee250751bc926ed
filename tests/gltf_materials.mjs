// Loads a .glb with three.js's own GLTFLoader under node and prints, as JSON, each mesh's name
// with its material's name, colour, whether it has a colour texture, and the image's type.
// node has no image decoder: a loader plugin hands GLTFLoader an empty texture per image, so the
// materials are wired as in a browser; the image bytes are read and their type reported.
// Usage: node tests/gltf_materials.mjs THREE_DIR FILE.glb
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [threeDir, file] = process.argv.slice(2);
const THREE = await import(pathToFileURL(`${threeDir}/build/three.module.js`).href);
const { GLTFLoader } = await import(pathToFileURL(`${threeDir}/examples/jsm/loaders/GLTFLoader.js`).href);

class StubImages {
  constructor(parser) { this.parser = parser; this.name = 'stub_images'; this.seen = []; }
  async loadTexture(index) {
    const json = this.parser.json;
    const source = json.images[json.textures[index].source];
    const view = await this.parser.getDependency('bufferView', source.bufferView);
    const head = Buffer.from(view).subarray(0, 8);
    const texture = new THREE.Texture();
    texture.userData.mimeType = source.mimeType;
    texture.userData.png = head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    return texture;
  }
}

const data = readFileSync(file);
const loader = new GLTFLoader().register((parser) => new StubImages(parser));
const gltf = await loader.parseAsync(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), '');
const meshes = [];
gltf.scene.traverse((o) => {
  if (!o.isMesh) return;
  const m = o.material;
  meshes.push({ name: o.name, material: m.name, color: m.color.toArray(), map: m.map ? m.map.userData : null, morphs: (o.morphTargetInfluences || []).length });
});
console.log(JSON.stringify({ meshes, animations: gltf.animations.map((a) => a.name), copyright: gltf.asset.copyright }));
