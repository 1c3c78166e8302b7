#!/usr/bin/env bash
# Train on a Slurm cluster with srun: GPUS processes (one per GPU), GPUS_PER_NODE per node, so
# GPUS > GPUS_PER_NODE spans several nodes. Slurm starts every process; mmengine's slurm
# launcher reads the rank and the master node from Slurm's environment (NCCL; needs CUDA).
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [GPUS] [tools/train.py arguments...]
#
# GPUS defaults to 8. Environment: GPUS_PER_NODE (default min(GPUS, 8)), CPUS_PER_TASK
# (default 5), SRUN_ARGS (extra srun options, e.g. "--quotatype=auto"), MASTER_PORT (default
# 29500) and PYTHON (default: the repository's .venv/bin/python if present, else python3; the
# nodes must see the same path, as they see the repository).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [GPUS] [tools/train.py arguments...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=8
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    GPUS=$1
    shift
fi
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/project_python.sh
source "$ROOT/tools/project_python.sh"
# SRUN_ARGS is split into words on purpose: it holds several options
# shellcheck disable=SC2086
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres="gpu:$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher slurm "$@"
