/**
 * layout-nc4hw4: store the activations of convolution regions as NC4HW4 ([N, ceil(C/4), H, W, 4],
 * channels zero-padded), the layout SIMD conv kernels want, and pack their constant weights at
 * compile time.
 *
 * 1. Every node of a layout-friendly op (Conv, aic.FusedConv, aic.QConv, pooling, per-tensor
 *    Quantize/DequantizeLinear, BatchNormalization, elementwise ops and aic.FusedElementwise whose
 *    other operands are per-channel / same-shape 4-D values, Concat/Split on the channel axis, Resize
 *    of the spatial axes...) on static 4-D float32 tensors (and int8 / uint8 ones, a quantized model's
 *    integer regions, with option int8: on, or auto on targets that declare blockedInt8) gets a plan: which inputs are activations (NC4HW4) and which constants are re-laid
 *    out (Conv weights packed as OIHW4i4o, OIHW4o for grouped convs; [1, C, 1, 1] / same-shape
 *    constants as NC4HW4).
 * 2. Friendly nodes connected through activation edges form regions; a region without at least
 *    `min-convs` convolutions is left alone (its conversions would cost more than they save).
 * 3. Values produced in a kept region become NC4HW4. aic.LayoutConvert nodes are inserted only at
 *    region boundaries, one per value and direction: NCHW -> NC4HW4 for an outside value entering
 *    the region, NC4HW4 -> NCHW for a region value used outside (that conversion keeps the value's
 *    name, so outside consumers and graph outputs are untouched). A value never leaves and
 *    re-enters the same layout, so no inverse pairs are emitted.
 * Graph inputs and outputs stay NCHW. Subgraphs (If/Loop bodies) are not laid out.
 */
import {
  Value, Node, blockedLayouts, cloneGraph, diag, isStatic, layoutConvertNode, subgraphsOf, toPhysical,
  type Graph, type Layout,
} from '@aic/core';
import { definePass, type PassContext } from './pass.ts';
import { outerUses, uniqueNamer } from './graph-utils.ts';

/**
 * The blocked layouts of the current run: NC4HW4 / OIHW4i4o / OIHW4o, or the 8- / 16-channel ones a
 * target with wider vectors asks for (option `block`; set by run(), the pass is synchronous).
 */
let L = blockedLayouts(4);
let LAYOUT: Layout = L.act;
let BLOCK = 4;

