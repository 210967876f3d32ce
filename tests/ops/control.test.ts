import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { A, evalOp, f32, i64, t, vals } from '../helpers.ts';

const g = (value: Graph): Attr => ({ type: 'graph', value });
const val = (name: string, dtype: Tensor['dtype'], shape: number[] | undefined, kind: Value['kind'] = 'tensor') =>
  new Value(name, { dtype, shape }, kind);

/** Run one control-flow node whose inputs are graph inputs fed with `feeds` (in order). */
function runNode(op: string, ins: (Value | null)[], feeds: RValue[], outs: Value[], attrs: Record<string, Attr>, main: Graph): RValue[] {
  main.nodes.push(new Node({ op, inputs: ins, outputs: outs, attrs }));
  main.outputs = outs;
  inferGraph(main, { strict: true });
  const m = new Map<string, RValue>();
  main.inputs.forEach((v, i) => m.set(v.name, feeds[i]));
  const res = run(main, m);
  return outs.map((o) => res.get(o.name)!);
}

describe('If', () => {
  it('picks the branch and returns outer values', () => {
    const main = new Graph('main');
    const c = val('c', 'bool', []), a = val('a', 'float32', [2]), b = val('b', 'float32', [2]);
    main.inputs = [c, a, b];
    const thenG = new Graph('then'); thenG.outputs = [a];
    const elseG = new Graph('else'); elseG.outputs = [b];
    const run1 = (cond: number) => {
      const m = new Graph('main'); m.inputs = [c, a, b];
      return runNode('If', [c], [t('bool', [], [cond]), f32([2], [1, 2]), f32([2], [3, 4])], [val('y', 'float32', undefined)],
        { then_branch: g(thenG), else_branch: g(elseG) }, m)[0] as Tensor;
    };
    expect(vals(run1(1))).toEqual([1, 2]);
    expect(vals(run1(0))).toEqual([3, 4]);
  });
});

describe('Loop', () => {
  /** body(i, cond, acc) = (cond_out, acc + i, acc + i) */
  function body(condOut?: Value): Graph {
    const b = new Graph('body');
    const it = val('i', 'int64', []), ci = val('cond_in', 'bool', []), acc = val('acc', 'int64', []);
    b.inputs = [it, ci, acc];
    const sum = val('sum', 'int64', []);
    b.nodes.push(new Node({ op: 'Add', inputs: [acc, it], outputs: [sum] }));
    b.outputs = [condOut ?? ci, sum, sum];
    return b;
  }
  it('runs M iterations, carries a value and stacks scan outputs', () => {
    const main = new Graph('main');
    const m = val('M', 'int64', []), acc0 = val('acc0', 'int64', []);
    main.inputs = [m, acc0];
    const [fin, scan] = runNode('Loop', [m, null, acc0], [i64([], [4]), i64([], [0])],
      [val('fin', 'int64', undefined), val('scan', 'int64', undefined)], { body: g(body()) }, main) as Tensor[];
    // acc: 0+0, 0+1, 1+2, 3+3
    expect(vals(fin)).toEqual([6]);
    expect(scan.shape).toEqual([4]);
    expect(vals(scan)).toEqual([0, 1, 3, 6]);
  });
  it('ignores the body condition without a cond input, honours it with one', () => {
    const main = new Graph('main');
    const m = val('M', 'int64', []), f = val('f', 'bool', []), acc0 = val('acc0', 'int64', []);
    main.inputs = [m, f, acc0];
    const feeds = [i64([], [3]), t('bool', [], [0]), i64([], [10])];
    const [a] = runNode('Loop', [m, null, acc0], feeds, [val('fin', 'int64', undefined)], { body: g(body(f)) }, main) as Tensor[];
    expect(vals(a)).toEqual([13]); // 10 + 0 + 1 + 2
    const main2 = new Graph('main');
    const c = val('c', 'bool', []);
    main2.inputs = [m, f, acc0, c];
    const [b] = runNode('Loop', [m, c, acc0], [...feeds, t('bool', [], [1])], [val('fin', 'int64', undefined)], { body: g(body(f)) }, main2) as Tensor[];
    expect(vals(b)).toEqual([10]); // one iteration (i = 0), then the body says stop
  });
});

