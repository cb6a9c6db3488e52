"""Shell completion, click's own, in real bash and zsh: the script ``archcalc`` prints is sourced and its
completion function run as the shell runs it on TAB, calling the real ``archcalc`` back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = str(Path(sys.executable).parent)  # where this environment's archcalc is
ENV = {**os.environ, "PATH": os.pathsep.join([BIN, os.environ.get("PATH", "")])}


def shell(name: str) -> str:
    program = shutil.which(name)
    if program is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return program


def script(kind: str) -> str:
    done = subprocess.run(["archcalc"], env={**ENV, "_ARCHCALC_COMPLETE": f"{kind}_source"}, capture_output=True,
                          text=True, check=True)
    return done.stdout


def bash_complete(line: str, tmp_path: Path) -> list[str]:
    """What bash offers for ``line`` (the word being completed is its last, maybe empty)."""
    words = line.split(" ")
    program = f"""
{script("bash")}
compopt() {{ echo compopt "$@"; }}   # only valid while bash itself completes; record it instead
COMP_WORDS=({" ".join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
_archcalc_completion archcalc
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run([shell("bash"), "--norc", "--noprofile", "-c", program], env=ENV, capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def zsh_complete(line: str, tmp_path: Path) -> list[str]:
    """What zsh offers for ``line``: zsh's completion builtins are recorded, not drawn."""
    words = line.split(" ")
    program = f"""
compdef() {{ print -r -- "compdef $*" }}
_describe() {{ print -rl -- "${{(@P)3}}" }}  # -V unsorted ARRAY -U
compadd() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
_path_files() {{ print -r -- "files $*" }}
{script("zsh")}
words=({" ".join(repr(w) for w in words)})
CURRENT={len(words)}
_archcalc_completion
"""
    done = subprocess.run([shell("zsh"), "-f", "-c", program], env=ENV, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("complete", [bash_complete, zsh_complete], ids=["bash", "zsh"])
def test_commands_options_and_values(complete, tmp_path):
    offered = complete("archcalc par", tmp_path)
    assert any(o.split(":")[0] == "params" for o in offered) and len(offered) <= 2  # compdef line, or not
    commands = complete("archcalc ", tmp_path)
    names = {o.split(":")[0] for o in commands}
    assert {"summary", "params", "schema", "diagram", "diff", "lint"} <= names
    formats = complete("archcalc diagram x.yaml --format ", tmp_path)
    assert {"mermaid", "dot", "svg"} <= {o.split(":")[0] for o in formats}
    assert {o.split(":")[0] for o in complete("archcalc layers conv", tmp_path)} >= {"conv", "conv2d"}
    assert "N105" in {o.split(":")[0] for o in complete("archcalc rule N10", tmp_path)}
    options = {o.split(":")[0] for o in complete("archcalc summary x.yaml --dt", tmp_path)}
    assert "--dtype" in options


def test_spec_arguments_complete_as_file_names(tmp_path):
    assert bash_complete("archcalc params sp", tmp_path) == ["compopt -o default"]  # bash's own file names
    assert zsh_complete("archcalc diff a.yaml ", tmp_path)[-1] == "files -f"


def test_zsh_registers_the_function_when_the_script_is_sourced(tmp_path):
    done = subprocess.run([shell("zsh"), "-f", "-c", f'compdef() {{ print -r -- "compdef $*" }}\n{script("zsh")}'],
                          env=ENV, capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout == "compdef _archcalc_completion archcalc\n"


def test_the_documented_lines_print_the_scripts():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for kind in ("bash", "zsh"):
        assert f'eval "$(_ARCHCALC_COMPLETE={kind}_source archcalc)"' in readme
    assert "complete -o nosort -F _archcalc_completion archcalc" in script("bash")
    assert script("zsh").startswith("#compdef archcalc\n")
