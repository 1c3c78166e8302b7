#!/usr/bin/env bash
# Train on NUM_PROCS processes of this machine with torchrun: one process per GPU (NCCL), or
# NUM_PROCS CPU processes (gloo) on a machine without CUDA.
#
#   tools/dist_train.sh CONFIG NUM_PROCS [tools/train.py arguments...]
#
# Several machines: run it on each with NNODES, NODE_RANK (0 .. NNODES-1) and MASTER_ADDR (the
# address of node 0) set; PORT (default 29500) must be free on node 0. PYTHON picks the
# interpreter (default: the repository's .venv/bin/python if present, else python3).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCS [tools/train.py arguments...]" >&2
    exit 2
fi
CONFIG=$1
NUM_PROCS=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/project_python.sh
source "$ROOT/tools/project_python.sh"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NUM_PROCS" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
