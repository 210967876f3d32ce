/** AttrReader over a node's attributes with the OpDef's defaults applied. */
import { diag, type Attr, type Graph, type Location, type Tensor } from '@aic/core';
import type { AttrReader, OpDef } from './types.ts';

export function makeAttrReader(def: OpDef, attrs: Record<string, Attr>, loc?: Location): AttrReader {
  const get = (name: string, want: Attr['type'][]): unknown => {
    const a = attrs[name];
    if (a !== undefined) {
      if (!want.includes(a.type)) {
        // ONNX writers sometimes store ints as floats or the reverse; accept numeric scalars.
        if ((a.type === 'int' || a.type === 'float') && (want.includes('int') || want.includes('float'))) return a.value;
        if ((a.type === 'ints' || a.type === 'floats') && (want.includes('ints') || want.includes('floats'))) return a.value;
        throw diag.verify(def.name, `attribute '${name}' should be ${want.join('/')}, got ${a.type}`, loc);
      }
      return a.value;
    }
    const spec = def.attrs[name];
    if (spec === undefined) throw new Error(`${def.name}: reads undeclared attribute '${name}'`);
    if (spec.default === undefined) throw diag.verify(def.name, `missing required attribute '${name}'`, loc);
    return Array.isArray(spec.default) ? spec.default.slice() : spec.default;
  };
  return {
    has: (n) => attrs[n] !== undefined,
    int: (n) => get(n, ['int']) as number,
    float: (n) => get(n, ['float']) as number,
    str: (n) => get(n, ['string']) as string,
    ints: (n) => get(n, ['ints']) as number[],
    floats: (n) => get(n, ['floats']) as number[],
    strs: (n) => get(n, ['strings']) as string[],
    tensor: (n) => get(n, ['tensor']) as Tensor,
    graph: (n) => get(n, ['graph']) as Graph,
    raw: (n) => attrs[n],
  };
}
