"""Stage 2: train Audio2Con and Text2Exp in front of the frozen stage-1 decoder.

    accelerate launch train/stage2.py --config train/configs/stage2.json --stage1 runs/ours/stage1 \
        --text-adapter runs/ours/text_adapter.safetensors --save weights/ours
    ... --no-emb            # ablation: w/o feature embedding loss
    ... --end-to-end        # ablation: no stage 1; decoder trained from scratch with the rest
    ... --finetune-decoder  # ablation: the stage-1 decoder is trained further, not frozen
    ... --init weights/ours # fine-tune: start from a saved model folder (no --stage1 needed)
    ... --lip-weight 1 --closed-weight 4   # experiment: extra lip loss, closed-lip frames weighted up
    ... --freeze-text2exp   # experiment: train Audio2Con alone
    ... --phrasing-share 0  # the share of each emotion's prompts taken from the everyday phrasings
                            # (data/phrasings.py; default: the config's options.phrasing_share, else 0)
    ... --init weights/ours --new-text2exp --text-backend mpnet --text-adapter A   # a new text path:
                            # Text2Exp from scratch for another encoder, trained alone (stage 1 and
                            # Audio2Con as in the folder, so the lips stay as they were)

Autoregressive training uses scheduled sampling in two passes: a free-running pass (no
gradient, KV-cached, as at inference) generates every frame from the model's own previous
outputs, then the trained pass sees, for a share of frames growing to all of them, those
generated frames instead of the ground truth as its history. Teacher forcing alone lets
Text2Exp read the expression off the ground-truth history and ignore the text; at inference
that history is its own output, and the face collapsed to the mean expression.
"""

from __future__ import annotations

import argparse
import os

import torch

from expressive_talker.face.rig import load_rig
from expressive_talker.models.batches import ClipBatches, CorpusTensors
from expressive_talker.models.io import config_from_dict, load_state, read_config
from expressive_talker.models.losses import LipIndices, Stage2Weights, stage2_losses
from expressive_talker.models.two_stage import TEXT_ADAPTER_FILE, TwoStageAnimator, TwoStageConfig, TwoStageModel
from expressive_talker.training import TrainConfig, add_common_arguments, train

