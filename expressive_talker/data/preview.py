"""A still grid of a built corpus, to judge its expressions by eye.

One row per emotion; columns: intensity levels 1, 2, 3 (each at a vowel where the expression
is fully on), then a bilabial frame of the strongest clip (the lips must be closed). Frames
come from the corpus's own clips, posed on the rig and rendered with the project renderer.
"""

from __future__ import annotations

import numpy as np

from ..face.expressions import EMOTIONS
from ..face.rig import INDEX
from .dataset import FaceDataset
from .lips import bilabial_frames


def _pick_frame(phones, weights, fps, want_bilabial=False) -> int:
    n_frames = len(weights)
    if want_bilabial:
        cands = list(bilabial_frames(phones, n_frames, fps, min_seconds=0.06))
    else:
        # open vowels in the middle third, where the onset ramp is over
        cands = [int(0.5 * (t0 + t1) * fps) for p, t0, t1 in phones if p in ("aa", "ae", "ah", "ay", "aw", "eh")]
        cands = [m for m in cands if n_frames / 3 <= m <= 2 * n_frames / 3]
    cands = [c for c in cands if c < n_frames] or [n_frames // 2]
    # a still should not catch a blink
    blink = weights[:, INDEX["eyeBlinkLeft"]] - _lid_floor(weights)
    best = int(min(cands, key=lambda c: (blink[c] > 0.3, abs(c - cands[len(cands) // 2]))))
    if blink[best] > 0.3 and not want_bilabial:  # step out of the blink to the nearest open-eyed frame
        open_eyed = np.where(blink <= 0.3)[0]
        if len(open_eyed):
            best = int(open_eyed[np.argmin(np.abs(open_eyed - best))])
    return best


def _lid_floor(weights):
    """The clip's lowest lid closure: the expression's own share, below the blinks."""
    return np.percentile(weights[:, INDEX["eyeBlinkLeft"]], 10)


def render_grid(corpus_dir: str, out_png: str, size: int = 256) -> str:
    """Render the grid to ``out_png`` (PNG) and return its path."""
    from PIL import Image, ImageDraw

    from ..render.renderer import FaceRenderer

    ds = FaceDataset(corpus_dir)
    renderer = FaceRenderer(size, rig=ds.rig)
    rows = []
    for emotion in EMOTIONS:
        by_level = {}
        for i, e in enumerate(ds.entries):
            if e["emotion"] == emotion:
                by_level.setdefault(e["level"], i)
        levels = [0, 0, 0] if emotion == "neutral" else [1, 2, 3]
        cells = []
        for level in levels:
            i = by_level.get(level)
            if i is None:
                cells.append(np.zeros((size, size, 3), np.uint8))
                continue
            w = ds.weights(i)
            f = _pick_frame(ds.entries[i]["phones"], w, ds.fps)
            cells.append(renderer.render(ds.rig.pose(w[f]), w[f]))
        strongest = by_level.get(levels[-1])
        if strongest is not None:
            w = ds.weights(strongest)
            f = _pick_frame(ds.entries[strongest]["phones"], w, ds.fps, want_bilabial=True)
            cells.append(renderer.render(ds.rig.pose(w[f]), w[f]))
        else:
            cells.append(np.zeros((size, size, 3), np.uint8))
        rows.append((emotion, np.concatenate(cells, axis=1)))
    renderer.close()
    label_w = 110
    grid = np.concatenate([r for _, r in rows], axis=0)
    img = Image.new("RGB", (grid.shape[1] + label_w, grid.shape[0] + 24), "white")
    img.paste(Image.fromarray(grid), (label_w, 24))
    draw = ImageDraw.Draw(img)
    for k, title in enumerate(["level 1", "level 2", "level 3", "p/b/m (level 3)"]):
        draw.text((label_w + k * size + 8, 6), title, fill="black")
    for k, (emotion, _) in enumerate(rows):
        draw.text((8, 24 + k * size + size // 2), emotion, fill="black")
    img.save(out_png)
    return out_png
