/**
 * aic grad MODEL --loss sum|mean|cross-entropy|mse [--wrt params|NAME,...] -o OUT.onnx|OUT.aic
 * Writes the gradient model: the model's inputs (plus `labels` for cross-entropy, `target` for
 * mse), outputs `loss` then `<name>_grad` per parameter (passes/autodiff, rules in ir-spec's OpDef.vjp).
 * --mode forward --tangent NAME=FILE: the model's outputs and `<output>_tangent` (J t, forward mode).
 */
import * as path from 'node:path';
import { Tensor, diag, isFloat, writeFileAtomic, type Graph, type Node } from '@aic/core';
import { autodiff, foldNodesWhere } from '@aic/passes';
import { loadModel, parseShapeOptions, readTensorFile } from '../model-io.ts';

export interface GradCliOptions { loss?: string; wrt?: string; output?: string; inputShape?: string[]; mode?: string; tangent?: string[] }

/** Shape arithmetic and Constant nodes become constants (so shapes are static); weights stay as they are. */
const shapeWork = (n: Node) => n.op === 'Constant' || n.outputs.every((o) => !isFloat(o.dtype));

/** Fold the shape work so float values have static shapes (a loaded model, changed in place). */
export function prepareForGrad(g: Graph): Graph {
  foldNodesWhere(g, shapeWork);
  return g;
}

export async function gradCommand(model: string, opts: GradCliOptions): Promise<number> {
  if (!opts.output) throw diag.usage('grad needs -o OUT.onnx or -o OUT.aic');
  const ext = path.extname(opts.output).toLowerCase();
  if (ext !== '.aic' && ext !== '.onnx') throw diag.usage(`-o '${opts.output}': the extension must be .onnx or .aic (DSL + .bin sidecar)`);
  if (opts.mode === 'forward') return forward(model, opts, ext);
  if (opts.mode !== undefined && opts.mode !== 'reverse') throw diag.usage(`--mode '${opts.mode}': expected reverse or forward`);
  if (opts.tangent?.length) throw diag.usage('--tangent is for --mode forward');
  if (opts.loss === undefined) throw diag.usage(`grad needs --loss ${autodiff.LOSSES.join('|')} (or --mode forward --tangent NAME=FILE)`);
  const loss = opts.loss;
  if (!(autodiff.LOSSES as readonly string[]).includes(loss)) throw diag.usage(`--loss '${loss}': expected one of ${autodiff.LOSSES.join(', ')}`);
  const wrt = opts.wrt === undefined || opts.wrt === 'params' ? undefined : opts.wrt.split(',').map((s) => s.trim()).filter(Boolean);
  if (wrt && wrt.length === 0) throw diag.usage('--wrt: expected params or a comma-separated list of value names');
  const g = prepareForGrad(await loadModel(model, parseShapeOptions(opts.inputShape)));
  const out = autodiff.gradModel(g, { loss: loss as autodiff.LossKind, wrt });
  await writeModel(out, opts.output, ext);
  process.stdout.write(`wrote ${opts.output}: loss and ${out.outputs.length - 1} gradient(s), ${out.nodes.length} nodes\n`);
  return 0;
}

/** --mode forward: the Jacobian-vector product of the outputs for the --tangent directions. */
async function forward(model: string, opts: GradCliOptions, ext: string): Promise<number> {
  if (opts.loss !== undefined || opts.wrt !== undefined) throw diag.usage('--mode forward takes --tangent NAME[=FILE] (the direction), not --loss or --wrt');
  if (!opts.tangent?.length) throw diag.usage('--mode forward needs --tangent NAME=FILE (or NAME alone: an input NAME_tangent)');
  const tangents = opts.tangent.map((t): autodiff.Tangent => {
    const eq = t.indexOf('=');
    if (eq < 0) return { name: t };
    const value = readTensorFile(t.slice(eq + 1));
    if (!(value instanceof Tensor)) throw diag.usage(`--tangent '${t}': expected a tensor file`);
    return { name: t.slice(0, eq), value };
  });
  const g = prepareForGrad(await loadModel(model, parseShapeOptions(opts.inputShape)));
  const out = autodiff.jvpModel(g, tangents);
  await writeModel(out, opts.output!, ext);
  process.stdout.write(`wrote ${opts.output}: ${out.outputs.length / 2} output(s) and their tangents, ${out.nodes.length} nodes\n`);
  return 0;
}

export async function writeModel(g: Graph, file: string, ext: string): Promise<void> {
  if (ext === '.onnx') {
    const { exportOnnx } = await import('@aic/onnx') as unknown as { exportOnnx: (g: Graph) => Uint8Array };
    writeFileAtomic(file, exportOnnx(g));
  } else {
    const dsl = await import('@aic/dsl') as unknown as { saveDsl: (g: Graph, out: string) => void; inferAll: (g: Graph) => void };
    dsl.inferAll(g);
    dsl.saveDsl(g, file);
  }
}
