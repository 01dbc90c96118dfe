"""The hair detector network (PyTorch; only the training extra imports this module).

A small fully convolutional encoder-decoder (a CenterNet-style detector, Zhou et al. 2019,
arXiv:1904.07850): four stride-2 stages (16-32-64-96 channels, the last with dilated convolutions for
about 0.9 mm of context at 11 um/px), a top-down path with additive skips back to 1/2 of the input, and
one 3x3 + 1x1 head giving nine maps: the hair mid-point heat map (logit), the sub-cell offset (2), log
visible length (1), the shaft axis as (cos 2a, sin 2a) (2), log diameter (1) and the exit-to-tip
direction (2), all in input pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["OUTPUT_CHANNELS", "HairNet", "conv_order", "from_onnx"]

OUTPUT_CHANNELS = 9


def _cbr(cin: int, cout: int, stride: int = 1, dilation: int = 1, fused: bool = False) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=fused)
    if fused:  # batch norm already folded into the convolution (a network read back from ONNX)
        return nn.Sequential(conv, nn.ReLU(inplace=True))
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class HairNet(nn.Module):
    """Encoder-decoder hair detector; input (N, 3, H, W) with H, W multiples of 16.

    ``fused=True`` builds the same network with batch normalisation folded into the convolutions (what an
    exported ONNX file holds), so a model file can be read back and fine-tuned.
    """

    def __init__(
        self, widths: tuple[int, int, int, int] = (16, 32, 64, 96), head: int = 24, *, fused: bool = False
    ):
        super().__init__()
        c1, c2, c3, c4 = widths
        self.widths, self.head_width, self.fused = tuple(widths), head, fused

        def cbr(cin, cout, stride=1, dilation=1):
            return _cbr(cin, cout, stride, dilation, fused)

        self.s1 = nn.Sequential(cbr(3, c1, 2), cbr(c1, c1))
        self.s2 = nn.Sequential(cbr(c1, c2, 2), cbr(c2, c2))
        self.s3 = nn.Sequential(cbr(c2, c3, 2), cbr(c3, c3))
        self.s4 = nn.Sequential(cbr(c3, c4, 2), cbr(c4, c4, dilation=2), cbr(c4, c4, dilation=4))
        self.l3 = nn.Conv2d(c4, c3, 1)
        self.l2 = nn.Conv2d(c3, c2, 1)
        self.l1 = nn.Conv2d(c2, c1, 1)
        self.d3 = cbr(c3, c3)
        self.d2 = cbr(c2, c2)
        self.d1 = cbr(c1, c1)
        self.head = nn.Sequential(cbr(c1, head), nn.Conv2d(head, OUTPUT_CHANNELS, 1))
        # CenterNet's prior: a heat-map logit of -2.19 (p = 0.1) at the start keeps early training stable
        nn.init.constant_(self.head[-1].bias, 0.0)
        with torch.no_grad():
            self.head[-1].bias[0] = -2.19

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.s1(x)
        f2 = self.s2(f1)
        f3 = self.s3(f2)
        f4 = self.s4(f3)
        u3 = self.d3(F.interpolate(self.l3(f4), scale_factor=2.0, mode="nearest") + f3)
        u2 = self.d2(F.interpolate(self.l2(u3), scale_factor=2.0, mode="nearest") + f2)
        u1 = self.d1(F.interpolate(self.l1(u2), scale_factor=2.0, mode="nearest") + f1)
        return self.head(u1)


def conv_order(net: nn.Module) -> list[nn.Conv2d]:
    """The network's convolutions in the order a forward pass runs them (the order in an ONNX graph)."""
    order: list[nn.Conv2d] = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: order.append(mod))
        for m in net.modules()
        if isinstance(m, nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            was = net.training
            net.eval()
            net(torch.zeros(1, 3, 32, 32))
            net.train(was)
    finally:
        for h in hooks:
            h.remove()
    return order


def from_onnx(graph, widths: tuple[int, int, int, int], head: int) -> HairNet:
    """A fused :class:`HairNet` holding the weights of an exported ONNX graph (``onnx.ModelProto.graph``).

    Raises
    ------
    ValueError
        The graph is not an exported HairNet of these widths (another number or shape of convolutions).
    """
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].t is not None:
            inits.setdefault(n.output[0], numpy_helper.to_array(n.attribute[0].t))

    def value(name):
        while name in alias:
            name = alias[name]
        return inits[name]

    convs = [n for n in graph.node if n.op_type == "Conv"]
    net = HairNet(widths, head, fused=True)
    order = conv_order(net)
    if len(convs) != len(order):
        raise ValueError(f"{len(convs)} convolutions in the graph, a HairNet has {len(order)}")
    with torch.no_grad():
        for node, conv in zip(convs, order, strict=True):
            w = value(node.input[1])
            if tuple(w.shape) != tuple(conv.weight.shape) or len(node.input) < 3:
                raise ValueError(
                    f"convolution {node.name} has shape {w.shape}, expected {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(torch.from_numpy(np.array(w)))
            conv.bias.copy_(torch.from_numpy(np.array(value(node.input[2]))))
    return net
