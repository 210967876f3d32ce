/**
 * `aic run` / `aic bisect`: the shapes of the arrays given with --input decide the model's symbolic
 * input dims ('N', 'batch', p2o.DynamicDimension.0...), so every target sees static shapes. A dim
 * name shared by several inputs takes one value; static dims and ranks must match the arrays; an
 * explicit --input-shape must agree with its array. Each binding is a note (--verbose).
 */
import { Tensor, diag, type Dim, type Graph, type RValue } from '@aic/core';
import { bindInputShapes } from './model-io.ts';

/**
 * Bind g's inputs to `explicit` (--input-shape, by input name; '' = the only input) and to the
 * shapes of the given values (`files` names the file each came from), then re-infer g.
 */
export function bindShapesFromInputs(g: Graph, feeds: Map<string, RValue>, files: Map<string, string>,
  explicit: Record<string, number[]>, note: (msg: string) => void): void {
  const byName: Record<string, number[]> = {};
  for (const [name, dims] of Object.entries(explicit)) {
    if (name === '' && g.inputs.length !== 1) throw diag.usage(`--input-shape without a name needs a model with one input; inputs: ${g.inputs.map((v) => v.name).join(', ')}`);
    byName[name === '' ? g.inputs[0].name : name] = dims;
  }
  const shapes: Record<string, number[]> = { ...byName };
  const symbols = new Map<string, { value: number; who: string; file?: string }>();
  for (const v of g.inputs) {
    const t = feeds.get(v.name);
    const file = files.get(v.name);
    const given = byName[v.name];
    const data = t instanceof Tensor ? t.shape : undefined;
    if (given && data && (given.length !== data.length || given.some((d, i) => d !== data[i]))) {
      throw diag.inputShapeVsFile(v.name, given, file ?? '<input>', data);
    }
    const actual = given ?? data;
    const declared = v.shape;
    if (!actual || !declared || declared.length !== actual.length) {
      // ranks of explicit shapes are checked (a usage error) where they are bound
      if (!given && data && declared) throw diag.inputRankVsFile(v.name, declared, file ?? '<input>', data);
      if (!given && data && !declared) { shapes[v.name] = data.slice(); note(`input '${v.name}': shape [${data.join(', ')}] taken from ${file}`); }
      continue;
    }
    const who = given ? `input '${v.name}' (--input-shape)` : `input '${v.name}' (${file})`;
    const bound: string[] = [];
    declared.forEach((d: Dim, i) => {
      if (typeof d === 'number') {
        if (!given && d !== actual[i]) throw diag.inputDimVsFile(v.name, declared, file ?? '<input>', actual, i);
        return;
      }
      const prev = symbols.get(d);
      if (prev && prev.value !== actual[i]) throw diag.inputSymbolConflict(d, prev.who, prev.value, who, actual[i], file ?? prev.file);
      if (!prev) symbols.set(d, { value: actual[i], who, file });
      bound.push(`${d}=${actual[i]}`);
    });
    if (bound.length && !given) {
      shapes[v.name] = actual.slice();
      note(`input '${v.name}': bound ${bound.join(', ')} from ${file} [${actual.join(', ')}]`);
    }
  }
  if (Object.keys(shapes).length) bindInputShapes(g, shapes);
}
