# Sourced by the launch scripts: sets PYTHON to the project's environment (make setup) unless
# PYTHON already names one, and stops with one line when that interpreter cannot import torch.
# A bare `python` is often the system's, without torch, and would fail later with a less clear
# ModuleNotFoundError. Needs ROOT (the repository root).
if [ -z "${PYTHON:-}" ] && [ -x "$ROOT/.venv/bin/python" ]; then
    PYTHON="$ROOT/.venv/bin/python"
fi
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "error: $PYTHON cannot import torch: run 'make setup' or set PYTHON=..." >&2
    exit 2
fi
