"""The "as-invertible-as-possible" reverse-pass regulariser (dissertation ch. 4, Eq. 4.14-4.17).

The reverse pass reuses every convolution's kernel and bias transposed (weight sharing, Fig.
4.2): for a layer d_{m+1} = W_m d_m + b_m,

    local (Eq. 4.17):  d'_m = f_{m-1}( W_m^T (d_{m+1} - b_m) )
    full  (Eq. 4.15):  d'_m = f_{m-1}( W_m^T (d'_{m+1} - b_m) ),  d'_{n+1} = d_{n+1}

where f_{m-1} is the normalisation + activation that produced d_m in the forward pass (applied
with BN's running statistics, so the reverse pass never updates them), and

    L_RR = sum_m lambda_m || d_m - d'_m ||^2          (Eq. 4.14)

normalised per element (a mean), so lambda transfers across tile and batch sizes. The full
variant runs along each plain chain a network exposes through `rr_chains()`; residual sums are
not invertible, so chains end at them and the local variant applies across (Sec. 4.3).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("off", "local", "full")


def conv_transpose(conv: nn.Module, y: torch.Tensor) -> torch.Tensor:
    """W^T (y - b): the adjoint of a stride-1 `conv` (shared kernel, Fig. 4.2 right)."""
    if conv.bias is not None:
        y = y - conv.bias.reshape(1, -1, *([1] * (y.dim() - 2)))
    fn = F.conv_transpose2d if y.dim() == 4 else F.conv_transpose3d
    return fn(y, conv.weight, stride=conv.stride, padding=conv.padding,
              dilation=conv.dilation, groups=conv.groups)


class ReversePass:
    """Hooks the convolutions of `model.rr_chains()`; call the model inside `capture()`, then
    `loss()` gives lambda * L_RR for that forward pass."""

    def __init__(self, model: nn.Module, mode: str = "local", lam: float = 1e-3,
                 layer_weights: list[float] | None = None):
        if mode not in MODES:
            raise ValueError(f"reverse pass mode must be one of {MODES}, not {mode!r}")
        self.mode, self.lam = mode, lam
        self.chains = model.rr_chains() if mode != "off" else []
        n = sum(len(c) for c in self.chains)
        self.weights = list(layer_weights) if layer_weights else [1.0] * n
        if len(self.weights) != n:
            raise ValueError(f"reverse pass: {len(self.weights)} layer weights for {n} layers")
        self._seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._active = False
        self._handles = [conv.register_forward_hook(self._hook)
                         for chain in self.chains for conv, _ in chain]

    def _hook(self, module, inputs, output):
        if self._active:
            self._seen[id(module)] = (inputs[0], output)

    @contextmanager
    def capture(self):
        self._seen.clear()
        self._active = True
        try:
            yield self
        finally:
            self._active = False

    def loss(self) -> torch.Tensor:
        if self.mode == "off" or not self._seen:
            return torch.zeros(())
        total, k = 0.0, 0
        for chain in self.chains:
            carried = None
            for conv, act in reversed(chain):
                d_in, d_out = self._seen[id(conv)]
                src = d_out if (self.mode == "local" or carried is None) else carried
                rec = act(conv_transpose(conv, src))
                total = total + self.weights[k] * F.mse_loss(rec, d_in)
                carried = rec
                k += 1
        self._seen.clear()
        return self.lam * total

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
