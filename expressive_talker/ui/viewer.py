"""The in-page 3D viewer of the Generate, Interpolate and Compare tabs, and "your own avatar".

three.js comes from npm (``expressive_talker/ui/web/package.json``; ``make setup`` installs it
into ``web/node_modules``) and is served by the app itself: only the files named in
``VENDOR_FILES``, the viewer's own script and the facecap head written for it
(``render/viewer_face.py``) are served, never the whole folder. Without them the viewer says so in
one line and the video works as before.

A tab's button first computes the animation (``/animate``: the ARKit curves and head track), and
a browser-side step hands it with the speech to the viewer, which plays it at once; the MP4
follows from the same animation. The viewer's messages are described in ``web/viewer.js``.
"""

from __future__ import annotations

import json
import os
import urllib.parse

import gradio as gr

from ..errors import InputError
from ..face.avatar import AVATAR_SUFFIXES, read_avatar

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
THREE_DIR = os.path.join(WEB_DIR, "node_modules", "three")
VIEWER_SCRIPT = os.path.join(WEB_DIR, "viewer.js")
# What viewer.js imports, and three.js's licence; nothing else of node_modules is served.
VENDOR_FILES = (
    "build/three.module.js",
    "build/three.core.js",
    "examples/jsm/loaders/GLTFLoader.js",
    "examples/jsm/utils/BufferGeometryUtils.js",
    "examples/jsm/utils/SkeletonUtils.js",
    "examples/jsm/controls/OrbitControls.js",
    "examples/jsm/libs/meshopt_decoder.module.js",
    "examples/jsm/loaders/KTX2Loader.js",
    "examples/jsm/utils/WorkerPool.js",
    "examples/jsm/libs/ktx-parse.module.js",
    "examples/jsm/libs/zstddec.module.js",
    "examples/jsm/math/ColorSpaces.js",
    "examples/jsm/libs/basis/basis_transcoder.js",
    "examples/jsm/libs/basis/basis_transcoder.wasm",
    "LICENSE",
)
MISSING_NOTE = "The 3D viewer is off: three.js is not installed here (run make setup, which runs npm). The video below works as usual."


def vendor_paths() -> list[str] | None:
    """Absolute paths of the three.js files the viewer needs, or None when any is missing."""
    paths = [os.path.join(THREE_DIR, *name.split("/")) for name in VENDOR_FILES]
    return paths if all(os.path.isfile(p) for p in paths) else None


def file_url(path: str) -> str:
    """The URL, relative to the page, at which Gradio serves a file it may serve."""
    return "gradio_api/file=" + urllib.parse.quote(os.path.abspath(path))


TEMPLATE = """
<div class="et-viewer">
  <div class="et-frame"><div class="et-stage"></div><div class="et-labels"></div></div>
  <div class="et-bar">
    <button class="et-play" type="button">Play</button>
    <div class="et-track">
      <input class="et-scrub" type="range" min="0" max="1000" value="0" aria-label="Position in the clip">
      <div class="et-marks"></div>
    </div>
    <span class="et-time">0:00 / 0:00</span>
  </div>
  <div class="et-status"></div>
  <audio preload="auto"></audio>
</div>
"""

CSS = """
.et-frame { position: relative; width: 100%; }
.et-stage { width: 100%; min-height: 120px; }
.et-stage canvas { display: block; border-radius: 6px; touch-action: none; }
.et-labels span { position: absolute; top: 6px; transform: translateX(-50%); padding: 1px 8px; border-radius: 4px;
  background: rgba(255, 255, 255, 0.8); color: #222; font-size: 14px; pointer-events: none; }
.et-labels span:empty { display: none; }
.et-bar { display: flex; align-items: center; gap: 8px; margin-top: 6px; }
.et-bar .et-track { flex: 1; position: relative; }
.et-track .et-scrub { width: 100%; margin: 0; display: block; }
/* A timeline's rows: a tick across the bar at each row's time, its prompt under it (click: go there).
   Inset by half the range thumb, so a tick sits where the thumb is at that time. */
.et-marks { position: relative; height: 16px; margin: 0 8px; }
.et-marks:empty { display: none; }
.et-mark { position: absolute; top: -12px; height: 26px; border-left: 2px solid #d9822b; margin-left: -1px; pointer-events: none; }
.et-mark span { position: absolute; top: 12px; left: 3px; max-width: 9em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-size: 11px; line-height: 14px; cursor: pointer; pointer-events: auto; color: var(--body-text-color); }
.et-bar .et-play { min-width: 64px; padding: 2px 10px; border: 1px solid var(--border-color-primary); border-radius: 4px; }
.et-time { font-variant-numeric: tabular-nums; font-size: 13px; }
.et-status { font-size: 13px; margin-top: 4px; color: var(--body-text-color-subdued); }
"""

