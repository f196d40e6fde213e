#!/usr/bin/env bash
# Test a checkpoint on a Slurm cluster: srun starts GPUS tasks, GPUS_PER_NODE
# per node, each running tools/test.py with --launcher slurm.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# SRUN_ARGS is split on spaces and passed to srun. Without CUDA the tasks test
# on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
NAME=$(basename "$0")
if [[ $# -lt 4 ]]; then
  echo "usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
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
  "${PYTHON:-python}" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
  --launcher=slurm "${@:5}"
