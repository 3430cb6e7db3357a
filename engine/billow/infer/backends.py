"""Inference backends behind one call: `backend.run(x)` with x `(N, C, X, Y, Z)` float32 numpy,
returning `(N, 1, sX, sY, sZ)` float32. ONNX Runtime is the default; torch runs the same
network from a `torch.nn.Module` (training code, tests) on CPU or CUDA with fp16/bf16.

No silent fallback: asking for CUDA without it, or a precision the backend cannot do, is an
error that says what to install or change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError, shorten
from ..io.model_card import ModelCard
from ..run import onnx
from .config import PRECISIONS



class OnnxBackend:
    name = "onnxruntime"

    def __init__(self, path: Path, card: ModelCard, device: str = "cpu",
                 precision: str = "fp32", threads: int = 0):
        if precision != "fp32":
            raise InputError(f"--precision {precision} is not supported by the onnxruntime "
                             "backend; use --backend torch --device cuda for fp16/bf16")
        self.session = onnx.session(path, device, threads)
        inp = self.session.get_inputs()[0]
        channels = inp.shape[1] if len(inp.shape) == 5 else None
        if len(inp.shape) != card.dim + 2:
            raise InputError(f"{path}: ONNX input has rank {len(inp.shape)}, the card says "
                             f"{card.dim}D (rank {card.dim + 2})")
        if isinstance(channels, int) and channels != len(card.inputs):
            raise InputError(f"{path}: ONNX input has {channels} channels but the card lists "
                             f"{len(card.inputs)} ({', '.join(card.inputs)})")
        self.input_name = inp.name

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, np.float32)})[0]


class TorchBackend:
    name = "torch"

    def __init__(self, module, device: str = "cpu", precision: str = "fp32"):
        import torch

        if precision not in PRECISIONS:
            raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}")
        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("--device cuda: this torch has no CUDA device (install a CUDA "
                             "build of torch on a GPU machine)")
        if device == "cpu" and precision != "fp32":
            raise InputError(f"--precision {precision} needs --device cuda")
        self.torch = torch
        self.device = torch.device(device)
        self.dtype = {"fp32": torch.float32, "fp16": torch.float16,
                      "bf16": torch.bfloat16}[precision]
        self.module = module.eval().to(self.device, self.dtype)

    def run(self, x: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device, self.dtype)
            return self.module(t).float().cpu().numpy()


def torch_module_from_card(card: ModelCard):
    """The torch network a card describes, from its `torch` entry: {"module":
    "billow.nets.generators:generator_from_kwargs", "kwargs": {...}, "weights": "file.pt"}.
    Only billow's own architectures are built (`billow.nets.registry`): a card is data, and
    nothing it names is imported. Weights load with `weights_only=True` (no pickled code)."""
    import torch

    from ..nets.registry import build_from_card, generator_config

    where = str(card.path.with_suffix(".json")) if card.path else card.name
    spec = card.extra.get("torch")
    if not spec:
        raise InputError(f"{where}: this model ships no torch weights; use "
                         "--backend onnxruntime")
    net = build_from_card(spec, where)
    cfg = generator_config(spec.get("kwargs", {}), where)
    if cfg.dim != card.dim or cfg.in_channels != len(card.inputs):
        raise InputError(f"{where}: the torch architecture takes {cfg.in_channels} channels in "
                         f"{cfg.dim}D, the card lists {len(card.inputs)} in {card.dim}D")
    name = spec.get("weights")
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise InputError(f"{where}: torch.weights must be a file name beside the card")
    weights = Path(card.path).parent / name
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise InputError(f"{weights}: torch weights file is missing") from e
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, EOFError, zip errors
        raise InputError(f"{weights}: cannot load torch weights (not a weights-only torch "
                         f"checkpoint: {type(e).__name__})") from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise InputError(f"{weights}: not a state dict of tensors")
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        first = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))
        raise InputError(f"{weights}: the weights do not fit the card's architecture "
                         f"({shorten(first, 120)})") from e
    return net


def make_backend(card: ModelCard, backend: str = "onnxruntime", device: str = "cpu",
                 precision: str = "fp32", threads: int = 0):
    """The backend for `card`, after checking the card against the network it describes
    (`card_check.check_card`: scale, channels, halo >= the measured receptive radius)."""
    from .card_check import check_card

    if threads < 0:
        raise InputError(f"--threads {threads}: must be 0 (all cores) or a positive count")
    if backend == "onnxruntime":
        made = OnnxBackend(card.path, card, device, precision, threads)
    elif backend == "torch":
        made = TorchBackend(torch_module_from_card(card), device, precision)
    else:
        raise InputError(f"--backend must be onnxruntime or torch, got '{backend}'")
    check_card(card, made)
    return made
