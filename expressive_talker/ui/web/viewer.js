// The in-page 3D viewer: plays ARKit curves and a head track on the facecap head (drawn like the
// MP4) or on the visitor's own avatar, in sync with the audio; play, pause, scrub; orbit and zoom.
// One viewer shows one or more panels side by side (Compare), all driven by one audio clock.
// Messages come from the page as JSON (see expressive_talker/ui/viewer.py):
//   {"audio": url, "panels": [{"label", "fps", "names", "frames", "head_rotation_deg"}, ...]}
//   {"avatar": {"url", "name", "bindings": {gltfMesh: [[morph, arkitName], ...]}, "missing", "turn"} | null}
//   {"avatar": null, "refused": text}: an upload the server refused; the viewer says why
//   {"audio", "panels", "autoplay": false}: loaded paused (the Live tab's take)
// A panel may carry "timeline": {"rows": [{"at", "prompt"}, ...], "ease_s"} (a timeline of prompts):
// each row is marked on the scrubber at its time, the prompt under it and in its tooltip.
// window.expressiveTalkerViewers[id].state() is a read-only view of what is on screen (for tests).
// Live mode (the Live tab): .live.start(names, fps, hopS), .live.push(frames), .live.stop(); each frame is
// {t: audio time s, w: weights in `names` order, head: [pitch, yaw, roll] deg}. Frames come in
// bursts; the face plays them along wall time, a little behind the newest, never ahead of it.

import * as THREE from 'three';
import { GLTFLoader } from './node_modules/three/examples/jsm/loaders/GLTFLoader.js';
import { OrbitControls } from './node_modules/three/examples/jsm/controls/OrbitControls.js';
import { clone as cloneModel } from './node_modules/three/examples/jsm/utils/SkeletonUtils.js';
import { MeshoptDecoder } from './node_modules/three/examples/jsm/libs/meshopt_decoder.module.js';
import { KTX2Loader } from './node_modules/three/examples/jsm/loaders/KTX2Loader.js';

const DEG = Math.PI / 180;
// Live mode: frames come in bursts about a hop long. Further behind the newest frame than a hop,
// the face plays a little faster until it is back; more than LIVE_MAX_LAG_S behind, it jumps.
const LIVE_MAX_LAG_S = 0.25;
const LIVE_HOP_S = 0.1; // when the server does not say its hop
const LIVE_TRACE = 20_000; // drawn poses kept for state() (about 5 minutes at 60 Hz)
// KTX2 (Basis) textures, facecap's skin among them, are transcoded by three's Basis transcoder,
// which KTX2Loader fetches from beside itself; it needs a renderer to pick a GPU format.
const ktx2 = new KTX2Loader();
const loader = new GLTFLoader().setMeshoptDecoder(MeshoptDecoder).setKTX2Loader(ktx2);
let ktx2Ready = false;
const loaded = new Map(); // url -> Promise<gltf>: each model is fetched once per page
const load = (url) => {
  if (!loaded.has(url)) loaded.set(url, loader.loadAsync(url));
  return loaded.get(url);
};
// The facecap head's parts behind the lips: the head's triangles from its `mouthInsideFrom` on, and
// the materials named here (render/viewer_face.py). With 4x MSAA, Chromium's CPU WebGL
// (SwiftShader) let their triangles seen nearly edge-on win single samples' depth tests over the
// cheek and chin centimetres in front: dark one-pixel specks on the face. A depth bias that grows
// with a triangle's slope (polygon offset) keeps them behind.
const BEHIND_THE_LIPS = new Set(['mouth', 'teeth']);
const behind = (material) => Object.assign(material, { polygonOffset: true, polygonOffsetFactor: 1, polygonOffsetUnits: 1 });
// Every material reads its attributes where a pixel's covered samples are (centroid), not at the
// pixel's centre: with 4x MSAA the centre of a pixel on the outline can lie well outside the thin,
// edge-on triangle that covers one of its samples, and what was extrapolated there (normals, colour)
// drew grey dots along the top of the head's outline.
const centroid = (material) => {
  material.onBeforeCompile = (shader) => {
    shader.vertexShader = `#undef varying\n#define varying centroid out\n${shader.vertexShader}`;
    shader.fragmentShader = `#undef varying\n#define varying centroid in\n${shader.fragmentShader}`;
  };
};
const clock = (s) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '0:00');

