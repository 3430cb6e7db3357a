"""Typed training configuration and its presets (STYLE.md rule 5).

A run is configured by three frozen dataclasses: `GeneratorConfig` (beside the generators),
`AugmentConfig` (beside the augmentation) and `TrainConfig` (here, on the fields every run has:
`billow.run.config`). Resolution order: field defaults, then the preset (`billow.run.plan`),
then explicit command-line flags. The resolved `RunConfig` is saved
as `config.json` in every run folder and printed by `--dry-run`.
"""

from __future__ import annotations

import dataclasses
import json

from ..config import option
from ..errors import InputError
from ..nets.generators import GeneratorConfig
from ..run import plan
from ..run.config import RunSettings, defaults
from .augment import AugmentConfig

PRESETS = plan.SMOKE_PRESETS
# --d-negative-kinds: how D_s's negatives spoil a real tile (Trainer._step_ds)
NEGATIVE_KINDS = ("blur", "lattice", "dots", "contours")
T_NEGATIVE_KINDS = ("flicker", "shift")


def _kinds(value, flag: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated choice of negative kinds, each from `allowed` and each once."""
    kinds = tuple(k.strip() for k in str(value).split(","))
    if any(k not in allowed for k in kinds) or len(set(kinds)) < len(kinds):
        raise InputError(f"{flag} {value!r}: one or more of {', '.join(allowed)}, "
                         "comma-separated, each once")
    return kinds


@dataclasses.dataclass(frozen=True)
@defaults(iterations=40000, batch=16, lr=2e-4, checkpoint_every=1000, threads=0, help={
    "iterations": "training iterations (each runs k_ds, k_dt, k_g updates)",
    "batch": "tiles per mini batch", "lr": "Adam learning rate of the generator",
    "threads": "CPU threads for torch (0: torch's default); 1 is often fastest for small "
               "tiles on a busy machine"})
class TrainConfig(RunSettings):
    """Training loop (dissertation Alg. 1, Sec. 3.3, App. A.2)."""

    time_limit: float = option(0.0, "stop once training has run this many minutes of wall "
                               "time (0: no limit), checkpointing at the stop; for budgets on "
                               "a farm and equal-time comparisons")
    tile: int = option(16, "tile size in low-res cells (high-res: 4x); divisible by 2")
    context: int = option(2, "low-res cells of real data around each tile for the advection "
                          "layer (must exceed the largest velocity in low-res cells/frame)")
    d_lr_scale: float = option(1.0, "discriminator learning rate = lr x this")
    clip_grad: float = option(0.0, "scale each network's gradient down to this global norm "
                              "before its step, and log the norm before (grad_norm_G, ...): "
                              "one spike cannot then stall Adam; 0: off")
    lr_decay: bool = option(True, "decay every optimiser's learning rate linearly to 1/20 over "
                            "the second half of training")
    k_ds: int = option(2, "D_s updates per iteration")
    k_dt: int = option(2, "D_t updates per iteration")
    k_g: int = option(2, "G updates per iteration")
    lambda_l1: float = option(5.0, "weight of the per-element L1 loss")
    lambda_block: float = option(0.0, "weight of the L1 loss between the means of output and "
                                 "reference over each low-res cell's block: keeps density "
                                 "(mass, brightness) where the adversarial terms would thin it; "
                                 "0: off (Eq. 3.8 as published)")
    lambda_lattice: float = option(0.0, "weight of the L1 distance between the per-phase means "
                                   "(position inside each low-res cell's block) of output and "
                                   "reference tiles: holds the output's power on the 4-voxel "
                                   "lattice bins to the reference's; 0: off")
    lambda_lattice_ratio: float = option(0.0, "weight of the log-excess of the output's share of "
                                         "detail power on the 4-voxel lattice bins over the "
                                         "reference's (a ratio: cutting all detail does not "
                                         "satisfy it); 0: off")
    lambda_spectrum: float = option(0.0, "weight of the mean |log ratio| of the output's and "
                                    "the reference's power per radial band above the input's "
                                    "Nyquist, per tile (the benchmark's spectrum error as a "
                                    "loss; blind to phase); 0: off")
    ema: float = option(0.0, "keep an exponential moving average of the generator's weights "
                        "with this decay per iteration (e.g. 0.998); validation, samples and "
                        "`billow export` use it; 0: off")
    lambda_ds: float = option(1.0, "weight of G's spatial adversarial loss")
    lambda_dt: float = option(1.0, "weight of G's temporal loss (D_t adversarial or Eq. 3.4)")
    lambda_f: str = option("0", "feature-space loss weight per element of D_s's layers: one "
                           "value or four comma-separated, may be negative (Eq. 3.7)")
    temporal: str = option("dt", "temporal loss: none, l2 (Eq. 3.4), dt-noadv (Eq. 3.6), "
                           "dt (Eq. 3.5)", choices=("none", "l2", "dt-noadv", "dt"))
    advection: str = option("semi-lagrangian", "advection layer order",
                            choices=("semi-lagrangian", "maccormack"))
    lambda_negative: float = option(0.0, "weight of the mean negative part of the smooth "
                                    "generator's sum before its clamp at 0 (in the network's "
                                    "normalised units): the clamp is where the 4-voxel "
                                    "lattice is made; 0: off")
    lambda_structure_band: float = option(0.0, "weight of the share of the residual's "
                                          "high band (above the input's Nyquist) that the gated "
                                          "smooth generator puts in its ungated structure "
                                          "channel: detail there ignores the velocity slider "
                                          "(s18 put 80 percent there); 0: off")
    lambda_slider_order: float = option(0.0, "weight of the velocity slider's ordering term "
                                        "for the gated smooth generator: the high-band "
                                        "energy at slider 0, 1 and 2 must rise by at least "
                                        "--slider-step per step (relu of the log "
                                        "shortfall); 0: off")
    slider_step: float = option(1.2, "--lambda-slider-order's least ratio of high-band "
                                "energy per slider step (0 -> 1 -> 2); issue 17's target is "
                                "1.2, and a margin above it (session 15: 1.3) allows for the "
                                "gap between training tiles and whole frames")
    lambda_flicker: float = option(0.0, "weight of the flicker term: relu of the log ratio of "
                                   "the generated triples' flicker (the per-frame change of "
                                   "the detail finer than the input, over the detail) to the "
                                   "reference's; needs a temporal mode with frames; 0: off")
    flicker_per_tile: bool = option(False, "take --lambda-flicker's ratio per tile and average "
                                    "the excesses, so slow dense tiles must each meet their "
                                    "own reference's flicker instead of hiding in the batch's")
    d_negatives: float = option(0.0, "weight of negative examples in each discriminator's "
                                "loss: real tiles with their detail blurred away (D_s) and "
                                "real triples with flickering detail (D_t), shown as "
                                "generated, so the discriminators must learn that missing or "
                                "incoherent detail is fake; 0: off (as published)")
    d_negative_kinds: str = option("blur", "what D_s's negatives are, comma-separated: blur "
                                   "(the real tile blurred at 1.5 voxels), lattice (the real "
                                   "tile plus its own random pattern of period 4 voxels, the "
                                   "grid a 4x upres prints, which an untaught D_s rewards), "
                                   "dots (one voxel per 4-voxel cell at a random phase and "
                                   "sign, scaled by the local density), contours (the "
                                   "real tile darkened along thin iso-lines of its blurred "
                                   "density, the ringing contours s25 printed)")
    d_t_negative_kinds: str = option("flicker", "what D_t's negatives are, comma-separated: "
                                     "flicker (each real frame plus its own high-passed "
                                     "noise), shift (the real triple with its first and last "
                                     "frames moved 1-2 voxels in opposite directions along one "
                                     "axis: detail that does not follow the flow)")
    d_norm: str = option("sn", "discriminator normalisation: sn (spectral), bn (App. A.1), "
                         "none", choices=("sn", "bn", "none"))
    loss_scale: str = option("tile", "density units of every loss: 'tile' divides each "
                             "tile's densities by its mean low-res density before the L1, "
                             "adversarial and temporal terms, so App. A's weights keep their "
                             "balance whatever the data's density units (caches span orders of "
                             "magnitude; a spectral-normalised D cannot amplify a 0.01-scale "
                             "input enough to leave chance); 'off': raw densities",
                             choices=("tile", "off"))
    rr: str = option("off", "reverse-pass regulariser (ch. 4): off, local (Eq. 4.17), full "
                     "(Eq. 4.15 along plain chains)", choices=("off", "local", "full"))
    rr_lambda: float = option(1e-3, "weight lambda of the reverse-pass loss (Eq. 4.14)")
    rr_weights: str = option("", "per-layer reverse-pass weights lambda_m (comma-separated, "
                             "one per generator convolution, times --rr-lambda; default all 1)")
    val_fraction: float = option(0.2, "fraction of SIMULATIONS held out for validation")
    val_every: int = option(500, "validation L1 every N iterations (0: never)")
    val_batches: int = option(2, "validation mini batches")
    sample_every: int = option(1000, "save sample slices every N iterations (0: never)")
    keep_every: int = option(0, "also keep checkpoint.ITERATION.pt every N iterations, to pick "
                             "the best iteration on validation data afterwards (0: never)")
    chance_window: int = option(500, "warn when a discriminator sits at chance (2 ln 2) for "
                                "this many iterations")
    device: str = option("auto", "auto, cpu or cuda", choices=("auto", "cpu", "cuda"))
    amp: bool = option(True, "bfloat16 mixed precision on CUDA (ignored on CPU)")

    def rr_layer_weights(self) -> list[float] | None:
        if not str(self.rr_weights).strip():
            return None
        try:
            return [float(v) for v in str(self.rr_weights).split(",")]
        except ValueError as e:
            raise InputError(f"--rr-weights {self.rr_weights!r}: not numbers") from e

    def negative_kinds(self) -> tuple[str, ...]:
        return _kinds(self.d_negative_kinds, "--d-negative-kinds", NEGATIVE_KINDS)

    def t_negative_kinds(self) -> tuple[str, ...]:
        return _kinds(self.d_t_negative_kinds, "--d-t-negative-kinds", T_NEGATIVE_KINDS)

    def feature_weights(self) -> tuple[float, ...]:
        try:
            vals = tuple(float(v) for v in str(self.lambda_f).split(","))
        except ValueError as e:
            raise InputError(f"--lambda-f {self.lambda_f!r}: not numbers") from e
        if len(vals) == 1:
            return vals * 4
        if len(vals) != 4:
            raise InputError(f"--lambda-f {self.lambda_f!r}: give one value or four")
        return vals


@dataclasses.dataclass(frozen=True)
class RunConfig:
    model: GeneratorConfig = dataclasses.field(default_factory=GeneratorConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        try:
            # runs saved before --loss-scale existed were trained on raw densities: resuming
            # or fine-tuning them must not switch units silently
            train = {"loss_scale": "off", **d["train"]}
            return cls(GeneratorConfig(**d["model"]), AugmentConfig(**d["augment"]),
                       TrainConfig(**train))
        except (KeyError, TypeError) as e:
            raise InputError(f"run config: {e}") from e

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def replace(self, **flat) -> RunConfig:
        """Set fields by name, whichever section holds them."""
        parts = {"model": self.model, "augment": self.augment, "train": self.train}
        values = plan.layered({k: type(v) for k, v in parts.items()}, flat)
        return RunConfig(**{k: dataclasses.replace(v, **values[k]) for k, v in parts.items()})

    def validate(self) -> None:
        t = self.train
        if t.tile % 2 or t.tile < 2:
            raise InputError(f"--tile {t.tile}: must be even (high-res tile 4x, divisible by 8)")
        if t.iterations < 1 or t.batch < 1:
            raise InputError("--iterations and --batch must be positive")
        if not 0.0 <= t.ema < 1.0:
            raise InputError(f"--ema {t.ema}: a decay in [0, 1) (0: off)")
        for name in ("lambda_lattice", "lambda_lattice_ratio", "lambda_spectrum",
                     "lambda_negative", "lambda_structure_band", "lambda_slider_order",
                     "lambda_flicker", "d_negatives"):
            if getattr(t, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} {getattr(t, name)}: 0 or more")
        if t.lambda_negative > 0 and self.model.generator != "smooth":
            raise InputError("--lambda-negative needs --generator smooth (the one with a "
                             "pre-clamp sum)")
        for name in ("lambda_structure_band", "lambda_slider_order"):
            if getattr(t, name) > 0 and not self.model.slider_input:
                raise InputError(f"--{name.replace('_', '-')} needs --generator smooth with "
                                 "--detail-gate speed and velocity (the one with a gated "
                                 "detail channel and a slider input)")
        if t.lambda_flicker > 0 and t.temporal == "none":
            raise InputError("--lambda-flicker needs a temporal mode that generates frame "
                             "triples (--temporal l2, dt-noadv or dt)")
        if t.slider_step <= 1.0:
            raise InputError(f"--slider-step {t.slider_step}: more than 1 (an energy ratio "
                             "per slider step)")
        t.negative_kinds()
        t.t_negative_kinds()
        if t.clip_grad < 0:
            raise InputError(f"--clip-grad {t.clip_grad}: 0 (off) or more")
        if t.time_limit < 0:
            raise InputError(f"--time-limit {t.time_limit}: minutes, 0 or more")
        if self.augment.scale_min <= 0 or self.augment.scale_min > self.augment.scale_max:
            raise InputError("--scale-min/--scale-max: need 0 < min <= max")
        a = self.augment
        if a.amplitude_min <= 0 or a.amplitude_min > a.amplitude_max:
            raise InputError("--amplitude-min/--amplitude-max: need 0 < min <= max")
        if not 0.0 <= a.box_input <= 1.0:
            raise InputError(f"--box-input {a.box_input}: a probability in [0, 1]")
        if not 0.0 <= a.wall_tiles <= 1.0:
            raise InputError(f"--wall-tiles {a.wall_tiles}: a probability in [0, 1]")
        if not 0.0 <= a.dense_tiles <= 1.0:
            raise InputError(f"--dense-tiles {a.dense_tiles}: a probability in [0, 1]")
        if t.flicker_per_tile and t.lambda_flicker <= 0:
            raise InputError("--flicker-per-tile changes --lambda-flicker's term: set "
                             "--lambda-flicker above 0")
        if t.temporal in ("l2", "dt") and t.context < 1:
            raise InputError(f"--temporal {t.temporal} advects tiles: --context must be >= 1")
        m = self.model
        if m.generator != "smooth" and (m.detail_gate != "none" or m.projection != "none"
                                        or m.base_interpolation != "linear"
                                        or m.tail_upsampling != "linear"
                                        or m.lattice_notch):
            raise InputError(f"--detail-gate, --projection, --base-interpolation, "
                             f"--tail-upsampling and --lattice-notch are options of the smooth "
                             f"generator, not of '{m.generator}'")
        if m.output_form == "gain" and (m.generator != "smooth"
                                        or m.base_interpolation == "tricubic"):
            raise InputError("--output-form gain needs --generator smooth with "
                             "--base-interpolation linear or smooth (a tricubic base can go "
                             "negative, and a negative base times a gain would need the clamp "
                             "again)")
        if m.lattice_notch and (m.output_form != "gain" or m.projection != "block"):
            raise InputError("--lattice-notch needs --output-form gain and --projection block "
                             "(it divides the output by the interpolated base, which the clamp "
                             "form lets reach 0 under smoke, and restores the block totals "
                             "with one more projection step)")
        if m.projection_steps < 1:
            raise InputError(f"--projection-steps {m.projection_steps}: 1 or more")
        self.train.feature_weights()


def resolve(preset: str | None = None, **overrides) -> RunConfig:
    """Defaults <- preset <- overrides (None values are ignored)."""
    cfg = RunConfig().replace(**plan.preset(PRESETS, preset))
    cfg = cfg.replace(**{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg
