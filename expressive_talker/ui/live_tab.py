"""The "Live" tab: the visitor's microphone drives the face as they speak, steered by the prompt box.

Everything live happens in the browser (``web/live.js``) and on the app's live route (a WebSocket
on the page's own origin): Gradio's events only hand the buttons and the prompt to the script. The
browser asks for the microphone when Start is pressed, never before. Stop offers the take as files.
"""

from __future__ import annotations

import os

import gradio as gr

from .prompt_reading import add_prompt_reading
from .viewer import WEB_DIR, build_viewer, file_url

LIVE_SCRIPT = os.path.join(WEB_DIR, "live.js")

INTRO = (
    "Press **Start microphone** and talk: the face follows your voice as you speak, a fraction of a "
    "second behind, with the expression you describe. Change the words in the box at any time and the "
    "face moves to the new expression. **Stop** ends the take and offers it: your audio (WAV) and the "
    "animation as JSON, CSV, a Live Link Face take for Unreal, a TalkingHead animation and an animated "
    "`.glb`. Your browser asks for the microphone only when you press Start; the audio goes only to "
    "this app's own server, which keeps the take for an hour so that you can download it."
)

TEMPLATE = """
<div class="et-live">
  <div id="live-status" class="et-live-status" role="status" aria-live="polite"></div>
  <div id="live-take" class="et-live-take"></div>
</div>
"""

CSS = """
.et-live-status { min-height: 1.5em; font-variant-numeric: tabular-nums; }
.et-live-take { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; }
.et-live-take span { flex-basis: 100%; }
.et-live-take a { text-decoration: underline; }
"""

# Mounts live.js once the block is on the page; if it cannot load, the status line says so.
BOOT = """
(async () => {
  const status = element.querySelector('#live-status');
  try {
    const {mountLive} = await import(new URL(props.script, document.baseURI).href);
    mountLive({status, take: element.querySelector('#live-take'), viewerId: 'live-viewer', startButton: 'live-start', stopButton: 'live-stop'});
  } catch (err) {
    status.textContent = `The live face could not start here (${err.message || err}).`;
  }
})();
"""

# The buttons and the prompt box call the script; nothing goes through Gradio's queue.
START = "(text) => { if (window.expressiveTalkerLive) window.expressiveTalkerLive.start(text); }"
STOP = "() => { if (window.expressiveTalkerLive) window.expressiveTalkerLive.stop(); }"
PROMPT = "(text) => { if (window.expressiveTalkerLive) window.expressiveTalkerLive.prompt(text); }"


def build_live_tab(jobs) -> None:
    gr.set_static_paths([LIVE_SCRIPT])  # this one file, not the folder
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Expression", value="calm", placeholder="e.g. furious", max_lines=3, elem_id="live-text")
            add_prompt_reading(jobs, text, elem_id="live-reading")
            with gr.Row():
                start = gr.Button("Start microphone", variant="primary", elem_id="live-start")
                stop = gr.Button("Stop", elem_id="live-stop")
            gr.HTML("", html_template=TEMPLATE, css_template=CSS, js_on_load=BOOT, elem_id="live-panel", script=file_url(LIVE_SCRIPT))
        with gr.Column():
            build_viewer("live", jobs, idle="Press Start microphone and speak to see the face follow you.")
    start.click(None, [text], None, js=START)
    stop.click(None, None, None, js=STOP)
    text.change(None, [text], None, js=PROMPT)
