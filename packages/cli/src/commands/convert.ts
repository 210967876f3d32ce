/** aic convert MODEL -o OUT.aic | OUT.onnx */
import * as path from 'node:path';
import { diag, writeFileAtomic } from '@aic/core';
import { loadModel, parseShapeOptions } from '../model-io.ts';

export interface ConvertOptions { output?: string; inputShape?: string[] }

export async function convertCommand(model: string, opts: ConvertOptions): Promise<number> {
  if (!opts.output) throw diag.usage('convert needs -o OUT.aic or -o OUT.onnx');
  const ext = path.extname(opts.output).toLowerCase();
  if (ext !== '.aic' && ext !== '.onnx') throw diag.usage(`-o '${opts.output}': the extension must be .aic (DSL + .bin sidecar) or .onnx`);
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  if (ext === '.onnx') {
    const { exportOnnx } = await import('@aic/onnx') as unknown as { exportOnnx: (g: unknown) => Uint8Array };
    const bytes = exportOnnx(g);
    writeFileAtomic(opts.output, bytes);
    process.stdout.write(`wrote ${opts.output} (${bytes.length} bytes)\n`);
  } else {
    const dsl = await import('@aic/dsl') as unknown as { saveDsl: (g: unknown, out: string) => string[] | void; inferAll: (g: unknown) => void };
    // subgraph bodies too: their values are printed with types, which the parser checks when reading back
    dsl.inferAll(g);
    const files = dsl.saveDsl(g, opts.output);
    process.stdout.write(`wrote ${Array.isArray(files) ? files.join(', ') : opts.output}\n`);
  }
  return 0;
}
