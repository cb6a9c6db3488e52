"""The real pre-commit tool runs this repository's hook manifest on a throw-away git repository.

``pre-commit try-repo`` clones the hook repository at its HEAD, so the working tree (committed or
not) is copied into a temporary git repository and committed there; pre-commit then builds its own
virtual environment with ``pip install .`` of that copy, exactly as a user's pre-commit would. The
README's snippet is run as it is, on a fresh ``git clone`` of that copy, and docs/lint.md's
``repo: local`` hook with the archcalc of this environment, as a user who installed it with pip has.
"""

from __future__ import annotations

import os
import re
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
    (tmp_path / "nets").mkdir()  # a spec outside spec(s)/ and model(s)/ folders is still checked
    (tmp_path / "nets" / "wide.yml").write_text(BAD)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    return tmp_path


def pre_commit(cwd: Path, home: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=900)


def snippet(document: Path, marker: str) -> str:
    """The YAML block of ``document`` that contains ``marker``, exactly as printed there."""
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", document.read_text(encoding="utf-8"), re.S) if marker in b]
    return block


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
    assert "specs/bad.yaml:3:5: A101 [linear-collapse]" in bad.stdout
    assert "good.yaml" not in bad.stdout.split("hook id: archcalc-lint", 1)[1]

    other = try_repo(hook_repo, project, home, "ci.yaml")
    assert other.returncode == 0, other.stdout + other.stderr
    assert "Passed" in other.stdout  # not a spec: the hook skips it

    nested = try_repo(hook_repo, project, home, "ci.yaml", "nets/wide.yml")
    assert nested.returncode == 1, nested.stdout + nested.stderr
    assert "nets/wide.yml:3:5: A101 [linear-collapse]" in nested.stdout and "ci.yaml" not in nested.stdout


def test_the_readme_snippet_works_from_a_fresh_clone(hook_repo, project, tmp_path_factory):
    """The README's .pre-commit-config.yaml, with the clone's path for the URL: pre-commit fetches the
    hook at the snippet's rev and runs it, and ``pre-commit autoupdate --bleeding-edge`` pins that rev to
    the commit it names (the same code, so it is not built and run a second time)."""
    clone = tmp_path_factory.mktemp("fresh") / "archcalc"
    subprocess.run(["git", "clone", "-q", str(hook_repo), str(clone)], check=True, capture_output=True)
    text = snippet(ROOT / "README.md", "id: archcalc-lint")
    assert "repo: https://github.com/OWNER/archcalc" in text
    config = project / ".pre-commit-config.yaml"
    config.write_text(text.replace("https://github.com/OWNER/archcalc", str(clone)), encoding="utf-8")
    git(project, "add", "-A")
    home = tmp_path_factory.mktemp("pre-commit-home")
    first = pre_commit(project, home, "run", "--all-files")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "specs/bad.yaml:3:5: A101" in first.stdout and "nets/wide.yml:3:5: A101" in first.stdout
    assert "good.yaml" not in first.stdout and "ci.yaml" not in first.stdout
    updated = pre_commit(project, home, "autoupdate", "--bleeding-edge")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, check=True, capture_output=True,
                          text=True).stdout.strip()
    assert f"rev: {head}" in config.read_text(encoding="utf-8")  # the commit main is at: the same hook


def test_the_local_hook_for_pip_users(project, tmp_path_factory):
    """docs/lint.md's ``repo: local`` hook runs the archcalc on PATH (here: this environment's)."""
    text = snippet(ROOT / "docs" / "lint.md", "repo: local")
    (project / ".pre-commit-config.yaml").write_text(text, encoding="utf-8")
    git(project, "add", "-A")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = pre_commit(project, tmp_path_factory.mktemp("home"), "run", "--all-files", path=path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "specs/bad.yaml:3:5: A101" in result.stdout and "nets/wide.yml:3:5: A101" in result.stdout
    assert "ci.yaml" not in result.stdout
