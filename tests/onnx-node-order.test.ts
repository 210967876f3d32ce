/**
 * Nodes listed before the producers of their inputs are sorted on import (stable: a valid order is
 * kept; subgraphs too, including their uses of outer values); a cycle is an error naming its nodes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor, parseNpy } from '@aic/core';
import { loadOnnx, onnx } from '@aic/onnx';
import { run } from '@aic/interp';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const G = onnx.AttributeProto.AttributeType.GRAPH;
const f32vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const boolVi = (name: string) => ({ name, type: { tensorType: { elemType: 9, shape: { dim: [] } } } });
type NodeP = { name: string; opType: string; input: string[]; output: string[]; attribute: Record<string, unknown>[] };
const node = (name: string, opType: string, input: string[], output: string[], attribute: Record<string, unknown>[] = []): NodeP =>
  ({ name, opType, input, output, attribute });

function model(nodes: NodeP[], extra: Record<string, unknown> = {}): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: nodes as Record<string, unknown>[], input: [f32vi('x', [3])], output: [f32vi('y', [3])],
      initializer: [{ name: 'two', dims: [3], dataType: 1, floatData: [2, 2, 2] }], ...extra,
    },
  })).finish();
}
const loadError = (bytes: Uint8Array): AicError => {
  try { loadOnnx(bytes, { file: 'm.onnx' }); } catch (e) { expect(e).toBeInstanceOf(AicError); return e as AicError; }
  throw new Error('expected a load error');
};
const X = Tensor.fromNumbers('float32', [3], [-1, 0.5, 2]);
const yOf = (bytes: Uint8Array, feeds: Record<string, Tensor> = { x: X }) => Array.from((run(loadOnnx(bytes), feeds).get('y') as Tensor).num);

// y = Sigmoid(Relu(x) + Relu(x) * 2)
const CHAIN = [
  node('relu', 'Relu', ['x'], ['a']),
  node('mul', 'Mul', ['a', 'two'], ['b']),
  node('add', 'Add', ['a', 'b'], ['c']),
  node('sig', 'Sigmoid', ['c'], ['y']),
];

describe('topological order on import', () => {
  it('a shuffled model loads and gives the same outputs as the ordered one', () => {
    const want = yOf(model(CHAIN));
    expect(want.map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.5, 0.8176, 0.9975]);
    const notes: string[] = [];
    for (const perm of [[3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]]) {
      const shuffled = model(perm.map((i) => CHAIN[i]!));
      expect(yOf(shuffled)).toEqual(want);
      const g = loadOnnx(shuffled, { onNote: (m) => notes.push(m) });
      expect(g.nodes.map((n) => n.name)).toEqual(['relu', 'mul', 'add', 'sig']);
      // locations keep the index in the file
      expect(g.nodes.map((n) => n.loc?.index)).toEqual(['relu', 'mul', 'add', 'sig'].map((n) => perm.findIndex((i) => CHAIN[i]!.name === n)));
    }
    expect(notes).toHaveLength(3);
    expect(notes).toEqual([3, 1, 2].map((k) => `graph 'g': ${k} of 4 nodes are listed before a producer of their inputs; sorted them in topological order`));
  });

  it('keeps a valid order as listed, and says nothing', () => {
    const listed = [node('r2', 'Relu', ['x'], ['a2']), node('r1', 'Neg', ['x'], ['a1']), node('add', 'Add', ['a1', 'a2'], ['y'])];
    const notes: string[] = [];
    expect(loadOnnx(model(listed), { onNote: (m) => notes.push(m) }).nodes.map((n) => n.name)).toEqual(['r2', 'r1', 'add']);
    expect(notes).toEqual([]);
    // only the out-of-place node moves; the others keep their listed order
    const g = loadOnnx(model([node('add', 'Add', ['a1', 'a2'], ['y']), ...listed.slice(0, 2)]));
    expect(g.nodes.map((n) => n.name)).toEqual(['r2', 'r1', 'add']);
  });

  it('sorts subgraphs too, where inner nodes use outer values defined later in the list', () => {
    // y = If(cond) then Sigmoid(t + t * 2) else Neg(x), with t = Relu(x) listed after the If
    const thenBranch = {
      name: 'then', output: [f32vi('ty', [3])],
      node: [node('tsig', 'Sigmoid', ['tc'], ['ty']), node('tadd', 'Add', ['t', 'tb'], ['tc']), node('tmul', 'Mul', ['t', 'two'], ['tb'])],
    };
    const elseBranch = { name: 'else', output: [f32vi('ey', [3])], node: [node('eneg', 'Neg', ['x'], ['ey'])] };
    const ifNode = node('if', 'If', ['cond'], ['y'], [{ name: 'then_branch', type: G, g: thenBranch }, { name: 'else_branch', type: G, g: elseBranch }]);
    const bytes = model([ifNode, node('relu', 'Relu', ['x'], ['t'])], { input: [boolVi('cond'), f32vi('x', [3])] });
    const notes: string[] = [];
    const g = loadOnnx(bytes, { onNote: (m) => notes.push(m) });
    expect(g.nodes.map((n) => n.name)).toEqual(['relu', 'if']);
    expect(notes).toEqual([
      "graph 'g': 1 of 2 nodes are listed before a producer of their inputs; sorted them in topological order",
      "graph 'then': 2 of 3 nodes are listed before a producer of their inputs; sorted them in topological order",
    ]);
    const T = Tensor.fromNumbers('bool', [], [1]);
    const F = Tensor.fromNumbers('bool', [], [0]);
    expect(yOf(bytes, { cond: T, x: X })).toEqual(yOf(model(CHAIN), { x: X }));
    expect(yOf(bytes, { cond: F, x: X })).toEqual([1, -0.5, -2]);
  });

  it('a cycle is an error (exit 1) naming the nodes in it', () => {
    const e = loadError(model([node('A', 'Add', ['x', 'b'], ['a']), node('B', 'Relu', ['a'], ['b']), node('C', 'Neg', ['b'], ['y'])]));
    expect(e.exitCode).toBe(1);
    expect(e.format()).toBe("m.onnx: error AIC0003: 'm.onnx' is not a valid ONNX model: the nodes of graph 'g' form a cycle (each feeds the next): 'A' (#0) -> 'B' (#1) -> 'A' (#0)");
    // a long cycle is shortened in the message
    const ring = Array.from({ length: 40 }, (_, i) => node(`n${i}`, 'Relu', [`v${(i + 39) % 40}`], [`v${i}`]));
    const long = loadError(model([...ring, node('out', 'Neg', ['v0'], ['y'])]));
    expect(long.message).toMatch(/: 'n0' \(#0\) -> 'n1' \(#1\) -> .* -> 'n9' \(#9\) -> \.\.\. \(40 nodes\) -> 'n0' \(#0\)$/);
    const self = loadError(model([node('', 'Add', ['x', 'y'], ['y'])]));
    expect(self.message).toMatch(/form a cycle \(each feeds the next\): 'Add' \(#0\) -> 'Add' \(#0\)$/);
  });

  it('a genuinely undefined input still says it is not defined', () => {
    const e = loadError(model([node('sig', 'Sigmoid', ['c'], ['y']), node('add', 'Add', ['x', 'nope'], ['c'])]));
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe("'m.onnx' is not a valid ONNX model: node 'add' (#1) uses 'nope', which is not defined");
  });
});

describe('node order through the CLI', () => {
  const aic = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });

  it('small_cnn with its nodes reversed runs as the original; --verbose says the nodes were reordered', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-order-'));
    const m = onnx.ModelProto.decode(fs.readFileSync(path.join(FIX, 'small_cnn.onnx')));
    const n = m.graph!.node!.length;
    m.graph!.node!.reverse();
    // nodes now listed before a producer: all but those using only the input and initializers
    const produced = new Map(m.graph!.node!.flatMap((nd, i) => nd.output!.map((o) => [o, i] as const)));
    const late = m.graph!.node!.filter((nd, i) => nd.input!.some((x) => (produced.get(x) ?? -1) > i)).length;
    expect(late).toBeGreaterThan(n / 2);
    const file = path.join(dir, 'rev.onnx');
    fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
    const r = aic(['run', file, '--verbose', '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: graph '${m.graph!.name}': ${late} of ${n} nodes are listed before a producer of their inputs; sorted them in topological order`);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'output.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIX, 'small_cnn.output.npy'))));
    for (let i = 0; i < 10; i++) expect(Math.abs(got.num[i] - want.num[i])).toBeLessThan(1e-4 + 1e-3 * Math.abs(want.num[i]));
    const quiet = aic(['inspect', file]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('a cycle: exit 1, one line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-order-'));
    const file = path.join(dir, 'cyc.onnx');
    fs.writeFileSync(file, model([node('A', 'Add', ['x', 'b'], ['a']), node('B', 'Relu', ['a'], ['b']), node('C', 'Neg', ['b'], ['y'])]));
    const r = aic(['inspect', file]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/form a cycle \(each feeds the next\): 'A' \(#0\) -> 'B' \(#1\) -> 'A' \(#0\)/);
  });
});
