"""ExpCLIP baseline: text-expression alignment, then the EPA-trained speech-driven generator.

    accelerate launch train/expclip.py --config train/configs/expclip.json --save weights/expclip [--resume]

Phase 1 (``options.align_steps`` steps, OUT/align): the blendshape auto-encoder on TEAD pairs
(frames of training clips with descriptions of their expressions, encoded by the frozen text
encoder): cosine embedding loss + self and cross-modal reconstruction.
Phase 2 (``steps`` steps, OUT/generator): the expression encoder frozen; the attention pooling
and the generator trained with Expression Prompt Augmentation, reconstruction, lip-motion
consistency and style losses. Generator windows are decoded frame by frame (``threads: 1``).
Needs the synthetic corpus (ARKit weights).
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import torch

from expressive_talker.models.batches import ClipBatches, CorpusTensors, ExpressionFrameBatches, WeightClipBatches
from expressive_talker.models.expclip import AlignWeights, ExpCLIP, ExpCLIPAnimator, ExpCLIPConfig, GeneratorWeights, alignment_losses, generator_losses
from expressive_talker.models.io import load_state, save_folder
from expressive_talker.training import TrainConfig, add_common_arguments, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--save", help="where to write the trained model folder (default OUT/model)")
    parser.add_argument("--align-steps", type=int, help="phase-1 steps (default options.align_steps)")
    parser.add_argument("--no-epa", action="store_true", help="ablation: no prompt augmentation (λ = 1)")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads)
    if args.align_steps is not None:
        cfg.options["align_steps"] = args.align_steps
    if args.no_epa:
        cfg.options["no_epa"] = True
    align_steps = int(cfg.options.get("align_steps", 2000))
    align_batch = int(cfg.options.get("align_batch_size", 64))

    model_cfg = ExpCLIPConfig(**cfg.model)
    data = CorpusTensors(cfg.data, "train", audio_backend=model_cfg.audio_backend)
    model = ExpCLIP(model_cfg)
    with torch.no_grad():
        from expressive_talker.face.rig import load_rig

        rig = load_rig()
        lip_basis = torch.as_tensor(rig.deltas[:, rig.lip_indices].reshape(len(rig.deltas), -1))

    # Phase 1: alignment. Its own out folder, so checkpoints and --resume stay per phase.
    align_cfg = dataclasses.replace(cfg, out=os.path.join(cfg.out, "align"), steps=align_steps, batch_size=align_batch)
    align_folder = os.path.join(align_cfg.out, "model")
    if args.resume and os.path.isfile(os.path.join(align_folder, "model.safetensors")):
        load_state(align_folder, model)
    else:
        pairs = ExpressionFrameBatches(ClipBatches(data, model_cfg.text_backend, frames=1, seed=cfg.seed))
        auto_encoder = [p for part in (model.encoder, model.decoder) for p in part.parameters()]

        def align_loss(model, frames, text, step):
            return alignment_losses(model, frames, text, AlignWeights())

        model = train(align_cfg, "expclip-align", model, auto_encoder, lambda g: pairs(g, align_batch), align_loss, resume=args.resume)
        save_folder(align_folder, model, model_cfg, "expclip-align")

    # Phase 2: the generator, with the aligned encoder frozen.
    model.encoder.requires_grad_(False)
    model.decoder.requires_grad_(False)
    gen_cfg = dataclasses.replace(cfg, out=os.path.join(cfg.out, "generator"))
    clips = WeightClipBatches(data, cfg.seq_frames)
    weights = GeneratorWeights(**cfg.options.get("loss_weights", {}))
    no_epa = bool(cfg.options.get("no_epa", False))
    trainable = list(model.generator.parameters()) + list(model.pooling.parameters())

    def gen_loss(model, target, audio, random_frames, step):
        model.encoder.eval()  # frozen: no dropout
        lam = torch.ones(len(target), device=target.device) if no_epa else None
        return generator_losses(model, target, audio, random_frames, lip_basis.to(target.device), weights, lam=lam)

    model = train(gen_cfg, "expclip-generator", model, trainable, lambda g: clips(g, cfg.batch_size), gen_loss, resume=args.resume)
    save = args.save or os.path.join(cfg.out, "model")
    ExpCLIPAnimator(model, rig).save_pretrained(save, {"train": {"steps": cfg.steps, "align_steps": align_steps, "options": cfg.options, "data": cfg.data}})
    print(f"model saved to {save}")


if __name__ == "__main__":
    main()
