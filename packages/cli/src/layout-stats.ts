/**
 * `aic compile --stats`: the layout conversions left in the compiled graph (aic.LayoutConvert of
 * activations; constants are re-laid out at compile time and cost nothing at run time), each named
 * by the value converted and the op that made it necessary: the consumer without a blocked kernel,
 * or the graph boundary.
 */
import { BYTE_SIZE, isStatic, type Graph, type Node, type Value } from '@aic/core';

const label = (n: Node) => `${n.domain ? `${n.domain}.` : ''}${n.op} '${n.label}'`;

export function layoutConversionStats(g: Graph): string {
  const convs = g.nodes.filter((n) => n.op === 'LayoutConvert' && n.domain === 'aic');
  const users = (v: Value) => g.nodes.filter((n) => n.inputs.includes(v));
  const bytesOf = (v: Value) => (isStatic(v.shape) ? (v.shape as number[]).reduce((a, d) => a * d, 1) * (BYTE_SIZE[v.dtype] || 4) : 0);
  let total = 0;
  const lines = convs.map((n) => {
    const x = n.inputs[0]!, y = n.outputs[0];
    const b = bytesOf(x);
    total += b;
    const from = n.attrs['from']?.value, to = n.attrs['to']?.value;
    const why = to === 'NCHW'
      ? [...users(y).map(label), ...(g.outputs.includes(y) ? ['the graph output'] : [])].join(', ') || 'nothing'
      : x.producer ? `${label(x.producer)} (no blocked kernel)` : g.inputs.includes(x) ? 'the graph input' : 'a constant';
    const where = to === 'NCHW' ? `for ${why}` : `from ${why}`;
    return `  ${from} -> ${to} '${x.name}' [${x.shape?.join(', ') ?? '?'}] ${where} (${b} bytes)`;
  });
  return `layout conversions: ${convs.length} (${total} bytes)\n${lines.map((l) => `${l}\n`).join('')}`;
}
