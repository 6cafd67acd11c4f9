#!/usr/bin/env bash
# The main job: trains an MLP on the bundled digits data with a progress bar, evaluates it,
# saves a checkpoint and renders the model's computational graph. Arguments go to nn.train.
source "$(dirname "$0")/_venv.sh"
exec python -m nn.train --graph "$@"
