"""Stage 1: train the disentangling auto-encoder (E_con, E_exp, D) on DTW crossing pairs.

    accelerate launch train/stage1.py --config train/configs/stage1.json [--resume]
    accelerate launch train/stage1.py ... --no-cross      # ablation: w/o cross reconstruction loss
    accelerate launch train/stage1.py ... --no-triplet    # ablation: w/o triplet losses

Writes OUT/stage1/ (config.json, model.safetensors, neutral.npy) for train/stage2.py.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from expressive_talker.models.batches import CorpusTensors, CrossingPairBatches
from expressive_talker.models.io import save_folder
from expressive_talker.models.losses import Stage1Weights, stage1_losses
from expressive_talker.models.two_stage import Stage1, TwoStageConfig
from expressive_talker.training import TrainConfig, add_common_arguments, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--no-cross", action="store_true", help="ablation: drop L_cross")
    parser.add_argument("--no-triplet", action="store_true", help="ablation: drop L_con and L_exp")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads)
    cfg.options.update({k: True for k in ("no_cross", "no_triplet") if getattr(args, k)})

    data = CorpusTensors(cfg.data, "train", audio_backend=None)
    model_cfg = TwoStageConfig(**{**cfg.model, "num_vertices": data.num_vertices})
    model = Stage1(model_cfg)
    weights = Stage1Weights()
    if cfg.options.get("no_cross"):
        weights.cross = 0.0
    if cfg.options.get("no_triplet"):
        weights.con = weights.exp = 0.0
    pairs = CrossingPairBatches(data, cfg.seq_frames)

    def loss_fn(model, x_an, x_bn, x_am, x_bm, step):
        return stage1_losses(model, x_an, x_bn, x_am, x_bm, weights)

    model = train(cfg, "stage1", model, model.parameters(), lambda g: pairs(g, cfg.batch_size), loss_fn, resume=args.resume)
    folder = os.path.join(cfg.out, "stage1")
    save_folder(folder, model, model_cfg, "stage1", {"train": {"steps": cfg.steps, "options": cfg.options}})
    np.save(os.path.join(folder, "neutral.npy"), data.template)
    print(f"stage 1 saved to {folder}")


if __name__ == "__main__":
    main()
