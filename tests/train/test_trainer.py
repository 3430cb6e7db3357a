"""The training loop: loss goes down, resume is exact, all optimisers decay, health logs."""

from __future__ import annotations

import json

import pytest
import torch
from billow.nets import crop
from billow.ops import project_block_means
from billow.run.gan import CHANCE
from billow.train import Trainer, resolve
from billow.train.losses import l1_loss


def tiny(**kw):
    base = {"generator": "fast", "dim": 2, "width": 8, "blocks": 1, "mid_channels": 4,
            "iterations": 6, "batch": 2, "tile": 4, "context": 2, "k_ds": 1, "k_dt": 1,
            "k_g": 1, "log_every": 2, "val_every": 3, "val_batches": 1, "sample_every": 0,
            "checkpoint_every": 100, "tensorboard": "off", "lambda_f": "-0.05"}
    base.update(kw)
    return resolve(None, **base)


def test_training_reduces_l1_on_a_fixed_batch(tmp_path, data2d):
    tr = Trainer(tiny(lr=2e-3, iterations=12, temporal="l2", lambda_dt=0.1), tmp_path / "r",
                 data_path=data2d)
    fixed = tr.sampler.sample(4, scales=True)

    def l1():
        with torch.no_grad():
            return float(l1_loss(crop(tr.G(fixed[0][:, 1]), 8), crop(fixed[1][:, 1], 8)))

    before = l1()
    tr.sampler.sample = lambda n, scales=False: fixed  # train on the fixed batch
    for _ in range(12):
        tr.step()
    assert l1() < 0.95 * before


@pytest.mark.parametrize("temporal, rr", [("dt", "off"), ("dt-noadv", "local"),
                                          ("none", "full")])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, data2d, temporal, rr):
    assert_resume_is_exact(tiny(iterations=4, temporal=temporal, rr=rr, val_every=0,
                                d_norm="sn"), tmp_path, data2d)


def assert_resume_is_exact(cfg, tmp_path, data):
    """A run stopped after 2 iterations and resumed ends with every network bit-identical to
    the uninterrupted run's."""
    a = Trainer(cfg, tmp_path / "a", data_path=data)
    a.train()
    b = Trainer(cfg, tmp_path / "b", data_path=data)
    b.train(until=2)
    c = Trainer(cfg, tmp_path / "b", data_path=data)
    c.load(tmp_path / "b")
    assert c.iteration == 2
    c.train()
    for name in a.nets:
        sa, sc = a.nets[name].state_dict(), c.nets[name].state_dict()
        for k in sa:
            assert torch.equal(sa[k], sc[k]), (name, k)


def test_learning_rate_decays_on_every_optimiser(tmp_path, data2d):
    tr = Trainer(tiny(iterations=4, val_every=0, d_lr_scale=2.0), tmp_path / "r",
                 data_path=data2d)
    tr.train()
    lrs = {k: o.param_groups[0]["lr"] for k, o in tr.optims.items()}
    assert set(lrs) == {"G", "D_s", "D_t"}
    base = {"G": 2e-4, "D_s": 4e-4, "D_t": 4e-4}
    for k, lr in lrs.items():  # 4 iterations: second half decays linearly towards 1/20
        assert lr < base[k] * 0.6, k
        assert lr / base[k] == pytest.approx(lrs["G"] / base["G"])


def test_run_folder_logs_and_health(tmp_path, data2d):
    out = tmp_path / "r"
    tr = Trainer(tiny(iterations=4, val_every=2, sample_every=4), out, data_path=data2d)
    tr.train()
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["iterations"] == 4 and saved["model"]["generator"] == "fast"
    split = json.loads((out / "split.json").read_text())
    assert not set(split["train"]) & set(split["val"])
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [2, 4]
    for key in ("d_s_acc_real", "d_s_acc_fake", "d_t_acc_real", "d_t_acc_fake", "grad_g_ds",
                "grad_g_l1", "grad_g_t", "grad_g_feat", "val_l1", "lr_G", "lr_D"):
        assert key in rows[-1], key
    assert (out / "checkpoint.pt").is_file()
    assert list((out / "samples").glob("*.png"))


def test_warns_when_a_discriminator_sits_at_chance(tmp_path, data2d):
    tr = Trainer(tiny(chance_window=3), tmp_path / "r", data_path=data2d)
    for _ in range(3):
        tr._watch_chance({"d_s": CHANCE + 0.01, "d_t": 0.5})
    assert len(tr.warnings) == 1 and "D_s" in tr.warnings[0] and "chance" in tr.warnings[0]


def test_3d_training_step(tmp_path, data3d):
    cfg = tiny(dim=3, iterations=1, tile=2, context=1, batch=1, val_every=0, rr="local",
               advection="maccormack")
    tr = Trainer(cfg, tmp_path / "r", data_path=data3d)
    out = tr.train()
    assert out["advect_overflow"] == 0.0 and "d_t" in out


