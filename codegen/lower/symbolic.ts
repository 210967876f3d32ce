/**
 * Symbolic batch dims in compiled artifacts. A leading input dim left symbolic (in the model, or
 * `--input-shape input=Nx3x224x224`) becomes a run-time extent: the program is compiled, fully
 * specialized, for one sample (the symbol bound to 1), and the artifact's host code runs it once per
 * sample, with the batched inputs and outputs addressed at sample n. The batch loop is the outermost
 * loop of every kernel, hoisted around the whole program, so the memory plan is one sample's arena,
 * reused per sample, whatever the batch; `--max-shape N=8` bounds the run-time value (AIC0450).
 *
 * That equals running the model on the whole batch when no op mixes samples: checked here on the
 * model's own symbolic shapes (the symbol stays dim 0 of every value it reaches and no op works
 * along dim 0), else AIC0451 names the op. A model whose batch dim is fixed to 1 and given a symbol
 * with --input-shape is a one-sample model: the artifact runs it per sample (a note says so).
 */
import { AicError, cloneGraph, diag, nodeLocation, type Dim, type Graph, type Node, type TensorType, type Value } from '@aic/core';
import { getOp, inferGraph, makeAttrReader } from '@aic/ir-spec';
import { batchMixedBy } from './batch-track.ts';

export interface SymbolicBatch {
  /** the symbol's name ('N', 'batch'...) */
  symbol: string;
  /** the declared maximum (--max-shape), when any */
  max?: number;
  /** graph values (inputs and outputs) that carry the batch as dim 0 */
  inputs: string[];
  outputs: string[];
}

export interface SymbolicOptions {
  /** --input-shape dims that are names (by input name; '' = the only input), numbers elsewhere */
  shapes?: Record<string, Dim[]>;
  /** --max-shape NAME=N */
  max?: Record<string, number>;
  note?: (s: string) => void;
  /** another symbol, a run-time extent (lower/batch-extent.ts): left in place, and bound to `at` while the batch is checked */
  extent?: { symbol: string; at: number };
}

/** Ops whose axis attributes (or constant `axes` input) may not include the batch dim. */
const AXIS_ATTRS = ['axis', 'axes'];

/**
 * Find the symbolic batch of g's inputs, check it (AIC0451), and bind it to 1 (mutates g and re-infers).
 * Undefined when no input dim is symbolic (a static model: today's code, unchanged).
 */
