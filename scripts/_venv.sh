# Sourced by the scripts here: makes .venv (once) with the project and its extras installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AUTODIFF_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.autodiff-installed"
if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ]; then
    echo "[setup] installing autodiff and its extras (tests, viz, data, notebooks, special, threads, distributed, files, progress, plots, tensorboard, docs) into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev,viz,data,notebooks,special,threads,distributed,files,progress,plots,tensorboard,docs]"
    touch "$stamp"
fi
# The graphviz binary renders graphs; Debian's wamerican and fortunes packages hold the text the
# character models train on (DATA.md). Install them when we can (root on Debian), else say how.
apt_wanted=()
command -v dot >/dev/null 2>&1 || apt_wanted+=(graphviz)
[ -e /usr/share/dict/american-english ] || apt_wanted+=(wamerican)
[ -d /usr/share/games/fortunes ] || apt_wanted+=(fortunes)
if [ "${#apt_wanted[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing ${apt_wanted[*]} (apt-get)" >&2
        (apt-get update -qq && apt-get install -y -qq "${apt_wanted[@]}") >/dev/null 2>&1 || \
            echo "[setup] could not install ${apt_wanted[*]}; the tests that need them skip" >&2
    else
        echo "[setup] note: missing ${apt_wanted[*]} (apt-get install ${apt_wanted[*]});" \
             "graph rendering and the text datasets' tests will be skipped" >&2
    fi
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
