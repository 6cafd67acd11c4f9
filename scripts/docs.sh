#!/usr/bin/env bash
# Builds the documentation site into site/ (mkdocs --strict: a broken link or reference fails),
# or serves it with live reload: bash scripts/docs.sh serve [mkdocs serve options].
# Uses .venv (created on first use with the extras, docs included). Extra arguments go to mkdocs.
source "$(dirname "$0")/_venv.sh"
export NO_MKDOCS_2_WARNING=1   # material's notice about its successor, printed on every run
if [ "${1:-build}" = serve ]; then
    shift || true
    exec python -m mkdocs serve --strict "$@"
fi
[ "${1:-}" = build ] && shift
exec python -m mkdocs build --strict --clean --site-dir site "$@"
