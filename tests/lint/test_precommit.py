"""The real pre-commit tool runs this repository's hook manifest on a throw-away git repository.

``pre-commit try-repo`` clones the hook repository at its HEAD, so the working tree (committed or
not) is copied into a temporary git repository and committed there; pre-commit then builds its own
virtual environment with ``pip install .`` of that copy, exactly as a user's pre-commit would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

GOOD = "input: [50]\nlayers:\n  - linear: 30\n  - relu\n  - linear: 3\n"
BAD = "input: [50]\nlayers:\n  - linear: 30\n  - linear: 3\n"
GIT = ["git", "-c", "user.name=archcalc tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """This checkout's files (as they are now) committed in a fresh git repository."""
    copy = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "snapshot for the pre-commit test")
    return copy


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "good.yaml").write_text(GOOD)
    (tmp_path / "specs" / "bad.yaml").write_text(BAD)
    (tmp_path / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu-latest}}\n")  # not a spec
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    return tmp_path


def try_repo(hook_repo: Path, project: Path, home: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "archcalc-lint",
                           "--files", *files], cwd=project, capture_output=True, text=True, env=env, timeout=900)


def test_precommit_hook_passes_a_good_spec_and_fails_a_bad_one(hook_repo, project, tmp_path_factory):
    home = tmp_path_factory.mktemp("pre-commit-home")
    good = try_repo(hook_repo, project, home, "specs/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "archcalc lint" in good.stdout and "Passed" in good.stdout

    bad = try_repo(hook_repo, project, home, "specs/good.yaml", "specs/bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "specs/bad.yaml:4:5: A101 [linear-collapse]" in bad.stdout
    assert "good.yaml" not in bad.stdout.split("hook id: archcalc-lint", 1)[1]

    other = try_repo(hook_repo, project, home, "ci.yaml")
    assert other.returncode == 0, other.stdout + other.stderr
    assert "Skipped" in other.stdout  # the manifest's files: pattern keeps non-spec YAML out
