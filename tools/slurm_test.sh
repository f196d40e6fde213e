#!/usr/bin/env bash
# Test a checkpoint on a Slurm cluster: srun starts GPUS tasks, GPUS_PER_NODE
# per node, each running tools/test.py with --launcher slurm.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# SRUN_ARGS is split on spaces and passed to srun. Without CUDA the tasks test
# on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
slurm_launch test "[GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" "$@"
