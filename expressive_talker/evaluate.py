"""``python -m expressive_talker evaluate``: vertex errors and expression accuracies per method.

For each test clip (action-level clips excluded: they have no emotion label), a method animates
the clip's audio four times:

- with the clip's emotion word ("angry") as the prompt: vertex errors against the clip, FDD,
  and ``acc_label`` (the expression read back from the face is the clip's emotion);
- with a held-out description of the clip's emotion (never seen in training): ``acc_heldout``;
- with a held-out description of another emotion B: ``acc_conflict`` counts faces read as B, not
  as the emotion the voice carries (the paper's disentanglement claim, §7.2, Fig. 8);
- with B's emotion word ("sad") instead: ``acc_conflict_word``. The word is training text, so
  this isolates the disentanglement (does the voice's emotion leak into the face?) from the text
  encoder's reading of unseen wording, which ``acc_conflict`` measures as well.

Methods without text input (FaceFormer) get the errors only; their accuracies are reported as
``null``.
"""

from __future__ import annotations

import json
import time

import numpy as np
from tqdm import tqdm

from .face.expressions import EMOTIONS
from .metrics import fdd, read_emotion, vertex_errors

READOUT_STRIDE = 3  # read the expression every 3rd frame: the same answer, a third of the solves


def _test_clips(data_root: str, split: str, max_clips: int | None, seed: int):
    from .data.dataset import FaceDataset

    ds = FaceDataset(data_root, split=split)
    index = [i for i, e in enumerate(ds.entries) if not e["action"] and e["emotion"] in EMOTIONS]
    if max_clips and len(index) > max_clips:
        index = sorted(np.random.default_rng(seed).choice(index, max_clips, replace=False).tolist())
    return ds, index


def evaluate(methods, data_root: str = "data/corpus", split: str = "test", max_clips: int | None = 120, seed: int = 0, weights_dir: str | None = None, progress: bool = True) -> dict:
    from .audio import FeatureCache, get_speech_encoder, load_audio
    from .data.descriptions import describe
    from .pipeline import WEIGHTS_DIR, load_animator, text_feature

    ds, index = _test_clips(data_root, split, max_clips, seed)
    rig, template, lips, upper = ds.rig, ds.template, ds.lip_indices, ds.rig.upper_face_indices
    cache = FeatureCache()
    results = {}
    for method in methods:
        animator = load_animator(method, weights_dir or WEIGHTS_DIR)
        encoder = get_speech_encoder(animator.audio_backend)
        rng = np.random.default_rng(seed)
        errors, fdds, hits = [], [], {"label": [], "heldout": [], "conflict": [], "conflict_word": []}
        started = time.perf_counter()
        for i in tqdm(index, desc=f"evaluate {method}", disable=not progress):
            e = ds.entries[i]
            gt = ds.vertices(i)
            feats = cache(load_audio(e["wav"]), encoder)
            emotion = e["emotion"]
            other = str(rng.choice([x for x in EMOTIONS if x != emotion]))
            prompts = {"label": emotion, "heldout": describe(emotion, e["level"], rng, split="heldout"), "conflict": describe(other, 3, rng, split="heldout"), "conflict_word": other}
            wanted = {"label": emotion, "heldout": emotion, "conflict": other, "conflict_word": other}

            def run(prompt):
                feature = text_feature(animator, prompt)[0] if animator.uses_text else None
                return animator.animate(feats, feature, frames=len(gt))

            pred = run(prompts["label"])
            errors.append(vertex_errors(pred, gt, lips))
            fdds.append(fdd(pred, gt, template, upper))
            if animator.uses_text:
                hits["label"].append(read_emotion(pred[::READOUT_STRIDE], rig) == emotion)
                for kind in ("heldout", "conflict", "conflict_word"):
                    hits[kind].append(read_emotion(run(prompts[kind])[::READOUT_STRIDE], rig) == wanted[kind])
        row = {k: float(np.mean([x[k] for x in errors])) for k in errors[0]}
        row["fdd"] = float(np.mean(fdds))
        for kind, values in hits.items():
            row[f"acc_{kind}"] = float(np.mean(values)) if values else None
        row["clips"] = len(index)
        row["seconds"] = round(time.perf_counter() - started, 1)
        results[method] = row
    return results


def bench_model(methods, seconds: float = 10.0, repeats: int = 3, weights_dir: str | None = None) -> dict:
    """Frames per second from speech features to vertices for a clip of ``seconds``."""
    from .pipeline import WEIGHTS_DIR, load_animator

    out = {}
    for method in methods:
        animator = load_animator(method, weights_dir or WEIGHTS_DIR)
        rng = np.random.default_rng(0)
        feats = rng.normal(size=(int(seconds * animator.audio_fps), animator.audio_dim)).astype(np.float32)
        text = rng.normal(size=animator.text_dim).astype(np.float32) if animator.uses_text else None
        animator.animate(feats[: int(animator.audio_fps)], text)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            frames = len(animator.animate(feats, text))
            times.append(time.perf_counter() - start)
        best = min(times)
        out[method] = {"frames": frames, "seconds": round(best, 4), "frames_per_second": round(frames / best, 1)}
    return out


def write_json(result: dict, path: str | None) -> str:
    text = json.dumps(result, indent=2)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return text
