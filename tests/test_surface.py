"""`import steward` is the SDK, and stays light until it is used."""

from __future__ import annotations

import subprocess
import sys

import steward
import steward.sdk


def test_the_package_exports_exactly_the_sdk() -> None:
    assert set(steward.__all__) == {*steward.sdk.__all__, "__version__"}
    assert all(callable(getattr(steward, name)) for name in steward.sdk.__all__)


def test_importing_a_capability_does_not_load_the_store() -> None:
    code = "import sys, steward.stats; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