def test_checkpoints_load_safely(tmp_path, data2d):
    tr = Trainer(tiny(iterations=1, val_every=0), tmp_path / "r", data_path=data2d)
    tr.train()
    ckpt = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert ckpt["iteration"] == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (bf16 autocast)")
def test_cuda_mixed_precision_step(tmp_path, data2d):
    tr = Trainer(tiny(iterations=2, val_every=0, device="cuda", amp=True), tmp_path / "r",
                 data_path=data2d)
    out = tr.train()
    assert tr.amp and all(torch.isfinite(torch.tensor(v)) for v in out.values())


def test_tensorboard_logging(tmp_path, data2d):
    pytest.importorskip("tensorboard", reason="TensorBoard is the optional `train` extra")
    out = tmp_path / "r"
    Trainer(tiny(iterations=2, val_every=0, sample_every=2, tensorboard="on"), out,
            data_path=data2d).train()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_code_is_refused(tmp_path):
    from billow.errors import InputError
    from billow.train import load_checkpoint

    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "billow-checkpoint/1", "x": _Payload()}, path)
    with pytest.raises(InputError, match="not a loadable"):
        load_checkpoint(path)


def test_time_limit_stops_early_with_a_checkpoint(tmp_path, data2d):
    from billow.train.trainer import load_checkpoint

    tr = Trainer(tiny(iterations=50, val_every=0, time_limit=1e-6), tmp_path / "r",
                 data_path=data2d)
    tr.train()
    assert tr.iteration == 1  # the first iteration already exceeds 60 microseconds
    assert load_checkpoint(tmp_path / "r")["iteration"] == 1