# Runs once per viewer: an import map names three.js for the add-ons' `import ... from 'three'`,
# then viewer.js mounts and follows the component's value.
BOOT = """
(async () => {
  // Without a viewer, one line says why; the bar and the empty stage go.
  const off = (text) => {
    for (const part of element.querySelectorAll('.et-frame, .et-bar')) part.remove();
    element.querySelector('.et-status').textContent = text;
  };
  if (!props.vendor) return off(props.missing_note);
  const at = (url) => new URL(url, document.baseURI).href;
  if (!document.querySelector('script[data-expressive-talker-three]')) {
    const map = document.createElement('script');
    map.type = 'importmap';
    map.dataset.expressiveTalkerThree = '';
    map.textContent = JSON.stringify({imports: {three: at(props.vendor.three)}});
    document.head.appendChild(map);
  }
  try {
    const {mountViewer} = await import(at(props.vendor.viewer));
    const viewer = mountViewer(element, {id: props.viewer_id, faceUrl: at(props.face), idle: props.idle});
    watch('value', () => viewer.receive(props.value));
    if (props.value) viewer.receive(props.value);
  } catch (err) {
    off(`The 3D viewer could not start (${err.message || err}). The video below works as usual.`);
  }
})();
"""

# The browser-side step after /animate: the curves (one animation, or {"panels": [...]}) and the
# speech the visitor gave, for the viewer.
FEED = "(curves, audio) => JSON.stringify({audio: audio ? audio.url : null, panels: curves.panels || [curves]})"


def build_viewer(tab: str, jobs, idle: str = "") -> gr.HTML:
    """The viewer (elem_id ``{tab}-viewer``) and, below it, the upload for your own avatar
    (``{tab}-avatar``). ``jobs`` writes the facecap head the viewer draws (``Jobs.viewer_face``),
    and the viewer lights an avatar by it too. ``idle``: what it says before anything plays."""
    face_path = jobs.viewer_face()  # now (about 1 s, once): a cached example plays before any job has run
    vendor = vendor_paths()
    props = {"vendor": None, "face": file_url(face_path), "viewer_id": f"{tab}-viewer", "missing_note": MISSING_NOTE, "idle": idle}
    if vendor is not None:
        gr.set_static_paths([*vendor, VIEWER_SCRIPT, face_path])
        props["vendor"] = {"three": file_url(vendor[0]), "viewer": file_url(VIEWER_SCRIPT)}
    viewer = gr.HTML("", html_template=TEMPLATE, css_template=CSS, js_on_load=BOOT, elem_id=f"{tab}-viewer", **props)
    label = "Your own avatar (optional): a .glb or .vrm with ARKit blendshapes"
    avatar = gr.File(label=label, file_types=list(AVATAR_SUFFIXES), elem_id=f"{tab}-avatar", visible=vendor is not None)

    # A refused file is cleared, and the viewer says why in its own line (no "Error" over it).
    avatar.upload(avatar_message, avatar, [viewer, avatar], api_name=False)
    avatar.clear(lambda: json.dumps({"avatar": None}), None, viewer, api_name=False)
    return viewer


def avatar_message(path) -> tuple[str, str | None]:
    """An uploaded avatar -> (the viewer's message, the upload kept); a file it cannot drive ->
    the facecap head back, the reason for the viewer to show, and the upload cleared."""
    if not path:
        return json.dumps({"avatar": None}), None
    try:
        morphs = read_avatar(path)
    except InputError as exc:
        return json.dumps({"avatar": None, "refused": f"Not used as your avatar: {exc}"}), None
    if morphs.missing:
        gr.Warning(f"Your avatar has {len(morphs.found)} of the 52 ARKit blendshapes; it lacks {', '.join(morphs.missing)}.")
    return json.dumps({"avatar": {"url": file_url(path), "name": os.path.basename(path), **morphs.to_json()}}), path
