#!/usr/bin/env bash
# Reproduces the 3D "smooth" model of issue 17 end to end on one machine, resumable step by
# step (each step is skipped when its output exists). CPU figures: 2-core x86_64, 1 thread.
#
#   bash benchmarks/smooth3d_model.sh            # data, L1 stage, D warm-up, adversarial stage
#   ROOT=/work bash benchmarks/smooth3d_model.sh # where data/ and runs/ go (default: .)
#
# Design (see engine/billow/models/smoke3d_x4.json "design" and the README "Models" section):
# - generator "smooth": low-res trunk, resize-convolution up-sampling (no 4-voxel lattice);
# - "normalise": "frame": density and velocity divided by whole-frame statistics, so any
#   density amplitude and any speed look alike to the network (upres(k rho) = k upres(rho));
# - data: the `mixed` scene family (reference scenes + obstacle + jet + broad scenes from thin
#   to saturated, still to fast), 96^3 -> 24^3, both low-res derivations (--box-input 0.5).
set -euo pipefail
ROOT=${ROOT:-.}
B="billow"
D=$ROOT/data/mixed96
R=$ROOT/runs
COMMON=(--threads 1 --seed 0 --log-every 25 --val-every 100 --val-batches 4 --sample-every 200
        --checkpoint-every 25 --tensorboard off --progress log)

# 1. training data: 40 sims x 60 frames of the mixed family (about 40 min on one core)
[ "${SKIP_DATA:-0}" = 1 ] || OMP_NUM_THREADS=1 $B dataset --out "$D" --sims 40 --res 96 --frames 60 --seed 0 --scenes mixed \
  --lr-box --lr-sim --progress log

# 2. L1 stage from the interpolated start (the residual branch starts at zero): 40 minutes
[ -f "$R/smooth_l1/checkpoint.pt" ] || $B train --data "$D" --out "$R/smooth_l1" \
  --preset smooth-3d "${COMMON[@]}" --keep-every 500 --iterations 100000 --no-lr-decay \
  --time-limit 40 --temporal none --k-ds 0 --k-dt 0 --lambda-ds 0 --lambda-dt 0 --lambda-f 0 \
  --lr 5e-4

# 3. discriminator warm-up on the frozen L1 generator (D_s and D_t, 100 iterations)
[ -f "$R/smooth_dwarm/checkpoint.pt" ] || $B finetune --base "$R/smooth_l1" --data "$D" \
  --out "$R/smooth_dwarm" "${COMMON[@]}" --temporal dt --k-ds 1 --k-dt 1 --k-g 0 \
  --lambda-ds 1 --lambda-dt 1 --lambda-f 0 --lr 1e-4 --d-lr-scale 2 --iterations 100 \
  --val-every 0 --no-lr-decay

# 4. adversarial stage (tempoGAN: L1 + D_s + D_t on advected frames); resumable, runs until
#    --time-limit minutes of training time in total (continue with `billow train --resume`)
[ -f "$R/smooth_gan/checkpoint.pt" ] || $B finetune --base "$R/smooth_dwarm" --data "$D" \
  --out "$R/smooth_gan" "${COMMON[@]}" --temporal dt --k-ds 1 --k-dt 1 --k-g 1 \
  --lambda-l1 5 --lambda-ds 1 --lambda-dt 1 --lambda-f 0 --lr 1e-4 --d-lr-scale 2 \
  --iterations 100000 --no-lr-decay --keep-every 250 --time-limit "${GAN_MINUTES:-480}"