// The meshes of a loaded glTF scene in traversal order, each with the glTF mesh index it came from.
function gltfMeshes(gltf) {
  const out = [];
  gltf.scene.traverse((o) => {
    if (o.isMesh && o.morphTargetInfluences) out.push({ object: o, index: gltf.parser.associations.get(o)?.meshes });
  });
  return out;
}

// One panel's model: a clone of the facecap head or of the avatar, and how to pose it.
class Model {
  constructor(gltf, avatar) {
    this.root = new THREE.Group(); // turns with the head track about `pivot`
    this.object = cloneModel(gltf.scene);
    const originals = gltfMeshes(gltf);
    const copies = [];
    this.object.traverse((o) => { if (o.isMesh && o.morphTargetInfluences) copies.push(o); });
    this.bindings = []; // {mesh, morph, name}
    originals.forEach(({ index, object }, i) => {
      const mesh = copies[i];
      if (avatar) {
        for (const [morph, name] of avatar.bindings[String(index)] || []) this.bindings.push({ mesh, morph, name });
      } else {
        for (const [name, morph] of Object.entries(object.morphTargetDictionary || {})) this.bindings.push({ mesh, morph, name });
      }
    });
    if (avatar) {
      const turn = new THREE.Group();
      turn.rotation.y = (avatar.turn || 0) * DEG;
      turn.add(this.object);
      // Frame and turn about the face: the meshes the curves drive.
      const box = new THREE.Box3();
      turn.updateMatrixWorld(true);
      // Precise: vertex by vertex at rest (a geometry's own box also spans every morph target).
      for (const mesh of new Set(this.bindings.map((b) => b.mesh))) box.expandByObject(mesh, true);
      if (box.isEmpty()) box.setFromObject(turn);
      this.focus = box.getCenter(new THREE.Vector3());
      this.size = box.getSize(new THREE.Vector3());
      this.pivot = new THREE.Vector3(this.focus.x, box.min.y, this.focus.z);
      turn.position.sub(this.pivot);
      this.root.position.copy(this.pivot);
      this.root.add(turn);
    } else {
      this.rig = gltf.scene.userData; // eyes, jaw, camera, lights (scene extras)
      this.neck = this.object.getObjectByName('neck');
      this.eyes = { Left: this.object.getObjectByName('eyeLeft'), Right: this.object.getObjectByName('eyeRight') };
      this.jaw = this.object.getObjectByName('teethLower');
      this.object.traverse((o) => {
        if (o.isMesh && BEHIND_THE_LIPS.has(o.material.name)) behind(o.material);
      });
      const head = this.object.getObjectByName('head');
      const from = head.userData.mouthInsideFrom;
      head.geometry.clearGroups(); // the geometry and materials are shared by every clone: the same groups
      head.geometry.addGroup(0, from, 0);
      head.geometry.addGroup(from, head.geometry.index.count - from, 1);
      if (!Array.isArray(head.material)) head.material = [head.material, behind(head.material.clone())];
      this.root.add(this.object);
    }
    this.object.traverse((o) => {
      for (const m of o.isMesh ? [].concat(o.material) : []) centroid(m);
    });
  }

  // The kinds of colour texture on the model's meshes: "compressed" (KTX2) or "image".
  textures() {
    const kinds = new Set();
    this.object.traverse((o) => {
      for (const m of o.isMesh ? [].concat(o.material) : []) if (m.map) kinds.add(m.map.isCompressedTexture ? 'compressed' : 'image');
    });
    return [...kinds].sort();
  }

