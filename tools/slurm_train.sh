#!/usr/bin/env bash
# Train on a Slurm cluster: srun starts GPUS tasks, GPUS_PER_NODE per node,
# each running tools/train.py with --launcher slurm.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# SRUN_ARGS is split on spaces and passed to srun. Without CUDA the tasks train
# on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
slurm_launch train "[GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" "$@"
