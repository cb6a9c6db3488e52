"""No code execution from a spec: every command, every hostile construct, watched by an audit hook.

One child interpreter runs every case. Before importing archcalc it installs a ``sys.addaudithook``
hook and puts a module named ``archcalc_pwned`` on ``sys.path`` whose import, functions and class
create marker files. Hostile specs try every road to it: YAML ``!!python/…`` tags in all their
spellings, and expressions with calls, attributes, subscripts, lambdas, comprehensions, f-strings,
walrus, starred and dunder names. The hook records, while a case runs:

- ``exec`` (``exec``/``eval`` of a code object) from anywhere but the import system, and ``compile``
  from anywhere but :func:`ast.parse` (which only parses) or the import system;
- any process (``os.system``, ``subprocess.Popen``, ``os.exec*``, ``os.posix_spawn``, ``os.fork``),
  socket or ``ctypes`` call;
- an import of ``archcalc_pwned``, and any ``open`` for writing outside the case's output folder.

Then the generated PyTorch, NumPy and ONNX files of specs full of hostile names are imported and run
under the same hook: the names stay strings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import output_file

#: the whole module shares two fixtures that build, export and run dozens of hostile specs (about 30 s)
pytestmark = pytest.mark.slow

PWNED = textwrap.dedent("""\
    # imported, called or constructed only if archcalc executed something from a spec
    open("PWNED-import", "w").close()
    x = 1
    def boom(*args, **kwargs):
        open("PWNED-call", "w").close()
    class Thing:
        def __init__(self, *args, **kwargs):
            open("PWNED-init", "w").close()
        def __setstate__(self, state):
            open("PWNED-state", "w").close()
    """)

#: the child: installs the hook, then runs each case (a list of archcalc invocations, or generated code to run)
CHILD = textwrap.dedent("""\
    import json, os, sys
    import numpy, onnx, onnxruntime, sympy, torch  # the heavy dependencies, before the hook
    from click.testing import CliRunner

    WATCHED = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
               "pty.spawn", "socket.connect", "socket.bind", "socket.getaddrinfo", "ctypes.dlopen", "ctypes.dlsym",
               "webbrowser.open", "urllib.Request"}
    IMPORTING = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
    state = {"watching": False, "writable": "", "runnable": "", "seen": []}

    def importing(frame):
        while frame is not None:
            if frame.f_code.co_filename in IMPORTING:
                return True
            frame = frame.f_back
        return False

    def hook(event, args):
        if not state["watching"]:
            return
        if event in ("exec", "compile"):
            what = args[1] if event == "compile" else getattr(args[0], "co_filename", "?")
            if what == "<test>" or str(what).startswith(state["runnable"]):
                return  # the check's own code, and the generated files it was asked to run
            caller = sys._getframe(1)
            code = caller.f_code
            if event == "compile" and code.co_name == "parse" and code.co_filename.endswith("ast.py"):
                return  # ast.parse: parses, never runs
            if importing(caller):
                return  # a module being imported (archcalc's own, loaded lazily; its dataclasses)
            state["seen"].append(f"{event} of {what} from {code.co_filename}:{code.co_name}")
        elif event in WATCHED or event.split(".")[0] in ("socket", "ctypes"):
            state["seen"].append(event)
        elif event == "import" and str(args[0]).startswith("archcalc_pwned"):
            state["seen"].append(f"import {args[0]}")
        elif event == "open" and args[1] is not None and isinstance(args[0], str):
            mode, flags = str(args[1]), args[2] or 0
            writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            if writing and not os.path.abspath(args[0]).startswith(state["writable"]):
                state["seen"].append(f"open {args[0]!r} for writing")

    sys.addaudithook(hook)
    from archcalc.cli import main  # archcalc is imported under the hook

    def run_case(case):
        state["writable"] = os.path.abspath(case["writable"]) + os.sep
        state["runnable"] = os.path.abspath(case.get("runnable", case["writable"])) + os.sep if "code" in case \
            else "<nothing>"
        state["seen"] = []
        results = []
        state["watching"] = True
        try:
            for argv in case.get("invocations", []):
                result = CliRunner().invoke(main, argv, catch_exceptions=True)
                error = None if result.exception is None or isinstance(result.exception, SystemExit) \\
                    else repr(result.exception)
                results.append({"argv": argv, "code": result.exit_code, "stdout": result.stdout,
                                "stderr": result.stderr, "exception": error})
            if "code" in case:
                exec(compile(case["code"], "<test>", "exec"), {"__name__": "__check__"})
        finally:
            state["watching"] = False
        return {"results": results, "seen": state["seen"],
                "pwned_modules": sorted(m for m in sys.modules if m.startswith("archcalc_pwned")),
                "pwned_files": sorted(f for f in os.listdir(".") if f.startswith("PWNED"))}

    cases = json.load(open(sys.argv[1]))
    print(json.dumps({name: run_case(case) for name, case in cases.items()}))
    """)


def run_child(cases: dict, work: Path) -> dict:
    """Run ``cases`` in one watched interpreter whose working folder (first on sys.path) holds archcalc_pwned."""
    (work / "archcalc_pwned.py").write_text(PWNED, encoding="utf-8")
    plan = work / "cases.json"
    plan.write_text(json.dumps(cases), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(plan)], capture_output=True, text=True, cwd=work,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def assert_inert(outcome: dict) -> None:
    assert outcome["seen"] == [], outcome["seen"]
    assert outcome["pwned_modules"] == []
    assert outcome["pwned_files"] == []
    for result in outcome["results"]:
        assert result["exception"] is None, result
        assert "Traceback" not in result["stderr"], result["stderr"]


# -- specs that try to run something --------------------------------------------------------------

TAGS = {
    "object-apply": "!!python/object/apply:archcalc_pwned.boom []",
    "object-apply-os-system": '!!python/object/apply:os.system ["touch PWNED-os"]',
    "object": "!!python/object:archcalc_pwned.Thing {a: 1}",
    "object-new": "!!python/object/new:archcalc_pwned.Thing [1]",
    "name": "!!python/name:archcalc_pwned.x ''",
    "module": "!!python/module:archcalc_pwned ''",
    "verbatim": "!<tag:yaml.org,2002:python/object/apply:archcalc_pwned.boom> []",
    "local-tag": "!boom [archcalc_pwned]",
    "unsafe-loader-tag": "!!python/object/apply:builtins.exec [\"import archcalc_pwned\"]",
}

#: where a tagged node is placed: (spec text with {tag}, line and column of the tag)
TAG_PLACES = [
    ("input: [4]\nlayers:\n  - linear: {tag}\n", 3, 13),
    ("input: [4]\nlayers: [relu]\nx-ignored: {tag}\n", 3, 12),
    ("input: [4]\nlayers: [relu]\ntrain: {{optimizer: {tag}}}\n", 3, 20),
]

EXPRESSIONS = {
    "import-call": "__import__('archcalc_pwned')",
    "attribute": "archcalc_pwned.x",
    "dunder-attribute": "c.__class__.__mro__",
    "lambda-called": "(lambda: __import__('archcalc_pwned'))()",
    "lambda": "lambda: 1",
    "list-comprehension": "[__import__('archcalc_pwned') for _ in 'a']",
    "generator": "sum(__import__('archcalc_pwned') for _ in 'a')",
    "set-display": "{__import__('archcalc_pwned')}",
    "dict-display": "{1: __import__('archcalc_pwned')}",
    "f-string": "f\"{__import__('archcalc_pwned')}\"",
    "walrus": "(p := __import__('archcalc_pwned'))",
    "starred": "*__import__('archcalc_pwned'),",
    "subscript": "c[__import__('archcalc_pwned')]",
    "dunder-name": "__builtins__",
    "open-call": "open('PWNED-open', 'w')",
    "exec-call": "exec('import archcalc_pwned')",
    "conditional": "1 if __import__('archcalc_pwned') else 2",
    "boolean": "__import__('archcalc_pwned') or 1",
    "comparison": "__import__('archcalc_pwned') < 1",
    "await": "await c",
    "string": "'archcalc_pwned'",
    "bytes": "b'archcalc_pwned'",
    "complex": "1j",
    "ellipsis": "...",
    "fullwidth-dunder": "\uff3f\uff3fimport\uff3f\uff3f('archcalc_pwned')",
}

#: where an expression is placed (spec text with {expr}): an argument, a block default, a repeat count,
#: an input dimension
EXPRESSION_PLACES = [
    'input: [4]\nlayers:\n  - linear: {{out: "{expr}"}}\n',
    'input: [4]\nblocks:\n  "b(c = {expr})": [linear: c]\nlayers: [b]\n',
    'input: [4]\nlayers:\n  - repeat: "{expr}"\n    layers: [relu]\n',
    'input: ["{expr}"]\nlayers: [relu]\n',
]

#: every command that reads a spec, with its options (the output folder is added per case)
COMMANDS = [["params", "--explain"], ["shapes", "--explain"], ["rf"], ["flops"], ["summary", "--format", "json"],
            ["lint", "--isolated", "--format", "json"], ["export", "--to", "torch"], ["export", "--to", "onnx"],
            ["export", "--to", "numpy"], ["train", "--epochs", "1"]]


def invocations(spec: Path, out: Path) -> list[list[str]]:
    calls = []
    for i, command in enumerate(COMMANDS):
        extra = ["-o", str(output_file(command, out, str(i)))] if command[0] in ("export", "train") else []
        calls.append([command[0], str(spec), *command[1:], *extra])
    return calls


def hostile_cases(work: Path) -> dict[str, dict]:
    specs: dict[str, str] = {}
    for name, tag in TAGS.items():
        for i, (place, _, _) in enumerate(TAG_PLACES):
            specs[f"tag-{name}-{i}"] = place.format(tag=tag)
    for name, expr in EXPRESSIONS.items():
        for i, place in enumerate(EXPRESSION_PLACES):
            specs[f"expr-{name}-{i}"] = place.format(expr=expr.replace('"', '\\"'))
    cases = {}
    for name, text in specs.items():
        path = work / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        out = work / "out" / name
        out.mkdir(parents=True)
        cases[name] = {"invocations": invocations(path, out), "writable": str(out)}
    return cases


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("hostile")
    return run_child(hostile_cases(work), work)


def test_there_are_hostile_specs_of_every_kind(hostile):
    assert len(hostile) == len(TAGS) * len(TAG_PLACES) + len(EXPRESSIONS) * len(EXPRESSION_PLACES) == 127


@pytest.mark.parametrize("name", sorted(TAGS))
def test_a_python_tag_is_refused_by_every_command_and_runs_nothing(hostile, name):
    for i, (_, line, col) in enumerate(TAG_PLACES):
        outcome = hostile[f"tag-{name}-{i}"]
        assert_inert(outcome)
        for result in outcome["results"]:
            lint = result["argv"][0] == "lint"
            assert result["code"] == (1 if lint else 2), result
            text = json.loads(result["stdout"])[0]["message"] if lint else result["stderr"]
            assert "is not allowed" in text and "tag" in text, text
            if not lint:
                assert f".yaml:{line}:{col}: error: YAML tag '" in result["stderr"], result["stderr"]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_a_hostile_expression_is_refused_by_every_command_and_runs_nothing(hostile, name):
    for i in range(len(EXPRESSION_PLACES)):
        outcome = hostile[f"expr-{name}-{i}"]
        assert_inert(outcome)
        for result in outcome["results"]:
            lint = result["argv"][0] == "lint"
            assert result["code"] == (1 if lint else 2), result
            if lint:
                assert json.loads(result["stdout"])[0]["code"] in ("E109", "E108"), result["stdout"]
            else:
                first = result["stderr"].splitlines()[0]
                assert ".yaml:" in first and ": error: " in first, first
                assert ("not allowed" in first or "cannot read expression" in first
                        or "starting with '__' are reserved" in result["stderr"]), first


def test_the_refusals_point_at_the_expression(hostile):
    first = hostile["expr-import-call-0"]["results"][0]["stderr"].splitlines()
    assert first[0].endswith(".yaml:3:19: error: a function call is not allowed in expression "
                             "'__import__('archcalc_pwned')'")
    assert first[1] == "  hint: expressions may use only numbers, names, + - * / // **, max(…), min(…) and parentheses"


# -- specs full of hostile names: exported, then the generated code runs under the hook -----------

Q3 = '"' * 3
NAMES_SPEC = textwrap.dedent(f"""\
    name: 'evil{Q3}; import archcalc_pwned; {Q3}'
    description: "__import__('archcalc_pwned')"
    x-payload: "import archcalc_pwned"
    input: [3, 8, 8]
    blocks:
      ordered_dict(c):
        - residual:
            body:
              - conv2d: {{out: c, kernel: 3, padding: 1, name: "\\"); import archcalc_pwned; (\\""}}
              - relu: {{name: "__import__('archcalc_pwned')"}}
            shortcut: auto
            then: [relu: {{name: "'''; import archcalc_pwned; '''"}}]
      __import__(c):
        - concat: [[conv2d: {{out: c, kernel: 1, name: "\\nimport archcalc_pwned\\n"}}], [identity]]
      global_avg_pool2d(c): [residual: [relu, identity]]
      build_model(c): [concat: [[relu], [tanh: {{name: forward}}]]]
      torch(c): [residual: [sigmoid: {{name: self}}, relu: {{name: __class__}}]]
    layers:
      - ordered_dict: {{c: 4, name: '{Q3}; open(''PWNED-name'', ''w''); {Q3}'}}
      - __import__: {{c: 2}}
      - global_avg_pool2d: {{c: 1, name: exec}}
      - build_model: {{c: 1}}
      - torch: {{c: 1, name: "archcalc_pwned"}}
      - global_avgpool2d: {{name: "\\\\"}}
      - linear: {{out: 3, name: "__init__"}}
    train: {{loss: cross_entropy, classes: 3, epochs: 1, batch_size: 4}}
    """)

RUN_GENERATED = textwrap.dedent("""\
    import importlib.util, runpy
    import numpy as np, onnxruntime, torch
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    spec = importlib.util.spec_from_file_location("generated_torch", "{out}/model_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch_out = module.build_model().eval()(torch.from_numpy(x)).detach().numpy()
    numpy_file = runpy.run_path("{out}/model_numpy.py")
    numpy_out = numpy_file["predict"](numpy_file["build_model"](seed=0), x)
    session = onnxruntime.InferenceSession("{out}/model.onnx", providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {{"input": x}})[0]
    assert torch_out.shape == numpy_out.shape == onnx_out.shape == (2, 3), (torch_out.shape, numpy_out.shape)
    """)


@pytest.fixture(scope="module")
def hostile_names(tmp_path_factory) -> dict:
    import numpy as np

    work = tmp_path_factory.mktemp("names")
    spec = work / "names.yaml"
    spec.write_text(NAMES_SPEC, encoding="utf-8")
    out = work / "out"
    out.mkdir()
    rng = np.random.default_rng(0)
    np.savez(out / "data.npz", x=rng.standard_normal((20, 3, 8, 8)).astype(np.float32), y=np.arange(20) % 3)
    commands = [["params", str(spec)], ["shapes", str(spec)], ["rf", str(spec)], ["flops", str(spec)],
                ["summary", str(spec), "--format", "markdown"], ["lint", str(spec), "--isolated"],
                ["export", str(spec), "--to", "torch", "-o", str(out / "model_torch.py")],
                ["export", str(spec), "--to", "numpy", "-o", str(out / "model_numpy.py")],
                ["export", str(spec), "--to", "onnx", "-o", str(out / "model.onnx")],
                ["train", str(spec), "--data", str(out / "data.npz"), "-o", str(out / "weights.npz"),
                 "--plot", str(out / "curves.png"), "--format", "json"]]
    cases = {"commands": {"invocations": commands, "writable": str(out)},
             "generated": {"code": RUN_GENERATED.format(out=out), "writable": str(out / "none"),
                           "runnable": str(out)}}
    return {**run_child(cases, work), "out": out}


def test_every_command_succeeds_on_hostile_names_and_runs_nothing(hostile_names):
    outcome = hostile_names["commands"]
    assert_inert(outcome)
    codes = {" ".join(r["argv"][:1] + r["argv"][2:4]): r["code"] for r in outcome["results"]}
    assert all(code == 0 for command, code in codes.items() if not command.startswith("lint")), outcome["results"]
    assert sorted(p.name for p in hostile_names["out"].iterdir()) == [
        "curves.png", "data.npz", "model.onnx", "model_numpy.py", "model_torch.py", "weights.npz"]


def test_the_generated_files_run_and_do_nothing_else(hostile_names):
    assert_inert(hostile_names["generated"])


def test_hostile_names_reach_the_generated_files_only_as_strings(hostile_names):
    import ast

    for name in ("model_torch.py", "model_numpy.py"):
        tree = ast.parse((hostile_names["out"] / name).read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names} | {node.module.split(".")[0] for node in ast.walk(tree)
                                                if isinstance(node, ast.ImportFrom)}
        # os and sys: the torch file's main() ends a torchrun process with os._exit (training_source)
        assert imported <= {"torch", "collections", "numpy", "argparse", "__future__", "math", "time", "os",
                            "sys"}, imported
        # a spec's name may become a child's attribute (self.exec is a module), never a free name or another
        # object's attribute
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and ast.unparse(n.value) != "self"}
        assert not names & {"archcalc_pwned", "__import__", "exec", "eval", "open", "compile"}, name
        assert not attributes & {"archcalc_pwned", "__import__", "system", "popen", "exec"}, name
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert any("import archcalc_pwned" in s for s in strings), name  # the names are there, as data


def test_the_watch_sees_each_thing_it_watches_for(tmp_path):
    """The hook is not blind: each road to running a spec's text, taken on purpose, is seen."""
    roads = {
        "eval": "eval('1 + 1')",
        "exec": "exec(compile('y = 1', 'spec.yaml', 'exec'))",
        "sympify": "sympy.sympify('H + 1')",
        "import": "import archcalc_pwned",
        "process": "os.system('true')",
        "write": f"open({str(tmp_path / 'elsewhere')!r}, 'w').close()",
    }
    cases = {name: {"code": f"import os, sympy\n{code}", "writable": str(tmp_path / "out")}
             for name, code in roads.items()}
    outcome = run_child(cases, tmp_path)
    at = "from <test>:<module>"
    assert outcome["eval"]["seen"] == [f"compile of <string> {at}", f"exec of <string> {at}"]
    assert outcome["exec"]["seen"] == [f"compile of spec.yaml {at}", f"exec of spec.yaml {at}"]
    assert any("sympy" in event for event in outcome["sympify"]["seen"]), outcome["sympify"]["seen"]
    assert outcome["import"]["seen"] == ["import archcalc_pwned", "open 'PWNED-import' for writing"]
    assert outcome["import"]["pwned_files"] == ["PWNED-import"]
    assert "os.system" in outcome["process"]["seen"]
    assert outcome["write"]["seen"] == [f"open {str(tmp_path / 'elsewhere')!r} for writing"]
