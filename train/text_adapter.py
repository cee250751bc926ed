"""Tune the sentence encoder to expression descriptions with a low-rank adapter (LoRA).

    accelerate launch train/text_adapter.py --config train/configs/text_adapter.json --out runs/ours [--text-backend mpnet] [--phrasing-share 0]

Trains on the training descriptions only (data/descriptions.py; held-out ones never) and, for
a share of each batch (options.phrasing_share), the training half of the everyday phrasings
(data/phrasings.py: idioms, slang, emoji, plain face actions), with
two heads on the pooled, normalised embedding: a cosine classifier over what the description
names (8 emotions and the action-level descriptions) and a linear classifier of MEAD's
intensity level, so that "slightly" and "very" stay apart. The heads are thrown away; the
adapter is written to OUT/text_adapter.safetensors, for train/stage2.py --text-adapter.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from expressive_talker.data.descriptions import labelled_descriptions
from expressive_talker.data.phrasings import labelled_phrasings
from expressive_talker.text.adapter import add_adapters, adapter_state
from expressive_talker.text.encoders import SENTENCE_BACKENDS, SentenceEncoder
from expressive_talker.training import TrainConfig, add_common_arguments, train

COSINE_SCALE = 16.0  # logit scale of both heads: on unit vectors, raw logits stay within [-1, 1]
LEVEL_WEIGHT = 0.5  # the intensity head's share of the loss


class DescriptionClassifier(nn.Module):
    """The sentence encoder with adapters, mean pooling and L2 normalisation (as at inference), plus the heads."""

    def __init__(self, encoder: SentenceEncoder, classes: int, levels: int, rank: int):
        super().__init__()
        self.tokenizer, self.bert = encoder._tokenizer, encoder._model
        self.explain = encoder.explain  # rare words read as at inference (text/expansion.py)
        self.max_tokens = encoder.max_tokens
        self.adapters = add_adapters(self.bert, rank)
        dim = self.bert.config.hidden_size
        self.prototypes = nn.Parameter(torch.randn(classes, dim) * 0.05)
        self.level_head = nn.Linear(dim, levels)

    def forward(self, texts: list[str]):
        texts = [self.explain(t)[0] for t in texts]
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        batch = {k: v.to(self.prototypes.device) for k, v in batch.items()}
        tokens = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        embedding = nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1), dim=-1)
        class_logits = COSINE_SCALE * embedding @ nn.functional.normalize(self.prototypes, dim=-1).T
        return class_logits, self.level_head(COSINE_SCALE * embedding)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--text-backend", choices=SENTENCE_BACKENDS, help="the sentence encoder to tune (default: the config's options.text_backend, else minilm)")
    parser.add_argument("--phrasing-share", type=float, help="share of each batch drawn from the everyday phrasings (default: the config's options.phrasing_share, else 0)")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads)
    rank = int(cfg.options.get("rank", 8))
    if args.text_backend:
        cfg.options["text_backend"] = args.text_backend
    if args.phrasing_share is not None:
        cfg.options["phrasing_share"] = args.phrasing_share
    backend = cfg.options.get("text_backend", "minilm")
    share = float(cfg.options.get("phrasing_share", 0.0))

    examples = labelled_descriptions("train")
    # Drawn as a share of their own, so the bank neither swamps the descriptions nor is lost among them.
    phrases = labelled_phrasings("train") if share > 0 else []
    labels = sorted({label for _, label, _ in examples})
    index = {label: i for i, label in enumerate(labels)}
    levels = 1 + max(level for _, _, level in examples)
    torch.manual_seed(cfg.seed)  # the adapters' random start
    model = DescriptionClassifier(SentenceEncoder(backend=backend), len(labels), levels, rank)
    parameters = [*model.adapters, model.prototypes, *model.level_head.parameters()]

    def batches(generator):
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        while True:
            picked = [examples[k] for k in rng.integers(len(examples), size=cfg.batch_size)]
            if share > 0:  # drawn after the descriptions: at share 0 the batches are the shipped adapter's
                for i in np.flatnonzero(rng.random(cfg.batch_size) < share):
                    picked[i] = phrases[rng.integers(len(phrases))]
            yield [t for t, _, _ in picked], torch.tensor([index[c] for _, c, _ in picked]), torch.tensor([lv for _, _, lv in picked])

    def loss_fn(model, texts, classes, levels, step):
        class_logits, level_logits = model(texts)
        name = nn.functional.cross_entropy(class_logits, classes)
        level = nn.functional.cross_entropy(level_logits, levels)
        return {"total": name + LEVEL_WEIGHT * level, "class": name, "level": level}

    model = train(cfg, "text_adapter", model, parameters, batches, loss_fn, resume=args.resume)
    path = os.path.join(cfg.out, "text_adapter.safetensors")
    save_file(adapter_state(model.bert), path)
    print(f"text adapter saved to {path}")


if __name__ == "__main__":
    main()
