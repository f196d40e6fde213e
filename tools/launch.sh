# Shared by tools/{dist,slurm}_{train,test}.sh (sourced, not run): one way to
# check the arguments and start tools/train.py or tools/test.py.
#   dist_launch TOOL NUM_ARGS USAGE "$@"
#   slurm_launch TOOL USAGE "$@"
# TOOL: train or test. Bad input: one line on stderr and exit 2.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

launch_fail() {
  echo "$(basename "$0"): error: $1" >&2
  exit 2
}

launch_need_args() {  # MIN USAGE "$@"
  local min=$1 usage=$2
  shift 2
  if [[ $# -lt $min ]]; then
    echo "usage: $usage" >&2
    exit 2
  fi
}

launch_positive() {  # VAR [what it counts]
  if ! [[ ${!1} =~ ^[1-9][0-9]*$ ]]; then
    launch_fail "$1 must be a positive integer${2:+ ($2)}, got '${!1}'"
  fi
}

# torchrun on this node: train CONFIG GPUS ... or test CONFIG CHECKPOINT GPUS ...
dist_launch() {
  local tool=$1 usage=$2
  shift 2
  local inputs=1
  [[ $tool == test ]] && inputs=2
  launch_need_args $((inputs + 1)) "$usage" "$@"
  GPUS=${@:$((inputs + 1)):1}
  launch_positive GPUS 'processes on this node'
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
  exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$GPUS" --master_port="${PORT:-29500}" \
    "$ROOT/tools/$tool.py" "${@:1:$inputs}" --launcher pytorch \
    "${@:$((inputs + 2))}"
}

# srun: train PARTITION JOB_NAME CONFIG WORK_DIR ... or
# test PARTITION JOB_NAME CONFIG CHECKPOINT ...
slurm_launch() {
  local tool=$1 usage=$2
  shift 2
  launch_need_args 4 "$usage" "$@"
  GPUS=${GPUS:-8}
  GPUS_PER_NODE=${GPUS_PER_NODE:-8}
  CPUS_PER_TASK=${CPUS_PER_TASK:-5}
  local var
  for var in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
    launch_positive "$var"
  done
  local -a extra inputs
  read -r -a extra <<< "${SRUN_ARGS:-}"
  if [[ $tool == train ]]; then
    inputs=("$3" "--work-dir=$4")
  else
    inputs=("$3" "$4")
  fi
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
  exec srun -p "$1" \
    --job-name="$2" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${extra[@]+"${extra[@]}"} \
    "${PYTHON:-python}" -u "$ROOT/tools/$tool.py" "${inputs[@]}" \
    --launcher=slurm "${@:5}"
}
