/**
 * Values captured from an enclosing scope keep their types through import and folding (issue 13,
 * "Why" 5: a voice-activity model's nested If Gathers with an int64 constant of the enclosing
 * branch, and -O2 ended in "AIC0202: unsupported element type float32 in Gather input 1"). ONNX
 * bodies rarely carry value_info, so every body value is typed by inference, outer scopes first.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, subgraphsOf, type Graph, type Node } from '@aic/core';
import { loadOnnx, onnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { parsePipeline, pipelineFor, runPipeline } from '@aic/passes';

const AT = onnx.AttributeProto.AttributeType;
type NodeP = { opType: string; input: string[]; output: string[]; attribute?: object[] };
/** a typed value_info (elem type code, static shape) or, without a type, a bare name */
const vi = (name: string, elemType?: number, shape: number[] = []) =>
  elemType === undefined ? { name } : { name, type: { tensorType: { elemType, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
const tensorAttr = (dataType: number, v: number) =>
  ({ name: 'value', type: AT.TENSOR, t: { dims: [], dataType, ...(dataType === 7 ? { int64Data: [v] } : { floatData: [v] }) } });
const int64Const = (out: string, v: number): NodeP => ({ opType: 'Constant', input: [], output: [out], attribute: [tensorAttr(7, v)] });
const floatConst = (out: string, v: number): NodeP => ({ opType: 'Constant', input: [], output: [out], attribute: [tensorAttr(1, v)] });
const graphAttr = (name: string, g: object) => ({ name, type: AT.GRAPH, g });
const F32 = 1, I64 = 7, BOOL = 9;

function model(graph: object): Graph {
  return loadOnnx(onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph })).finish());
}

/**
 * y = If(c) then { k: int64 = 2; If(d) { x[k] * (2 * 0.5) + x[k + 1] + x[k + int64(d)] }
 *                              else { x[k] * (2 * 0.5) - x[k + 1] + x[k + int64(d)] } } else { sum(x) }.
 * Body values have no value_info (as exporters write them); each inner branch has foldable nodes.
 */
function nestedIf(): Graph {
  const inner = (p: string, combine: string) => ({
    name: p,
    node: [
      int64Const(`${p}_one`, 1),
      { opType: 'Add', input: ['k', `${p}_one`], output: [`${p}_k1`] },
      floatConst(`${p}_two`, 2), floatConst(`${p}_half`, 0.5),
      { opType: 'Mul', input: [`${p}_two`, `${p}_half`], output: [`${p}_s`] },
      { opType: 'Gather', input: ['x', 'k'], output: [`${p}_g`] },
      { opType: 'Mul', input: [`${p}_g`, `${p}_s`], output: [`${p}_gs`] },
      { opType: 'Gather', input: ['x', `${p}_k1`], output: [`${p}_g1`] },
      { opType: combine, input: [`${p}_gs`, `${p}_g1`], output: [`${p}_c`] },
      // an index computed at run time from the captured k: never folded, typed only by inference
      { opType: 'Cast', input: ['d'], output: [`${p}_di`], attribute: [{ name: 'to', type: AT.INT, i: I64 }] },
      { opType: 'Add', input: ['k', `${p}_di`], output: [`${p}_kd`] },
      { opType: 'Gather', input: ['x', `${p}_kd`], output: [`${p}_gd`] },
      { opType: 'Add', input: [`${p}_c`, `${p}_gd`], output: [`${p}_out`] },
    ],
    output: [vi(`${p}_out`)],
  });
  const thenB = {
    name: 'then',
    node: [
      int64Const('k', 2),
      { opType: 'If', input: ['d'], output: ['r'], attribute: [graphAttr('then_branch', inner('tt', 'Add')), graphAttr('else_branch', inner('te', 'Sub'))] },
    ],
    output: [vi('r')],
  };
  const elseB = { name: 'else', node: [{ opType: 'ReduceSum', input: ['x'], output: ['r2'], attribute: [{ name: 'keepdims', type: AT.INT, i: 0 }] }], output: [vi('r2')] };
  return model({
    name: 'nested_if',
    node: [{ opType: 'If', input: ['c'], output: ['y'], attribute: [graphAttr('then_branch', thenB), graphAttr('else_branch', elseB)] }],
    input: [vi('c', BOOL), vi('d', BOOL), vi('x', F32, [4])],
    output: [vi('y', F32, [])],
  });
}

