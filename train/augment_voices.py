"""Vocal-tract/pitch perturbation of the corpus's training clips: each train clip once more, its
audio resampled by a factor a (pitch and formants x a, tempo x a), its motion and phones retimed.
usage: python train/augment_voices.py data/corpus data/corpus-vt   (then the lip fine-tune with --data data/corpus-vt)"""
import json, os, sys, numpy as np, soundfile as sf
from scipy.signal import resample
src, dst = sys.argv[1:3]
os.makedirs(f"{dst}/clips", exist_ok=True)
meta = json.load(open(f"{src}/corpus.json"))
rng = np.random.default_rng(7)
new = []
for cid in meta["clips"]:
    for ext in ("json", "npy", "wav"):
        link = f"{dst}/clips/{cid}.{ext}"
        if not os.path.lexists(link): os.symlink(os.path.abspath(f"{src}/clips/{cid}.{ext}"), link)
    e = json.load(open(f"{src}/clips/{cid}.json"))
    if e["split"] != "train": continue
    a = float(rng.choice([-1, 1]) * rng.uniform(0.08, 0.16) + 1)
    wave, sr = sf.read(f"{src}/clips/{cid}.wav", dtype="float32")
    wave = resample(wave, int(round(len(wave) / a))).astype(np.float32)
    motion = np.load(f"{src}/clips/{cid}.npy")
    T = int(round(len(motion) / a)); t = np.linspace(0, len(motion) - 1, T)
    motion = np.stack([np.interp(t, np.arange(len(motion)), motion[:, k]) for k in range(motion.shape[1])], 1).astype(np.float32)
    nid = f"{cid}-vt{a:.2f}"
    e.update(id=nid, seconds=round(len(wave) / sr, 4), frames=T, phones=[[p, t0 / a, t1 / a] for p, t0, t1 in e["phones"]], voice=e["voice"] + "-vt")
    sf.write(f"{dst}/clips/{nid}.wav", wave, sr); np.save(f"{dst}/clips/{nid}.npy", motion)
    json.dump(e, open(f"{dst}/clips/{nid}.json", "w")); new.append(nid)
meta["clips"] = meta["clips"] + new
json.dump(meta, open(f"{dst}/corpus.json", "w"))
print(len(new), "new clips")
