"""Inference backends behind one call: `backend.run(x)` with x `(N, C, X, Y, Z)` float32 numpy,
returning `(N, 1, sX, sY, sZ)` float32. ONNX Runtime is the default; torch runs the same
network from a `torch.nn.Module` (training code, tests) on CPU or CUDA with fp16/bf16, and
with bf16 on a CPU that has bf16 instructions (AVX512-BF16 or AMX).

`backend.core(halo, scale)` is the tile runner upres uses (`tile_runner`): computing only the
core's output (`billow.nets.valid`) where the card's architecture has a core-only pass
(`forward_core`), else the padded `run` (the tiler then cuts the core out). For ONNX Runtime
the core-only graph is exported in memory from the card's torch weights on first use and
checked against the card's own ONNX file before it is trusted.

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



def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic (AVX512-BF16 or AMX-BF16): without it torch
    emulates bf16 and is slower than fp32."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _padded_as_core(run, halo: int, scale: int):
    """A padded `run` cut to the core: the tile runner of a network without a core-only
    pass."""
    def core(x: np.ndarray) -> np.ndarray:
        y = run(x)
        s = tuple(slice(scale * halo, n - scale * halo) for n in y.shape[2:])
        return y[(slice(None), slice(None)) + s]
    return core


# a core-only graph built at run time is used when it reproduces the padded graph's core this
# closely (relative to the output's maximum): float32 rounding, not a different network
CORE_TOLERANCE = 1e-5


def core_module(card: ModelCard):
    """(the card's core-only torch network `billow.nets.valid.CoreOnly`, '') or (None, why
    there is none)."""
    from ..nets.valid import CoreOnly

    if not card.extra.get("torch"):
        return None, "the model ships no torch weights to build it from"
    try:
        net = torch_module_from_card(card)
    except InputError as e:  # the ONNX file runs without it: tiles then run padded
        return None, f"its torch entry cannot be built ({shorten(e, 100)})"
    if not hasattr(net, "forward_core"):
        name = card.extra["torch"].get("kwargs", {}).get("generator", "?")
        return None, f"the '{name}' architecture has no core-only pass"
    return CoreOnly(net, card.halo).eval(), ""


def _architecture(card: ModelCard):
    """The card's untrained torch architecture (no weights read), or None."""
    from ..nets.registry import build_from_card

    spec = card.extra.get("torch")
    if not spec:
        return None
    try:
        return build_from_card(spec, card.name)
    except InputError:
        return None


def has_core_pass(card: ModelCard) -> bool:
    """Whether upres runs `card`'s tiles core-only (its architecture has `forward_core`), from
    the card alone (the dry run reads no weights)."""
    return hasattr(_architecture(card), "forward_core")


_WORK: dict = {}


def work_per_voxel(card: ModelCard, tile: int, core: bool) -> float | None:
    """Convolution multiply-adds per kept output voxel of one `tile`^D tile (the core-only
    pass, or the padded one), counted exactly on torch's meta device (nothing is computed);
    None for a card without a torch architecture."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    key = (_work_key(card), tile, core)
    if key not in _WORK:
        net = _architecture(card)
        if net is None or (core and not hasattr(net, "forward_core")):
            return None
        net = net.to("meta").eval()
        x = torch.empty((1, len(card.inputs)) + (tile + 2 * card.halo,) * card.dim,
                        device="meta")
        with torch.no_grad(), FlopCounterMode(display=False) as count:
            net.forward_core(x, card.halo) if core else net(x)
        _WORK[key] = count.get_total_flops() / 2 / (card.scale * tile) ** card.dim
    return _WORK[key]


def _work_key(card: ModelCard) -> str:
    import json

    return json.dumps(card.extra.get("torch"), sort_keys=True, default=str) + str(card.halo)


class OnnxBackend:
    name = "onnxruntime"

    def __init__(self, path: Path, card: ModelCard, device: str = "cpu",
                 precision: str = "fp32", threads: int = 0):
        if precision != "fp32":
            raise InputError(f"--precision {precision} is not supported by the onnxruntime "
                             "backend; use --backend torch (with --device cuda, or bf16 on a "
                             "CPU with bf16 instructions)")
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
        self.path = Path(path)
        self.card, self.device, self.threads = card, device, threads
        self._core = None
        self.core_note = ""  # why tiles run padded, once `core()` has decided

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, np.float32)})[0]

    def core(self, halo: int, scale: int):
        """The tile runner `f(window) -> core output` for windows with `halo` cells of
        neighbours (module docstring), built on first use."""
        if halo != self.card.halo:  # the core-only graph is cut for the card's halo
            return _padded_as_core(self.run, halo, scale)
        if self._core is None:
            self._core = self._make_core()
        return self._core

    def _make_core(self):
        import tempfile

        shipped = self._shipped_core()
        if shipped is not None:
            return _session_runner(shipped)
        card = self.card
        padded = _padded_as_core(self.run, card.halo, card.scale)
        module, note = core_module(card)
        self.core_note = "; ".join(n for n in (self.core_note, note) if n)
        if module is None:
            return padded
        with tempfile.TemporaryDirectory() as folder:
            session, err = onnx.export_core(module, Path(folder) / "core.onnx", card.halo,
                                            card.scale, self.run, len(card.inputs), card.dim,
                                            self.device, self.threads)
        if err > CORE_TOLERANCE:
            self.core_note = ("the card's torch weights do not reproduce its ONNX file, so "
                              "the core-only graph built from them is not used")
            return padded
        return _session_runner(session)

    def _shipped_core(self):
        """The session of the core-only graph exported beside the model (the card's `core_onnx`:
        `billow.train.export.export_core_graph` checked it against the full graph when it wrote
        it), or None when the card names none or the file is not those bytes; `core_note` then
        says why it is rebuilt from the torch weights."""
        entry = self.card.extra.get("core_onnx")
        if entry is None:
            return None
        name = entry.get("file") if isinstance(entry, dict) else None
        path = self.path.parent / name if isinstance(name, str) else None
        if path is None or Path(name).name != name or entry.get("halo") != self.card.halo:
            self.core_note = "the card's core_onnx entry is malformed"
            return None
        if not path.is_file() or onnx.file_sha256(path) != entry.get("sha256"):
            self.core_note = (f"{name} is missing or not the file the card names (SHA-256); "
                              "its core-only graph is rebuilt from the torch weights")
            return None
        return onnx.session(path, self.device, self.threads)


def _session_runner(session):
    """`f(window) -> core output` of a core-only graph's session."""
    return lambda x: session.run(None, {"input": np.ascontiguousarray(x, np.float32)})[0]