MAX_SAMPLING = 1.0  # largest share of previous frames replaced by the model's own outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--stage1", help="stage-1 folder written by train/stage1.py, or a trained model folder (its frozen stage 1 is taken)")
    parser.add_argument("--save", help="where to write the trained model folder (default OUT/model)")
    parser.add_argument("--text-backend", help="the text encoder Text2Exp reads (default: the config's options.text_backend, else stage 1's); its adapter must match")
    parser.add_argument("--text-adapter", help="the text encoder's adapter from train/text_adapter.py (saved with the model)")
    parser.add_argument("--no-emb", action="store_true", help="ablation: drop L_emb")
    parser.add_argument("--end-to-end", action="store_true", help="ablation: train the decoder from scratch with the rest")
    parser.add_argument("--finetune-decoder", action="store_true", help="ablation: keep training the stage-1 decoder")
    parser.add_argument(
        "--init",
        help="fine-tune: start from this model folder (save_pretrained output, e.g. weights/ours): its config, all its weights "
        "and, unless --text-adapter is given, its text adapter; scheduled sampling starts at its final share",
    )
    parser.add_argument("--freeze-text2exp", action="store_true", help="train Audio2Con alone (with --init: the lips change, the expression path stays as it was)")
    parser.add_argument("--new-text2exp", action="store_true", help="with --init: a new Text2Exp (for --text-backend, with --text-adapter) trained alone from scratch; stage 1 and Audio2Con stay as in the folder")
    parser.add_argument("--lip-weight", type=float, help="weight of an extra MSE over the lip vertices (default 0: off)")
    parser.add_argument("--closed-weight", type=float, help="in that lip term, frames whose target lips are closed count 1 + this (default 0)")
    parser.add_argument("--phrasing-share", type=float, help="share of each emotion's training prompts drawn from the everyday phrasings (default: the config's options.phrasing_share, else 0)")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads)
    cfg.options.update({k: True for k in ("no_emb", "end_to_end", "finetune_decoder", "freeze_text2exp", "new_text2exp") if getattr(args, k)})
    cfg.options.update({k: getattr(args, k) for k in ("init", "lip_weight", "closed_weight", "text_backend", "phrasing_share") if getattr(args, k) is not None})
    end_to_end = cfg.options.get("end_to_end", False)
    init = cfg.options.get("init")
    new_text2exp = cfg.options.get("new_text2exp", False)
    if new_text2exp and not (init and args.text_adapter):
        parser.error("--new-text2exp needs --init and the new encoder's --text-adapter")
    if init and not args.text_adapter and os.path.isfile(os.path.join(init, TEXT_ADAPTER_FILE)):
        args.text_adapter = os.path.join(init, TEXT_ADAPTER_FILE)  # the model only works with its own text encoder
    if args.text_adapter and not os.path.isfile(args.text_adapter):
        parser.error(f"no text adapter at {args.text_adapter}")
    if sum(bool(x) for x in (end_to_end, args.stage1, init)) != 1:
        parser.error("give exactly one of --stage1, --init and --end-to-end")

    if end_to_end:
        model_cfg = TwoStageConfig(**cfg.model)
    else:
        model_cfg = config_from_dict(TwoStageConfig, read_config(init or args.stage1)["config"])
    if cfg.options.get("text_backend") and (new_text2exp or not init):  # stage 1 reads no text: a new Text2Exp fits any encoder
        from expressive_talker.text import get_text_encoder

        model_cfg.text_backend = cfg.options["text_backend"]
        model_cfg.text_dim = get_text_encoder(model_cfg.text_backend).dim
    data = CorpusTensors(cfg.data, "train", audio_backend=model_cfg.audio_backend)
    model_cfg.num_vertices = data.num_vertices
    model = TwoStageModel(model_cfg)
    if new_text2exp:
        load_state(init, model.stage1, "stage1.")
        load_state(init, model.audio2con, "audio2con.")
    elif init:
        load_state(init, model)
    elif not end_to_end:  # a whole model's stage 1 is the one it was trained on: frozen in stage 2 and the lip fine-tune
        load_state(args.stage1, model.stage1, "stage1." if read_config(args.stage1)["kind"] == "two-stage" else "")

    weights = Stage2Weights(emb=cfg.options.get("emb_weight", Stage2Weights.emb), lip=cfg.options.get("lip_weight", 0.0), closed=cfg.options.get("closed_weight", 0.0))
    if weights.lip and not data.synthetic:
        parser.error("--lip-weight reads the facecap rig's lips: it needs the synthetic corpus")
    lips = LipIndices.of_rig(load_rig()) if weights.lip else None
    if cfg.options.get("no_emb") or end_to_end:  # end to end has no trained encoders to match
        weights.emb = 0.0
    decoder_trains = end_to_end or cfg.options.get("finetune_decoder", False)
    decoder_parts = [model.stage1.dec_in, model.stage1.decoder, model.stage1.dec_out]
    parameters = [] if new_text2exp else list(model.audio2con.parameters())
    if new_text2exp:
        model.audio2con.requires_grad_(False)
    if cfg.options.get("freeze_text2exp"):
        model.text2exp.requires_grad_(False)
    else:
        parameters += list(model.text2exp.parameters())
    if decoder_trains:
        parameters += [p for part in decoder_parts for p in part.parameters()]
    trainable = {id(p) for p in parameters}
    for p in model.stage1.parameters():
        p.requires_grad_(id(p) in trainable)
    # More training descriptions per expression cover more wording: held-out prompts land closer to seen ones.
    prompts = cfg.options.get("prompts_per_expression", 48)
    share = float(cfg.options.get("phrasing_share", 0.0))
    batches = ClipBatches(data, model_cfg.text_backend, frames=cfg.seq_frames, per_expression=prompts, seed=cfg.seed, text_adapter=args.text_adapter, phrasing_share=share)

    def loss_fn(model, target, audio, text, step):
        if not decoder_trains:
            model.stage1.eval()  # frozen: no dropout in the decoder or the encoders
        # A fine-tuned model already runs on its own outputs: no teacher-forced warm-up again (a new Text2Exp needs it).
        share = MAX_SAMPLING if init and not new_text2exp else MAX_SAMPLING * min(1.0, step / max(1, cfg.steps // 2))
        previous = target
        if share > 0:
            with torch.no_grad():
                first_pass = model.free_run(audio, text[:, 0])
            own = torch.rand(target.shape[:2], device=target.device) < share
            previous = torch.where(own[..., None, None], first_pass, target)
        offsets, content, expression = model(previous, audio, text)
        return stage2_losses(model, offsets, content, expression, target, weights, lips)

    model = train(cfg, "stage2", model, parameters, lambda g: batches(g, cfg.batch_size), loss_fn, resume=args.resume)
    save = args.save or os.path.join(cfg.out, "model")
    animator = TwoStageAnimator(model, data.template, text_adapter=args.text_adapter)
    animator.save_pretrained(save, {"train": {"steps": cfg.steps, "options": cfg.options, "data": cfg.data}})
    print(f"model saved to {save}")


if __name__ == "__main__":
    main()