  // w(name) -> weight; head = [pitch, yaw, roll] degrees.
  pose(w, head) {
    for (const b of this.bindings) b.mesh.morphTargetInfluences[b.morph] = w(b.name);
    const turn = new THREE.Euler(head[0] * DEG, head[1] * DEG, head[2] * DEG, 'YXZ');
    if (!this.rig) {
      this.root.quaternion.setFromEuler(turn);
      return;
    }
    this.neck.quaternion.setFromEuler(turn);
    const { eyes, jaw } = this.rig;
    // As the renderer turns them (face/rig.py): "in" turns towards the nose.
    for (const [side, inward] of [['Left', -1], ['Right', 1]]) {
      const yaw = (w(`eyeLookIn${side}`) - w(`eyeLookOut${side}`)) * inward * eyes.yawDeg * DEG;
      const pitch = (w(`eyeLookDown${side}`) - w(`eyeLookUp${side}`)) * eyes.pitchDeg * DEG;
      this.eyes[side].quaternion.setFromEuler(new THREE.Euler(pitch, yaw, 0, 'XYZ'));
    }
    // Lower teeth: x' = R(jawOpen·rotvec)(x - pivot) + pivot + Σ weight·slide.
    const axis = new THREE.Vector3(...jaw.rotvec);
    const angle = axis.length() * w('jawOpen');
    this.jaw.quaternion.setFromAxisAngle(axis.normalize(), angle);
    const pivot = new THREE.Vector3(...jaw.pivot);
    const position = pivot.clone().sub(pivot.clone().applyQuaternion(this.jaw.quaternion));
    for (const [name, slide] of Object.entries(jaw.slides)) position.addScaledVector(new THREE.Vector3(...slide), w(name));
    this.jaw.position.copy(position);
  }
}

class Viewer {
  constructor(root, { id, faceUrl, idle }) {
    this.id = id;
    this.idle = idle || 'Generate to see the face move here.'; // what the empty viewer says
    this.faceUrl = faceUrl;
    this.root = root;
    this.stage = root.querySelector('.et-stage');
    this.labels = root.querySelector('.et-labels');
    this.status = root.querySelector('.et-status');
    this.audio = root.querySelector('audio');
    this.button = root.querySelector('.et-play');
    this.scrub = root.querySelector('.et-scrub');
    this.marks = root.querySelector('.et-marks');
    this.timeLabel = root.querySelector('.et-time');
    this.panels = []; // {label, fps, columns, frames: Float32Array, head: Float32Array, count}
    this.models = [];
    this.avatar = null;
    this.shown = { time: 0 };
    this.live = null; // {columns, frames: [{t, w, head}], playhead, wall, trace}
    this.bar = root.querySelector('.et-bar');
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setScissorTest(true);
    if (!ktx2Ready) ktx2.detectSupport(this.renderer).init(); // the transcoder starts while the face downloads
    ktx2Ready = true;
    this.stage.appendChild(this.renderer.domElement);
    this.camera = new THREE.PerspectiveCamera(22, 1, 0.01, 50);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.addEventListener('change', () => this.draw());
    this.button.addEventListener('click', () => (this.audio.paused ? this.audio.play() : this.audio.pause()));
    this.audio.addEventListener('play', () => { this.button.textContent = 'Pause'; this.loop(); });
    this.audio.addEventListener('pause', () => { this.button.textContent = 'Play'; this.draw(); });
    this.audio.addEventListener('loadedmetadata', () => this.showTime());
    this.audio.addEventListener('seeked', () => this.draw());
    this.scrub.addEventListener('input', () => {
      if (Number.isFinite(this.audio.duration)) this.audio.currentTime = (this.scrub.value / 1000) * this.audio.duration;
      this.draw();
    });
    new ResizeObserver(() => this.layout()).observe(this.stage);
    this.say(this.idle);
    this.mountedAt = performance.now();
    this.faceAt = null; // when the resting head was first drawn (state() reports it)
    if (!this.scenes) this.rebuild(); // the resting head at once, before anything plays
  }

  say(text) { this.status.textContent = text; }

  receive(message) {
    if (!message) return;
    const msg = typeof message === 'string' ? JSON.parse(message) : message;
    if ('avatar' in msg) this.avatar = msg.avatar;
    this.refused = msg.refused || null;
    if (msg.panels) {
      this.panels = msg.panels.map((p) => {
        const columns = new Map(p.names.map((n, i) => [n, i]));
        const head = p.head_rotation_deg || p.frames.map(() => [0, 0, 0]);
        return { label: p.label || '', fps: p.fps, columns, count: p.frames.length, width: p.names.length, frames: Float32Array.from(p.frames.flat()), head: Float32Array.from(head.flat()) };
      });
      this.audio.src = msg.audio || '';
      this.scrub.value = 0;
      this.mark(msg.panels.find((p) => p.timeline) || null);
    }
    this.rebuild().then(() => {
      if (msg.panels && msg.audio && msg.autoplay === false) this.say('Press Play to watch it again.');
      else if (msg.panels && msg.audio) this.audio.play().catch(() => this.say('Press Play to start.'));
    });
  }

