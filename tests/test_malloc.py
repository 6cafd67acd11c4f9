"""The allocator tuning of autodiff/_malloc.py: on by default on glibc, off with the env var."""
import os
import platform
import subprocess
import sys

import pytest

CODE = "import autodiff, sys; sys.stdout.write(str(autodiff._malloc.tuned))"


def _tuned(env_value):
    env = dict(os.environ)
    env.pop("AUTODIFF_MALLOC_TUNING", None)
    if env_value is not None:
        env["AUTODIFF_MALLOC_TUNING"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_tuning_is_on_by_default_and_can_be_switched_off():
    assert _tuned(None) == "True"
    assert _tuned("0") == "False"
