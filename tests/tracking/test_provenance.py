"""Provenance: the git commit and dirty flag inside a repository, nothing outside one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from steward import tracking

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def test_code_version_inside_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q")
    assert tracking.capture_code_version(repo) == {}  # no commit yet
    (repo / "src" / "train.py").write_text("print('v1')\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    head = _git(repo, "rev-parse", "HEAD")

    clean = tracking.capture_code_version(repo / "src")
    assert clean == {"git_commit": head, "is_dirty": False, "repository": str(repo.resolve())}
    (repo / "outputs.csv").write_text("untracked files do not count\n")
    assert tracking.capture_code_version(repo / "src" / "train.py")["is_dirty"] is False
    (repo / "src" / "train.py").write_text("print('v2')\n")
    assert tracking.capture_code_version(repo)["is_dirty"] is True


def test_code_version_outside_a_repository_is_empty(tmp_path: Path) -> None:
    assert tracking.capture_code_version(tmp_path) == {}
    assert tracking.capture_code_version(tmp_path / "missing") == {}


def test_environment_lists_python_and_installed_packages() -> None:
    environment = tracking.capture_environment()
    assert environment["python"].count(".") == 2
    assert environment["platform"]
    packages = environment["packages"]
    assert {"steward", "numpy", "pandas", "scikit-learn", "scipy"} <= packages.keys()
    packages["numpy"] = "changed"
    assert tracking.capture_environment()["packages"]["numpy"] != "changed"