  // The timeline's rows on the scrubber (none without a timeline); a click on one goes to its time.
  mark(panel) {
    const seconds = panel ? panel.frames.length / panel.fps : 0;
    const rows = panel && seconds > 0 ? panel.timeline.rows : [];
    this.marks.replaceChildren(...rows.map(({ at, prompt }) => {
      const mark = document.createElement('div');
      mark.className = 'et-mark';
      mark.dataset.at = at;
      mark.style.left = `${Math.min(at / seconds, 1) * 100}%`;
      const label = document.createElement('span');
      label.textContent = prompt;
      label.title = `from ${at} s: ${prompt}`;
      label.addEventListener('click', () => {
        this.audio.currentTime = at;
        this.draw();
      });
      mark.appendChild(label);
      return mark;
    }));
  }

  async rebuild() {
    const count = Math.max(1, this.panels.length);
    const avatar = this.avatar;
    const ticket = (this.builds = (this.builds || 0) + 1); // a later message wins over a slower load
    let models;
    try {
      const face = await load(this.faceUrl);
      const gltf = avatar ? await load(avatar.url) : face;
      if (this.loadedAt === undefined) this.loadedAt = performance.now(); // fetched, parsed, transcoded
      if (ticket !== this.builds) return;
      this.rig = face.scene.userData;
      models = Array.from({ length: count }, () => new Model(gltf, avatar));
    } catch (err) {
      if (ticket === this.builds) this.say(`The 3D viewer could not load the ${avatar ? 'avatar' : 'face'}: ${err.message || err}`);
      return;
    }
    this.models = models;
    this.shownAvatar = avatar;
    this.scenes = this.models.map((m) => this.sceneFor(m));
    this.labels.replaceChildren(...this.panels.map((p, i) => {
      const span = document.createElement('span');
      span.textContent = p.label;
      span.style.left = `${((i + 0.5) / count) * 100}%`;
      return span;
    }));
    this.frame();
    this.say(this.describe());
    this.layout();
  }

  describe() {
    if (this.refused) return this.refused;
    const avatar = this.shownAvatar;
    if (!avatar) return this.panels.length ? '' : this.idle;
    const names = avatar.missing.length > 8 ? `${avatar.missing.slice(0, 8).join(', ')}, …` : avatar.missing.join(', ');
    const missing = avatar.missing.length ? ` It lacks ${avatar.missing.length} of the 52 ARKit blendshapes (${names}).` : '';
    const waiting = this.panels.length || this.live ? '' : ` is ready: ${this.idle[0].toLowerCase()}${this.idle.slice(1).replace(/\.$/, '')}`;
    return `Your avatar ${avatar.name}${waiting}.${missing}`;
  }

  sceneFor(model) {
    const scene = new THREE.Scene();
    const rig = this.rig;
    scene.background = new THREE.Color().setRGB(...rig.background, THREE.SRGBColorSpace);
    // The renderer's lights (render/renderer.py). Its ambient term is base·ambient; three.js
    // divides ambient light by π, so it is scaled up by π here.
    scene.add(new THREE.AmbientLight(0xffffff, rig.ambient * Math.PI));
    for (const light of rig.lights) {
      const sun = new THREE.DirectionalLight(new THREE.Color().setRGB(...light.colour, THREE.LinearSRGBColorSpace), light.intensity);
      sun.position.set(...light.from);
      scene.add(sun);
    }
    scene.add(model.root);
    return scene;
  }

