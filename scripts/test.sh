#!/usr/bin/env bash
# Runs the whole test suite in .venv (created on first use). Extra arguments go to pytest.
source "$(dirname "$0")/_venv.sh"
# PyTorch is optional: when its CPU wheel is available, the cross-check tests run too.
if [ "${AUTODIFF_WITH_TORCH:-1}" = 1 ] && ! python -c "import torch" 2>/dev/null; then
    python -m pip install -q "torch==2.13.0" >/dev/null 2>&1 || \
        echo "[test] torch not installed: PyTorch cross-checks will be skipped" >&2
fi
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
# pytest-xdist spreads the tests over the machine's cores (AUTODIFF_TEST_WORKERS=0: one process)
exec python -m pytest tests -n "${AUTODIFF_TEST_WORKERS:-auto}" "$@"
