#!/usr/bin/env bash
# Recipe that made lizrcl_tools/data/lizrcl_mace_small.model (see its model card).
# One thread per process: on a loaded machine torch's default of one OpenMP thread per core
# spins on busy cores and was measured 5-10x slower. nice keeps the machine usable for others.
set -euo pipefail
cd "$(dirname "$0")"
WORK=${WORK:-/tmp/lizrcl_default}
SEED=${SEED:-2026}
EPOCHS=${EPOCHS:-60}
PY=../.venv/bin/python
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$WORK"
# 1. structures + teacher labels (static frames and MD run in parallel; both resumable)
nice -n 10 $PY make_default_model.py generate --part static --work "$WORK" --seed "$SEED" > "$WORK/generate_static.log" 2>&1 &
nice -n 10 $PY make_default_model.py generate --part md --work "$WORK" --seed "$SEED" > "$WORK/generate_md.log" 2>&1
wait
$PY make_default_model.py generate --work "$WORK" --seed "$SEED" >> "$WORK/generate_md.log" 2>&1  # assemble pools
# 2. train (resumes from mace's checkpoint if interrupted), 3. held-out report, 4. ship + card
nice -n 10 $PY make_default_model.py train --work "$WORK" --seed "$SEED" --epochs "$EPOCHS" > "$WORK/train.log" 2>&1
nice -n 10 $PY make_default_model.py evaluate --work "$WORK" --seed "$SEED" --lattice > "$WORK/evaluate.log" 2>&1
$PY make_default_model.py card --work "$WORK" --seed "$SEED"

