// tests/test_diagram.py: parse Mermaid diagrams with Mermaid's own parser (the grammar GitHub renders with) and report what
// each one holds: node -> stdout JSON, one result per file named on the command line.
// Mermaid sanitises labels with DOMPurify, which needs a DOM: jsdom provides one.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

const results = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    const vertices = [...db.getVertices().values()].map((v) => ({ id: v.id, text: v.text, type: v.type }));
    const edges = db.getEdges().map((e) => ({ start: e.start, end: e.end, stroke: e.stroke }));
    const subgraphs = db.getSubGraphs().map((s) => ({ id: s.id, title: s.title, nodes: s.nodes }));
    results.push({ file, ok: true, type: diagram.type, vertices, edges, subgraphs });
  } catch (error) {
    results.push({ file, ok: false, error: String(error.message || error) });
  }
}
process.stdout.write(JSON.stringify(results));
