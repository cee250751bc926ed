"""The training loop shared by every ``train/*.py`` script, on top of 🤗 Accelerate.

The same loop runs on the CPU, one GPU, or several GPUs and machines (``accelerate launch``):
each process draws its own batches (seeded by process), gradients are averaged by Accelerate.
Checkpoints are ``accelerator.save_state`` folders under ``OUT/checkpoints/step-N``; a rerun
with ``--resume`` continues from the newest one. Losses go to TensorBoard under ``OUT/logs``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from tqdm import tqdm


@dataclass
class TrainConfig:
    data: str = "data/corpus"  # corpus folder (python -m expressive_talker.data build)
    out: str = "runs/ours"  # checkpoints, logs and the final model folder
    steps: int = 2000
    batch_size: int = 8
    lr: float = 1e-4
    # Adam's epsilon. Losses on real-sized faces in metres are ~1e-6, so their gradients sit
    # near Adam's default 1e-8 and the updates vanish; a tiny epsilon keeps Adam scale-free.
    adam_eps: float = 1e-8
    seq_frames: int = 90  # training windows (3 s at 30 fps)
    seed: int = 0
    log_every: int = 25
    save_every: int = 500
    threads: int = 0  # torch threads on the CPU; 0 keeps torch's default
    model: dict = field(default_factory=dict)  # overrides of the model's config dataclass
    options: dict = field(default_factory=dict)  # script-specific switches (ablations, paths)

    @classmethod
    def load(cls, path: str | None, **overrides) -> "TrainConfig":
        values = {}
        if path:
            with open(path, encoding="utf-8") as f:
                values = json.load(f)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def add_common_arguments(parser) -> None:
    parser.add_argument("--config", help="JSON file with TrainConfig fields")
    parser.add_argument("--data", help="corpus folder")
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int, dest="batch_size")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")


def _latest_checkpoint(out: str) -> str | None:
    root = os.path.join(out, "checkpoints")
    if not os.path.isdir(root):
        return None
    steps = sorted(int(d.split("-")[1]) for d in os.listdir(root) if d.startswith("step-"))
    return os.path.join(root, f"step-{steps[-1]}") if steps else None


class _Objective(torch.nn.Module):
    """The model and its loss as one module, so that under DDP the forward pass goes through
    the wrapper (which is how DDP knows to average gradients)."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, *batch, step: int = 0):
        return self.loss_fn(self.model, *batch, step=step)


def train(
    cfg: TrainConfig,
    name: str,
    model: torch.nn.Module,
    parameters,
    batches: Callable[[torch.Generator], Iterator[tuple]],
    loss_fn: Callable[..., dict],
    resume: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> torch.nn.Module:
    """Optimise ``loss_fn(model, *batch, step=...)["total"]`` for ``cfg.steps`` steps with Adam
    (β = 0.9, 0.999, as in the paper). Returns the unwrapped model."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration, set_seed

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    # Frozen or loss-dependent parts (stage 2's encoders, ablations) may get no gradient.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    project = ProjectConfiguration(project_dir=cfg.out, logging_dir=os.path.join(cfg.out, "logs"))
    accelerator = Accelerator(log_with="tensorboard", project_config=project, kwargs_handlers=[ddp])
    set_seed(cfg.seed)
    accelerator.init_trackers(name, config={k: v for k, v in asdict(cfg).items() if isinstance(v, (int, float, str, bool))})
    optimizer = torch.optim.Adam(parameters, lr=cfg.lr, betas=(0.9, 0.999), eps=cfg.adam_eps)
    objective, optimizer = accelerator.prepare(_Objective(model, loss_fn), optimizer)

    start = 0
    checkpoint = _latest_checkpoint(cfg.out) if resume else None
    if checkpoint:
        accelerator.load_state(checkpoint)
        start = int(checkpoint.rsplit("-", 1)[1])
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + accelerator.process_index + start)
    stream = batches(generator)

    objective.train()
    bar = tqdm(range(start, cfg.steps), desc=name, disable=not accelerator.is_local_main_process, initial=start, total=cfg.steps)
    started = time.perf_counter()
    for step in bar:
        batch = [t.to(accelerator.device) if torch.is_tensor(t) else t for t in next(stream)]
        losses = objective(*batch, step=step)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(losses["total"])
        optimizer.step()
        if on_step:
            on_step(step)
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            values = {k: float(v.detach()) for k, v in losses.items()}
            accelerator.log(values, step=step + 1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()})
        if (step + 1) % cfg.save_every == 0 or step + 1 == cfg.steps:
            accelerator.save_state(os.path.join(cfg.out, "checkpoints", f"step-{step + 1}"))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    if accelerator.is_main_process:
        with open(os.path.join(cfg.out, f"{name}-time.json"), "w", encoding="utf-8") as f:
            json.dump({"seconds": round(time.perf_counter() - started, 1), "steps": cfg.steps - start, "device": str(accelerator.device)}, f)
    return accelerator.unwrap_model(objective).model
