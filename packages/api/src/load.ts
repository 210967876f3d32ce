/** Loading a model (ONNX or the .aic DSL) into the graph IR, binding symbolic dims and constant inputs. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, readFileOrThrow, type Dim, type Graph, type Tensor } from '@aic/core';
import { inferGraph, validateGraph } from '@aic/ir-spec';
import { loadOnnx } from '@aic/onnx';
import { bindConstInputs } from '@aic/codegen';

export type ModelFormat = 'onnx' | 'aic';

export function modelFormat(file: string): ModelFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.aic') return 'aic';
  const head = readFileOrThrow(file).subarray(0, 256);
  const text = new TextDecoder().decode(head);
  return /^\s*(#|graph\b|opset\b)/.test(text) ? 'aic' : 'onnx';
}

export interface LoadGraphOptions {
  format?: ModelFormat;
  inputShapes?: Record<string, readonly number[]>;
  /** validate the graph (validateGraph) once its shapes are bound; always done before binding constInputs */
  validate?: boolean;
  /** bound as constants (after the shapes) */
  constInputs?: Map<string, Tensor>;
  onNote?: (msg: string) => void;
}

/** A model file (or ONNX bytes) as a graph. */
export async function loadGraph(source: string | Uint8Array, opts: LoadGraphOptions = {}): Promise<Graph> {
  let g: Graph;
  if (typeof source !== 'string') {
    if (opts.format === 'aic') throw diag.usage('load: DSL models load from a file path (the text names its weights file)');
    g = loadOnnx(source, { file: '<bytes>', onNote: opts.onNote });
  } else {
    if (!fs.existsSync(source)) throw diag.fileNotFound(source);
    if ((opts.format ?? modelFormat(source)) === 'aic') {
      const dsl = await import('@aic/dsl') as { loadDslFile: (f: string) => Graph };
      g = dsl.loadDslFile(source);
    } else {
      g = loadOnnx(readFileOrThrow(source), { file: source, onNote: opts.onNote });
    }
  }
  if (opts.inputShapes && Object.keys(opts.inputShapes).length) bindInputShapes(g, opts.inputShapes);
  // what the interpreter refuses, no target compiles: checked before anything rewrites the graph
  if (opts.validate || opts.constInputs?.size) validateGraph(g);
  if (opts.constInputs?.size) bindConstants(g, opts.constInputs);
  return g;
}

/** Make the named graph inputs constants with these values (validate the graph first), then re-infer. */
export function bindConstants(g: Graph, values: Map<string, Tensor>): void {
  for (const name of values.keys()) {
    if (!g.inputs.some((v) => v.name === name)) throw diag.usage(`--const-input: the model has no input '${name}'; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
  }
  bindConstInputs(g, values);
}

/** Bind symbolic input dims to numbers (and the same symbols everywhere), then re-infer. */
export function bindInputShapes(g: Graph, shapes: Record<string, readonly number[]>): void {
  const symbols = new Map<string, number>();
  for (const [name0, dims] of Object.entries(shapes)) {
    let name = name0;
    if (name === '') {
      if (g.inputs.length !== 1) throw diag.usage(`--input-shape without a name needs a model with one input; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
      name = g.inputs[0].name;
    }
    const v = g.inputs.find((x) => x.name === name);
    if (!v) throw diag.usage(`--input-shape: the model has no input '${name}'; inputs: ${g.inputs.map((x) => x.name).join(', ')}`);
    const cur = v.shape;
    if (cur && cur.length !== dims.length) {
      throw diag.usage(`--input-shape ${name}: the model declares rank ${cur.length} [${cur.join(', ')}], got ${dims.length} dims`);
    }
    cur?.forEach((d, i) => {
      if (typeof d === 'number' && d !== dims[i]) {
        throw diag.usage(`--input-shape ${name}: dim ${i} is fixed to ${d} by the model, got ${dims[i]}`);
      }
      if (typeof d === 'string') symbols.set(d, dims[i]);
    });
    v.type = { dtype: v.dtype, shape: dims.slice() };
  }
  const bind = (s: Dim[] | undefined) => s?.map((d) => (typeof d === 'string' && symbols.has(d) ? symbols.get(d)! : d));
  for (const v of g.inputs) v.type = { dtype: v.dtype, shape: bind(v.shape) };
  inferGraph(g);
}