  // Camera where the MP4's is, or framing the avatar's face.
  frame() {
    const model = this.models[0];
    if (model.rig) {
      const [x, y, z] = this.rig.camera.position;
      this.camera.fov = this.rig.camera.fovDeg;
      this.camera.position.set(x, y, z);
      this.controls.target.set(x, y, 0);
      this.depthRange(z);
    } else {
      const height = Math.max(model.size.y, model.size.x, 1e-3);
      const distance = (0.55 * height) / Math.tan((this.rig.camera.fovDeg * DEG) / 2) + model.size.z / 2;
      this.camera.fov = this.rig.camera.fovDeg;
      this.camera.position.set(model.focus.x, model.focus.y, model.focus.z + distance);
      this.controls.target.copy(model.focus);
      this.depthRange(distance);
    }
    this.controls.update();
  }

  // Near and far planes about the subject (the renderer's 0.05-5 m for facecap): a wide range
  // lets the mouth cavity show through the cheeks. Zoom stays within them.
  depthRange(distance) {
    this.camera.near = distance / 14;
    this.camera.far = distance * 7;
    this.camera.updateProjectionMatrix();
    this.controls.minDistance = distance / 5;
    this.controls.maxDistance = distance * 4;
  }

  layout() {
    const count = Math.max(1, this.models.length);
    const width = this.stage.clientWidth || 480;
    const height = Math.round(Math.min(width / count, 480) * (count > 1 ? 1.15 : 1));
    this.renderer.setSize(width, height);
    this.camera.aspect = width / count / height;
    this.camera.updateProjectionMatrix();
    this.draw();
  }

  // The pose at audio time t for every panel (linear between frames).
  poseAt(t) {
    this.models.forEach((model, i) => {
      const p = this.panels[i];
      if (!p) return model.pose(() => 0, [0, 0, 0]);
      const f = Math.min(Math.max(t * p.fps, 0), p.count - 1);
      const i0 = Math.floor(f), i1 = Math.min(i0 + 1, p.count - 1), a = f - i0;
      const at = (row, col, width, data) => data[row * width + col];
      const w = (name) => {
        const c = p.columns.get(name);
        return c === undefined ? 0 : at(i0, c, p.width, p.frames) * (1 - a) + at(i1, c, p.width, p.frames) * a;
      };
      model.pose(w, [0, 1, 2].map((k) => at(i0, k, 3, p.head) * (1 - a) + at(i1, k, 3, p.head) * a));
    });
    this.shown = { time: t };
  }

  showTime() {
    const d = this.audio.duration;
    this.timeLabel.textContent = `${clock(this.audio.currentTime)} / ${clock(d)}`;
    if (Number.isFinite(d) && d > 0) this.scrub.value = Math.round((this.audio.currentTime / d) * 1000);
  }

  draw() {
    if (!this.scenes) return;
    if (this.live) this.poseLive(performance.now());
    else this.poseAt(this.audio.currentTime || 0);
    const size = this.renderer.getSize(new THREE.Vector2());
    const edge = (i) => Math.round((i * size.x) / this.scenes.length); // whole pixels: no seam between panels
    this.scenes.forEach((scene, i) => {
      this.renderer.setViewport(edge(i), 0, edge(i + 1) - edge(i), size.y);
      this.renderer.setScissor(edge(i), 0, edge(i + 1) - edge(i), size.y);
      this.renderer.render(scene, this.camera);
    });
    if (this.faceAt === null) this.faceAt = performance.now();
    if (!this.live) this.showTime();
  }

