"""Fixes to Gradio's page itself, installed once by an invisible HTML block.

- Chromium types ``.webm`` files as ``video/webm``, and Gradio's audio upload accepts ``audio/*``
  only: WebM uploads (file picker and drag-and-drop) are re-typed as ``audio/webm`` before Gradio
  checks them.
- Gradio's refusal of other files lists two dozen MIME types; it is reworded to the formats the
  app reads.
- Layout rules a component's own (scoped) CSS cannot express: the Face rig's picture stays in view
  while its sliders scroll.
"""

from __future__ import annotations

import json

import gradio as gr

AUDIO_FORMATS = "wav, mp3, flac, ogg, m4a or webm"

# Gradio's container hides its overflow, which makes it the scroll box a sticky element sticks
# in (and it never scrolls); clipping keeps its edges without that.
PAGE_CSS = """
.gradio-container { overflow: clip; }
#face-rig-picture { position: sticky; top: 8px; align-self: flex-start; }
"""

PAGE_SCRIPT = """
if (!window.expressiveTalkerPage) {
  window.expressiveTalkerPage = true;
  const style = document.createElement('style');
  style.textContent = PAGE_CSS;
  document.head.appendChild(style);
  const isWebm = (f) => f.type === 'video/webm' || (f.type === '' && f.name.toLowerCase().endsWith('.webm'));
  // A copy of the files with WebM typed as audio, or null when there is none.
  const retyped = (files) => {
    const list = Array.from(files || []);
    if (!list.some(isWebm)) return null;
    const out = new DataTransfer();
    for (const f of list) out.items.add(isWebm(f) ? new File([f], f.name, {type: 'audio/webm', lastModified: f.lastModified}) : f);
    return out;
  };
  // Capturing listeners on the document run before Gradio's own on the input or drop zone.
  document.addEventListener('change', (e) => {
    const input = e.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file') return;
    const fixed = retyped(input.files);
    if (fixed) input.files = fixed.files;
  }, true);
  document.addEventListener('drop', (e) => {
    if (e.expressiveTalkerRetyped || !e.dataTransfer) return;
    const fixed = retyped(e.dataTransfer.files);
    if (!fixed) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    const again = new DragEvent('drop', {dataTransfer: fixed, bubbles: true, cancelable: true, clientX: e.clientX, clientY: e.clientY});
    again.expressiveTalkerRetyped = true;
    e.target.dispatchEvent(again);
  }, true);
  // "Invalid file type: x. Only audio/aac, audio/midi, ... allowed." -> the formats we read.
  const reword = (node) => {
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (t.nodeValue.includes('Invalid file type')) t.nodeValue = t.nodeValue.replace(/Only .* allowed\\.?/, 'Use FORMATS.');
    }
  };
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) {
      const node = n.nodeType === 1 ? n : n.nodeType === 3 ? n.parentNode : null;  // a text node may be gone already
      if (node) reword(node);
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: false});
}
""".replace("FORMATS", AUDIO_FORMATS).replace("PAGE_CSS", json.dumps(PAGE_CSS))


def install_page_fixes() -> gr.HTML:
    """An empty HTML block whose load handler installs the fixes above."""
    return gr.HTML("", js_on_load=PAGE_SCRIPT, padding=False, container=False, elem_id="page-fixes")