export function bindSymbolicBatch(g: Graph, opts: SymbolicOptions = {}): SymbolicBatch | undefined {
  const perSample = new Set<Value>();
  for (const [name0, dims] of Object.entries(opts.shapes ?? {})) {
    const v = name0 === '' && g.inputs.length === 1 ? g.inputs[0]! : g.inputs.find((x) => x.name === name0);
    if (!v) throw diag.usage(`--input-shape: the model has no input '${name0}'; inputs: ${g.inputs.map((x) => x.name).join(', ')}`);
    const cur = v.shape;
    if (cur && cur.length !== dims.length) throw diag.usage(`--input-shape ${v.name}: the model declares rank ${cur.length} [${cur.join(', ')}], got ${dims.length} dims`);
    dims.forEach((d, i) => {
      const c = cur?.[i];
      if (d === opts.extent?.symbol && typeof c === 'number' && c !== 1) throw diag.symbolUnsupported(d, `is given for dim ${i} of input '${v.name}', which the model fixes to ${c}`);
      if (d === opts.extent?.symbol) return;
      if (typeof d === 'string' && typeof c === 'number') {
        if (i !== 0 || c !== 1) throw diag.symbolUnsupported(d, `is given for dim ${i} of input '${v.name}', which the model fixes to ${c}`);
        perSample.add(v);
      } else if (typeof d === 'number' && typeof c === 'number' && c !== d) {
        throw diag.usage(`--input-shape ${v.name}: dim ${i} is fixed to ${c} by the model, got ${d}`);
      }
    });
    v.type = { ...v.type, shape: dims.slice() };
  }
  const symbols = new Set<string>();
  const batched: Value[] = [];
  for (const v of g.inputs) {
    (v.shape ?? []).forEach((d, i) => {
      if (typeof d !== 'string' || d === opts.extent?.symbol) return;
      if (i !== 0) throw diag.symbolUnsupported(d, `is dim ${i} of input '${v.name}' [${v.shape!.join(', ')}] (a sequence length or image size)`);
      symbols.add(d);
    });
    if (typeof v.shape?.[0] === 'string' && v.shape[0] !== opts.extent?.symbol) batched.push(v);
  }
  if (!symbols.size) {
    const extra = Object.keys(opts.max ?? {});
    if (extra.length) throw diag.usage(`--max-shape ${extra[0]}: the model has no symbolic input dim (name one with --input-shape, e.g. input=${extra[0]}x...)`);
    return undefined;
  }
  if (symbols.size > 1) throw diag.symbolUnsupported([...symbols].join("', '"), 'are several batch symbols (one is supported)');
  const symbol = [...symbols][0]!;
  for (const name of Object.keys(opts.max ?? {})) if (name !== symbol) throw diag.usage(`--max-shape ${name}: the model's symbolic dim is '${symbol}'`);
  const max = opts.max?.[symbol];
  if (max !== undefined && !(Number.isInteger(max) && max >= 1)) throw diag.usage(`--max-shape ${symbol}=${max}: expected a positive integer`);
  if (batched.some((v) => perSample.has(v)) && batched.some((v) => !perSample.has(v))) {
    throw diag.symbolUnsupported(symbol, 'is the model\'s own dim on some inputs and replaces a fixed 1 on others');
  }
  let outputs: string[];
  if (perSample.size) {
    // a one-sample model: outputs must be one sample too (dim 0 fixed to 1)
    bindToOne(g, batched);
    for (const o of g.outputs) {
      if (o.shape?.[0] !== 1) throw diag.symbolUnsupported(symbol, `replaces the fixed batch 1 of ${batched.map((v) => `'${v.name}'`).join(', ')}, but output '${o.name}' [${o.shape?.join(', ') ?? '?'}] has no leading 1 to repeat per sample`);
    }
    outputs = g.outputs.map((o) => o.name);
    opts.note?.(`'${symbol}': the model fixes dim 0 of ${batched.map((v) => `'${v.name}'`).join(', ')} to 1; the artifact runs it once per sample`);
  } else {
    outputs = checkOrTrack(opts.extent ? bindOther(g, opts.extent.symbol, opts.extent.at) : g, symbol);
    bindToOne(g, batched);
    opts.note?.(`'${symbol}' is a run-time batch: kernels are specialized for one sample and the artifact runs them per sample`);
  }
  return { symbol, ...(max !== undefined ? { max } : {}), inputs: batched.map((v) => v.name), outputs };
}

function bindToOne(g: Graph, batched: Value[]): void {
  for (const v of batched) v.type = { ...v.type, shape: [1, ...v.shape!.slice(1)] };
  if (!g.inputs.some((v) => v.shape?.some((d) => typeof d === 'string'))) inferGraph(g); // an extent left: inferred at each value
}

/** A copy of g with another symbol bound to a value in its inputs (the batch checked there); output names stay. */
function bindOther(g: Graph, symbol: string, at: number): Graph {
  const c = cloneGraph(g);
  for (const x of c.inputs) if (x.shape?.includes(symbol)) x.type = { ...x.type, shape: x.shape.map((d) => (d === symbol ? at : d)) };
  return c;
}

/**
 * The batch kept at dim 0 (checkBatchIndependent), else followed through ops that move and merge it
 * (lower/batch-track.ts): when that finds no op mixing samples, every output is per sample; otherwise
 * the first check's AIC0451 stands, with what the second found.
 */
function checkOrTrack(g: Graph, symbol: string): string[] {
  try {
    return checkBatchIndependent(g, symbol);
  } catch (e) {
    if (!(e instanceof AicError && e.code === 'AIC0451')) throw e;
    const why = batchMixedBy(g, symbol);
    if (why === undefined) return g.outputs.map((o) => o.name);
    const err = new AicError(e.code, `${e.message}; followed through the ops that move it, ${why}`, e.exitCode, e.loc);
    MIXING.add(err);
    throw err;
  }
}

const MIXING = new WeakSet<Error>();
/** Is e the AIC0451 of a batch that ops mix along (not of a dim the model fixes...)? Such a batch can be a run-time extent instead. */
export const batchMixes = (e: unknown): e is AicError => e instanceof AicError && MIXING.has(e);

/**
 * Infer g with the symbol in place (declared intermediate shapes set aside, then restored) and check
 * that every value it reaches keeps it as dim 0 only and that no op works along dim 0. Returns the
 * graph outputs carrying it.
 */
