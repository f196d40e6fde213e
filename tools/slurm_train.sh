#!/usr/bin/env bash
# Train on a Slurm cluster: srun starts GPUS tasks, GPUS_PER_NODE per node,
# each running tools/train.py with --launcher slurm.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# SRUN_ARGS is split on spaces and passed to srun. Without CUDA the tasks train
# on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
NAME=$(basename "$0")
if [[ $# -lt 4 ]]; then
  echo "usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
for VAR in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
  if ! [[ ${!VAR} =~ ^[1-9][0-9]*$ ]]; then
    echo "$NAME: error: $VAR must be a positive integer, got '${!VAR}'" >&2
    exit 2
  fi
done
read -r -a EXTRA_SRUN_ARGS <<< "${SRUN_ARGS:-}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  ${EXTRA_SRUN_ARGS[@]+"${EXTRA_SRUN_ARGS[@]}"} \
  "${PYTHON:-python}" -u "$ROOT/tools/train.py" "$CONFIG" \
  --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