/**
 * y = If(c) then { dk = int64(d); If(d) { x[dk] * (2 * 0.5) } else { x[dk] } } else { x[3] }: the
 * captured index is computed at run time in a branch where nothing folds.
 */
function nestedIfRuntimeIndex(): Graph {
  const inner = (p: string, scaled: boolean) => ({
    name: p,
    node: [
      { opType: 'Gather', input: ['x', 'dk'], output: [scaled ? `${p}_g` : `${p}_out`] },
      ...(scaled ? [floatConst(`${p}_two`, 2), floatConst(`${p}_half`, 0.5),
        { opType: 'Mul', input: [`${p}_two`, `${p}_half`], output: [`${p}_s`] },
        { opType: 'Mul', input: [`${p}_g`, `${p}_s`], output: [`${p}_out`] }] : []),
    ],
    output: [vi(`${p}_out`)],
  });
  const thenB = {
    name: 'then',
    node: [
      { opType: 'Cast', input: ['d'], output: ['dk'], attribute: [{ name: 'to', type: AT.INT, i: I64 }] },
      { opType: 'If', input: ['d'], output: ['r'], attribute: [graphAttr('then_branch', inner('tt', true)), graphAttr('else_branch', inner('te', false))] },
    ],
    output: [vi('r')],
  };
  const elseB = { name: 'else', node: [{ opType: 'Gather', input: ['x', 'three'], output: ['r2'] }], output: [vi('r2')] };
  return model({
    name: 'nested_if_runtime_index',
    node: [int64Const('three', 3), { opType: 'If', input: ['c'], output: ['y'], attribute: [graphAttr('then_branch', thenB), graphAttr('else_branch', elseB)] }],
    input: [vi('c', BOOL), vi('d', BOOL), vi('x', F32, [4])],
    output: [vi('y', F32, [])],
  });
}

/**
 * Loop 3 times over acc (f32) with an outer int64 k = 1: acc += x[(i + k) % 4] * (2 * 0.5); also
 * scans the gathered values. The body's inputs are declared without types.
 */