  loop() {
    if (this.looping) return;
    this.looping = true;
    const step = () => {
      this.draw();
      if (this.audio.paused) this.looping = false;
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  liveStart(names, fps, hopS) {
    // A take shown before goes: Stop brings the new one.
    this.audio.pause();
    this.audio.removeAttribute('src');
    this.audio.load();
    this.panels = [];
    this.live = { columns: new Map(names.map((n, i) => [n, i])), fps, hop: Math.min(hopS || LIVE_HOP_S, LIVE_MAX_LAG_S), frames: [], playhead: null, wall: null, trace: (this.liveTrace = []) };
    this.bar.style.display = 'none'; // no clip to play or scrub while live
    const live = this.live;
    const go = () => {
      if (this.live !== live) return; // stopped, or started again, meanwhile
      this.say('Live: the face follows the microphone.');
      this.liveLoop();
    };
    if (this.scenes) go();
    else this.rebuild().then(go);
  }

  livePush(frames) {
    if (!this.live) return;
    for (const f of frames) this.live.frames.push({ t: f.t, w: f.w, head: f.head || [0, 0, 0] });
  }

  liveStop() {
    if (!this.live) return;
    this.live = null;
    this.bar.style.display = '';
    this.say(this.describe());
    this.draw();
  }

  liveLoop() {
    // At the frames' own rate: a 60 Hz screen would draw each pose twice for nothing. One loop
    // per live session: it ends when the session does.
    const live = this.live;
    let last = -Infinity;
    const step = (now) => {
      if (this.live !== live) return;
      if (now - last >= 1000 / (this.live.fps || 30) - 4) {
        last = now;
        this.draw();
      }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  // The jitter buffer: the playhead moves with wall time, is held at the newest frame when it
  // gets there (never ahead of it), catches up gently when more than a hop behind (up to 1.5x
  // speed), and jumps forward when it falls too far behind.
  poseLive(now) {
    const live = this.live;
    const frames = live.frames;
    if (frames.length) {
      const newest = frames[frames.length - 1].t;
      const lag = live.playhead === null ? 0 : newest - live.playhead;
      const rate = 1 + Math.min(0.5, Math.max(0, lag - live.hop) * 2);
      live.playhead = live.playhead === null ? frames[0].t : live.playhead + (rate * (now - live.wall)) / 1000;
      live.playhead = Math.min(live.playhead, newest);
      if (newest - live.playhead > LIVE_MAX_LAG_S) live.playhead = newest - live.hop;
      let drop = 0; // frames behind the playhead are no longer needed
      while (drop + 1 < frames.length && frames[drop + 1].t <= live.playhead) drop++;
      if (drop) frames.splice(0, drop);
    }
    live.wall = now;
    const p = live.playhead;
    const a = frames.length > 1 ? Math.min(Math.max((p - frames[0].t) / (frames[1].t - frames[0].t), 0), 1) : 0;
    const f0 = frames[0], f1 = frames[1] || frames[0];
    const w = (name) => {
      const c = live.columns.get(name);
      return c === undefined || !f0 ? 0 : f0.w[c] * (1 - a) + f1.w[c] * a;
    };
    const head = f0 ? [0, 1, 2].map((k) => f0.head[k] * (1 - a) + f1.head[k] * a) : [0, 0, 0];
    for (const model of this.models) model.pose(w, head);
    this.shown = { time: p === null ? 0 : p };
    const jaw = this.models[0] && this.models[0].bindings.find((b) => b.name === 'jawOpen');
    if (live.trace.length >= LIVE_TRACE) live.trace.splice(0, LIVE_TRACE / 2);
    live.trace.push({ at: now, time: this.shown.time, jawOpen: jaw ? jaw.mesh.morphTargetInfluences[jaw.morph] : null });
  }

  // What the page shows now: read back from the meshes themselves.
  state() {
    return {
      time: this.shown.time,
      live: !!this.live,
      trace: this.liveTrace || [], // {at: performance.now() ms, time, jawOpen} per live draw
      playing: !this.audio.paused,
      duration: this.audio.duration,
      avatar: this.shownAvatar ? this.shownAvatar.name : null,
      status: this.status.textContent,
      mountedAt: this.mountedAt, // performance.now() ms
      loadedAt: this.loadedAt,
      faceAt: this.faceAt,

      panels: this.models.map((m, i) => {
        const influences = {};
        for (const b of m.bindings) if (!(b.name in influences)) influences[b.name] = b.mesh.morphTargetInfluences[b.morph];
        return { label: this.panels[i] ? this.panels[i].label : '', influences, textures: m.textures() };
      }),
    };
  }
}

export function mountViewer(root, options) {
  const viewer = new Viewer(root, options);
  window.expressiveTalkerViewers = window.expressiveTalkerViewers || {};
  window.expressiveTalkerViewers[options.id] = {
    state: () => viewer.state(),
    receive: (message) => viewer.receive(message),
    live: { start: (names, fps, hopS) => viewer.liveStart(names, fps, hopS), push: (frames) => viewer.livePush(frames), stop: () => viewer.liveStop() },
  };
  return viewer;
}
