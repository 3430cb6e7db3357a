#!/usr/bin/env bash
# The shipped 3D model (engine/billow/models/smoke3d_x4) and its L1-only control, end to end.
#
#   bash benchmarks/smoke3d_model.sh            # data, training, held-out evaluation, export
#
# Session 3 ran these steps on a 2-core CPU with both fine-tunes side by side (1 thread each);
# figures and wall times are in engine/billow/models/smoke3d_x4.json and README "Models". Every step skips
# work that is already done, so the script can be re-run after an interruption. Run folders
# go to runs/, data to data/, reports to eval3d/.
set -euo pipefail
B="python -m billow"
COMMON_FT=(--loss-scale tile --lossless --amplitude-min 0.5 --amplitude-max 2 --lambda-f 0 --lr 1e-4
           --iterations 100000 --no-lr-decay --log-every 25 --val-every 200
           --checkpoint-every 50 --sample-every 0 --tensorboard off --threads 1 --seed 0)

# 1. the L1-only base: 64^3 simulations, 28 minutes (session 2)
$B dataset --out data/smoke3d_64 --sims 10 --res 64 --factor 4 --frames 48 --dim 3 --seed 100
[ -f runs/l1only3d/checkpoint.pt ] || $B train --data data/smoke3d_64 --out runs/l1only3d \
  --preset fast-3d --width 32 --blocks 3 --tile 8 --batch 4 --lossless --seed 0 --threads 1 \
  --log-every 25 --val-every 100 --sample-every 0 --checkpoint-every 50 --tensorboard off \
  --iterations 100000 --no-lr-decay --time-limit 28 --lambda-f 0 --lambda-ds 0 --lambda-dt 0 \
  --temporal none --k-ds 0 --k-dt 0 --loss-scale off
[ -f runs/l1only3d.onnx ] || $B export runs/l1only3d --out runs/l1only3d.onnx

# 2. discriminator warm-up on the frozen L1 generator (200 iterations, 3 minutes, 2 threads)
[ -f runs/dwarm/checkpoint.pt ] || $B finetune --base runs/l1only3d.onnx \
  --data data/smoke3d_64 --out runs/dwarm --lossless --temporal dt --lambda-ds 1 \
  --lambda-dt 1 --lambda-f 0 --k-ds 1 --k-dt 1 --k-g 0 --lr 1e-4 --iterations 200 \
  --val-every 0 --threads 2 --loss-scale tile

# 3. 128^3 training simulations (32^3 -> 128^3, the use case)
$B dataset --out data/smoke3d_128 --sims 8 --res 128 --factor 4 --frames 60 --dim 3 --seed 300

# 4. adversarial fine-tune: lambda_L1 5 for 400 iterations, then lambda_L1 1 for 46 minutes
[ -f runs/adv128/checkpoint.pt ] || $B finetune --base runs/dwarm --data data/smoke3d_128 \
  --out runs/adv128 "${COMMON_FT[@]}" --iterations 400 --temporal dt --k-g 1 --k-ds 1 \
  --k-dt 1 --lambda-ds 1 --lambda-dt 1 --d-lr-scale 4 --keep-every 200
[ -f runs/adv128b/checkpoint.pt ] || $B finetune --base runs/adv128 --data data/smoke3d_128 \
  --out runs/adv128b "${COMMON_FT[@]}" --temporal dt --k-g 1 --k-ds 1 --k-dt 1 --lambda-ds 1 \
  --lambda-dt 1 --lambda-l1 1 --d-lr-scale 4 --keep-every 150 --time-limit 46

# 5. the L1-only control: same base, data, augmentation and learning rate, 70 minutes
[ -f runs/l1ctl128/checkpoint.pt ] || $B finetune --base runs/l1only3d.onnx \
  --data data/smoke3d_128 --out runs/l1ctl128 "${COMMON_FT[@]}" --temporal none --k-ds 0 \
  --k-dt 0 --lambda-ds 0 --lambda-dt 0 --keep-every 500 --time-limit 70

# 6. pick the adversarial iteration on the VALIDATION simulations of the split (never the test)
python benchmarks/heldout_eval.py runs/adv128b/checkpoint.*.pt runs/adv128b \
  runs/l1ctl128 --data data/smoke3d_128 --sims sim_0000,sim_0004 --baselines tricubic \
  --frames 45-54 --json eval3d/selection.json

# 7. held-out test simulations (not in any training or validation set), VDB round trip
$B dataset --out data/heldout3d_128b --sims 1 --res 128 --factor 4 --frames 60 --dim 3 --seed 9100 --vdb
$B dataset --out data/heldout3d_128c --sims 1 --res 128 --factor 4 --frames 60 --dim 3 --seed 9200 --vdb
$B dataset --out data/heldout3d_128v --sims 1 --res 128 --factor 4 --frames 50 --dim 3 --seed 9000 --vdb
CHOSEN=${CHOSEN:-runs/adv128b}  # the iteration step 6 picked (session 3: see the card)
$B export "$CHOSEN" --out eval3d/adversarial.onnx
$B export runs/l1ctl128 --out eval3d/l1_control.onnx
python benchmarks/heldout_vdb.py eval3d/adversarial.onnx eval3d/l1_control.onnx \
  --set data/heldout3d_128b:41-60 --set data/heldout3d_128c:41-60 \
  --set data/heldout3d_128v:31-50 --out eval3d --json eval3d/test.json
$B export "$CHOSEN" --out engine/billow/models/smoke3d_x4.onnx --eval eval3d/test.json