describe('Scan', () => {
  /** body(sum, x) = (sum + x, sum + x) */
  function body(): Graph {
    const b = new Graph('body');
    const s = val('s', 'float32', [2]), x = val('x', 'float32', [2]), o = val('o', 'float32', [2]);
    b.inputs = [s, x];
    b.nodes.push(new Node({ op: 'Add', inputs: [s, x], outputs: [o] }));
    b.outputs = [o, o];
    return b;
  }
  it('running sum, reverse input direction', () => {
    const main = new Graph('main');
    const s0 = val('s0', 'float32', [2]), xs = val('xs', 'float32', [3, 2]);
    main.inputs = [s0, xs];
    const [fin, scan] = runNode('Scan', [s0, xs], [f32([2], [0, 0]), f32([3, 2], [1, 2, 3, 4, 5, 6])],
      [val('fin', 'float32', undefined), val('scan', 'float32', undefined)],
      { body: g(body()), num_scan_inputs: A.int(1), scan_input_directions: A.ints([1]) }, main) as Tensor[];
    expect(vals(fin)).toEqual([9, 12]);
    expect(scan.shape).toEqual([3, 2]);
    expect(vals(scan)).toEqual([5, 6, 8, 10, 9, 12]);
  });
  it('scan axis 1 and output axis 1, output reversed', () => {
    const main = new Graph('main');
    const s0 = val('s0', 'float32', [2]), xs = val('xs', 'float32', [2, 3]);
    main.inputs = [s0, xs];
    // columns of [[1,2,3],[4,5,6]] are [1,4], [2,5], [3,6]; sums [1,4], [3,9], [6,15]
    const [fin, scan] = runNode('Scan', [s0, xs], [f32([2], [0, 0]), f32([2, 3], [1, 2, 3, 4, 5, 6])],
      [val('fin', 'float32', undefined), val('scan', 'float32', undefined)],
      { body: g(body()), num_scan_inputs: A.int(1), scan_input_axes: A.ints([1]), scan_output_axes: A.ints([-1]), scan_output_directions: A.ints([1]) },
      main) as Tensor[];
    expect(vals(fin)).toEqual([6, 15]);
    expect(scan.shape).toEqual([2, 3]);
    expect(vals(scan)).toEqual([6, 3, 1, 15, 9, 4]);
  });
  it('opset-8 batched form', () => {
    const main = new Graph('main');
    const s0 = val('s0', 'float32', [2, 2]), xs = val('xs', 'float32', [2, 2, 2]);
    main.inputs = [s0, xs];
    const [fin, scan] = runNode('Scan8', [null, s0, xs], [f32([2, 2], [0, 0, 10, 10]), f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])],
      [val('fin', 'float32', undefined), val('scan', 'float32', undefined)], { body: g(body()), num_scan_inputs: A.int(1) }, main) as Tensor[];
    expect(vals(fin)).toEqual([4, 6, 22, 24]);
    expect(scan.shape).toEqual([2, 2, 2]);
    expect(vals(scan)).toEqual([1, 2, 4, 6, 15, 16, 22, 24]);
  });
});

describe('sequences', () => {
  const a = f32([2], [1, 2]), b = f32([2], [3, 4]), c = f32([1], [5]);
  it('SequenceConstruct / SequenceAt / SequenceLength', () => {
    const [s] = evalOp('SequenceConstruct', [a, b, c]) as unknown as Tensor[][];
    expect(s.length).toBe(3);
    expect(vals(evalOp('SequenceAt', [[a, b, c], i64([], [-1])])[0])).toEqual([5]);
    expect(vals(evalOp('SequenceLength', [[a, b, c]])[0])).toEqual([3]);
  });
  it('SequenceInsert / SequenceErase positions', () => {
    const [ins] = evalOp('SequenceInsert', [[a, b], c, i64([], [0])]) as unknown as Tensor[][];
    expect(ins.map((x) => vals(x))).toEqual([[5], [1, 2], [3, 4]]);
    const [app] = evalOp('SequenceInsert', [[a], b]) as unknown as Tensor[][];
    expect(app.map((x) => vals(x))).toEqual([[1, 2], [3, 4]]);
    const [er] = evalOp('SequenceErase', [[a, b, c], i64([], [-3])]) as unknown as Tensor[][];
    expect(er.map((x) => vals(x))).toEqual([[3, 4], [5]]);
    expect(() => evalOp('SequenceAt', [[a], i64([], [1])])).toThrow(/out of range/);
  });
  it('SplitToSequence and ConcatFromSequence', () => {
    const x = f32([5, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [chunks] = evalOp('SplitToSequence', [x, i64([], [2])]) as unknown as Tensor[][];
    expect(chunks.map((p) => p.shape)).toEqual([[2, 2], [2, 2], [1, 2]]);
    const [parts] = evalOp('SplitToSequence', [x, i64([2], [1, 4])]) as unknown as Tensor[][];
    expect(vals(parts[1])).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const [cols] = evalOp('SplitToSequence', [x], { axis: A.int(1), keepdims: A.int(0) }) as unknown as Tensor[][];
    expect(cols.map((p) => vals(p))).toEqual([[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]);
    const [cat] = evalOp('ConcatFromSequence', [[a, b]], { axis: A.int(0) });
    expect(vals(cat)).toEqual([1, 2, 3, 4]);
    const [stk] = evalOp('ConcatFromSequence', [[a, b]], { axis: A.int(-1), new_axis: A.int(1) });
    expect(stk.shape).toEqual([2, 2]);
    expect(vals(stk)).toEqual([1, 3, 2, 4]);
  });
  it('optionals', () => {
    expect(vals(evalOp('OptionalHasElement', [a])[0])).toEqual([1]);
    expect(vals(evalOp('OptionalHasElement', [undefined])[0])).toEqual([0]);
    expect(vals(evalOp('OptionalGetElement', [a])[0])).toEqual([1, 2]);
  });
});
