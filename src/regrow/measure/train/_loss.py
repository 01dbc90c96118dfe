"""Loss of the hair detector: CenterNet focal loss on the heat map plus L1 regressions at each hair."""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["LOSS_WEIGHTS", "detector_loss"]

#: Relative weights of the loss terms (heat map, offset, log length, direction, log diameter, box).
LOSS_WEIGHTS = {
    "heat": 1.0,
    "offset": 1.0,
    "length": 0.5,
    "axis": 0.5,
    "diameter": 0.5,
    "box": 0.3,
    "direction": 0.2,
}


def _focal(logit: torch.Tensor, heat: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Penalty-reduced focal loss of CenterNet (Zhou et al. 2019, eq. 1; alpha 2, beta 4)."""
    pos = heat.ge(0.999).float()
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    lp = F.logsigmoid(logit)
    ln = F.logsigmoid(-logit)
    pos_loss = -(lp * (1 - p) ** 2 * pos * weight).sum()
    neg_loss = -(ln * p**2 * (1 - heat) ** 4 * (1 - pos) * weight).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1.0)


def detector_loss(
    out: torch.Tensor,
    heat: torch.Tensor,
    weight: torch.Tensor,
    index: torch.Tensor,
    values: torch.Tensor,
    kind: torch.Tensor,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for a batch (shapes as produced by ``CropSet``)."""
    b, c, h, w = out.shape
    terms = {"heat": _focal(out[:, 0], heat, weight)}
    feats = out[:, 1:].reshape(b, c - 1, h * w).gather(2, index[:, None, :].expand(b, c - 1, index.shape[1]))
    feats = feats.permute(0, 2, 1)  # (B, K, 8): off_x, off_y, log_len, cos2a, sin2a, log_diam, dir_x, dir_y
    hair = kind.eq(1).float()
    anyobj = kind.gt(0).float()
    n_any = anyobj.sum().clamp(min=1.0)
    n_hair = hair.sum().clamp(min=1.0)
    terms["offset"] = ((feats[..., 0:2] - values[..., 0:2]).abs().sum(-1) * anyobj).sum() / n_any
    terms["length"] = ((feats[..., 2] - values[..., 2]).abs() * hair).sum() / n_hair
    ax = feats[..., 3:5]
    axn = ax / ax.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    terms["axis"] = ((axn - values[..., 3:5]).abs().sum(-1) * hair).sum() / n_hair
    terms["diameter"] = ((feats[..., 5] - values[..., 5]).abs() * hair).sum() / n_hair
    d = feats[..., 6:8]
    dn = d / d.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    terms["direction"] = ((dn - values[..., 8:10]).abs().sum(-1) * hair).sum() / n_hair
    length = feats[..., 2].clamp(-3, 8).exp()
    diam = feats[..., 5].clamp(-3, 5).exp()
    cos_a = ((1 + axn[..., 0]) / 2).clamp(min=1e-6).sqrt()  # |cos a| and |sin a| from cos 2a
    sin_a = ((1 - axn[..., 0]) / 2).clamp(min=1e-6).sqrt()
    bw = length * cos_a + diam * sin_a
    bh = length * sin_a + diam * cos_a
    box = torch.stack([bw, bh], -1).clamp(min=0.5).log()
    terms["box"] = ((box - values[..., 6:8]).abs().sum(-1) * anyobj).sum() / n_any
    total = sum(LOSS_WEIGHTS[k] * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}
