"""Build the synthetic emotional talking-face corpus (a stand-in for MEAD reconstructions).

On-disk format (version 1), everything under one folder DIR::

    DIR/corpus.json          index: format, version, fps, sample_rate, seed, blendshape names,
                             the ordered clip ids and the build settings; written when a build ends
    DIR/clips/<id>.wav       16 kHz mono PCM-16 speech
    DIR/clips/<id>.npy       float32 (T, 52) ARKit weights at 30 fps, columns in ARKIT_NAMES order,
                             T = round(seconds * 30); vertices come from ``rig.pose`` when loaded
    DIR/clips/<id>.json      metadata: id, sentence_id, text, split, voice, engine, emotion,
                             level (0 neutral, 1-3 MEAD intensity), action (AU combination name or
                             null; then emotion is "action"), aus (the AU strengths used), prosody,
                             seconds, frames, phones [[phone, start_s, end_s], ...]

A clip's .json is written last (atomically), so a clip is finished exactly when its .json
exists: a rerun skips finished clips and redoes half-written ones. Every clip draws its random
numbers from (seed, clip id), so the result does not depend on the order or the number of
workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from ..audio.io import SAMPLE_RATE
from ..face.expressions import EMOTION_AUS, EMOTIONS, INTENSITY_SCALE
from ..face.rig import ARKIT_NAMES
from .sentences import SENTENCES
from .tts import HELD_OUT_VOICES, VOICES

FORMAT = "expressive-talker-corpus"
VERSION = 1
FPS = 30
VOICES_PER_SENTENCE = 2
EMOTIONS_PER_GROUP = 4  # non-neutral emotions per (sentence, voice), besides neutral
ACTION_RATE = 0.3  # share of (sentence, voice) groups that also get one action-level clip
TEST_SHARE, VAL_SHARE = 0.15, 0.085  # by sentence: 85/15 as in the paper, validation out of the 85


def _hash01(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16) / 16**12


def split_of(sentence: str) -> str:
    """train / val / test, fixed by the sentence text alone (stable if the list grows)."""
    u = _hash01("split:" + sentence)
    return "test" if u < TEST_SHARE else "val" if u < TEST_SHARE + VAL_SHARE else "train"


@dataclass(frozen=True)
class ClipSpec:
    id: str
    sentence_id: int
    voice: str
    emotion: str  # one of EMOTIONS, or "action"
    level: int
    action: str | None = None
    aus: dict = field(default_factory=dict, hash=False, compare=False)


def plan(seed: int = 0) -> list[ClipSpec]:
    """Every clip of the default corpus, grouped by sentence then voice (a prefix is a small corpus)."""
    from .descriptions import ACTIONS

    rng = np.random.default_rng(seed)
    train_voices = [v for v in VOICES if v not in HELD_OUT_VOICES]
    others = [e for e in EMOTIONS if e != "neutral"]
    actions = sorted(ACTIONS)
    specs: list[ClipSpec] = []
    for sid, text in enumerate(SENTENCES):
        if split_of(text) == "test":  # the held-out voices speak only test sentences
            voices = [str(rng.choice(train_voices)), str(rng.choice(HELD_OUT_VOICES))]
        else:
            voices = [str(v) for v in rng.choice(train_voices, VOICES_PER_SENTENCE, replace=False)]
        for voice in voices:
            base = f"s{sid:03d}-{voice}"
            specs.append(ClipSpec(f"{base}-neutral-0", sid, voice, "neutral", 0))
            for emo in rng.choice(others, EMOTIONS_PER_GROUP, replace=False):
                level = int(rng.integers(1, 4))
                specs.append(ClipSpec(f"{base}-{emo}-{level}", sid, voice, str(emo), level))
            if rng.random() < ACTION_RATE:
                act = str(rng.choice(actions))
                specs.append(ClipSpec(f"{base}-action-{act.replace(' ', '_')}", sid, voice, "action", 2, act, ACTIONS[act][0]))
    return specs


def _clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(hashlib.sha1(clip_id.encode()).hexdigest()[:15], 16)])


def clip_paths(root: str, clip_id: str) -> tuple[str, str, str]:
    base = os.path.join(root, "clips", clip_id)
    return base + ".wav", base + ".npy", base + ".json"


def _prosody(spec: ClipSpec, rng: np.random.Generator):
    from .performance import prosody_for

    # Actions keep a neutral voice: the face, not the audio, carries them.
    return prosody_for("neutral" if spec.action else spec.emotion, 0 if spec.action else spec.level, rng)


def _perform(spec: ClipSpec, phones, wave, rng: np.random.Generator, seal_overshoot: float = 0.0, jaw_scale: float = 1.0) -> np.ndarray:
    from .performance import perform

    emotion_for_style = "neutral" if spec.action else spec.emotion
    return perform(phones, wave, emotion_for_style, 0 if spec.action else spec.level, rng, FPS, aus=spec.aus if spec.action else None, seal_overshoot=seal_overshoot, jaw_scale=jaw_scale)


def build_clip(spec: ClipSpec, root: str, seed: int) -> float:
    """Synthesize, animate and store one clip; returns its length in seconds."""
    from .tts import synthesize

    rng = _clip_rng(seed, spec.id)
    text = SENTENCES[spec.sentence_id]
    prosody = _prosody(spec, rng)
    wave, phones = synthesize(text, spec.voice, prosody)
    aus = spec.aus if spec.action else EMOTION_AUS[spec.emotion]
    weights = _perform(spec, phones, wave, rng)
    wav_path, npy_path, json_path = clip_paths(root, spec.id)
    sf.write(wav_path, wave, SAMPLE_RATE, subtype="PCM_16")
    np.save(npy_path, weights.astype(np.float32))
    strength = 1.0 if spec.action else INTENSITY_SCALE[spec.level]
    meta = {
        "id": spec.id, "sentence_id": spec.sentence_id, "text": text, "split": split_of(text),
        "voice": spec.voice, "engine": VOICES[spec.voice].engine, "emotion": spec.emotion,
        "level": spec.level, "action": spec.action,
        "aus": {k: round(v * strength, 4) for k, v in aus.items()},
        "prosody": {k: round(v, 4) for k, v in vars(prosody).items()},
        "seconds": round(len(wave) / SAMPLE_RATE, 4), "frames": int(len(weights)), "fps": FPS,
        "phones": [[p, t0, t1] for p, t0, t1 in phones],
    }  # fmt: skip
    tmp = json_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f)
    os.replace(tmp, json_path)
    return meta["seconds"]


def _work(args):
    spec, root, seed = args
    try:
        return spec.id, build_clip(spec, root, seed), None
    except Exception as exc:  # noqa: BLE001 - reported per clip, the build goes on
        return spec.id, 0.0, f"{type(exc).__name__}: {exc}"


def _init_worker():
    # One BLAS thread per worker: the work is many small arrays, and 2 workers share 2 cores.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def build(root: str, clips: int | None = None, seed: int = 0, workers: int = 2, progress: bool = True) -> dict:
    """Build (or finish building) the corpus in ``root``; returns the index written to corpus.json."""
    from tqdm import tqdm

    specs = plan(seed)
    if clips is not None:
        if clips < 1:
            raise ValueError("--clips must be at least 1")
        specs = specs[:clips]
    os.makedirs(os.path.join(root, "clips"), exist_ok=True)
    index_path = os.path.join(root, "corpus.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            old = json.load(f)
        if old.get("seed") != seed:
            raise ValueError(f"{root} holds a corpus built with seed {old.get('seed')}; use that seed or another folder")
    todo = [s for s in specs if not os.path.exists(clip_paths(root, s.id)[2])]
    started = time.time()
    failures = []
    bar = tqdm(total=len(specs), initial=len(specs) - len(todo), unit="clip", desc="corpus", disable=not progress)
    jobs = [(s, root, seed) for s in todo]
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
            for cid, _, err in pool.imap_unordered(_work, jobs, chunksize=4):
                bar.update(1)
                if err:
                    failures.append((cid, err))
    else:
        for job in jobs:
            cid, _, err = _work(job)
            bar.update(1)
            if err:
                failures.append((cid, err))
    bar.close()
    if failures:
        shown = "; ".join(f"{c}: {e}" for c, e in failures[:3])
        raise RuntimeError(f"{len(failures)} clip(s) failed (rerun to retry them): {shown}")
    index = {
        "format": FORMAT, "version": VERSION, "fps": FPS, "sample_rate": SAMPLE_RATE, "seed": seed,
        "blendshapes": list(ARKIT_NAMES), "clips": [s.id for s in specs],
        "build_seconds_last_run": round(time.time() - started, 1), "clips_built_last_run": len(todo),
    }  # fmt: skip
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=1)
    os.replace(index_path + ".tmp", index_path)
    return index


def rebuild_lips(src: str, out: str, seal_overshoot: float = 0.0, jaw_scale: float = 1.0, progress: bool = True) -> dict:
    """A copy of the built corpus ``src`` in ``out`` whose ARKit curves are performed again from
    each clip's stored audio and phones, with stronger bilabial closures (``seal_overshoot``, see
    ``lips.seal_weight``) and/or every jaw opening times ``jaw_scale``. Audio and metadata are
    hard-linked (copied across file systems), so cached speech features still apply; each clip
    replays its own random numbers, so everything else stays as built (0 and 1 reproduce the
    source up to the audio's 16-bit rounding).

    The shipped lip fine-tune trains on ``jaw_scale=1.15``: a model fitted to the corpus lips
    opens the mouth less than they do (0.95 of them on held-out synthetic speech, 0.91 on real
    speech; weights/README.md), and a wider teacher makes up for it. The default corpus,
    stage 1, stage 2 and the test split's ground truth stay ``build``'s."""
    import shutil

    from tqdm import tqdm

    if seal_overshoot < 0:
        raise ValueError("--seal-overshoot must be at least 0")
    if not 0.5 <= jaw_scale <= 2.0:
        raise ValueError("--jaw-scale must be between 0.5 and 2")
    index_path = os.path.join(src, "corpus.json")
    if not os.path.exists(index_path):
        raise FileNotFoundError(f"{src} holds no finished corpus (corpus.json is missing)")
    if os.path.abspath(src) == os.path.abspath(out):
        raise ValueError("--out must be another folder than the source corpus")
    with open(index_path) as f:
        index = json.load(f)
    specs = {s.id: s for s in plan(index["seed"])}
    os.makedirs(os.path.join(out, "clips"), exist_ok=True)
    for cid in tqdm(index["clips"], desc="lips", unit="clip", disable=not progress):
        wav_src, _, json_src = clip_paths(src, cid)
        wav_dst, npy_dst, json_dst = clip_paths(out, cid)
        with open(json_src) as f:
            meta = json.load(f)
        rng = _clip_rng(index["seed"], cid)
        _prosody(specs[cid], rng)  # the build drew the prosody first: replay it
        wave, _ = sf.read(wav_src, dtype="float32")
        phones = [(p, t0, t1) for p, t0, t1 in meta["phones"]]
        np.save(npy_dst, _perform(specs[cid], phones, wave, rng, seal_overshoot, jaw_scale).astype(np.float32))
        for a, b in ((wav_src, wav_dst), (json_src, json_dst)):
            if os.path.exists(b):
                os.remove(b)
            try:
                os.link(a, b)
            except OSError:
                shutil.copyfile(a, b)
    index = {**index, "lips": {"seal_overshoot": seal_overshoot, "jaw_scale": jaw_scale, "from": os.path.abspath(src)}}
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


def read_metadata(root: str) -> list[dict]:
    """The metadata of every finished clip, in index order (or file order without an index)."""
    index_path = os.path.join(root, "corpus.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            ids = json.load(f)["clips"]
    else:
        folder = os.path.join(root, "clips")
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{root} is not a corpus folder (no corpus.json, no clips/)")
        ids = sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json"))
    out = []
    for cid in ids:
        path = clip_paths(root, cid)[2]
        if os.path.exists(path):
            with open(path) as f:
                out.append(json.load(f))
    return out


def stats(root: str) -> dict:
    """Counts and hours of a built corpus."""
    metas = read_metadata(root)
    per_emotion = {e: 0 for e in EMOTIONS + ["action"]}
    per_level: dict[str, int] = {}
    splits: dict[str, dict] = {}
    for m in metas:
        per_emotion[m["emotion"]] = per_emotion.get(m["emotion"], 0) + 1
        per_level[str(m["level"])] = per_level.get(str(m["level"]), 0) + 1
        s = splits.setdefault(m["split"], {"clips": 0, "seconds": 0.0, "sentences": set()})
        s["clips"] += 1
        s["seconds"] += m["seconds"]
        s["sentences"].add(m["sentence_id"])
    groups: dict[tuple, set] = {}
    for m in metas:
        groups.setdefault((m["sentence_id"], m["voice"]), set()).add(m["emotion"])
    seconds = sum(m["seconds"] for m in metas)
    return {
        "clips": len(metas),
        "seconds": round(seconds, 1),
        "hours": round(seconds / 3600, 3),
        "frames": int(sum(m["frames"] for m in metas)),
        "sentences": len({m["sentence_id"] for m in metas}),
        "voices": sorted({m["voice"] for m in metas}),
        "engines": sorted({m["engine"] for m in metas}),
        "per_emotion": per_emotion,
        "per_level": dict(sorted(per_level.items())),
        "splits": {k: {"clips": v["clips"], "seconds": round(v["seconds"], 1), "sentences": len(v["sentences"])} for k, v in sorted(splits.items())},
        "min_emotions_per_sentence_voice": min((len(v) for v in groups.values()), default=0),
        "mean_clip_seconds": round(seconds / max(len(metas), 1), 3),
    }
