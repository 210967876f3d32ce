/** aic inspect MODEL [--json]: inputs/outputs, op histogram, node count, parameters, FLOPs (the library API's inspectGraph). */
import { SHORT_NAME, formatShape, type Value } from '@aic/core';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { humanBytes, humanCount, inspectGraph } from '@aic/api/internal';
import { c } from '../ui.ts';

export interface InspectOptions { json?: boolean; inputShape?: string[] }

export async function inspectCommand(model: string, opts: InspectOptions): Promise<number> {
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  const s = inspectGraph(g);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ model, ...s }, null, 2) + '\n');
    return 0;
  }
  const line = (v: Value) => `  ${c.name(v.name)}: ${SHORT_NAME[v.dtype]}${formatShape(v.shape)}${v.kind !== 'tensor' ? ` (${v.kind})` : ''}`;
  const out: string[] = [];
  out.push(`${c.bold('model')}   ${model} (graph '${g.name}', opsets ${Object.entries(g.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ')})`);
  out.push(c.bold('inputs'), ...g.inputs.map(line));
  out.push(c.bold('outputs'), ...g.outputs.map(line));
  out.push(`${c.bold('nodes')}   ${s.nodes}`);
  out.push(`${c.bold('params')}  ${humanCount(s.params)} (${s.params} values, ${humanBytes(s.paramBytes)})`);
  out.push(`${c.bold('flops')}   ${humanCount(s.flops)}FLOP${s.flopsUncounted.length ? c.warn(` (+ ${s.flopsUncounted.length} nodes with unknown shapes not counted; bind them with --input-shape)`) : ''}`);
  out.push(c.bold('ops'));
  const hist = Object.entries(s.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const w = Math.max(...hist.map(([k]) => k.length), 4);
  for (const [k, n] of hist) out.push(`  ${k.padEnd(w)}  ${n}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
