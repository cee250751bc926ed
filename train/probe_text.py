"""How well a text adapter's features name the emotion: a linear probe (the model card's method).

    python train/probe_text.py --adapter weights/ours/text_adapter.safetensors --adapter runs/x/text_adapter.safetensors

A logistic regression is fitted on the adapted features of the training text (the training
descriptions that name one of the eight emotions, with or without the training half of the
everyday phrasings) and scored on text it never saw: the held-out descriptions (words and
sentences), the held-out phrasings, and the dev prompt set (a two-feeling prompt counts as right
when either feeling is named). A cheap stand-in for stage 2's reader: the card shows stage 2
reads prompts about as well as such a probe. Never reads the check set.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def _groups():
    from expressive_talker.data import descriptions as d
    from expressive_talker.data import phrasings as p
    from expressive_talker.face.expressions import EMOTIONS
    from expressive_talker.text.promptsets import load_set

    held_words = [(w, e) for e in EMOTIONS for w in d.words(e, "heldout")]
    held_sentences = [(s, e) for e in EMOTIONS for s in d.sentences(e, "heldout")]
    held_phrasings = [(t, e) for e in EMOTIONS for t in p.phrasings(e, "heldout")]
    dev = [(c.prompt, c.emotions) for c in load_set("dev")]
    return {"heldout words": held_words, "heldout sentences": held_sentences, "heldout phrasings": held_phrasings, "dev": dev}


def probe(adapter: str | None, backend: str = "minilm", seed: int = 0) -> list[dict]:
    """Two probes on one adapter's features: fitted on the training descriptions alone, and on
    them with the training phrasings."""
    from sklearn.linear_model import LogisticRegression

    from expressive_talker.data.descriptions import labelled_descriptions
    from expressive_talker.data.phrasings import labelled_phrasings
    from expressive_talker.face.expressions import EMOTIONS
    from expressive_talker.text.encoders import SentenceEncoder

    encoder = SentenceEncoder(None, adapter, backend)

    def features(texts):
        return encoder.encode(texts, log_notes=False).vectors

    described = sorted({(t, e) for t, e, _ in labelled_descriptions("train") if e in EMOTIONS})
    phrased = sorted({(t, e) for t, e, _ in labelled_phrasings("train")})
    x_described, x_phrased = features([t for t, _ in described]), features([t for t, _ in phrased])
    groups = {name: (items, features([t for t, _ in items])) for name, items in _groups().items()}
    rows = []
    for with_phrasings in (False, True):
        x = np.concatenate([x_described, x_phrased]) if with_phrasings else x_described
        y = [e for _, e in described] + ([e for _, e in phrased] if with_phrasings else [])
        clf = LogisticRegression(max_iter=2000, C=10.0, random_state=seed).fit(x, y)
        row = {"adapter": adapter or "none", "probe trained with phrasings": with_phrasings, "train_texts": len(y)}
        for name, (items, feats) in groups.items():
            predicted = clf.predict(feats)
            right = [p in (want if isinstance(want, tuple) else (want,)) for p, (_, want) in zip(predicted, items)]
            row[name] = round(float(np.mean(right)), 3)
            if name == "dev":
                row["dev misses"] = [f"{t} -> {p}" for (t, _), p, r in zip(items, predicted, right) if not r]
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", action="append", required=True, help="a text_adapter.safetensors ('none' for the plain encoder); repeat to compare")
    parser.add_argument("--backend", default="minilm")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = []
    for adapter in args.adapter:
        for row in probe(None if adapter == "none" else adapter, args.backend):
            results.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "dev misses"}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