function checkBatchIndependent(g: Graph, symbol: string): string[] {
  const saved = new Map<Value, TensorType>();
  for (const n of g.nodes) for (const o of n.outputs) { saved.set(o, o.type); o.type = { ...o.type, shape: undefined }; }
  try {
    try {
      inferGraph(g);
    } catch (e) {
      throw diag.symbolUnsupported(symbol, `cannot be carried through the model's shapes (${(e as Error).message})`);
    }
    const reached = new Set<Value>(g.inputs.filter((v) => v.shape?.[0] === symbol));
    for (const n of g.nodes) {
      if (!n.inputs.some((v) => v && reached.has(v))) continue;
      if (n.op === 'Shape' || n.op === 'Size') continue; // shape arithmetic: per sample it reads the sample's shape
      for (const v of n.inputs) if (v && reached.has(v)) checkValue(n, v, symbol);
      checkAxes(n, symbol, reached);
      for (const o of n.outputs) { checkValue(n, o, symbol); reached.add(o); }
    }
    const outs = g.outputs.filter((o) => reached.has(o)).map((o) => o.name);
    const other = g.outputs.find((o) => !reached.has(o));
    if (other) throw diag.symbolUnsupported(symbol, `does not reach output '${other.name}', which the artifact could not repeat per sample`);
    return outs;
  } finally {
    for (const [o, t] of saved) o.type = t;
  }
}

function checkValue(n: Node, v: Value, symbol: string): void {
  const s = v.shape;
  if (!s || s[0] !== symbol || s.slice(1).some((d) => typeof d !== 'number')) {
    throw diag.symbolUnsupported(symbol, `reaches ${n.op} '${n.label}', whose value '${v.name}' has shape [${s?.join(', ') ?? '?'}] (not the batch first, static after)`, nodeLocation(n));
  }
}

/** A node reached by the batch must not work along dim 0 (axis / axes / perm / reduction over all dims). */
function checkAxes(n: Node, symbol: string, reached: Set<Value>): void {
  // the axes count in input 0's dims (Gather of a static table by batched indices works per sample)
  if (n.op !== 'Concat' && !(n.inputs[0] && reached.has(n.inputs[0]))) return;
  const rank = n.inputs.find((v) => v && reached.has(v))?.shape?.length ?? 0;
  const axes = opAxes(n, rank, symbol);
  const def = getOp(n.op, n.domain)!;
  const attrs = makeAttrReader(def, n.attrs, nodeLocation(n));
  if (def.attrs.perm && attrs.has('perm') && attrs.ints('perm')[0] !== 0) axes.push(0);
  if (axes.includes(0)) {
    throw diag.symbolUnsupported(symbol, `reaches ${n.op} '${n.label}', which works along dim 0 (the batch)`, nodeLocation(n));
  }
}

/**
 * The dims node n works along, of a rank-`rank` input (0..rank-1): its axis / axes attributes or constant
 * axes input, every dim for a reduction without axes. AIC0451 for an op aic does not know or axes known
 * only at run time.
 */
export function opAxes(n: Node, rank: number, symbol: string): number[] {
  const def = getOp(n.op, n.domain);
  if (!def) throw diag.symbolUnsupported(symbol, `reaches ${n.op} '${n.label}', an op aic does not know`, nodeLocation(n));
  const attrs = makeAttrReader(def, n.attrs, nodeLocation(n));
  const axes: number[] = [];
  for (const a of AXIS_ATTRS) {
    const spec = def.attrs[a];
    const val = attrs.raw(a)?.value ?? spec?.default;
    if (!spec || val === undefined) continue;
    axes.push(...((Array.isArray(val) ? val : [val]) as number[]));
  }
  const axesIn = def.inputs.findIndex((x) => x.name === 'axes');
  const axesVal = axesIn > 0 ? n.inputs[axesIn] : undefined;
  if (axesVal) {
    if (!axesVal.const) throw diag.symbolUnsupported(symbol, `reaches ${n.op} '${n.label}', whose axes are known only when the model runs`, nodeLocation(n));
    axes.push(...Array.from(axesVal.const.num, Number));
  }
  const noop = def.attrs.noop_with_empty_axes && attrs.int('noop_with_empty_axes') === 1;
  if ((n.op.startsWith('Reduce') || n.op.startsWith('Arg')) && axes.length === 0 && !noop) axes.push(...Array.from({ length: rank }, (_, i) => i)); // no axes: every dim
  return axes.map((a) => (a < 0 ? a + rank : a));
}