function loopCapturing(): Graph {
  const body = {
    name: 'body',
    input: [vi('i'), vi('cond_in'), vi('acc')],
    node: [
      { opType: 'Add', input: ['i', 'k'], output: ['j'] },
      int64Const('four', 4),
      { opType: 'Mod', input: ['j', 'four'], output: ['jm'] },
      { opType: 'Gather', input: ['x', 'jm'], output: ['g'] },
      floatConst('two', 2), floatConst('half', 0.5),
      { opType: 'Mul', input: ['two', 'half'], output: ['s'] },
      { opType: 'Mul', input: ['g', 's'], output: ['gs'] },
      { opType: 'Add', input: ['acc', 'gs'], output: ['acc_out'] },
      { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
    ],
    output: [vi('cond_out'), vi('acc_out'), vi('g')],
  };
  return model({
    name: 'loop_capture',
    node: [
      int64Const('k', 1), int64Const('M', 3), floatConst('acc0', 0),
      { opType: 'Constant', input: [], output: ['cond0'], attribute: [{ name: 'value', type: AT.TENSOR, t: { dims: [], dataType: BOOL, int32Data: [1] } }] },
      { opType: 'Loop', input: ['M', 'cond0', 'acc0'], output: ['acc_final', 'gathered'], attribute: [graphAttr('body', body)] },
    ],
    input: [vi('x', F32, [4])],
    output: [vi('acc_final', F32, []), vi('gathered', F32, [3])],
  });
}

/** Every node of g and its subgraphs, with the graph it sits in. */
function allNodes(g: Graph, out: { n: Node; g: Graph }[] = []): { n: Node; g: Graph }[] {
  for (const n of g.nodes) { out.push({ n, g }); subgraphsOf(n).forEach((sg) => allNodes(sg, out)); }
  return out;
}

const x = new Tensor('float32', [4], Float32Array.from([10, 20, 30, 40]));
const bool = (b: boolean) => Tensor.scalarOf('bool', b ? 1 : 0);
const nums = (t: unknown) => Array.from((t as Tensor).num);

describe('values captured from an enclosing scope keep their types', () => {
  it('import types every body value: the captured int64 k and what is computed from it', () => {
    for (const g of [nestedIf(), nestedIfRuntimeIndex(), loopCapturing()]) {
      const gathers = allNodes(g).filter(({ n }) => n.op === 'Gather');
      expect(gathers.length).toBeGreaterThan(0);
      for (const { n } of gathers) {
        expect(n.inputs[1]!.dtype, `${g.name}: ${n.outputs[0].name}'s index ${n.inputs[1]!.name}`).toBe('int64');
        expect(n.outputs[0].dtype).toBe('float32');
      }
    }
    const loop = loopCapturing().nodes.find((n) => n.op === 'Loop')!;
    const body = subgraphsOf(loop)[0];
    expect(body.inputs.map((v) => v.dtype)).toEqual(['int64', 'bool', 'float32']);
  });

  it('nested If: -O2 and fold-constants alone keep every branch result', () => {
    const g = nestedIf();
    // x[2] * 1 + x[3] + x[3], x[2] * 1 - x[3] + x[2], sum(x)
    const cases: [boolean, boolean, number][] = [[true, true, 110], [true, false, 20], [false, true, 100], [false, false, 100]];
    for (const steps of [pipelineFor(2), parsePipeline('fold-constants')]) {
      const { graph, reports } = runPipeline(g, steps, { verifyEach: 'structure' });
      expect(reports.find((r) => r.pass === 'fold-constants')!.stats['nodes-folded']).toBeGreaterThan(0);
      for (const [c, d, want] of cases) {
        const feeds = new Map([['c', bool(c)], ['d', bool(d)], ['x', x]]);
        expect(nums(run(g, feeds).get('y')), `-O0 c=${c} d=${d}`).toEqual([want]);
        expect(nums(run(graph, feeds).get('y')), `optimized c=${c} d=${d}`).toEqual([want]);
      }
      // the inner branches' index arithmetic became int64 constants
      const folded = allNodes(graph).flatMap(({ g: sg }) => sg.constants).filter((v) => v.name.includes('k1'));
      expect(folded.length).toBeGreaterThan(0);
      for (const v of folded) expect([v.dtype, nums(v.const)]).toEqual(['int64', [3]]);
    }
  });

  it('nested If reading a run-time index of the enclosing branch: -O2 keeps every branch result', () => {
    const g = nestedIfRuntimeIndex();
    const { graph } = runPipeline(g, pipelineFor(2), { verifyEach: 'structure' });
    const cases: [boolean, boolean, number][] = [[true, true, 20], [true, false, 10], [false, true, 40], [false, false, 40]];
    for (const [c, d, want] of cases) {
      const feeds = new Map([['c', bool(c)], ['d', bool(d)], ['x', x]]);
      for (const gr of [g, graph]) expect(nums(run(gr, feeds).get('y')), `c=${c} d=${d}`).toEqual([want]);
    }
  });

  it('Loop body capturing an outer int64: -O2 keeps the carried sum and the scan output', () => {
    const g = loopCapturing();
    const feeds = new Map([['x', x]]);
    for (const gr of [g, runPipeline(g, pipelineFor(2), { verifyEach: 'structure' }).graph]) {
      const outs = run(gr, feeds);
      expect(nums(outs.get('gathered'))).toEqual([20, 30, 40]); // x[(i + 1) % 4], i = 0..2
      expect(nums(outs.get('acc_final'))).toEqual([90]);
    }
  });
});
