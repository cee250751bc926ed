"""The "About" tab: a short page for visitors (what it is, how it works in one figure, the
headline numbers, limitations, credits), with the full model card folded away below."""

from __future__ import annotations

import os
import re

import gradio as gr

from ..pipeline import METHOD_LABELS, METHODS, available_methods

ABOUT = """
## What this is

A research demo of **text-guided, audio-driven 3D facial animation**, after Jung, Chun and Noh
(2024), *Audio-Driven Speech Animation with Text-Guided Expression*: give it speech and describe
the expression in your own words ("slightly disgusted", "happy but tired"), and a 3D face speaks
the audio with that expression. Everything runs offline, on a CPU.
"""

HOW = """
## How it works

Stage 1 learns to split facial motion into **content** (what is said) and **expression** (how).
Its decoder is then frozen, and stage 2 learns to predict the two codes from speech
(**Audio2Con**) and from the prompt (**Text2Exp**). A procedural **motion layer** adds blinks,
gaze, head motion and a closed mouth in pauses, the same way for every method.
"""

TIMELINE = """
## An expression that changes, and how much of it

A line can start calm and end furious. Under the prompt in Generate (and Compare), open
**Timeline** and add rows: a time in seconds and a prompt, each with its own "read as". From each
row's time the face eases to the new prompt (over 0.5 s unless you set the ease) in the model's
expression space, the same space Interpolate blends in; the lips keep following the speech, and
the viewer marks each row on its bar. The example *calm → furious at 1.8 s* shows it.
**Expression strength** (0 to 2) asks for less or more of the expression without rewording:
1 is the prompt as read, 0 the neutral face, 2 twice as far from neutral; it leaves the lips alone.
Interpolate's **Sweep** runs α from 0 to 1 across the clip, so one video shows the whole blend.
"""

LIVE = """
## Live

The **Live** tab animates the face from your microphone as you speak: the page streams your audio
to this app's own server over a WebSocket, and the model answers with 30 frames a second, a
fraction of a second behind your voice. Change the prompt mid-sentence and the face eases to the
new expression. Apps and game engines can drive a face from the same stream (see the README).
"""

# The data flow in one figure (inline SVG: no file to serve, nothing to download).
FIGURE = """
<svg viewBox="0 0 760 150" role="img" aria-label="Speech goes through Whisper and Audio2Con to a content code; the prompt goes through MiniLM and Text2Exp to an expression code; the frozen decoder turns both into a face, which the motion layer brings to life" style="width:100%;max-width:760px;font:13px sans-serif">
  <defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>
  <g fill="#eef2f8" stroke="#7a8aa6">
    <rect x="5" y="15" width="90" height="36" rx="6"/><rect x="120" y="15" width="120" height="36" rx="6"/><rect x="265" y="15" width="110" height="36" rx="6"/>
    <rect x="5" y="95" width="90" height="36" rx="6"/><rect x="120" y="95" width="120" height="36" rx="6"/><rect x="265" y="95" width="110" height="36" rx="6"/>
    <rect x="420" y="55" width="120" height="36" rx="6" fill="#dde6f5"/><rect x="565" y="55" width="90" height="36" rx="6"/><rect x="680" y="55" width="75" height="36" rx="6"/>
  </g>
  <g text-anchor="middle" fill="#222">
    <text x="50" y="38">speech</text><text x="180" y="38">Whisper features</text><text x="320" y="38">Audio2Con</text>
    <text x="50" y="118">your words</text><text x="180" y="118">MiniLM + adapter</text><text x="320" y="118">Text2Exp</text>
    <text x="480" y="78">frozen decoder</text><text x="610" y="78">motion layer</text><text x="717" y="78">face</text>
    <text x="400" y="12" fill="#555">content</text><text x="400" y="146" fill="#555">expression</text>
  </g>
  <g stroke="#555" fill="none" marker-end="url(#arrow)">
    <path d="M95,33 H118"/><path d="M240,33 H263"/><path d="M375,33 C400,33 400,66 418,66"/>
    <path d="M95,113 H118"/><path d="M240,113 H263"/><path d="M375,113 C400,113 400,80 418,80"/>
    <path d="M540,73 H563"/><path d="M655,73 H678"/>
  </g>
</svg>
"""