def test_l1_only_control_run_steps_only_the_generator(tmp_path, data2d):
    import warnings

    cfg = tiny(iterations=4, val_every=0, k_ds=0, k_dt=0, lambda_ds=0.0, lambda_dt=0.0,
               temporal="none", lambda_f="0")
    tr = Trainer(cfg, tmp_path / "r", data_path=data2d)
    # parameters only: spectral norm's power-iteration buffers move with every forward pass
    d_before = {k: v.detach().clone() for k, v in tr.nets["D_s"].named_parameters()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a scheduler stepped before its optimiser
        tr.train()
    d_after = dict(tr.nets["D_s"].named_parameters())
    assert all(torch.equal(v, d_after[k]) for k, v in d_before.items())
    assert tr.optims["G"].param_groups[0]["lr"] < 2e-4 * 0.6  # G still decays


def test_discriminator_warm_up_leaves_the_generator_alone(tmp_path, data2d):
    import warnings

    tr = Trainer(tiny(iterations=3, val_every=0, k_g=0, temporal="dt"), tmp_path / "r",
                 data_path=data2d)
    g_before = {k: v.clone() for k, v in tr.G.state_dict().items()}
    d_before = {k: v.detach().clone() for k, v in tr.D_t.named_parameters()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr.train()
    assert all(torch.equal(v, tr.G.state_dict()[k]) for k, v in g_before.items())
    assert any(not torch.equal(v, dict(tr.D_t.named_parameters())[k])
               for k, v in d_before.items())


def test_tile_loss_scale_ignores_overall_density(tmp_path, data2d):
    tr = Trainer(tiny(iterations=1, val_every=0), tmp_path / "r", data_path=data2d)
    lr, hr = tr.sampler.sample(3)
    lr[:, :, :1] += 2.0  # far above the 1e-3 floor of the tile mean (its effect: < 5e-4)
    hr += 2.0
    seen = tr._loss_scale(lr) * hr
    c = 7.0
    lr_c = lr.clone()
    lr_c[:, :, :1] *= c
    torch.testing.assert_close(tr._loss_scale(lr_c) * (hr * c), seen, rtol=1e-3, atol=1e-4)
    off = Trainer(tiny(iterations=1, val_every=0, loss_scale="off"), tmp_path / "o",
                  data_path=data2d)
    assert off._loss_scale(lr) == 1.0


def test_keep_every_keeps_numbered_checkpoints(tmp_path, data2d):
    from billow.train.trainer import load_checkpoint

    Trainer(tiny(iterations=4, val_every=0, keep_every=2), tmp_path / "r",
            data_path=data2d).train()
    kept = sorted(p.name for p in (tmp_path / "r").glob("checkpoint.*.pt"))
    assert kept == ["checkpoint.2.pt", "checkpoint.4.pt"]
    assert load_checkpoint(tmp_path / "r" / "checkpoint.2.pt")["iteration"] == 2


def test_runs_saved_before_loss_scale_keep_raw_densities(tmp_path, data2d):
    from billow.train import RunConfig

    saved = tiny().to_dict()
    del saved["train"]["loss_scale"]
    assert RunConfig.from_dict(saved).train.loss_scale == "off"
    assert tiny().train.loss_scale == "tile"  # new runs: tile-normalised losses


@pytest.mark.parametrize("steps", [1, 2])
def test_discriminators_see_real_tiles_through_the_generators_projection(tmp_path, data2d,
                                                                          steps):
    """A projecting generator's block means follow its input whatever it invents; real tiles
    of blur-and-sample inputs do not, so D_s could tell them apart by that alone (it did:
    session 8). Real tiles reach D_s and D_t through the same projection; L1 keeps the raw
    reference."""
    from billow.ops import block_means

    tr = Trainer(tiny(generator="smooth", fine_channels=4, projection="block",
                      projection_steps=steps, box_input=0.0, iterations=1, val_every=0),
                 tmp_path / "r", data_path=data2d)
    seen = {}

    def spy(name, net):
        def forward(*args):
            seen[name] = [a.detach().clone() for a in args]
            return net(*args)
        return forward

    lr, hr = tr.sampler.sample(2, scales=True)[:2]
    tr._batch = lambda: (lr, hr)
    tr.models["D_s"] = spy("D_s", tr.models["D_s"])
    tr.temporal.discriminator_loss = (
        lambda f, real3, l, d, *rest, _loss=tr.temporal.discriminator_loss:
        seen.setdefault("D_t", real3) and _loss(f, real3, l, d, *rest))
    tr._step_ds()
    tr._step_dt()
    s, c, m = tr._loss_scale(lr), tr.cfg.train.context, tr.margin
    cond = crop(lr[:, 1, :1], c) * s
    shown = seen["D_s"][1][:2]  # the real half of the one call
    raw = crop(hr[:, 1], m) * s

    def mismatch(t):
        return float((block_means(t, 4) - cond).abs().mean() / cond.abs().mean())

    assert mismatch(raw) > 0.02  # blur-and-sample input: the raw reference disagrees
    assert mismatch(shown) < 0.75 * mismatch(raw)  # 0.55x after one step here
    expected = hr[:, 1]
    for _ in range(steps):
        expected = project_block_means(expected, lr[:, 1, :1], 4)
    torch.testing.assert_close(shown, crop(expected, m) * s)
    torch.testing.assert_close(seen["D_t"][1], expected * s)
    no_projection = Trainer(tiny(generator="smooth", fine_channels=4, iterations=1,
                                 val_every=0), tmp_path / "n", data_path=data2d)
    assert torch.equal(no_projection._real(hr[:, 1], lr[:, 1]), hr[:, 1])


def test_weight_average_follows_the_generator_and_survives_resume(tmp_path, data2d):
    """--ema d: after each iteration avg <- d avg + (1 - d) G; checkpointed, so a resumed run
    continues it exactly; validation reads the average; export takes it unless told not to."""
    from billow.train.export import load_generator

    cfg = tiny(iterations=4, val_every=0, ema=0.5, lambda_lattice=3.0, lambda_lattice_ratio=2.0,
               lambda_spectrum=1.0)
    a = Trainer(cfg, tmp_path / "a", data_path=data2d)
    start = {k: v.clone() for k, v in a.G.state_dict().items()}
    assert all(torch.equal(start[k], v) for k, v in a.G_ema.state_dict().items())
    logs = a.step()
    assert logs["g_lattice"] >= 0 and logs["g_lattice_ratio"] >= 0 and logs["g_spectrum"] > 0
    for k, v in a.G_ema.state_dict().items():
        if v.dtype.is_floating_point:
            assert torch.allclose(v, 0.5 * start[k] + 0.5 * a.G.state_dict()[k], atol=1e-6)
    assert not all(torch.equal(v, a.G.state_dict()[k]) for k, v in a.G_ema.state_dict().items())
    a.train()
    b = Trainer(cfg, tmp_path / "b", data_path=data2d)
    b.train(until=2)
    c = Trainer(cfg, tmp_path / "b", data_path=data2d)
    c.load(tmp_path / "b")
    c.train()
    for k, v in a.G_ema.state_dict().items():
        assert torch.equal(v, c.G_ema.state_dict()[k]), k
    assert a.G_eval is a.G_ema
    g, _, ckpt = load_generator(tmp_path / "a")
    assert ckpt["weights_used"].startswith("weight average")
    assert all(torch.equal(v, a.G_ema.state_dict()[k]) for k, v in g.state_dict().items())
    g_raw, _, ckpt = load_generator(tmp_path / "a", "raw")
    assert ckpt["weights_used"] == "generator"
    assert all(torch.equal(v, a.G.state_dict()[k]) for k, v in g_raw.state_dict().items())


def test_runs_without_a_weight_average_export_the_generator(tmp_path, data2d):
    from billow.train.export import load_generator

    tr = Trainer(tiny(iterations=1, val_every=0), tmp_path / "r", data_path=data2d)
    tr.train()
    assert tr.G_ema is None and tr.G_eval is tr.G
    _, _, ckpt = load_generator(tmp_path / "r")
    assert ckpt["weights_used"] == "generator" and "ema" not in ckpt


@pytest.mark.parametrize("flags, message", [({"ema": 1.0}, "--ema"),
                                            ({"ema": -0.1}, "--ema"),
                                            ({"lambda_lattice": -1.0}, "--lambda-lattice"),
                                            ({"lambda_lattice_ratio": -1.0},
                                             "--lambda-lattice-ratio"),
                                            ({"lambda_spectrum": -1.0}, "--lambda-spectrum"),
                                            ({"clip_grad": -1.0}, "--clip-grad"),
                                            ({"d_negatives": -0.5}, "--d-negatives"),
                                            ({"d_negative_kinds": "blur,noise"},
                                             "--d-negative-kinds"),
                                            ({"d_negative_kinds": "blur,blur"},
                                             "--d-negative-kinds"),
                                            ({"dense_tiles": 1.5}, "--dense-tiles"),
                                            ({"flicker_per_tile": True},
                                             "--flicker-per-tile")])
def test_bad_weight_average_and_lattice_settings_are_refused(flags, message):
    from billow.errors import InputError

    with pytest.raises(InputError, match=message):
        tiny(**flags)


def test_fine_tuning_a_run_continues_its_weight_average(tmp_path, data2d):
    from billow.train.plan import load_base, load_base_weights, plan_finetune

    Trainer(tiny(iterations=2, val_every=0, ema=0.5), tmp_path / "a", data_path=data2d).train()
    base = load_base(tmp_path / "a")
    tr = Trainer(plan_finetune(base, {"val_every": 0}), tmp_path / "b", data_path=data2d)
    load_base_weights(tr, base)
    assert all(torch.equal(v, base["ema"]["G"][k]) for k, v in tr.G_ema.state_dict().items())
    assert all(torch.equal(v, base["models"]["G"][k]) for k, v in tr.G.state_dict().items())
    # without a weight average in the base, a new one starts at its generator
    Trainer(tiny(iterations=1, val_every=0), tmp_path / "c", data_path=data2d).train()
    base = load_base(tmp_path / "c")
    tr = Trainer(plan_finetune(base, {"val_every": 0, "ema": 0.9}), tmp_path / "d",
                 data_path=data2d)
    load_base_weights(tr, base)
    assert all(torch.equal(v, base["models"]["G"][k]) for k, v in tr.G_ema.state_dict().items())


def test_negative_examples_are_real_data_spoilt_and_resume_exactly(tmp_path, data2d):
    """--d-negatives: D_s also sees each real tile blurred, D_t each real triple with its own
    high-passed noise per frame, both labelled generated; the noise comes from the
    checkpointed sampler RNG, so a resumed run matches an uninterrupted one bit for bit."""
    from billow.ops import gaussian_blur
    from billow.train.trainer import NEGATIVE_SIGMA

    cfg = tiny(iterations=4, val_every=0, d_negatives=0.5)
    tr = Trainer(cfg, tmp_path / "s", data_path=data2d)
    seen = {}

    def spy(name, net):
        def forward(*args):
            seen.setdefault(name, [a.detach().clone() for a in args])
            return net(*args)
        return forward

    tr.models["D_s"] = spy("D_s", tr.models["D_s"])
    tr.models["D_t"] = spy("D_t", tr.models["D_t"])
    logs = tr.step()
    assert 0 <= logs["d_s_acc_negative"] <= 1 and 0 <= logs["d_t_acc_negative"] <= 1
    tiles = seen["D_s"][1]
    n = tiles.shape[0] // 3
    assert torch.allclose(tiles[2 * n:], gaussian_blur(tiles[:n], NEGATIVE_SIGMA), atol=1e-6)
    triples = seen["D_t"][0]
    real, flicker = triples[:n], triples[2 * n:]
    diff = flicker - real
    assert diff.abs().mean() > 0.05 * real.abs().mean()
    # new noise in every frame, and high-passed: its blur keeps little of it
    assert (diff[:, 0] - diff[:, 1]).abs().mean() > 0.5 * diff[:, 1].abs().mean()
    assert gaussian_blur(diff, 3.0).abs().mean() < 0.5 * diff.abs().mean()
    assert {"G", "D_s", "D_t"} <= set(tr.nets)
    assert_resume_is_exact(cfg, tmp_path, data2d)


def _step_seeing_ds_tiles(tr):
    """One training iteration; returns its logs and the tiles D_s saw in its first call
    (real, generated, then each negative kind, stacked along the batch)."""
    seen = []
    net = tr.models["D_s"]

    def spy(*args):
        if not seen:
            seen.append(args[1].detach().clone())
        return net(*args)

    tr.models["D_s"] = spy
    logs = tr.step()
    return logs, seen[0]


def _ds_real_and_negative(tmp_path, data, kinds):
    """One training iteration with --d-negative-kinds `kinds`: its config, its logs, the real
    tiles D_s saw and the negatives of the last kind."""
    cfg = tiny(iterations=4, val_every=0, d_negatives=0.5, d_negative_kinds=kinds)
    logs, tiles = _step_seeing_ds_tiles(Trainer(cfg, tmp_path / "s", data_path=data))
    n = tiles.shape[0] // (2 + len(kinds.split(",")))
    return cfg, logs, tiles[:n], tiles[-n:]


def test_lattice_negatives_are_real_tiles_plus_a_period_4_pattern(tmp_path, data2d):
    """--d-negative-kinds blur,lattice: D_s sees each real tile blurred and each real tile plus
    its own zero-mean pattern repeating every 4 voxels, both labelled generated; resume stays
    exact with the extra draws from the sampler RNG."""
    from billow.train.trainer import LATTICE_PERIOD

    cfg, logs, real, lattice = _ds_real_and_negative(tmp_path, data2d, "blur,lattice")
    assert 0 <= logs["d_s_acc_negative"] <= 1 and 0 <= logs["d_s_acc_lattice"] <= 1
    diff = lattice - real
    assert diff.abs().mean() > 0.02 * real.abs().mean()
    # where the ReLU did not cut, the added pattern repeats every 4 voxels along each axis
    p = LATTICE_PERIOD
    for axis in (2, 3):
        a, b = diff.narrow(axis, 0, diff.shape[axis] - p), diff.narrow(axis, p, diff.shape[axis] - p)
        kept = (lattice.narrow(axis, 0, diff.shape[axis] - p) > 0) & (
            lattice.narrow(axis, p, diff.shape[axis] - p) > 0)
        assert kept.float().mean() > 0.3
        assert torch.allclose(a[kept], b[kept], atol=1e-5)
    assert not torch.allclose(diff.narrow(2, 0, 1), diff.narrow(2, 1, 1))  # not constant
    assert_resume_is_exact(cfg, tmp_path, data2d)


def test_dot_negatives_are_one_voxel_per_cell_where_the_smoke_is(tmp_path, data2d):
    """--d-negative-kinds dots: each real tile plus one raised (or lowered) voxel per 4-voxel
    cell at a random phase, zero-mean per cell and scaled by the tile's smoothed density over
    its mean, so the added pattern divided by that density repeats every 4 voxels and takes
    two values; resume stays exact."""
    from billow.ops import gaussian_blur
    from billow.train.trainer import LATTICE_PERIOD, NEGATIVE_SIGMA

    cfg, logs, real, dots = _ds_real_and_negative(tmp_path, data2d, "dots")
    assert 0 <= logs["d_s_acc_dots"] <= 1 and "d_s_acc_negative" not in logs
    smooth = gaussian_blur(real, NEGATIVE_SIGMA)
    dense = smooth > 0.2 * smooth.amax(dim=(1, 2, 3), keepdim=True)
    kept = (dots > 0) & dense
    assert kept.float().mean() > 0.2
    unit = (dots - real) / (smooth / smooth.mean(dim=(1, 2, 3), keepdim=True))
    p = LATTICE_PERIOD
    for i in range(real.shape[0]):
        u, k = unit[i, 0], kept[i, 0]
        for axis in (0, 1):
            a, b = u.narrow(axis, 0, u.shape[axis] - p), u.narrow(axis, p, u.shape[axis] - p)
            both = k.narrow(axis, 0, u.shape[axis] - p) & k.narrow(axis, p, u.shape[axis] - p)
            assert torch.allclose(a[both], b[both], atol=1e-4)
        values = u[k]
        spike = values.abs().amax()
        # one voxel per cell carries the spike, the other 15 share the opposite offset
        assert (values.abs() > 0.5 * spike).float().mean() < 0.15
        assert torch.allclose(values[values.abs() < 0.5 * spike].abs(), spike / 15, rtol=1e-3)
    assert_resume_is_exact(cfg, tmp_path, data2d)


def test_contour_negatives_darken_thin_iso_lines_of_the_blurred_tile(tmp_path, data2d):
    """--d-negative-kinds contours: each real tile times a gain in [0.2, 1] that is below 1 only
    on thin bands where the blurred tile's density over its mean sits near one of k evenly
    spaced levels, so voxels on one iso-line are darkened alike and empty space stays empty;
    logged per kind; resume stays exact."""
    from billow.ops import gaussian_blur
    from billow.train.trainer import CONTOUR_CUT, NEGATIVE_SIGMA

    cfg, logs, real, contours = _ds_real_and_negative(tmp_path, data2d, "blur,contours")
    assert 0 <= logs["d_s_acc_contours"] <= 1 and 0 <= logs["d_s_acc_negative"] <= 1
    assert torch.all(contours <= real + 1e-6) and torch.all(contours >= 0.2 * real - 1e-6)
    assert torch.all(contours[real == 0] == 0)
    smooth = gaussian_blur(real, NEGATIVE_SIGMA)
    level = smooth / smooth.mean(dim=(1, 2, 3), keepdim=True)
    dense = real > 0.05 * real.amax(dim=(1, 2, 3), keepdim=True)
    for i in range(real.shape[0]):
        gain = (contours[i] / real[i].clamp(min=1e-12))[dense[i]]
        lv = level[i][dense[i]]
        dark = gain < 0.999
        assert 0.02 < dark.float().mean() < 0.5  # thin lines, not a dimmed tile
        # darkened or not depends on the level alone: sorted by level, the dark voxels form
        # at most one run per contour level in the range (k <= 6 levels per unit), where
        # voxels darkened at random would switch hundreds of times
        dark_by_level = dark[torch.argsort(lv)]
        switches = int((dark_by_level[1:] != dark_by_level[:-1]).sum())
        assert switches <= 2 * (6 * float(lv.max() - lv.min()) + 2)
        assert dark.sum() > 20 and gain.min() < 0.8
    assert 0 < CONTOUR_CUT < 1
    assert_resume_is_exact(cfg, tmp_path, data2d)


def test_shift_negatives_move_the_outer_frames_against_each_other(tmp_path, data2d):
    """--d-t-negative-kinds flicker,shift: D_t's negatives are the flickering triples and
    the real triples with frame 0 rolled by +o and frame 2 by -o voxels along one axis (the
    middle frame untouched), logged per kind; resume stays exact; bad kinds are refused."""
    from billow.errors import InputError

    cfg = tiny(iterations=4, val_every=0, d_negatives=0.5, d_t_negative_kinds="flicker,shift")
    tr = Trainer(cfg, tmp_path / "s", data_path=data2d)
    real3 = [torch.rand(3, 1, 16, 16) for _ in range(3)]
    shifted = tr._shift(real3)
    assert torch.equal(shifted[1], real3[1])
    for i in range(3):
        moves = [(o, a) for o in (-2, -1, 1, 2) for a in (1, 2)
                 if torch.equal(shifted[0][i], torch.roll(real3[0][i], o, dims=a))
                 and torch.equal(shifted[2][i], torch.roll(real3[2][i], -o, dims=a))]
        assert len(moves) == 1
    logs = tr.step()
    assert 0 <= logs["d_t_acc_negative"] <= 1 and 0 <= logs["d_t_acc_shift"] <= 1
    assert_resume_is_exact(cfg, tmp_path, data2d)
    with pytest.raises(InputError, match="--d-t-negative-kinds"):
        Trainer(tiny(d_negatives=0.5, d_t_negative_kinds="flicker,blur"), tmp_path / "b",
                data_path=data2d)


def test_clip_grad_logs_each_networks_norm_and_keeps_resume_exact(tmp_path, data2d):
    """--clip-grad: every network's step is clipped and its largest norm before clipping is
    logged per iteration; off by default (no such log)."""
    plain = Trainer(tiny(iterations=1, val_every=0), tmp_path / "p", data_path=data2d).step()
    assert not any(k.startswith("grad_norm_") for k in plain)
    cfg = tiny(iterations=4, val_every=0, clip_grad=1e-4)
    logs = Trainer(cfg, tmp_path / "c", data_path=data2d).step()
    for name in ("G", "D_s", "D_t"):
        assert logs[f"grad_norm_{name}"] > 1e-4  # so every step here was clipped
    assert_resume_is_exact(cfg, tmp_path, data2d)


def _assert_term_lowers(tr, fixed, term, measure, steps):
    """Training `steps` iterations on the batch `fixed` logs `term` (a term that reaches G
    outside its output, so no output-gradient health entry) and lowers `measure` by 30%."""
    before = measure()
    tr.sampler.sample = lambda n, scales=False: fixed
    logs = tr.step()
    assert logs[term] > 0 and f"grad_{term}" not in logs
    for _ in range(steps - 1):
        tr.step()
    assert measure() < 0.7 * before


def test_negative_part_loss_lifts_the_sum_the_clamp_would_cut(tmp_path, data2d):
    """--lambda-negative: the mean negative part of the smooth generator's pre-clamp sum (where
    the lattice is made), read through G's own forward; training on it alone lifts the sum."""
    from billow.errors import InputError

    cfg = tiny(generator="smooth", fine_channels=4, lr=3e-3, lambda_negative=5.0, lambda_l1=0.0,
               lambda_ds=0.0, lambda_dt=0.0, lambda_f="0", temporal="none", val_every=0)
    tr = Trainer(cfg, tmp_path / "r", data_path=data2d)
    torch.manual_seed(0)
    for p in tr.G.parameters():  # the residual starts at zero; give the clamp work to do
        torch.nn.init.normal_(p, std=0.3)
    fixed = tr.sampler.sample(4, scales=True)
    x = tr._generate  # the trainer's path: normalised input, the sum in network units

    def negative():
        parts = {"sum": []}
        with torch.no_grad():
            x(fixed[0], [1], scales=fixed[2], parts=parts)
        return float(torch.relu(-parts["sum"][0]).mean())

    assert negative() > 0
    _assert_term_lowers(tr, fixed, "g_negative", negative, steps=11)
    probe = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        out, got = tr.G(probe, parts=("sum",))
        assert torch.equal(out, tr.G(probe))
        assert torch.equal(got["sum"], tr.G.stages(probe)["sum"])
    with pytest.raises(InputError, match="--lambda-negative"):
        tiny(generator="fast", lambda_negative=1.0)
    with pytest.raises(InputError, match="--lambda-negative"):
        tiny(generator="smooth", lambda_negative=-1.0)


def test_structure_band_term_moves_the_high_band_into_the_gated_channel(tmp_path, data2d):
    """--lambda-structure-band: the share of the residual's high band in the ungated structure
    channel, read through G's own forward; training on it alone lowers the share (so the
    slider, which reaches the gated channel only, gets more of the detail)."""
    from billow.errors import InputError
    from billow.train.losses import structure_band_share
    from billow.train.trainer import NEGATIVE_SIGMA

    cfg = tiny(generator="smooth", fine_channels=4, detail_gate="speed", lr=1e-2,
               lambda_structure_band=5.0, lambda_l1=0.0, lambda_ds=0.0, lambda_dt=0.0,
               lambda_f="0", temporal="none", val_every=0)
    tr = Trainer(cfg, tmp_path / "r", data_path=data2d)
    torch.manual_seed(0)
    for p in tr.G.parameters():  # the residual starts at zero; give both channels a band
        torch.nn.init.normal_(p, std=0.3)
    fixed = tr.sampler.sample(4, scales=True)

    def share():
        parts = {"structure": [], "detail": []}
        with torch.no_grad():
            tr._generate(fixed[0], [1], scales=fixed[2], parts=parts)
        return float(structure_band_share(parts["structure"][0], parts["detail"][0],
                                          NEGATIVE_SIGMA))

    assert 0.5 < share() < 0.999
    _assert_term_lowers(tr, fixed, "g_structure_band", share, steps=16)
    with pytest.raises(InputError, match="--lambda-structure-band"):
        tiny(generator="smooth", lambda_structure_band=1.0)  # no gate: no detail channel
    with pytest.raises(InputError, match="--lambda-structure-band"):
        tiny(generator="smooth", detail_gate="speed", lambda_structure_band=-1.0)


def test_slider_order_term_makes_each_slider_step_add_high_band(tmp_path, data2d):
    """--lambda-slider-order: G at velocity-scale slider 0, 1 and 2 on the same tiles; the term
    is the log shortfall of each step's high-band energy ratio below 1.2, and training on it
    alone lowers it (from weights whose gated channel smooths, the failure it is for)."""
    import math

    from billow.errors import InputError
    from billow.train.losses import band_power

    cfg = tiny(generator="smooth", fine_channels=4, detail_gate="speed", output_form="gain",
               lr=1e-2, lambda_slider_order=5.0, lambda_l1=0.0, lambda_ds=0.0, lambda_dt=0.0,
               lambda_f="0", temporal="none", val_every=0, loss_scale="off")
    tr = Trainer(cfg, tmp_path / "r", data_path=data2d)
    torch.manual_seed(0)
    with torch.no_grad():  # detail channel = minus the structure channel: the slider smooths
        torch.nn.init.normal_(tr.G.out.weight, std=0.3)
        tr.G.out.weight[1] = -tr.G.out.weight[0]
    fixed = tr.sampler.sample(4, scales=True)
    tr._scales = fixed[2]

    def energies():
        with torch.no_grad():
            out = [tr._generate(fixed[0], [1], slider=k)[0] for k in (0.0, None, 2.0)]
        # floored as the term floors them: a slider-0 output with no high band meets the order
        return [max(1e-20, float(band_power(crop(o, tr.margin), tr.data.factor).sum()))
                for o in out]

    e0, e1, e2 = energies()
    assert e1 < e0  # the smoothing start: the slider is inverted
    with torch.no_grad():  # the slider at 1 is the model without a detail channel
        one = tr._generate(fixed[0], [1], slider=1.0)[0]
        assert torch.allclose(one, tr._generate(fixed[0], [1])[0], atol=1e-6)
        fake = crop(tr._generate(fixed[0], [1])[0], tr.margin)
        term = float(tr._slider_order(fixed[0], fake, 1.0))
    step = math.log(1.2)
    want = max(0.0, step - math.log(e1 / e0)) + max(0.0, step - math.log(e2 / e1))
    assert abs(term - want) < 1e-4 * max(1.0, want)
    # --slider-step sets the ratio asked for
    import dataclasses
    tr.cfg = dataclasses.replace(tr.cfg, train=dataclasses.replace(tr.cfg.train, slider_step=1.5))
    with torch.no_grad():
        wider = float(tr._slider_order(fixed[0], fake, 1.0))
    tr.cfg = dataclasses.replace(tr.cfg, train=dataclasses.replace(tr.cfg.train, slider_step=1.2))
    big = math.log(1.5)
    assert abs(wider - (max(0.0, big - math.log(e1 / e0)) + max(0.0, big - math.log(e2 / e1)))) \
        < 1e-4 * max(1.0, wider)

    def order():
        e0, e1, e2 = energies()
        return max(0.0, step - math.log(e1 / e0)) + max(0.0, step - math.log(e2 / e1))

    _assert_term_lowers(tr, fixed, "g_slider_order", order, steps=16)
    with pytest.raises(InputError, match="--lambda-slider-order"):
        tiny(generator="smooth", lambda_slider_order=1.0)  # no gate: no slider input
    with pytest.raises(InputError, match="--lambda-slider-order"):
        tiny(generator="smooth", detail_gate="speed", lambda_slider_order=-1.0)
    with pytest.raises(InputError, match="--slider-step"):
        tiny(generator="smooth", detail_gate="speed", lambda_slider_order=1.0, slider_step=1.0)


@pytest.mark.parametrize("per_tile", [False, True])
def test_flicker_term_steadies_the_generated_detail(tmp_path, data2d, per_tile):
    """--lambda-flicker: the benchmark's flicker of the generated triple over the reference's,
    logged with the gradient it sends into G's output; training on it alone lowers it, taken
    over the batch or tile by tile (--flicker-per-tile)."""
    from billow.errors import InputError
    from billow.train.losses import flicker_excess

    cfg = tiny(generator="smooth", fine_channels=4, output_form="gain", lr=1e-2,
               lambda_flicker=5.0, lambda_l1=0.0, lambda_ds=0.0, lambda_dt=0.0, lambda_f="0",
               temporal="l2", val_every=0, flicker_per_tile=per_tile)
    tr = Trainer(cfg, tmp_path / "r", data_path=data2d)
    lr, hr, sc = tr.sampler.sample(4, scales=True)
    # a reference whose outer frames sit 3x nearer the middle one: steadier than G's start
    hr = torch.stack([hr[:, 1] + 0.3 * (hr[:, 0] - hr[:, 1]), hr[:, 1],
                      hr[:, 1] + 0.3 * (hr[:, 2] - hr[:, 1])], dim=1)
    fixed = (lr, hr, sc)
    tr._scales = sc
    torch.manual_seed(0)
    for p in tr.G.parameters():  # the residual starts at zero; let every layer learn at once
        torch.nn.init.normal_(p, std=0.3)

    def excess():
        with torch.no_grad():
            fake3 = tr._generate(fixed[0], [0, 1, 2])
        return float(flicker_excess([crop(f, tr.margin) for f in fake3],
                                    [crop(fixed[1][:, i], tr.margin) for i in range(3)],
                                    tr.data.factor, per_tile=per_tile))

    before = excess()
    assert before > 0.3
    tr.sampler.sample = lambda n, scales=False: fixed
    logs = tr.step(health=True)
    assert logs["g_flicker"] > 0 and logs["grad_g_flicker"] > 0
    for _ in range(15):
        tr.step()
    assert excess() < 0.7 * before
    with pytest.raises(InputError, match="--lambda-flicker"):
        tiny(lambda_flicker=1.0, temporal="none")
    with pytest.raises(InputError, match="--lambda-flicker"):
        tiny(lambda_flicker=-1.0)


def test_structure_band_share_is_zero_one_and_scale_free():
    from billow.train.losses import structure_band_share

    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 1, 16, 16, generator=g)
    smooth = torch.ones(2, 1, 16, 16)
    assert float(structure_band_share(smooth, a, 1.5)) < 1e-6
    assert float(structure_band_share(a, smooth, 1.5)) > 1 - 1e-6
    assert abs(float(structure_band_share(a, a, 1.5)) - 0.5) < 1e-6
    b = torch.randn(2, 1, 16, 16, generator=g)
    assert torch.allclose(structure_band_share(a, b, 1.5), structure_band_share(7 * a, 7 * b, 1.5))
