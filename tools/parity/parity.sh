#!/bin/sh
# `make parity`: full-size models with random weights, exported by PyTorch, converted
# and run by libcortex, compared with PyTorch's float64 logits (tools/parity/parity.py).
#
#   sh tools/parity/parity.sh [parity.py options]     e.g. --cases resnet18 --isa avx2
#   make parity [B=build] [PARITY_ARGS="--cases resnet50,resnet18"]
#
# Needs Debian's python3-torch and python3-torchvision (for /usr/bin/python3;
# PARITY_PYTHON overrides). The cortex tools are taken from $B (default build).
set -u
PY=${PARITY_PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
if ! "$PY" -c 'import torch, torchvision' >/dev/null 2>&1; then
    echo "parity: error: $PY cannot import torch and torchvision." >&2
    echo "parity: install Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision), or set PARITY_PYTHON." >&2
    exit 1
fi
# PARITY_ARGS is split on blanks on purpose (a list of options)
# shellcheck disable=SC2086
exec "$PY" "$HERE/parity.py" --build "${B:-build}" ${PARITY_ARGS:-} "$@"
