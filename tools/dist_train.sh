#!/usr/bin/env bash
# Distributed training with torchrun: GPUS processes on this node.
#   tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without CUDA the processes train on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
dist_launch train "$0 CONFIG GPUS [train.py args]" "$@"