CREDITS = """
## Limitations

- Small models trained on a 2-core CPU on a synthetic corpus (text-to-speech voices, rule-based
  lip motion, FACS-based expressions), not on captured 3D faces: expect plausible, not
  photoreal, motion. English speech works best; lips are looser on real voices than on the
  synthetic ones they learned from.
- Prompts are read by a small sentence encoder: rare words and idioms can be misread, and a
  prompt far from any emotion ("a banana") still maps to *some* expression.
- Blinks, gaze, head motion and the mouth at rest come from the procedural motion layer, not
  from the models (tick *Still face* to see the raw output). One head, no tongue.

## Credits and licences

- **Face model and skin texture**: the *facecap* head with the 52 ARKit blendshapes and its
  texture, by Face Cap (Bannaflak), as distributed with three.js (MIT) inside the `openfacefx`
  package (MIT). Its KTX2 texture is transcoded by Basis Universal (Apache-2.0): `opengl_basisu`
  (MIT) for the video, three.js's transcoder in the page.
- **Speech encoder**: OpenAI Whisper tiny.en (MIT), converted to CTranslate2; voice activity:
  Silero VAD (MIT) as shipped with faster-whisper.
- **Text encoder**: sentence-transformers all-MiniLM-L6-v2 (Apache-2.0).
- **Example voices**: flite 2.2 (CMU, BSD-style), eSpeak NG 1.51 (GPL-3.0; its audio is not
  covered), Festival 2.5 with the CMU ARCTIC slt HTS voice (CMU licence); one real recording,
  CMU ARCTIC a0007 (Carnegie Mellon University, free for any use with its notice). See
  `examples/README.md`.
- Rendering: pyrender (MIT) on OSMesa or EGL; video: FFmpeg via imageio-ffmpeg; in the page,
  three.js (MIT). Captions in DejaVu Sans (Bitstream Vera licence).
"""

# The headline columns of the model card's Table 2, and how they are shown here.
HEADLINE = {
    "Method": "Method",
    "Lip max (mm)": "Lip error, mm (lower is better)",
    "Face max (mm)": "Face error, mm (lower is better)",
    "Acc. held-out text": "Expression from unseen wording (higher is better)",
}


def _card(weights_dir: str) -> str:
    try:
        with open(os.path.join(weights_dir, "README.md"), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def headline_table(card: str) -> str:
    """The Table 2 rows of the model card, cut to the headline columns, as Markdown."""
    found = re.search(r"^### Baselines \(the paper's Table 2\)\s*$(.*?)(?=^#|\Z)", card, flags=re.M | re.S)
    rows = [line for line in (found.group(1) if found else "").splitlines() if line.startswith("|")]
    if len(rows) < 3:
        return "The model card (`weights/README.md`) has no measured results yet."
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    header = cells[0]
    keep = [header.index(name) for name in HEADLINE if name in header]
    lines = ["| " + " | ".join(HEADLINE[header[i]] for i in keep) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(row[i] for i in keep) + " |" for row in cells[2:]]
    return "\n".join(lines)


def measured_section(weights_dir: str) -> str:
    """Which methods have weights here, and the headline numbers measured on them."""
    have = available_methods(weights_dir)
    lines = ["## Measured on the shipped weights", ""]
    lines.append("Trained weights here: " + (", ".join(METHOD_LABELS[m] for m in have) if have else "none yet") + ".")
    missing = [METHOD_LABELS[m] for m in METHODS if m not in have]
    if missing:
        lines.append(f"Not available in this installation: {', '.join(missing)}.")
    lines += ["", headline_table(_card(weights_dir)), "", "Test split of the synthetic corpus; the full card below has every table and how each number is measured."]
    return "\n".join(lines)


def build_about_tab(weights_dir: str) -> None:
    gr.Markdown(ABOUT)
    gr.Markdown(HOW)
    gr.HTML(FIGURE, elem_id="about-figure")
    gr.Markdown(TIMELINE, elem_id="about-timeline")
    gr.Markdown(LIVE)
    gr.Markdown(measured_section(weights_dir), elem_id="about-measured")
    gr.Markdown(CREDITS)
    card = _card(weights_dir)
    if card:
        with gr.Accordion("Full model card (weights/README.md)", open=False, elem_id="about-model-card"):
            gr.Markdown(card)