# --- What was actually run for the shipped model (2026-11-27, 2 shared CPU cores) ---------
# generate --part static / --part md as above (234 training-pool + 40 held-out frames, ~20 min
#   once OMP_NUM_THREADS=1 was set; 2.6 s per 27-atom teacher call);
# train --epochs 30 --dtype float32, stopped after epoch 2 and resumed with --epochs 16
#   (Stage Two from epoch 12; stress weight 10) -> first model (held-out 13.7 meV/atom,
#   0.127 eV/Å, 2.0 GPa; relaxed Li2ZrCl6 cell 35% too large: stress not learnt);
# continued from its epoch-15 Stage-Two checkpoint in a copy of the work folder:
#   make_default_model.py train --work /tmp/lizrcl_default2 --epochs 36 --dtype float32 \
#     --mace-arg=--start_stage_two=16 --mace-arg=--stress_weight=1000 \
#     --mace-arg=--swa_stress_weight=1000
#   then evaluate --lattice and card on /tmp/lizrcl_default2 (numbers on the model card).
# Self-learning round 1 (09:00): the model above relaxed Li2ZrCl6 correctly but its energy fell
# for cells stretched > 10 % and NPT at 600 K expanded the cell twofold (then atoms overlapped).
# Labelled where it failed (volume scans 0.90-1.40 of every crystal, cation-Cl close contacts,
# frames of the failed `lizrcl conductivity` runs; 31 of 80 dropped as unphysical) and resumed:
#   cp -r /tmp/lizrcl_default2 /tmp/lizrcl_default3
#   python self_learning_round.py --work /tmp/lizrcl_default3 --runs conductivity/runs/T600 \
#       conductivity/runs/T750 conductivity/runs/T900
#   make_default_model.py train --work /tmp/lizrcl_default3 --epochs 56 --dtype float32 \
#     --mace-arg=--start_stage_two=16 --mace-arg=--stress_weight=1000 \
#     --mace-arg=--swa_stress_weight=1000
#   make_default_model.py evaluate --work /tmp/lizrcl_default3 --lattice; make_default_model.py card ...
#
# Model 3 (shipped since 2026-11-27 11:23; invariant MACE + ZBL, recipe in make_default_model.py):
#   mkdir /tmp/lizrcl_default4; cp /tmp/lizrcl_default3/{train_pool,heldout}.extxyz /tmp/lizrcl_default4/
#   python self_learning_round.py --work /tmp/lizrcl_default4 --round 2 --seed 5026   # 54 frames, 12 s
#   python self_learning_round.py --work /tmp/lizrcl_default4 --round 3 --seed 6026   # 120 frames, 13 min
#   mkdir /tmp/lizrcl_default5; cp /tmp/lizrcl_default4/{train_pool,heldout}.extxyz /tmp/lizrcl_default5/
#   make_default_model.py train --work /tmp/lizrcl_default5 --epochs 70 --dtype float32      # 47 min
#   make_default_model.py train --work /tmp/lizrcl_default5 --epochs 95 --dtype float32 \
#     --mace-arg=--start_stage_two=56 --mace-arg=--swa_energy_weight=1000                  # resumed at its
#     # epoch-60 checkpoint (stage two), 34 more epochs, ~23 min
#   make_default_model.py evaluate --work /tmp/lizrcl_default5 --lattice; make_default_model.py card ...
# (A parallel run on /tmp/lizrcl_default4 before round 3, 90 epochs, reached 4.3 meV/atom and
#  0.087 eV/Å held-out but its relaxed c was 0.75 % long; the round-3 model was shipped because
#  it is better on the Li2ZrCl6 lattice and 600 K MD, which is what the toolkit runs.)
#
# Model 4 (shipped 2026-11-27 14:23 to 17:08; self-learning round 4 = the SSW-NN step):
#   mkdir /tmp/lizrcl_default6; cp /tmp/lizrcl_default5/{train_pool,heldout,teacher_lattice}.* /tmp/lizrcl_default6/
#   python self_learning_round.py --work /tmp/lizrcl_default6 --round 4 --seed 7026 \
#       --ssw-db /tmp/ssw_mace/minima.db        # 122 labelled + 80 teacher-MD frames, 3.5 min
#     # (minima.db: the two 10-step `lizrcl ssw` walks of model 3 in the stop-7 closing note)
#   # B: model 3's run folder without its stage-two checkpoint -> resumes at epoch 55
#   mkdir /tmp/lizrcl_default6b; cp /tmp/lizrcl_default6/{train_pool,heldout}.extxyz /tmp/lizrcl_default6b/
#   cp -r /tmp/lizrcl_default5/train /tmp/lizrcl_default6b/; rm /tmp/lizrcl_default6b/train/checkpoints/*epoch-94_swa.pt
#   make_default_model.py train --work /tmp/lizrcl_default6b --epochs 125 --dtype float32 \
#     --mace-arg=--start_stage_two=96 --mace-arg=--swa_energy_weight=1000                  # 80 min
#   python self_learning_round.py --work /tmp/lizrcl_default6 --round 4 --seed 8026        # +160 frames
#   mkdir /tmp/lizrcl_default6c; cp /tmp/lizrcl_default6/{train_pool,heldout}.extxyz /tmp/lizrcl_default6c/
#   cp -r /tmp/lizrcl_default6b/train /tmp/lizrcl_default6c/                # resumes at epoch 113 (stage two)
#   make_default_model.py train --work /tmp/lizrcl_default6c --epochs 131 --dtype float32 \
#     --mace-arg=--start_stage_two=96 --mace-arg=--swa_energy_weight=1000                  # 24 min
#   make_default_model.py evaluate --work /tmp/lizrcl_default6c --lattice; make_default_model.py card --work /tmp/lizrcl_default6c
# (A sibling resuming model 3's final epoch-94 stage-two checkpoint on the same data,
#  --epochs 130 then 165, was worse on the shared validation set and stopped at epoch 158.)
#
# Model 5 (shipped since 2026-11-27 17:08; self-learning round 5: random cells over all x,
# teacher MD of Li-rich random cells, frames of model 4's conductivity runs):
#   mkdir /tmp/lizrcl_default7; cp /tmp/lizrcl_default6c/{train_pool,heldout,teacher_lattice}.* /tmp/lizrcl_default7/
#   (cd /tmp/cond_m4 && OMP_NUM_THREADS=1 lizrcl conductivity)              # model 4's main job
#   python self_learning_round.py --work /tmp/lizrcl_default7 --round 5 --seed 9026 \
#       --runs /tmp/cond_m4/conductivity/runs/T600 /tmp/cond_m4/conductivity/runs/T750 \
#       /tmp/cond_m4/conductivity/runs/T900                 # 136 labelled + 100 teacher-MD frames, 7 min
#   mkdir /tmp/lizrcl_default7b; cp /tmp/lizrcl_default7/{train_pool,heldout,teacher_lattice}.* /tmp/lizrcl_default7b/
#   cp -r /tmp/lizrcl_default6c/train /tmp/lizrcl_default7b/
#   rm /tmp/lizrcl_default7b/train/checkpoints/*epoch-122_swa.pt              # resume at epoch 95 (stage one)
#   make_default_model.py train --work /tmp/lizrcl_default7b --epochs 150 --dtype float32 \
#     --mace-arg=--start_stage_two=125 --mace-arg=--swa_energy_weight=3000                 # 90 min
#   make_default_model.py evaluate --work /tmp/lizrcl_default7b --lattice; make_default_model.py card --work /tmp/lizrcl_default7b
# (Sibling /tmp/lizrcl_default7a kept the epoch-122 stage-two checkpoint: --epochs 175 with
#  swa_energy_weight 1000, restarted at epoch 138 with 3000; plateaued on the shared validation
#  set and was stopped at epoch 157.)
