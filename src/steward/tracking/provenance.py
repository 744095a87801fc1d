"""Where a run came from: the code version (git) and the software environment it ran in."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["capture_code_version", "capture_environment"]

log = logging.getLogger(__name__)

GIT_TIMEOUT_S = 5.0
# Key in the environment document -> distributions that provide it, first installed wins.
_PACKAGES = {
    "steward": ("stewardml",),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scikit-learn": ("scikit-learn",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "lightgbm": ("lightgbm",),
    "scipy": ("scipy",),
}


def capture_code_version(start: Path | None = None) -> dict[str, Any]:
    """The git commit of the repository holding `start` (default: the working directory).

    Returns `{"git_commit": sha, "is_dirty": bool, "repository": top-level path}`, or `{}`
    outside a repository, in one without commits, or when git is missing or too slow.
    Untracked files do not make a tree dirty: outputs and `.steward/` are often untracked.
    """
    folder = Path(start or Path.cwd())
    if folder.is_file():
        folder = folder.parent
    head = _git(folder, "rev-parse", "--show-toplevel", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no") if head else None
    lines = head.splitlines() if head else []
    if status is None or len(lines) != 2:
        return {}
    repository, commit = lines
    return {"git_commit": commit, "is_dirty": bool(status.strip()), "repository": repository}


def capture_environment() -> dict[str, Any]:
    """The Python version, platform and versions of the key ML packages that are installed.

    Versions come from package metadata: nothing is imported.
    """
    environment = _environment()
    return {**environment, "packages": dict(environment["packages"])}


@functools.cache
def _environment() -> dict[str, Any]:
    packages = {}
    for key, distributions in _PACKAGES.items():
        for distribution in distributions:
            try:
                packages[key] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def _git(folder: Path, *args: str) -> str | None:
    executable = shutil.which("git")
    if executable is None or not folder.is_dir():
        return None
    try:
        # A fixed argument list, no shell: nothing here comes from untrusted input.
        done = subprocess.run(  # noqa: S603
            [executable, *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git unavailable folder=%s error=%s", folder, exc)
        return None
    return done.stdout if done.returncode == 0 else None