const UNARY = [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Softplus', 'Softsign', 'Mish', 'Gelu', 'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal',
  'Floor', 'Ceil', 'Round', 'Erf', 'Identity',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean'];
const POOLS = ['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'];
const CONVS = ['Conv', 'aic.FusedConv', 'aic.QConv'];
const FUSED = ['aic.FusedElementwise'];
const QUANT = ['QuantizeLinear', 'DequantizeLinear'];
const OTHERS = ['BatchNormalization', 'InstanceNormalization', 'Concat', 'Split', 'Resize', 'Pad', 'DepthToSpace', 'SpaceToDepth', 'aic.ChannelShuffle'];

/** Ops that can run on NC4HW4 activations, named `op` (ai.onnx) or `domain.op`. */
export const NC4HW4_OPS: readonly string[] = [...CONVS, ...POOLS, ...OTHERS, ...UNARY, ...BINARY, ...FUSED, ...QUANT];

const opKey = (n: Node) => (n.domain ? `${n.domain}.${n.op}` : n.op);

/** How one node runs inside a region. */
interface Plan {
  /** input slots holding NC4HW4 activations */
  act: number[];
  /** constant inputs re-laid out at compile time */
  relayout: { slot: number; layout: Layout }[];
  /** a convolution: what makes a region worth its conversions */
  anchor: boolean;
}

/** activation dtypes laid out: float32, with option int8 also int8 / uint8 (set by run()) */
let ACT_DTYPES = new Set(['float32']);
const isAct = (v: Value | null | undefined): v is Value =>
  !!v && v.kind === 'tensor' && ACT_DTYPES.has(v.dtype) && isStatic(v.shape) && v.shape.length === 4 && !v.type.layout;
const same = (a: readonly (number | string)[], b: readonly (number | string)[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The plan for n inside an NC4HW4 region, or why it cannot be in one. */
function planNode(n: Node): Plan | string {
  const key = opKey(n);
  // aic.FusedElementwise holds its elementwise body as a self-contained subgraph
  if (subgraphsOf(n).length && key !== 'aic.FusedElementwise') return 'has subgraphs';
  if (n.attrs['__unsupported_opset']) return 'unsupported opset';
  if (!n.outputs.length || !n.outputs.every(isAct)) return 'outputs are not static 4-D float32 tensors';
  const out = n.outputs[0].shape as number[];
  if (BINARY.includes(key)) return n.inputs.length === 2 ? elementwisePlan(n, out) : 'not a binary operation';
  if (key === 'aic.FusedElementwise') return n.outputs.length === 1 ? elementwisePlan(n, out) : 'several outputs';
  const x = n.inputs[0];
  if (!isAct(x) || x.const) return 'input X is not a static 4-D float32 activation';
  const plan: Plan = { act: [0], relayout: [], anchor: false };
  const int = (name: string, dflt: number) => { const a = n.attrs[name]; return a?.type === 'int' ? a.value : dflt; };

  if (CONVS.includes(key)) {
    plan.anchor = true;
    const w = n.inputs[1];
    // a grouped (not depthwise) conv whose groups are narrower than a channel block: a block's lanes
    // would read two groups' inputs (a gather per lane); row-major it gets the grouped micro-kernel
    const group = int('group', 1), Cg = (x.shape as number[])[1] / group, Mg = out[1] / group;
    if (group > 1 && Cg > 1 && Mg % BLOCK !== 0) return `grouped conv with ${Mg} output channels per group (not a multiple of the ${BLOCK}-channel block)`;
    if (w?.const && isAct(w)) plan.relayout.push({ slot: 1, layout: int('group', 1) === 1 ? L.dense : L.grouped });
    // aic.FusedConv: further 4-D operands shaped like the output are fused residuals
    for (let i = 3; i < n.inputs.length; i++) {
      const r = n.inputs[i];
      if (isAct(r) && !r.const && same(r.shape as number[], out)) plan.act.push(i);
    }
    return plan;
  }
  if (POOLS.includes(key)) return n.outputs.length === 1 ? plan : 'MaxPool Indices output is NCHW-indexed';
  if (key === 'BatchNormalization') {
    return n.outputs.length === 1 && int('training_mode', 0) === 0 ? plan : 'training-mode BatchNormalization';
  }
  if (key === 'Concat' || key === 'Split' || key === 'aic.ChannelShuffle') {
    if (key !== 'aic.ChannelShuffle' && (int('axis', 0) + 4) % 4 !== 1) return 'not on the channel axis';
    if (key === 'Split' || (key === 'aic.ChannelShuffle' && n.inputs.length === 1)) return plan;
    plan.act = [];
    for (let i = 0; i < n.inputs.length; i++) {
      const v = n.inputs[i];
      if (!isAct(v)) return `input ${i} is not a static 4-D float32 tensor`;
      if (v.const) plan.relayout.push({ slot: i, layout: LAYOUT });
      else plan.act.push(i);
    }
    return plan.act.length ? plan : 'all inputs are constants';
  }
  if (key === 'Resize') {
    // linear / cubic modes run as separable passes over flat buffers: row-major only
    if ((n.attrs['mode']?.value ?? 'nearest') !== 'nearest') return 'Resize other than nearest';
    return same(out.slice(0, 2), (x.shape as number[]).slice(0, 2)) ? plan : 'resizes the batch or channel axis';
  }
  if (UNARY.includes(key)) {
    if (!same(x.shape as number[], out)) return 'output shape differs from input shape';
    if (key === 'PRelu') return elementwisePlan(n, out);
    return plan;
  }
  if (QUANT.includes(key)) {
    // per-tensor (scalar scale and zero point): an elementwise map; per-axis scales index channels their own way
    const scalar = n.inputs.slice(1).every((v) => !v || (!!v.const && isStatic(v.shape) && (v.shape as number[]).every((d) => d === 1)));
    if (!scalar || !same(x.shape as number[], out)) return 'not per-tensor';
    // an image's few channels (3 of a 4- or 16-lane block): quantized row-major, read so by the first conv
    return out[1] < BLOCK ? `${out[1]} channels, fewer than a block` : plan;
  }
  if (key === 'InstanceNormalization' || key === 'DepthToSpace' || key === 'SpaceToDepth') return plan;
  // ops added through the `ops` option: the activation input only
  return plan;
}

/** Elementwise op: each operand an output-shaped or [N, C, 1, 1] activation, or a per-channel constant. */
function elementwisePlan(n: Node, out: number[]): Plan | string {
  const [N, C] = out;
  const plan: Plan = { act: [], relayout: [], anchor: false };
  for (let i = 0; i < n.inputs.length; i++) {
    const v = n.inputs[i];
    if (!v) continue;
    if (v.kind !== 'tensor' || !isStatic(v.shape)) return `operand ${i} has no static shape`;
    const s = v.shape as number[];
    if (v.const) {
      if (v.type.layout) return `operand ${i} is already laid out`;
      if (s.length === 4 && (same(s, out) || (s[0] === 1 && s[1] === C && s[2] === 1 && s[3] === 1)) && v.dtype === 'float32') {
        if (C > 1) plan.relayout.push({ slot: i, layout: LAYOUT });
        continue;
      }
      // per-channel or scalar constants stay plain: [C, 1, 1], [1], []...
      const ch = s.length >= 3 ? s.length - 3 : -1;
      const perChannel = s.length <= 4 && s.every((d, k) => d === 1 || (k === ch && d === C));
      if (!perChannel) return `constant operand ${i} of shape [${s.join(', ')}] is not per-channel`;
      continue;
    }
    if (isAct(v) && (same(s, out) || (s[0] === N && s[1] === C && s[2] === 1 && s[3] === 1))) { plan.act.push(i); continue; }
    return `operand ${i} of shape [${s.join(', ')}] is neither output-shaped nor per-channel`;
  }
  if (!plan.act.some((i) => same(n.inputs[i]!.shape as number[], out))) return 'no output-shaped activation operand';
  return plan;
}

/** Channels per block: the option, else the widest block the target has Conv kernels for, else 4. */
function chooseBlock(ctx: PassContext): number {
  const b = Number(ctx.options['block']);
  if (b) return b;
  const t = ctx.target;
  if (!ctx.options['use-target'] || !t?.hasKernel) return 4;
  return [16, 8, 4].find((x) => t.hasKernel!(`Conv@NC${x}HW${x}`, '')) ?? 4;
}

/** The friendly op set: the `ops` option, filtered by the target's NC4HW4 kernels when asked. */
function friendlyOps(ctx: PassContext): Set<string> {
  const opt = String(ctx.options['ops']).trim();
  let ops = opt === '' || opt === 'default' ? NC4HW4_OPS.slice() : opt.split(/[\s,;]+/).filter(Boolean);
  const t = ctx.target;
  if (ctx.options['use-target'] && t?.hasKernel) {
    ops = ops.filter((k) => {
      const dot = k.lastIndexOf('.');
      return t.hasKernel!(`${k.slice(dot + 1)}@${LAYOUT}`, dot < 0 ? '' : k.slice(0, dot));
    });
  }
  return new Set(ops);
}

export default definePass({
  name: 'layout-nc4hw4',
  summary: 'store convolution regions as NC4HW4 (weights packed at compile time), converting only at region boundaries',
  options: {
    ops: { type: 'string', default: 'default', doc: `layout-friendly ops separated by spaces or ';' (',' ends the option in a pipeline); 'default' = the ${NC4HW4_OPS.length} built-in ops; aic ops as aic.Name` },
    'use-target': { type: 'boolean', default: true, doc: "keep only ops the target has an NC4HW4 kernel for: target.hasKernel('<Op>@NC4HW4', domain)" },
    'min-convs': { type: 'number', default: 1, doc: 'a region needs at least this many convolutions to be laid out' },
    int8: { type: 'string', default: 'auto', doc: "int8 / uint8 regions too (aic.QConv, per-tensor Quantize/DequantizeLinear, pooling, elementwise): 'on', 'off', or 'auto' = where the target says they are faster than row-major int8 (TargetCaps.blockedInt8: c)" },
    block: { type: 'number', default: 0, doc: "channels per block (4, 8, 16); 0 = the widest the target has Conv kernels for (hasKernel('Conv@NC<x>HW<x>')), else 4" },
  },
  statistics: ['regions', 'conversions-inserted', 'values-converted', 'constants-relaid-out'],
  run(g0, ctx) {
    const g = cloneGraph(g0);
    BLOCK = chooseBlock(ctx);
    L = blockedLayouts(BLOCK);
    LAYOUT = L.act;
    const int8 = String(ctx.options['int8']);
    if (!['auto', 'on', 'off'].includes(int8)) throw diag.usage(`layout-nc4hw4: int8='${int8}': expected auto, on or off`);
    ACT_DTYPES = new Set(int8 === 'on' || (int8 === 'auto' && ctx.target?.blockedInt8) ? ['float32', 'uint8', 'int8'] : ['float32']);
    for (const s of ['regions', 'conversions-inserted', 'values-converted', 'constants-relaid-out']) ctx.stats[s] = 0;
    // channel shuffles (Reshape/Transpose/Reshape) arrive as aic.ChannelShuffle from `fuse`, which runs first
    layoutGraph(g, ctx);
    return g;
  },
});

function layoutGraph(g: Graph, ctx: PassContext): void {
  const ops = friendlyOps(ctx);
  const minConvs = Number(ctx.options['min-convs']);
  const explain = (n: Node, outcome: 'applied' | 'rejected', reason?: string) =>
    ctx.explain?.({ pass: 'layout-nc4hw4', rule: 'nc4hw4-region', node: n.label, outcome, ...(reason ? { reason } : {}) });

  // 1. plans
  const plans = new Map<Node, Plan>();
  for (const n of g.nodes) {
    if (!ops.has(opKey(n))) continue;
    const p = planNode(n);
    if (typeof p === 'string') explain(n, 'rejected', p);
    else plans.set(n, p);
  }

  // a convolution over fewer channels than a block reading a value from outside (the image): it reads
  // that value row-major, so no conversion pads it to whole blocks (3 -> 16 lanes) in front of it
  for (const [n, p] of plans) {
    const x = n.inputs[0];
    if (p.anchor && x && (x.shape?.[1] as number) < BLOCK && !(x.producer && plans.has(x.producer))) p.act = p.act.filter((i) => i !== 0);
  }

  // 2. regions: union-find over activation edges
  const parent = new Map<Node, Node>();
  const find = (n: Node): Node => { let r = n; while (parent.get(r)! !== r) r = parent.get(r)!; parent.set(n, r); return r; };
  for (const n of plans.keys()) parent.set(n, n);
  for (const [n, p] of plans) {
    for (const i of p.act) {
      const prod = n.inputs[i]!.producer;
      if (prod && plans.has(prod)) parent.set(find(n), find(prod));
    }
  }
  const convs = new Map<Node, number>();
  for (const [n, p] of plans) if (p.anchor) convs.set(find(n), (convs.get(find(n)) ?? 0) + 1);
  const inRegion = new Set<Node>();
  const roots = new Set<Node>();
  for (const n of plans.keys()) {
    const r = find(n);
    if ((convs.get(r) ?? 0) >= Math.max(minConvs, 0)) { inRegion.add(n); roots.add(r); explain(n, 'applied'); }
    else explain(n, 'rejected', `region has ${convs.get(r) ?? 0} convolution(s), needs ${minConvs}`);
  }
  ctx.stats['regions'] = roots.size;
  if (!inRegion.size) return;

  const fresh = uniqueNamer(g);
  /** conversion nodes to place right after a node (null: at the start of the graph) */
  const after = new Map<Node | null, Node[]>();
  const place = (pos: Node | null, n: Node) => { const l = after.get(pos) ?? []; l.push(n); after.set(pos, l); ctx.stats['conversions-inserted']++; };
  const isInside = (n: Node, i: number) => inRegion.has(n) && plans.get(n)!.act.includes(i);

  // 3a. region results: NC4HW4; a value also used outside keeps its name and NCHW form via a conversion
  const outsideUsed = new Set<Value>(g.outputs);
  for (const n of g.nodes) {
    n.inputs.forEach((v, i) => { if (v && !isInside(n, i)) outsideUsed.add(v); });
    for (const sg of subgraphsOf(n)) for (const v of outerUses(sg)) outsideUsed.add(v);
  }
  const laidOut = new Map<Value, Value>(); // region result (original) -> its NC4HW4 value
  for (const n of g.nodes) {
    if (!inRegion.has(n)) continue;
    n.outputs.forEach((v, k) => {
      ctx.stats['values-converted']++;
      if (!outsideUsed.has(v)) { v.type = { ...v.type, layout: LAYOUT }; laidOut.set(v, v); return; }
      const p = new Value(fresh(`${v.name || 'v'}_${LAYOUT.toLowerCase()}`), { ...v.type, layout: LAYOUT });
      n.outputs[k] = p;
      p.producer = n;
      laidOut.set(v, p);
      place(n, layoutConvertNode(p, v, LAYOUT, 'NCHW', { loc: n.loc }));
    });
  }

  // 3b. activations entering a region: one NCHW -> NC4HW4 conversion per value
  const entering = new Map<Value, Value>();
  const constants = new Map<string, Value>();
  const replacedConsts = new Set<Value>();
  let cid = 0;
  const constIds = new Map<Value, number>();
  for (const n of g.nodes) {
    if (!inRegion.has(n)) continue;
    const plan = plans.get(n)!;
    for (const i of plan.act) {
      const v = n.inputs[i]!;
      const inner = laidOut.get(v);
      if (inner) { n.inputs[i] = inner; continue; }
      let c = entering.get(v);
      if (!c) {
        c = new Value(fresh(`${v.name || 'v'}_${LAYOUT.toLowerCase()}`), { ...v.type, layout: LAYOUT });
        entering.set(v, c);
        const prod = v.producer && g.nodes.includes(v.producer) ? v.producer : null;
        place(prod, layoutConvertNode(v, c, 'NCHW', LAYOUT, { loc: n.loc }));
      }
      n.inputs[i] = c;
    }
    // constants re-laid out at compile time (one copy per constant and layout)
    for (const { slot, layout } of plan.relayout) {
      const v = n.inputs[slot]!;
      if (!constIds.has(v)) constIds.set(v, cid++);
      const k = `${constIds.get(v)}:${layout}`;
      let c = constants.get(k);
      if (!c) {
        c = new Value(fresh(`${v.name || 'c'}_${layout.toLowerCase()}`), { ...v.type, layout });
        c.const = toPhysical(v.const!, layout);
        g.constants.push(c);
        constants.set(k, c);
        ctx.stats['constants-relaid-out']++;
      }
      n.inputs[slot] = c;
      replacedConsts.add(v);
    }
  }

  // 4. place the conversions next to their producers; drop constants nobody uses any more
  const nodes: Node[] = [...(after.get(null) ?? [])];
  for (const n of g.nodes) nodes.push(n, ...(after.get(n) ?? []));
  g.nodes = nodes;
  const used = new Set<Value>(g.outputs);
  for (const n of g.nodes) {
    n.inputs.forEach((v) => v && used.add(v));
    for (const sg of subgraphsOf(n)) for (const v of outerUses(sg)) used.add(v);
  }
  g.constants = g.constants.filter((c) => !replacedConsts.has(c) || used.has(c));
}
