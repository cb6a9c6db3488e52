"""``archcalc diagram SPEC --format mermaid|dot|svg``: the network as a diagram."""

from __future__ import annotations

import os

import click

from archcalc.cli.common import handle_errors, load_model, output_options, spec_options, write_output

#: Mermaid's default limits (its maxTextSize and maxEdges settings), past which it draws an error instead
MERMAID_TEXT, MERMAID_EDGES = 50_000, 500
#: format → the suffixes its file may have (``.md``: Mermaid in a fenced block, for a README)
SUFFIXES = {"mermaid": (".mmd", ".mermaid", ".md"), "dot": (".dot", ".gv"), "svg": (".svg",)}


@click.command()
@spec_options
@click.option("--format", "fmt", type=click.Choice(tuple(SUFFIXES)), default="mermaid", show_default=True,
              help="mermaid (renders on GitHub), dot (Graphviz source) or svg (drawn by Graphviz's dot).")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Fold blocks deeper than this into one box each (1: the top level only) [default: all].")
@output_options(tuple(s for suffixes in SUFFIXES.values() for s in suffixes), "model.mmd, model.md, model.svg")
@handle_errors
def diagram(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, depth: int | None,
            output: str | None, force: bool) -> None:
    """Draw SPEC: layers with their output shapes and parameters, blocks as nested groups, residual
    and concat paths as the graph they are.

    Mermaid renders on GitHub and GitLab as it is (-o model.md writes it in a ```mermaid block);
    svg needs Graphviz's dot program.
    """
    if output not in (None, "-") and os.path.splitext(output)[1].lower() not in SUFFIXES[fmt]:
        stem, suffix = os.path.splitext(output)
        other = next((f for f, suffixes in SUFFIXES.items() if suffix.lower() in suffixes), None)
        instead = f", or add --format {other}" if other else ""
        raise click.BadParameter(f"a {fmt} diagram is a {' or '.join(SUFFIXES[fmt])} file; name it "
                                 f"{stem}{SUFFIXES[fmt][0]}{instead}", param_hint="'-o' / '--output'")
    if fmt == "svg":  # before any work: say at once that Graphviz is missing
        import shutil

        if shutil.which("dot") is None:
            from archcalc.diagram.dot import svg

            svg("")
    from archcalc.diagram import drawing

    picture = drawing(load_model(spec, sets, symbolic, limits), depth)
    if fmt == "mermaid":
        from archcalc.diagram.mermaid import fenced, render

        text = render(picture)
        if len(text) > MERMAID_TEXT or len(picture.edges) > MERMAID_EDGES:
            click.echo(f"note: Mermaid (and GitHub with it) draws at most {MERMAID_TEXT:,} characters and "
                       f"{MERMAID_EDGES} edges by default, and this diagram has {len(text):,} and "
                       f"{len(picture.edges):,}: fold blocks with --depth", err=True)
        if output is not None and output.lower().endswith(".md"):
            text = fenced(text)
    else:
        from archcalc.diagram.dot import render, svg

        text = render(picture)
        if fmt == "svg":
            text = svg(text)
    write_output(text, output, force)
