"""The schema in a real editor's engine: yaml-language-server (pinned in tests/node, run with Node.js), the
language server behind VS Code's YAML extension and the YAML support of Neovim and others, spoken to over
the Language Server Protocol exactly as an editor does. Specs open with docs/spec.md's one line,
``# yaml-language-server: $schema=spec.schema.json``, next to the schema ``archcalc schema -o`` wrote."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPECS

SERVER = ROOT / "tests" / "node" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
LINE = "# yaml-language-server: $schema=spec.schema.json\n"
SETTINGS = {"yaml": {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}}


class LanguageServer:
    """A minimal LSP client: JSON-RPC messages with Content-Length headers over the server's stdio."""

    def __init__(self, root: Path):
        self.process = subprocess.Popen(["node", str(SERVER), "--stdio"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages: queue.Queue = queue.Queue()
        self.count = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {
            "workspace": {"configuration": True},
            "textDocument": {"completion": {}, "hover": {"contentFormat": ["markdown", "plaintext"]}}}})
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while (line := stream.readline().decode()) not in ("\r\n", ""):
                key, _, value = line.partition(":")
                headers[key.lower()] = value.strip()
            if not headers:
                self.messages.put(None)
                return
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def next(self) -> dict:
        message = self.messages.get(timeout=600)  # a guard against a hung server, not a speed check
        assert message is not None, "the language server exited"
        if "method" in message and "id" in message:  # the server asks the editor something: answer
            items = message["params"].get("items", []) if message["method"] == "workspace/configuration" else []
            self.send({"id": message["id"], "result": [SETTINGS.get(i.get("section", "")) for i in items] or None})
        return message

    def request(self, method: str, params: dict):
        self.count += 1
        self.send({"id": self.count, "method": method, "params": params})
        while True:
            message = self.next()
            if message.get("id") == self.count and "method" not in message:
                return message.get("result")

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def open(self, path: Path, text: str) -> list[dict]:
        """Open a document as an editor does; the diagnostics the server publishes for it."""
        self.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "yaml",
                                                              "version": 1, "text": text}})
        while True:
            message = self.next()
            if message.get("method") == "textDocument/publishDiagnostics" and \
                    message["params"]["uri"] == path.as_uri():
                return message["params"]["diagnostics"]

    def close(self) -> None:
        self.request("shutdown", {})
        self.notify("exit", {})
        self.process.wait()


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    if shutil.which("node") is None or not SERVER.exists():
        if os.environ.get("CI"):
            pytest.fail("yaml-language-server is missing: .ci/run installs it (npm ci --prefix tests/node)")
        pytest.skip("yaml-language-server is not installed: npm ci --prefix tests/node (Node.js and npm)")
    folder = tmp_path_factory.mktemp("workspace")
    subprocess.run(["archcalc", "schema", "-o", str(folder / "spec.schema.json")], check=True, capture_output=True)
    server = LanguageServer(folder)
    yield server, folder
    server.close()


def diagnostics(editor, name: str, text: str) -> list[tuple[int, str]]:
    server, folder = editor
    return [(d["range"]["start"]["line"], d["message"]) for d in server.open(folder / name, LINE + text)]


@pytest.mark.parametrize("spec", ["resnet50.yaml", "digits-mlp.yaml", "symbolic-cnn.yaml"])
def test_shipped_specs_are_clean(editor, spec):
    """No problem reported, none about the schema itself (a draft the server could not read, say)."""
    assert diagnostics(editor, spec, (SPECS / spec).read_text(encoding="utf-8")) == []


def test_mistakes_are_reported_at_their_line(editor):
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernal: 3}\n  - residual: {layers: [relu]}\n"
            "  - relu\ntrain: {epoch: 3}\nbudget: {params: 3MB}\n")
    found = diagnostics(editor, "bad.yaml", text)
    assert (3, "Property kernal is not allowed.") in found
    assert (3, 'Missing property "kernel".') in found
    assert (4, "Property layers is not allowed.") in found and (4, 'Missing property "body".') in found
    assert (6, "Property epoch is not allowed.") in found
    assert (7, "a count such as 30M: K, M, G or T (powers of 1000), no B") in found
    assert not any(line == 5 for line, _ in found)


def test_completion_offers_kinds_and_arguments_and_hover_shows_their_docs(editor):
    server, folder = editor
    path = folder / "typing.yaml"
    text = LINE + "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n  - \n"
    server.open(path, text)
    result = server.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()},
                                                       "position": {"line": 4, "character": 4}})
    labels = {item["label"] for item in (result["items"] if isinstance(result, dict) else result)}
    assert {"conv2d", "linear", "relu", "residual", "repeat", "concat"} <= labels
    hover = server.request("textDocument/hover", {"textDocument": {"uri": path.as_uri()},
                                                 "position": {"line": 3, "character": 22}})
    assert "kernel size F" in hover["contents"]["value"]
    args = LINE + "input: [3, 8, 8]\nlayers:\n  - conv2d:\n      out: 8\n      \n"
    path = folder / "args.yaml"
    server.open(path, args)
    result = server.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()},
                                                       "position": {"line": 5, "character": 6}})
    labels = {item["label"] for item in (result["items"] if isinstance(result, dict) else result)}
    assert {"kernel", "stride", "padding", "dilation", "groups", "bias"} <= labels