class TorchBackend:
    name = "torch"

    def __init__(self, module, device: str = "cpu", precision: str = "fp32",
                 threads: int = 0):
        import torch

        if precision not in PRECISIONS:
            raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}")
        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("--device cuda: this torch has no CUDA device (install a CUDA "
                             "build of torch on a GPU machine)")
        if device == "cpu" and precision == "fp16":
            raise InputError("--precision fp16 needs --device cuda (on a CPU: bf16, where "
                             "the CPU has bf16 instructions)")
        if device == "cpu" and precision == "bf16" and not cpu_has_bf16():
            raise InputError("--precision bf16 on the CPU needs bf16 instructions "
                             "(AVX512-BF16 or AMX), which this CPU lacks; use fp32")
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch.device(device)
        self.dtype = {"fp32": torch.float32, "fp16": torch.float16,
                      "bf16": torch.bfloat16}[precision]
        self.module = module.eval().to(self.device, self.dtype)
        # channels last on the CPU: oneDNN's fast convolutions (bf16: 2x faster per tile than
        # the default layout, fp32 1.3x; benchmarks/core_only.py)
        self.layout = None
        if device == "cpu":
            convs = {type(m) for m in module.modules()}
            self.layout = (torch.channels_last_3d if torch.nn.Conv3d in convs else
                           torch.channels_last if torch.nn.Conv2d in convs else None)
            if self.layout is not None:
                self.module = self.module.to(memory_format=self.layout)
        self.core_note = ""

    def _call(self, fn, x: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device, self.dtype)
            if self.layout is not None and t.dim() == (5 if self.layout is
                                                       torch.channels_last_3d else 4):
                t = t.contiguous(memory_format=self.layout)
            return np.ascontiguousarray(fn(t).float().cpu().numpy())

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._call(self.module, x)

    def core(self, halo: int, scale: int):
        """The tile runner `f(window) -> core output` for windows with `halo` cells of
        neighbours (module docstring)."""
        if hasattr(self.module, "forward_core"):
            return lambda x: self._call(lambda t: self.module.forward_core(t, halo), x)
        self.core_note = f"{type(self.module).__name__} has no core-only pass"
        return _padded_as_core(self.run, halo, scale)


def tile_runner(run, halo: int, scale: int):
    """`f(window) -> core output` for windows with `halo` cells of neighbours: the backend's
    `core` when `run` is a backend's `run`, else `run` cut to the core (any callable with the
    padded contract: tests, a network that is not a backend)."""
    core = getattr(getattr(run, "__self__", None), "core", None)
    return core(halo, scale) if core is not None else _padded_as_core(run, halo, scale)


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
    # a gated model exported before it took the slider as a channel runs without it
    takes = {cfg.in_channels, cfg.in_channels - 1} if cfg.slider_input else {cfg.in_channels}
    if cfg.dim != card.dim or len(card.inputs) not in takes:
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
        made = TorchBackend(torch_module_from_card(card), device, precision, threads)
    else:
        raise InputError(f"--backend must be onnxruntime or torch, got '{backend}'")
    check_card(card, made)
    return made
