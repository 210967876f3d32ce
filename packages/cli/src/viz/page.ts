/**
 * The self-contained HTML page of `aic viz`: the graph data as JSON, the page script (client.js) and
 * the graph-layout library (@dagrejs/dagre's browser build, read from node_modules) all inlined, so
 * the file opens from disk with no network reference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { diag } from '@aic/core';
import type { VizData } from './graph-data.ts';


/** dagre's browser bundle (an IIFE defining `dagre`, graphlib included), its license header, without the source-map reference. */
export function dagreSource(): string {
  // the installed package (scripts/build-dist.ts) ships this very text next to the bundle
  const shipped = new URL('./dagre.js', import.meta.url);
  if (fs.existsSync(shipped)) return fs.readFileSync(shipped, 'utf8');
  let pkg: string;
  try {
    pkg = path.dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre/package.json'));
  } catch {
    throw diag.vizPackageMissing('@dagrejs/dagre');
  }
  const js = fs.readFileSync(path.join(pkg, 'dist', 'dagre.min.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/m, '');
  const license = fs.readFileSync(path.join(pkg, 'LICENSE'), 'utf8');
  return `/* @dagrejs/dagre ${JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version}\n${license.replace(/\*\//g, '* /')}*/\n${js}`;
}

/** Text safe inside a <script> element (no `</script`, no `<!--`). */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

export function renderPage(data: VizData): string {
  const css = fs.readFileSync(new URL('./page.css', import.meta.url), 'utf8');
  const client = fs.readFileSync(new URL('./client.js', import.meta.url), 'utf8');
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const pane = (which: string, label: string) => `<section class="pane" id="pane-${which}">
  <header><b>${label}</b> <span class="count"></span> <button class="fit" title="fit the graph to the pane">fit</button></header>
  <svg></svg>
</section>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aic viz: ${escapeHtml(data.title)}</title>
<style>
${css}</style>
</head>
<body data-mode="both">
<nav>
  <span class="brand">aic viz</span> <span id="title"></span> <span id="pipeline" class="dim"></span>
  <span id="modes"><button data-mode="before">before</button><button data-mode="both">side by side</button><button data-mode="after">after</button></span>
  <input id="search" type="search" placeholder="search node name or op (Enter: next)"> <button id="find">find</button> <span id="matches"></span>
  <span id="profile-info" class="dim"></span>
</nav>
<div id="legend">
  <span class="sw cat-conv"></span>conv/matmul <span class="sw cat-fused"></span>fused (⊞ expands) <span class="sw cat-elementwise"></span>elementwise
  <span class="sw cat-reduce"></span>pool/reduce/norm <span class="sw cat-shape"></span>shape/data movement <span class="sw cat-convert"></span>layout conversion
  <span class="sw blocked"></span>NC4HW4 (blocked) region <span id="legend-heat"><span class="sw heat"></span>kernel time share (white → red)</span>
  <span class="dim">drag: pan · wheel: zoom · click: details</span>
</div>
<main>
${pane('before', 'before optimization')}
${pane('after', 'after optimization')}
<aside id="details"><p class="dim">Click a node for its details.</p></aside>
</main>
<script type="application/json" id="aic-data">${json}</script>
<script>
${scriptSafe(dagreSource())}
</script>
<script>
${scriptSafe(client)}
</script>
</body>
</html>
`;
}
