/** DSL (.aic) text mutation: numbers, dtypes, names, op names, lines, tokens, opsets, weights() references. */
import type { Rng } from './rng.ts';

const DTYPES = ['f32', 'f64', 'f16', 'bf16', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool', 'str', 'f31', 'c64'];
const NUMBERS = ['0', '-1', '1', '2', '-0', '0.5', '1e99', '-1e99', '1e-99', '4294967296', '9007199254740993', '1099511627776', 'NaN', 'inf', '0x10', '1.5.2'];
const TOKENS = ['(', ')', '{', '}', '[', ']', ',', '=', ':', '@', '"', '`', '\n', 'graph', 'opset', '->', '_', '*', '?', '#', '\t', '\u00e9', '\u0000', 'weights(', 'tensor('];
const OPS = ['Add', 'Relu', 'Conv', 'MatMul', 'Reshape', 'If', 'Loop', 'Constant', 'aic.FusedConv', 'aic.Nope', 'ai.onnx.Add', 'NotAnOp', 'relu'];
const WEIGHT_PATHS = ['missing.bin', 'model.aic', 'sub/../model.bin', '', 'model.bin\u0000x', 'a"b.bin'];

function replaceNth(text: string, re: RegExp, r: Rng, f: (m: RegExpExecArray) => string): string | null {
  const ms = [...text.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))];
  if (!ms.length) return null;
  const m = r.pick(ms);
  return text.slice(0, m.index) + f(m as RegExpExecArray) + text.slice(m.index! + m[0].length);
}

type TextOp = (t: string, r: Rng) => string | null;
const OPS_TABLE: [string, TextOp, number][] = [
  ['number', (t, r) => replaceNth(t, /-?\b\d+(\.\d+)?(e[+-]?\d+)?\b/, r, () => r.pick(NUMBERS)), 10],
  ['dtype', (t, r) => replaceNth(t, /\b(f32|f64|f16|bf16|i8|i16|i32|i64|u8|u16|u32|u64|bool|str)\b/, r, () => r.pick(DTYPES)), 6],
  ['shape', (t, r) => replaceNth(t, /\[[\d, ]*\]/, r, () => r.pick(['[]', '[0]', '[-1]', '[1099511627776, 1099511627776]', '[*]', '[N, ?]', '[1,]', '['])), 6],
  ['op', (t, r) => replaceNth(t, /\b[A-Z][A-Za-z0-9.]*(?=\()/, r, () => r.pick(OPS)), 5],
  ['name', (t, r) => {
    const defs = [...t.matchAll(/^\s*(`[^`]+`|[A-Za-z_][\w.]*)\s*[:=]/gm)].map((m) => m[1]!);
    if (!defs.length) return null;
    const name = r.pick(defs);
    return replaceNth(t, new RegExp(name.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')), r, () => r.pick(['fuzz_x', defs[0]!, '``', '`a b`', '1x']));
  }, 5],
  ['opset', (t, r) => replaceNth(t, /opset\s+[\w.]+\s+\d+/, r, () => `opset ${r.pick(['ai.onnx', 'com.microsoft', 'aic', 'x'])} ${r.pick(['0', '1', '7', '13', '99', '-3'])}`), 3],
  ['weights', (t, r) => replaceNth(t, /weights\("([^"]*)", offset = (\d+)\)/, r, (m) =>
    r.chance(0.5) ? `weights("${r.pick(WEIGHT_PATHS)}", offset = ${m[2]})` : `weights("${m[1]}", offset = ${r.pick(['1', '3', '-64', '999999999', '1e3', ''])})`), 3],
  ['attribute', (t, r) => replaceNth(t, /\b([a-z_]+) = (-?[\d.e+-]+|\[[^\]]*\]|"[^"]*")/, r, (m) => `${m[1]} = ${r.pick(['0', '-1', '99', '[]', '[0, 0]', '[-1, 1, 99]', '"x"', '1.5', 'tensor(f32[], 1.0)'])}`), 6],
  ['delete-line', (t, r) => { const ls = t.split('\n'); ls.splice(r.int(0, ls.length - 1), 1); return ls.join('\n'); }, 3],
  ['duplicate-line', (t, r) => { const ls = t.split('\n'); const i = r.int(0, ls.length - 1); ls.splice(i, 0, ls[i]!); return ls.join('\n'); }, 3],
  ['swap-lines', (t, r) => { const ls = t.split('\n'); const i = r.int(0, ls.length - 1), j = r.int(0, ls.length - 1); [ls[i], ls[j]] = [ls[j]!, ls[i]!]; return ls.join('\n'); }, 3],
  ['delete-range', (t, r) => { const i = r.int(0, t.length); return t.slice(0, i) + t.slice(i + r.int(1, 20)); }, 1],
  ['insert-token', (t, r) => { const i = r.int(0, t.length); return t.slice(0, i) + r.pick(TOKENS) + t.slice(i); }, 2],
  ['truncate', (t, r) => t.slice(0, r.int(0, t.length)), 1],
];

export function mutateDsl(text: string, r: Rng): { text: string; what: string[] } {
  let t = text;
  const what: string[] = [];
  const want = r.weighted([[1, 6], [2, 3], [4, 1]] as const);
  for (let tries = 0; what.length < want && tries < 12; tries++) {
    const [name, op] = r.weighted(OPS_TABLE.map(([n, f, w]) => [[n, f] as const, w] as const));
    const next = op(t, r);
    if (next !== null && next !== t) { t = next; what.push(`dsl ${name}`); }
  }
  return { text: t, what };
}
