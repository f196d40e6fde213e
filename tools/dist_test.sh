#!/usr/bin/env bash
# Distributed testing with torchrun: GPUS processes on this node.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without CUDA the processes test on CPU over gloo. PYTHON picks the interpreter.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
dist_launch test "$0 CONFIG CHECKPOINT GPUS [test.py args]" "$@"
