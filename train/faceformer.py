"""FaceFormer baseline: train the speech-only transformer decoder on the corpus.

    accelerate launch train/faceformer.py --config train/configs/faceformer.json --save weights/faceformer [--resume]
    ... --teacher-forcing   # FaceFormer's optional teacher-forced training (faster, weaker at inference)

One speaking style per training voice (sorted names, stored in the model's config); new audio
uses the mean style. Trained as published, on its own predictions: each window is decoded
frame by frame through the KV-cached steps, so ``threads: 1`` in the config suits the CPU.
"""

from __future__ import annotations

import argparse
import os

from expressive_talker.models.batches import CorpusTensors, SpeakerClipBatches
from expressive_talker.models.faceformer import FaceFormer, FaceFormerAnimator, FaceFormerConfig, faceformer_loss
from expressive_talker.training import TrainConfig, add_common_arguments, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--save", help="where to write the trained model folder (default OUT/model)")
    parser.add_argument("--teacher-forcing", action="store_true", help="train on ground-truth previous frames")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads)
    if args.teacher_forcing:
        cfg.options["teacher_forcing"] = True
    teacher_forcing = bool(cfg.options.get("teacher_forcing", False))

    model_cfg = FaceFormerConfig(**cfg.model)
    data = CorpusTensors(cfg.data, "train", audio_backend=model_cfg.audio_backend)
    batches = SpeakerClipBatches(data, cfg.seq_frames)
    model_cfg.num_vertices = data.num_vertices
    model_cfg.styles = batches.speakers
    model = FaceFormer(model_cfg)

    def loss_fn(model, target, audio, speaker, step):
        return faceformer_loss(model, target, audio, speaker, teacher_forcing)

    model = train(cfg, "faceformer", model, model.parameters(), lambda g: batches(g, cfg.batch_size), loss_fn, resume=args.resume)
    save = args.save or os.path.join(cfg.out, "model")
    FaceFormerAnimator(model, data.template).save_pretrained(save, {"train": {"steps": cfg.steps, "options": cfg.options, "data": cfg.data}})
    print(f"model saved to {save} (styles: {', '.join(model_cfg.styles)}; default: {model_cfg.default_style})")


if __name__ == "__main__":
    main()
