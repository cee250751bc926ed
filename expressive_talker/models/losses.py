"""The paper's losses (§5.2 and §6.1), with its default weights.

Offsets are in metres and reconstruction terms are mean squared errors over coordinates, the
paper's setting; the reconstruction errors of a real-sized face are tiny, which is why the
triplet weights are so small (1e-6, the paper's) and the embedding weight smaller still (1e-4 in
the paper, 1e-7 here, see Stage2Weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.lips import CLOSED_GAP_MM

TRIPLET_MARGIN = 1.0


@dataclass
class Stage1Weights:
    self_: float = 1.0
    cross: float = 1.0
    con: float = 1e-6
    exp: float = 1e-6


@dataclass
class Stage2Weights:
    face: float = 1.0
    # The paper's 1e-4, rescaled for this corpus: our features' L1 distances are ~0.3-1 while the
    # face MSE is ~3e-7-1e-6 m². At 1e-4 this self-consistency term outweighed L_face and pulled
    # Text2Exp and Audio2Con to the mean face (constant output, chance accuracy); at 1e-6 it was
    # still a quarter of the loss at the end of training, and validation lip error and held-out
    # accuracy were worse than without it (4.28 mm, 0.73 against 4.03 mm, 0.80). At 1e-7 it is
    # ~10% of the loss, an aid rather than a second target (3.99 mm, 0.80).
    emb: float = 1e-7
    # Optional lip emphasis (0 = the paper's L_face alone): an extra MSE over the lip vertices,
    # with the frames whose target lips are closed (p/b/m closures, and the mouth at rest)
    # weighted (1 + closed) times. Plain MSE regresses the short p/b/m closures towards the
    # open frames around them, so the lips stop a millimetre or two short of touching.
    lip: float = 0.0
    closed: float = 0.0


@dataclass
class LipIndices:
    """Vertex indices the lip term reads: all lip vertices, and the midline inner-edge pairs
    whose vertical distance is the lip gap (``data.lips.LipGap(rig, midline=True)``)."""

    lips: torch.Tensor
    upper: torch.Tensor
    lower: torch.Tensor

    @classmethod
    def of_rig(cls, rig) -> "LipIndices":
        from ..data.lips import LipGap

        gap = LipGap(rig, midline=True)
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
        return cls(as_tensor(rig.lip_indices), as_tensor(gap.upper), as_tensor(gap.lower))

    def closed(self, offsets: torch.Tensor) -> torch.Tensor:
        """(B,T,V,3) offsets from the closed neutral face -> (B,T) bool: lips closed."""
        gap = (offsets[..., self.upper, 1] - offsets[..., self.lower, 1]).mean(-1)
        return gap <= CLOSED_GAP_MM / 1000  # the benchmark's closed lips (lipsync/metrics.py), in metres


def lip_loss(offsets, target, lips: LipIndices, closed_weight: float = 0.0):
    """MSE over the lip vertices, each frame weighted 1 + closed_weight where the target's lips
    are closed (normalised by the weights, so it stays on L_face's scale)."""
    err = (offsets[..., lips.lips, :] - target[..., lips.lips, :]).pow(2).mean((-1, -2))  # (B,T)
    w = 1.0 + closed_weight * lips.closed(target).to(err.dtype)
    return (w * err).sum() / w.sum()


def triplet(anchor, positive, negative, margin: float = TRIPLET_MARGIN):
    """max(0, ||a-p||² - ||a-n||² + margin), averaged over the batch. Features are (B,D)."""
    d_pos = (anchor - positive).pow(2).sum(-1)
    d_neg = (anchor - negative).pow(2).sum(-1)
    return F.relu(d_pos - d_neg + margin).mean()


def stage1_losses(model, x_an, x_bn, x_am, x_bm, weights: Stage1Weights) -> dict:
    """The four crossing pairs (B,T,V,3): contents a/b, expressions n/m, time-aligned.

    L_self reconstructs X_a,n and X_b,m; L_cross decodes swapped features into the pseudo ground
    truths X_a,m and X_b,n. The content triplets compare time-aligned per-frame features (same
    content, same timing); the expression triplets compare features averaged over time (the
    expression of a clip is steady while its content changes).
    """
    con = {k: model.encode_content(x) for k, x in (("an", x_an), ("bn", x_bn), ("am", x_am), ("bm", x_bm))}
    exp = {k: model.encode_expression(x) for k, x in (("an", x_an), ("bn", x_bn), ("am", x_am), ("bm", x_bm))}
    l_self = F.mse_loss(model.decode(con["an"], exp["an"]), x_an) + F.mse_loss(model.decode(con["bm"], exp["bm"]), x_bm)
    l_cross = F.mse_loss(model.decode(con["an"], exp["bm"]), x_am) + F.mse_loss(model.decode(con["bm"], exp["an"]), x_bn)
    flat = lambda f: f.flatten(1) / f.shape[1] ** 0.5  # noqa: E731  (per-frame distances, averaged over frames)
    mean = lambda f: f.mean(1)  # noqa: E731
    l_con = triplet(flat(con["an"]), flat(con["am"]), flat(con["bn"])) + triplet(flat(con["bm"]), flat(con["bn"]), flat(con["am"]))
    l_exp = triplet(mean(exp["an"]), mean(exp["bn"]), mean(exp["am"])) + triplet(mean(exp["bm"]), mean(exp["am"]), mean(exp["bn"]))
    total = weights.self_ * l_self + weights.cross * l_cross + weights.con * l_con + weights.exp * l_exp
    return {"total": total, "self": l_self, "cross": l_cross, "con": l_con, "exp": l_exp}


def stage2_losses(model, offsets, content, expression, target, weights: Stage2Weights, lips: LipIndices | None = None) -> dict:
    """L_face between generated and ground-truth offsets; L_emb (L1) between the predicted
    features and what the frozen stage-1 encoders read from the generated animation; with
    ``weights.lip``, ``lip_loss`` (needs ``lips``)."""
    l_face = F.mse_loss(offsets, target)
    if weights.emb:
        l_emb = F.l1_loss(content, model.stage1.encode_content(offsets)) + F.l1_loss(expression, model.stage1.encode_expression(offsets))
    else:
        l_emb = torch.zeros((), device=offsets.device)
    total = weights.face * l_face + weights.emb * l_emb
    losses = {"face": l_face, "emb": l_emb}
    if weights.lip:
        if lips is None:
            raise ValueError("the lip term needs the lip vertex indices")
        losses["lip"] = lip_loss(offsets, target, lips, weights.closed)
        total = total + weights.lip * losses["lip"]
    return {"total": total, **losses}
