/* aic viz: the page script (plain browser JavaScript, inlined into the HTML by page.ts; `dagre` is inlined before it). */
'use strict';
(function () {
  const DATA = JSON.parse(document.getElementById('aic-data').textContent);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, parent) => {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  };
  const h = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const human = (n, unit) => n === undefined ? '-' : n >= 1e9 ? `${(n / 1e9).toFixed(2)} G${unit}` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M${unit}` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k${unit}` : `${n} ${unit}`;
  const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

  const profByNode = new Map();
  if (DATA.profile) for (const p of DATA.profile.nodes) profByNode.set(p.node, p);
  const maxShare = DATA.profile ? Math.max(1e-9, ...DATA.profile.nodes.map((p) => p.share)) : 1;
  const beforeByName = new Map(DATA.before.nodes.map((n) => [n.name || n.id, n]));

  function category(n) {
    if (n.convert) return 'convert';
    if (n.domain === 'aic') return 'fused';
    if (/^(Conv|ConvTranspose|Gemm|MatMul|Einsum)$/.test(n.op)) return 'conv';
    if (/Pool|^Reduce|^ArgM|^Softmax|^LogSoftmax|Normalization$/.test(n.op)) return 'reduce';
    if (/^(Reshape|Flatten|Transpose|Squeeze|Unsqueeze|Concat|Split|Slice|Gather|Shape|Expand|Tile|Pad|Resize|Cast|Identity)$/.test(n.op)) return 'shape';
    return 'elementwise';
  }
  function heat(share) {
    const t = Math.min(1, share / maxShare);
    // white -> yellow -> red
    const r = 255, g = Math.round(255 - 200 * t), b = Math.round(235 - 235 * Math.min(1, t * 1.5));
    return `rgb(${r},${g},${b})`;
  }

  /** One pane: a dagre layout of DATA[which] drawn as SVG, with pan and zoom. */
  class Pane {
    constructor(which) {
      this.which = which;
      this.graph = DATA[which];
      this.root = document.getElementById(`pane-${which}`);
      this.svg = this.root.querySelector('svg');
      this.expanded = new Set();
      this.elems = new Map();
      this.view = { x: 0, y: 0, k: 1 };
      this.installPanZoom();
      this.render();
      this.fit();
    }
    producers() {
      const m = new Map();
      for (const n of this.graph.nodes) for (const o of n.outputs) m.set(o, n.id);
      return m;
    }
    boxFor(n, sub) {
      const prof = !sub && this.which === 'after' ? profByNode.get(n.name || n.op) : undefined;
      const out = n.outputs[0] !== undefined ? (sub || this.graph).values[n.outputs[0]] : undefined;
      const lines = [n.op, clip(n.name || n.id, 34), out ? `${out.dtype}${out.shape}${out.layout ? ' ' + out.layout : ''}` : ''];
      if (prof) lines.push(`${(100 * prof.share).toFixed(1)}% · ${prof.ms.toFixed(3)} ms`);
      const badge = !sub && n.origin ? 30 : 0; // room for the ⊞ expander
      const width = Math.min(280 + badge, Math.max(70, 12 + badge + 6.6 * Math.max(...lines.map((l) => l.length))));
      return { width, height: 14 * lines.length + 10, lines, prof };
    }
    layout() {
      const G = new dagre.graphlib.Graph({ compound: true, multigraph: true });
      G.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 28, edgesep: 8, marginx: 20, marginy: 20 });
      G.setDefaultEdgeLabel(() => ({}));
      const values = this.graph.values;
      const prod = this.producers();
      for (const name of this.graph.inputs) G.setNode(`in:${name}`, { kind: 'io', name, width: Math.max(60, 12 + 6.6 * name.length), height: 24 });
      for (const name of this.graph.outputs) G.setNode(`out:${name}`, { kind: 'io', name, width: Math.max(60, 12 + 6.6 * name.length), height: 24 });
      // where a value enters / leaves each drawn node (an expanded fused node: one of its original nodes)
      const entry = new Map(), exit = new Map();
      for (const n of this.graph.nodes) {
        const origins = (n.origin || []).map((o) => beforeByName.get(o)).filter(Boolean);
        if (this.expanded.has(n.id) && origins.length) {
          G.setNode(`grp:${n.id}`, { kind: 'group', n });
          // the group's title: a child node ranked above the original nodes (dagre leaves clusters no room for labels)
          const title = `⊟ ${n.op} ${clip(n.name, 40)}`;
          G.setNode(`hdr:${n.id}`, { kind: 'header', n, title, width: 14 + 6.6 * title.length, height: 16 });
          G.setParent(`hdr:${n.id}`, `grp:${n.id}`);
          const inner = new Map();
          for (const o of origins) {
            const cid = `${n.id}::${o.id}`;
            G.setNode(cid, { kind: 'orig', n: o, ...this.boxFor(o, DATA.before) });
            G.setParent(cid, `grp:${n.id}`);
            for (const v of o.outputs) inner.set(v, cid);
          }
          for (const o of origins) {
            o.inputs.forEach((v) => { if (v && inner.has(v) && inner.get(v) !== `${n.id}::${o.id}`) G.setEdge(inner.get(v), `${n.id}::${o.id}`, { v }, `${v}>${o.id}`); });
          }
          for (const o of origins) {
            if (!o.inputs.some((v) => v && inner.has(v))) G.setEdge(`hdr:${n.id}`, `${n.id}::${o.id}`, { hidden: true }, `hdr>${o.id}`);
          }
          const consumerOf = (v) => { const c = origins.find((o) => o.inputs.includes(v)); return `${n.id}::${(c || origins[origins.length - 1]).id}`; };
          n.inputs.forEach((v) => { if (v) entry.set(`${n.id}|${v}`, consumerOf(v)); });
          n.outputs.forEach((v) => exit.set(v, inner.get(v) || `${n.id}::${origins[0].id}`));
        } else {
          G.setNode(n.id, { kind: 'op', n, ...this.boxFor(n) });
        }
      }
      const src = (v) => exit.get(v) || prod.get(v) || (this.graph.inputs.includes(v) ? `in:${v}` : undefined);
      for (const n of this.graph.nodes) {
        n.inputs.forEach((v) => {
          if (!v || values[v]?.isConst) return;
          const s = src(v);
          const t = entry.get(`${n.id}|${v}`) || n.id;
          if (s && G.hasNode(t)) G.setEdge(s, t, { v }, `${v}>${t}`);
        });
      }
      for (const name of this.graph.outputs) { const s = src(name); if (s) G.setEdge(s, `out:${name}`, { v: name }, `${name}>out`); }
      dagre.layout(G);
      return G;
    }
    render() {
      const G = this.layout();
      this.svg.textContent = '';
      this.elems.clear();
      const defs = el('defs', {}, this.svg);
      const mk = el('marker', { id: `arrow-${this.which}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
      el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#777' }, mk);
      this.vp = el('g', { class: 'viewport' }, this.svg);
      const groups = el('g', {}, this.vp), edges = el('g', {}, this.vp), nodes = el('g', {}, this.vp);
      for (const id of G.nodes()) {
        const d = G.node(id);
        if (d.kind !== 'group') continue;
        const g = el('g', { class: 'node op group fused-open', 'data-id': d.n.id, 'data-name': d.n.name }, groups);
        el('rect', { x: d.x - d.width / 2, y: d.y - d.height / 2, width: d.width, height: d.height, rx: 8 }, g);
        g.addEventListener('click', (ev) => { ev.stopPropagation(); select(this, d.n, this.graph); });
        this.elems.set(d.n.id, { g, d, n: d.n });
      }
      for (const e of G.edges()) {
        const d = G.edge(e);
        if (d.hidden) continue;
        const pts = d.points;
        let path = `M${pts[0].x},${pts[0].y}`;
        for (let i = 1; i < pts.length; i++) path += ` L${pts[i].x},${pts[i].y}`;
        const p = el('path', { d: path, class: 'edge', 'marker-end': `url(#arrow-${this.which})` }, edges);
        const val = this.graph.values[d.v] || DATA.before.values[d.v];
        const t = el('title', {}, p);
        t.textContent = val ? `${val.name}: ${val.dtype}${val.shape}${val.layout ? ' ' + val.layout : ''}` : d.v;
        if (val && val.layout) p.classList.add('blocked');
      }
      for (const id of G.nodes()) {
        const d = G.node(id);
        if (d.kind === 'group') continue;
        const x = d.x - d.width / 2, y = d.y - d.height / 2;
        if (d.kind === 'header') {
          const t = el('text', { x, y: d.y + 4, class: 'group-title' }, nodes);
          t.textContent = d.title;
          t.addEventListener('click', (ev) => { ev.stopPropagation(); this.toggle(d.n.id); });
          continue;
        }
        if (d.kind === 'io') {
          const g = el('g', { class: 'node io' }, nodes);
          el('rect', { x, y, width: d.width, height: d.height, rx: 12 }, g);
          const t = el('text', { x: d.x, y: d.y + 4, 'text-anchor': 'middle' }, g);
          t.textContent = d.name;
          continue;
        }
        const n = d.n;
        const cls = ['node', d.kind, `cat-${category(n)}`];
        if (n.layout) cls.push('blocked');
        if (d.prof) cls.push('timed');
        if (n.origin || n.body) cls.push('fused');
        const g = el('g', { class: cls.join(' '), 'data-id': n.id, 'data-name': n.name }, nodes);
        const r = el('rect', { x, y, width: d.width, height: d.height, rx: 4 }, g);
        if (d.prof) r.setAttribute('style', `fill:${heat(d.prof.share)}`);
        d.lines.forEach((line, i) => {
          const t = el('text', { x: x + 6, y: y + 16 + 14 * i, class: i === 0 ? 'op-name' : i === 1 ? 'node-name' : 'meta' }, g);
          t.textContent = line;
        });
        if (n.layout) { const t = el('text', { x: x + d.width - 4, y: y + 12, 'text-anchor': 'end', class: 'tag' }, g); t.textContent = n.layout; }
        const inner = d.kind === 'op' && n.origin ? n.origin.filter((o) => beforeByName.has(o)).length : 0;
        if (inner) {
          const t = el('text', { x: x + d.width - 4, y: y + d.height - 5, 'text-anchor': 'end', class: 'expander' }, g);
          t.textContent = `⊞ ${inner}`;
          t.addEventListener('click', (ev) => { ev.stopPropagation(); this.toggle(n.id); });
        }
        g.addEventListener('click', (ev) => { ev.stopPropagation(); select(this, n, d.kind === 'orig' ? DATA.before : this.graph); });
        if (d.kind === 'op') this.elems.set(n.id, { g, d, n });
      }
      this.size = G.graph();
      this.layoutGraph = G;
      this.root.querySelector('.count').textContent = `${this.graph.nodes.length} nodes`;
      this.root.dataset.nodes = String(this.graph.nodes.length);
      this.apply();
      highlight();
    }
    toggle(id) {
      if (this.expanded.has(id)) this.expanded.delete(id); else this.expanded.add(id);
      this.render();
      this.centerOn(id); // the layout changed: keep the node in view
    }
    apply() { this.vp.setAttribute('transform', `translate(${this.view.x},${this.view.y}) scale(${this.view.k})`); }
    /** whole: the whole graph in the pane; else its width at a readable scale, from the top */
    fit(whole) {
      const r = this.svg.getBoundingClientRect();
      const W = this.size.width || 1, H = this.size.height || 1;
      const k = whole ? Math.min(1.5, Math.max(0.01, Math.min(r.width / W, r.height / H))) : Math.min(1, Math.max(0.5, r.width / W));
      this.view = { k, x: (r.width - W * k) / 2, y: Math.max(0, (r.height - H * k) / 2) };
      // too wide for the pane: start at the first graph input, at the top
      const first = this.layoutGraph.node(`in:${this.graph.inputs[0]}`);
      if (!whole && W * k > r.width && first) this.view = { k, x: r.width / 2 - first.x * k, y: 0 };
      this.apply();
    }
    centerOn(id) {
      const e = this.elems.get(id);
      if (!e) return;
      const r = this.svg.getBoundingClientRect();
      const k = Math.max(this.view.k, 0.8);
      this.view = { k, x: r.width / 2 - e.d.x * k, y: r.height / 2 - e.d.y * k };
      this.apply();
    }
    installPanZoom() {
      let drag = null;
      this.svg.addEventListener('mousedown', (ev) => { drag = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y }; });
      window.addEventListener('mousemove', (ev) => {
        if (!drag) return;
        this.view.x = drag.vx + ev.clientX - drag.x; this.view.y = drag.vy + ev.clientY - drag.y;
        this.apply();
      });
      window.addEventListener('mouseup', () => { drag = null; });
      this.svg.addEventListener('wheel', (ev) => {
        ev.preventDefault();
        const r = this.svg.getBoundingClientRect();
        const mx = ev.clientX - r.left, my = ev.clientY - r.top;
        const f = Math.exp(-ev.deltaY * 0.0015);
        const k = Math.min(8, Math.max(0.01, this.view.k * f));
        this.view.x = mx - (mx - this.view.x) * (k / this.view.k);
        this.view.y = my - (my - this.view.y) * (k / this.view.k);
        this.view.k = k;
        this.apply();
      }, { passive: false });
      this.root.querySelector('.fit').addEventListener('click', () => this.fit(true));
    }
  }

  function valueRow(graph, v) {
    const val = graph.values[v] || DATA.before.values[v];
    if (!val) return v;
    return `${val.name}: ${val.dtype}${val.shape}${val.layout ? ' (' + val.layout + ')' : ''}${val.isConst ? ' [weight]' : ''}`;
  }
  function select(pane, n, graph) {
    document.querySelectorAll('.node.selected').forEach((e) => e.classList.remove('selected'));
    const e = pane.elems.get(n.id);
    if (e) e.g.classList.add('selected');
    const box = $('#details');
    box.textContent = '';
    box.appendChild(h('h2', n.op + (n.domain ? ` (${n.domain})` : '')));
    const dl = h('dl');
    const row = (k, v) => { dl.appendChild(h('dt', k)); const dd = h('dd'); if (Array.isArray(v)) v.forEach((x) => dd.appendChild(h('div', x))); else dd.textContent = v; dl.appendChild(dd); };
    row('name', n.name || '(unnamed)');
    row('graph', graph === DATA.before ? 'before optimization' : 'after optimization');
    row('inputs', n.inputs.map((v) => (v ? valueRow(graph, v) : '(omitted)')));
    row('outputs', n.outputs.map((v) => valueRow(graph, v)));
    row('FLOPs', human(n.flops, 'FLOP'));
    row('bytes', human(n.bytes, 'B'));
    if (n.flops !== undefined && n.bytes) row('FLOP/byte', (n.flops / n.bytes).toFixed(2));
    if (n.layout) row('layout', `${n.layout} (blocked region)`);
    if (n.convert) row('layout conversion', n.convert);
    if (n.origin) row('fused from', n.origin);
    if (n.body) row('body', n.body);
    const p = graph === DATA.after ? profByNode.get(n.name || n.op) : undefined;
    if (p) {
      row('time', `${p.ms.toFixed(4)} ms (${(100 * p.share).toFixed(2)}% of ${DATA.profile.totalMs.toFixed(3)} ms, ${DATA.profile.target})`);
      if (p.gflops !== undefined) row('GFLOP/s', p.gflops.toFixed(2));
      if (p.gbps !== undefined) row('GB/s', p.gbps.toFixed(2));
      row('kernels', p.kernels);
    }
    for (const [k, v] of Object.entries(n.attrs)) row(`attr ${k}`, v);
    box.appendChild(dl);
    if (n.origin && pane.which === 'after') {
      const b = h('button', pane.expanded.has(n.id) ? 'collapse fused group' : 'expand fused group');
      b.addEventListener('click', () => { pane.toggle(n.id); select(pane, n, graph); });
      box.appendChild(b);
    }
  }

  const panes = {};
  let matches = [], cursor = -1;
  function highlight() {
    const q = ($('#search').value || '').trim().toLowerCase();
    matches = [];
    for (const pane of Object.values(panes)) {
      for (const [id, e] of pane.elems) {
        const hit = q !== '' && (`${e.n.name} ${e.n.op} ${id}`).toLowerCase().includes(q);
        e.g.classList.toggle('match', hit);
        if (hit) matches.push({ pane, id });
      }
    }
    $('#matches').textContent = q ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : '';
  }
  function next() {
    if (!matches.length) return;
    const visible = matches.filter((m) => !m.pane.root.hidden);
    if (!visible.length) return;
    cursor = (cursor + 1) % visible.length;
    const m = visible[cursor];
    m.pane.centerOn(m.id);
    const e = m.pane.elems.get(m.id);
    select(m.pane, e.n, m.pane.graph);
  }
  function setMode(mode) {
    document.body.dataset.mode = mode;
    $('#pane-before').hidden = mode === 'after';
    $('#pane-after').hidden = mode === 'before';
    document.querySelectorAll('#modes button').forEach((b) => b.classList.toggle('on', b.dataset.mode === mode));
    for (const p of Object.values(panes)) p.fit();
  }

  $('#title').textContent = DATA.title;
  $('#pipeline').textContent = DATA.pipeline;
  if (DATA.profile) $('#profile-info').textContent = `profile: ${DATA.profile.target}, ${DATA.profile.totalMs.toFixed(3)} ms per run (median of ${DATA.profile.runs})`;
  else $('#legend-heat').hidden = true;
  panes.before = new Pane('before');
  panes.after = new Pane('after');
  $('#search').addEventListener('input', () => { cursor = -1; highlight(); });
  $('#search').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') next(); });
  $('#find').addEventListener('click', next);
  document.querySelectorAll('#modes button').forEach((b) => b.addEventListener('click', () => setMode(b.dataset.mode)));
  setMode('both');
  document.body.dataset.ready = '1';
})();
