"""Training of the temporal UV generator (Sec. 5.2.4, App. C.1): staged schedule, weights that
decay or grow, clipped image-space gradients, random crops, checkpoints, resume, logs.

Schedule (App. C.1), in generator steps:

1. steps `[0, pretrain)`: G with L_G1 (Eq. 5.19) against D_s and D_t;
2. `d_img_steps` steps with G frozen, D_img alone, so it is commensurate with G;
3. steps `[pretrain, iterations)`: all networks with the full L_G (Eq. 5.18).

The ablation variants of Sec. 5.3 use the same number of generator steps: V1 trains with
L_2 + L_s^uv throughout, V2 adds L_smo + L_t^uv, V3 is the full schedule above (for V1 and V2
stage 1 simply lasts all `iterations`). L_I (Eq. C.1) is always on. V1 needs no neighbouring
frames, so it runs G on frame t only. V3's stage 1 is exactly V2's training (same losses,
weights, seed and draws): `branch` starts V3 from a V2 checkpoint kept at step `pretrain`.

Weights (Eq. 5.18): every `weight_every` steps lambda_2, lambda_uv,s are multiplied by 0.99 and
lambda_smo, lambda_uv,t, lambda_img,s, lambda_img,t by 1.01 (App. C.1; 1000 steps there, over
1.5e5 steps -- a short CPU run shortens the interval to keep the same overall drift). The
dissertation's weights apply to Frobenius norms (sums over a crop); the losses here are
per-element means, so `effective_weights` multiplies those weights by the elements per crop.

Every random draw (crops, triplets) comes from one seeded generator whose state is saved in
the checkpoint, so a resumed run continues exactly like an uninterrupted one (CPU).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..config import option
from ..errors import InputError
from ..progress import Progress
from ..run import folder, gan, loop, plan
from ..run.config import RunSettings, defaults
from ..run.logs import RunLog
from . import losses as L
from . import nets, triplets, warp
from .clips import CropSampler, UVClip, load_clip, uv_tensor  # noqa: F401 - the trainer's data

CKPT_FORMAT = "billow-uv-checkpoint/1"
PRESETS = plan.UV_PRESETS


@dataclasses.dataclass(frozen=True)
@defaults(iterations=150000, batch=8, lr=1e-4, checkpoint_every=500, threads=1, help={
    "iterations": "generator steps in all (App. C.1: 5e4 + 1e5)", "batch": "crops per step",
    "lr": "Adam learning rate, all networks", "log_every": "log losses every N generator steps",
    "checkpoint_every": "write the checkpoint every N steps"})
class UVTrainConfig(RunSettings):
    """Temporal UV training (Sec. 5.2.4, App. C.1)."""

    variant: str = option("v3", "ablation variant (Sec. 5.3): v1 = L2 + L_s^uv, v2 = + L_smo + "
                          "L_t^uv, v3 = + image-space losses (full staged schedule)",
                          choices=("v1", "v2", "v3"))
    pretrain: int = option(50000, "v3: generator steps with L_G1 before the image-space terms")
    d_img_steps: int = option(50000, "v3: D_img-only steps between the two generator stages")
    crop: int = option(32, "crop size in pixels (App. C.1: 32; multiple of 16)")
    margin: int = option(8, "extra pixels around a crop for the synthetic triplets' motion")
    lambda_2: float = option(200.0, "Eq. 5.12 weight (on the Frobenius norm of a crop)")
    lambda_uv_s: float = option(10.0, "Eq. 5.13 weight (adversarial, per crop)")
    lambda_smo: float = option(0.1, "Eq. 5.14 weight (on Frobenius norms of a crop)")
    lambda_uv_t: float = option(1.0, "Eq. 5.15 weight (adversarial, per crop)")
    lambda_img_s: float = option(0.001, "Eq. 5.16 weight (on the Frobenius norm of a crop)")
    lambda_img_t: float = option(1.0, "Eq. 5.17 weight (adversarial, per crop)")
    lambda_i: float = option(1.0, "Eq. C.1 weight (cross-entropy summed over a crop; the "
                             "dissertation gives none)")
    weight_every: int = option(1000, "steps between weight updates (x0.99 for lambda_2, "
                               "lambda_uv_s; x1.01 for the temporal and image weights)")
    clip_img: float = option(1.0, "max L2 norm per crop of the image-space gradient into G's "
                             "outputs (App. C.1 clipping; 0: off)")
    max_shift: float = option(1.5, "triplets (Eq. 5.15): max translation per frame, pixels")
    max_rotation: float = option(3.0, "triplets: max rotation per frame, degrees")
    max_scale: float = option(0.03, "triplets: max relative scaling per frame")
    background_crops: float = option(0.2, "share of crops placed anywhere (others are centred "
                                     "near the silhouette)")
    keep_at: str = option("", "also keep checkpoint.STEP.pt at these generator steps "
                          "(comma-separated; e.g. a V2 run's step --pretrain, for --branch)")

    def validate(self) -> None:
        if self.crop % 16 or self.crop < 16:
            raise InputError(f"--crop {self.crop}: must be a positive multiple of 16")
        if self.iterations < 1 or self.batch < 1:
            raise InputError("--iterations and --batch must be positive")
        if self.variant == "v3" and not 0 <= self.pretrain <= self.iterations:
            raise InputError(f"--pretrain {self.pretrain}: must lie in [0, --iterations]")
        if self.margin < 0 or self.weight_every < 1:
            raise InputError("--margin must be >= 0 and --weight-every >= 1")
        self.keep_steps()

    def keep_steps(self) -> set[int]:
        try:
            return {int(v) for v in str(self.keep_at).split(",") if v.strip()}
        except ValueError as e:
            raise InputError(f"--keep-at {self.keep_at!r}: not step numbers") from e


START = ("l2", "uv_s", "smo", "uv_t", "img_s", "img_t")


def effective_weights(cfg: UVTrainConfig, step: int) -> dict:
    """lambda of each term at generator step `step`, converted to the per-element means of
    `billow.uv.losses` (x elements per crop for the Frobenius-norm terms)."""
    px = cfg.crop * cfg.crop
    start = {"l2": cfg.lambda_2 * 2 * px, "uv_s": cfg.lambda_uv_s,
             "smo": cfg.lambda_smo * 2 * px, "uv_t": cfg.lambda_uv_t,
             "img_s": cfg.lambda_img_s * 3 * px, "img_t": cfg.lambda_img_t}
    terms = L.VARIANT_TERMS[cfg.variant]
    if cfg.variant == "v3" and step < cfg.pretrain:
        terms = L.VARIANT_TERMS["v2"]
    w = L.weights_at(step, start, L.PAPER_RATES, cfg.weight_every, terms)
    w["i"] = cfg.lambda_i * px
    return w


# ------------------------------------------------------------------------------ trainer
def masked_uv(uv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """What the UV discriminators see: u, v times the (soft) silhouette."""
    return uv * mask


class UVTrainer:
    def __init__(self, net: nets.UVNetConfig, cfg: UVTrainConfig, clip: UVClip, out,
                 progress: str = "none"):
        cfg.validate()
        self.net_cfg, self.cfg, self.clip, self.out = net, cfg, clip, Path(out)
        self.progress_mode = progress
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.sampler = CropSampler(clip, cfg.crop, cfg.margin, cfg.background_crops, self.gen)
        self.G = nets.UVGenerator(net)
        self.D = {"D_s": nets.spatial_discriminator(net, cfg.crop)}
        if cfg.variant in ("v2", "v3"):
            self.D["D_t"] = nets.temporal_discriminator(net, cfg.crop)
        if cfg.variant == "v3":
            self.D["D_img"] = nets.image_discriminator(net, cfg.crop)
        self.nets = {"G": self.G, **self.D}
        self.optims = loop.adam(self.nets, cfg.lr, cfg.beta1)
        self.step_g = 0  # generator steps done
        self.step_d_img = 0  # stage-2 steps done
        self.wall_time = 0.0
        self.branched_from = None
        self._logs = RunLog(self.out, cfg.tensorboard, "step")

    # ------------------------------------------------------------------ one step
    def _generate(self, raw3: torch.Tensor, temporal: bool = True):
        """G on the three frames of each crop, batched: lists of uv, p_fg, logits (frames t-1
        and t+1 are None when no temporal term needs them: V1 costs a third)."""
        n = raw3.shape[0]
        x = raw3.transpose(0, 1).reshape(3 * n, *raw3.shape[2:]) if temporal else raw3[:, 1]
        uv, logits = self.G(x)
        p = nets.foreground_probability(logits)
        if not temporal:
            return [None, uv, None], [None, p, None], [None, logits, None]
        return list(uv.split(n)), list(p.split(n)), list(logits.split(n))

    def _images(self, uv3, p3, clip_norm: float):
        """I_g = W(T_o, w_I(G(P^r))) for the three frames (Eq. 5.16), gradients clipped."""
        out = []
        for uv, p in zip(uv3, p3):
            uv, p = L.clip_grad(uv, clip_norm), L.clip_grad(p, clip_norm)
            ones = torch.ones(uv.shape[0], *uv.shape[2:], dtype=torch.bool)
            out.append(warp.sample(self.clip.texture, uv.permute(0, 2, 3, 1), ones) * p)
        return out

    def _update(self, name: str, loss: torch.Tensor) -> None:
        loop.update(self.optims[name], loss)

    def _step_discriminators(self, b: dict, fake_uv3, fake_p3, fake_img3) -> dict:
        tgt = b["target3"]
        real = [masked_uv(tgt[:, i, :2], tgt[:, i, 2:]) for i in range(3)]
        fake = [None if u is None else masked_uv(u, p).detach()
                for u, p in zip(fake_uv3, fake_p3)]
        logs = {}
        lr, lf = self.D["D_s"](torch.cat([real[1], fake[1]])).chunk(2)
        loss = gan.discriminator_loss(lr, lf)
        self._update("D_s", loss)
        logs["d_s"] = float(loss.detach())
        logs["d_s_acc_real"], logs["d_s_acc_fake"] = gan.accuracy(lr, lf)
        if "D_t" in self.D:
            trip = triplets.synthetic_triplets(
                b["target_wide"], self.cfg.crop, self.gen, max_shift=self.cfg.max_shift,
                max_rotation=self.cfg.max_rotation, max_scale=self.cfg.max_scale)
            real_t = torch.cat([masked_uv(trip[:, i, :2], trip[:, i, 2:]) for i in range(3)], 1)
            lr, lf = self.D["D_t"](torch.cat([real_t, torch.cat(fake, 1)])).chunk(2)
            loss = gan.discriminator_loss(lr, lf)
            self._update("D_t", loss)
            logs["d_t"] = float(loss.detach())
            logs["d_t_acc_real"], logs["d_t_acc_fake"] = gan.accuracy(lr, lf)
        if fake_img3 is not None:
            logs.update(self._step_d_img(b, fake_img3))
        return logs

    def _step_d_img(self, b: dict, fake_img3) -> dict:
        real = b["rgb3"].flatten(1, 2)
        fake = torch.cat([f.detach() for f in fake_img3], 1)
        lr, lf = self.D["D_img"](torch.cat([real, fake])).chunk(2)
        loss = gan.discriminator_loss(lr, lf)
        self._update("D_img", loss)
        acc_r, acc_f = gan.accuracy(lr, lf)
        return {"d_img": float(loss.detach()), "d_img_acc_real": acc_r, "d_img_acc_fake": acc_f}

    def step(self) -> dict:
        """One generator step (stages 1 and 3) with the discriminator updates before it."""
        cfg = self.cfg
        w = effective_weights(cfg, self.step_g)
        b = self.sampler.sample(cfg.batch)
        temporal = "D_t" in self.D
        uv3, p3, logits3 = self._generate(b["raw3"], temporal)
        use_img = w["img_s"] > 0 or w["img_t"] > 0
        img3 = self._images(uv3, p3, cfg.clip_img) if use_img else None
        logs = self._step_discriminators(b, uv3, p3, img3)
        tgt = b["target3"]
        t_uv, t_mask = tgt[:, 1, :2], tgt[:, 1, 2:]
        terms = {"l2": L.supervised_l2(uv3[1], t_uv, t_mask),
                 "i": L.part_cross_entropy(logits3[1], t_uv, t_mask),
                 "uv_s": gan.generator_adversarial(self.D["D_s"](masked_uv(uv3[1], p3[1])))}
        fake = [None if u is None else masked_uv(u, p) for u, p in zip(uv3, p3)]
        if w["smo"] > 0:
            terms["smo"] = L.smoothing(fake)
        if w["uv_t"] > 0:
            terms["uv_t"] = gan.generator_adversarial(self.D["D_t"](torch.cat(fake, 1)))
        if use_img:
            ref = b["rgb3"]
            terms["img_s"] = L.image_l2(img3[1], ref[:, 1])
            terms["img_t"] = gan.generator_adversarial(self.D["D_img"](torch.cat(img3, 1)))
        total = sum(w[k] * v for k, v in terms.items())
        self._update("G", total)
        self.step_g += 1
        logs.update({f"g_{k}": float(v.detach()) for k, v in terms.items()})
        logs["g_total"] = float(total.detach())
        logs.update({f"lambda_{k}": v for k, v in w.items() if v})
        with torch.no_grad():  # UV error of G against P^f inside both silhouettes
            both = (t_mask > 0.5) & (p3[1] > 0.5)
            err = (uv3[1] - t_uv).abs().sum(1, keepdim=True)
            logs["uv_err"] = float(err[both].mean()) if both.any() else float("nan")
            iou_n = float((both).sum())
            iou_d = float(((t_mask > 0.5) | (p3[1] > 0.5)).sum())
            logs["mask_iou"] = iou_n / max(iou_d, 1.0)
        return logs

    def step_d_img_only(self) -> dict:
        """Stage 2: G frozen, D_img alone."""
        b = self.sampler.sample(self.cfg.batch)
        with torch.no_grad():
            uv3, p3, _ = self._generate(b["raw3"])
            img3 = self._images(uv3, p3, 0.0)
        self.step_d_img += 1
        return self._step_d_img(b, img3)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        return {"format": CKPT_FORMAT, "step_g": self.step_g, "step_d_img": self.step_d_img,
                "wall_time": self.wall_time, "hardware": folder.hardware(),
                "net": dataclasses.asdict(self.net_cfg), "train": dataclasses.asdict(self.cfg),
                "data": {"frames": self.clip.frames, **self.clip.source},
                "branched_from": self.branched_from,
                "models": {k: m.state_dict() for k, m in self.nets.items()},
                "optims": {k: o.state_dict() for k, o in self.optims.items()},
                "rng": folder.rng_state(self.gen)}

    def save(self, path=None) -> Path:
        return folder.save_checkpoint(self.state(), Path(path) if path else
                                      self.out / folder.CHECKPOINT)

    def branch(self, path) -> None:
        """Start a V3 run from a V2 checkpoint taken at step `pretrain`: V3's stage 1 is V2's
        training (same losses, weights, seed and draws), so the ablation pays for it once."""
        ckpt = load_checkpoint(path)
        src = ckpt["train"]
        if self.cfg.variant != "v3" or src["variant"] != "v2":
            raise InputError(f"{path}: --branch starts a v3 run from a v2 checkpoint "
                             f"(got {src['variant']} -> {self.cfg.variant})")
        if int(ckpt["step_g"]) != self.cfg.pretrain:
            raise InputError(f"{path}: holds generator step {ckpt['step_g']}, but --pretrain "
                             f"is {self.cfg.pretrain}; keep one with --keep-at on the v2 run")
        free = {"variant", "iterations", "pretrain", "d_img_steps", "log_every",
                "checkpoint_every", "keep_at", "threads", "tensorboard"}
        ours = dataclasses.asdict(self.cfg)
        differ = sorted(k for k in ours if k not in free and src.get(k) != ours[k])
        if differ or ckpt["net"] != dataclasses.asdict(self.net_cfg):
            raise InputError(f"{path}: its config differs from this run's "
                             f"({', '.join(differ) or 'network'})")
        for k in ("G", "D_s", "D_t"):
            self.nets[k].load_state_dict(ckpt["models"][k])
            self.optims[k].load_state_dict(ckpt["optims"][k])
        self.step_g = int(ckpt["step_g"])
        self.wall_time = float(ckpt["wall_time"])
        folder.restore_rng(ckpt["rng"], self.gen)
        self.branched_from = str(Path(path).resolve())

    def load(self, path) -> None:
        ckpt = load_checkpoint(path)
        for k, m in self.nets.items():
            m.load_state_dict(ckpt["models"][k])
        for k, o in self.optims.items():
            o.load_state_dict(ckpt["optims"][k])
        self.step_g, self.step_d_img = int(ckpt["step_g"]), int(ckpt["step_d_img"])
        self.wall_time = float(ckpt["wall_time"])
        self.branched_from = ckpt.get("branched_from")
        folder.restore_rng(ckpt["rng"], self.gen)

    def write_run_files(self) -> None:
        config = {"net": dataclasses.asdict(self.net_cfg), "train": dataclasses.asdict(self.cfg),
                  "data": {"frames": self.clip.frames, **self.clip.source}}
        folder.create(self.out, {"config.json": json.dumps(config, indent=2) + "\n"})

    # ------------------------------------------------------------------ the loop

    def plan(self) -> list[tuple[str, int]]:
        """The stages still to run: ("g", until generator step) / ("d_img", until step)."""
        c = self.cfg
        if c.variant != "v3":
            return [("g", c.iterations)]
        return [("g", c.pretrain), ("d_img", c.d_img_steps), ("g", c.iterations)]

    def train(self) -> dict:
        # deterministic kernels: UV training runs on the CPU, where runs repeat for a seed
        with loop.runtime(self.cfg.threads, deterministic=True):
            self.write_run_files()
            self._logs.open()
            try:
                return self._train()
            finally:
                self._logs.close()

    def _train(self) -> dict:
        c = self.cfg
        todo = (c.iterations - self.step_g) + (
            c.d_img_steps - self.step_d_img if c.variant == "v3" else 0)
        last: dict = {}
        with Progress(max(1, -(-todo // c.log_every)), "uv train", self.progress_mode) as p:
            start, wall0 = time.perf_counter(), self.wall_time
            window: dict[str, list[float]] = {}
            keep, kept = c.keep_steps(), set()
            for stage, until in self.plan():
                while (self.step_g if stage == "g" else self.step_d_img) < until:
                    last = self.step() if stage == "g" else self.step_d_img_only()
                    for k, v in last.items():
                        window.setdefault(k, []).append(v)
                    self.wall_time = wall0 + time.perf_counter() - start
                    n = self.step_g + self.step_d_img
                    final = n == c.iterations + (c.d_img_steps if c.variant == "v3" else 0)
                    if n % c.log_every == 0 or final:
                        last = {k: _mean(v) for k, v in window.items()}
                        window.clear()
                        self._logs.write(n, {"stage": 2 if stage == "d_img" else
                                      (3 if c.variant == "v3" and self.step_g > c.pretrain
                                       else 1), **last})
                        shown = {k: round(v, 5) for k, v in last.items()
                                 if k in ("g_l2", "uv_err", "mask_iou", "d_s", "d_t", "d_img")}
                        p.step("step", step=n, stage=stage, **shown)
                    if n % c.checkpoint_every == 0 or final:
                        self.save()
                    if stage == "g" and self.step_g in keep and self.step_g not in kept:
                        kept.add(self.step_g)
                        self.save(self.out / f"checkpoint.{self.step_g}.pt")
        return last


def _mean(values) -> float:
    """Mean over a log interval, ignoring steps where a quantity was undefined (NaN)."""
    a = np.asarray(values, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else float("nan")


def load_checkpoint(path) -> dict:
    """A `billow uv train` run folder's (or a file's) checkpoint (`billow.run.folder`)."""
    return folder.load_checkpoint(path, CKPT_FORMAT, "billow uv train")


def generator_from_checkpoint(path) -> tuple[nets.UVGenerator, dict]:
    ckpt = load_checkpoint(path)
    g = nets.UVGenerator(nets.UVNetConfig(**ckpt["net"]))
    g.load_state_dict(ckpt["models"]["G"])
    return g.eval(), ckpt
