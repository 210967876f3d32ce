/**
 * Classes of defects the fuzzer (scripts/fuzz.ts) found, each fixed where the bad input first arrives: a catalog
 * diagnostic naming the place, never an internal error, and no allocation sized by an unchecked header.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, DEFAULT_MAX_TENSOR_BYTES, Tensor, parseNpy, serializeNpy, setMaxTensorBytes } from '@aic/core';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, runC } from '@aic/codegen';
import { loadOnnx, onnx } from '@aic/onnx';
import { loadDslFile, parseGraph } from '@aic/dsl';
import { main } from '../packages/cli/src/main.ts';

function model(graph: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph })).finish();
}
const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const constant = (t: Record<string, unknown>) => model({
  name: 'g', node: [{ opType: 'Constant', output: ['y'], name: 'c0', attribute: [{ name: 'value', type: 4, t }] }], output: [vi('y', [3])],
});

function npy(header: string, data: number[]): Uint8Array {
  const h = header + ' '.repeat((64 - ((11 + header.length) % 64)) % 64) + '\n';
  return new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8, ...new TextEncoder().encode(h), ...data]);
}

function error(f: () => unknown): AicError {
  try { f(); } catch (e) { if (e instanceof AicError) return e; throw e; }
  throw new Error('expected an AicError');
}

describe('ONNX tensors and attributes (fuzz class: loader trusted dims and attribute payloads)', () => {
  it('an attribute declared GRAPH or TENSOR without its payload is a bad model, naming node and attribute', () => {
    const bytes = model({
      name: 'g', input: [vi('x', [3])], output: [vi('y', [3])],
      node: [{ opType: 'Relu', input: ['x'], output: ['y'], name: 'r', attribute: [{ name: 'body', type: 5 }] }],
    });
    const e = error(() => loadOnnx(bytes, { file: 'm.onnx' }));
    expect([e.code, e.exitCode]).toEqual(['AIC0003', 1]);
    expect(e.message).toContain("node 'r' (#0) attribute 'body': declared GRAPH but holds no graph");
    expect(error(() => loadOnnx(constant(undefined as never), { file: 'm.onnx' })).message).toContain('declared TENSOR but holds no tensor');
  });

  it('a tensor attribute whose data disagrees with its dims is a bad model', () => {
    const e = error(() => loadOnnx(constant({ dataType: 1, dims: [3], floatData: [] }), { file: 'm.onnx' }));
    expect(e.code).toBe('AIC0003');
    expect(e.message).toContain("attribute 'value' of node 'c0': has 0 values for shape [3] (3 elements)");
  });

  it('huge or negative dims are refused before anything is allocated', () => {
    const huge = error(() => loadOnnx(constant({ dataType: 1, dims: [1, 1e15], rawData: new Uint8Array(4) }), { file: 'm.onnx' }));
    expect([huge.code, huge.message]).toEqual(['AIC0045', "attribute 'value' of node 'c0' (f32[1, 1000000000000000]) needs 3637.98 TiB, more than the limit of 4 GiB per tensor (--max-tensor-bytes)"]);
    const init = (dims: number[]) => model({ name: 'g', initializer: [{ name: 'w', dataType: 1, dims, floatData: [1] }], output: [vi('w', [1])] });
    const neg = error(() => loadOnnx(init([-1]), { file: 'm.onnx' }));
    expect([neg.code, neg.message]).toEqual(['AIC0047', "initializer 'w': invalid shape [-1] (dims must be non-negative integers)"]);
    expect(error(() => loadOnnx(init([2 ** 40, 2 ** 40]), { file: 'm.onnx' })).code).toBe('AIC0045');
  });
});

describe('declared dims (fuzz class: a negative dim_value reached the allocator)', () => {
  it('a negative dim_value in value_info is an unknown dim, as exporters mean it', () => {
    const bytes = model({ name: 'g', input: [vi('x', [-1, 3])], output: [vi('y', [-1, 3])], node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] });
    const g = loadOnnx(bytes, { file: 'm.onnx' });
    expect(g.inputs[0]!.shape).toEqual(['x_dim0', 3]);
    expect(g.outputs[0]!.shape).toEqual(['y_dim0', 3]);
  });
});

describe('node arity (fuzz class: passes indexed outputs the op does not have)', () => {
  it('a node with more outputs than its op defines is refused at import, naming the node', () => {
    const bytes = model({
      name: 'g', input: [vi('x', [3])], output: [vi('y', [3])],
      node: [{ opType: 'Relu', input: ['x'], output: ['y', 'extra'], name: 'r' }],
    });
    const e = error(() => loadOnnx(bytes, { file: 'm.onnx' }));
    expect(e.format()).toBe("m.onnx, node 'r' (#0): error AIC0020: Relu: has at most 1 output(s), got 2");
  });
  it('a node without its required outputs is refused at import (lowering read the missing output)', () => {
    const bytes = model({ name: 'g', input: [vi('x', [3])], output: [], node: [{ opType: 'Shape', input: ['x'], output: [], name: 's' }] });
    expect(error(() => loadOnnx(bytes, { file: 'm.onnx' })).format()).toBe("m.onnx, node 's' (#0): error AIC0020: Shape: has 1 output(s), got 0");
  });
});

describe('subgraph outputs and run outputs (fuzz class: missing outputs reached the .npy writer, after others were written)', () => {
  const seqModel = () => model({
    name: 'g', input: [vi('x', [3])], output: [vi('y', [3]), { name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }],
    node: [{ opType: 'Relu', input: ['x'], output: ['y'] }, { opType: 'SequenceConstruct', input: ['x'], output: ['s'] }],
  });
  it('a Scan node with more outputs than its body yields is refused at import', () => {
    const body = { name: 'b', input: [vi('s_in', [1]), vi('e', [1])], output: [vi('s_out', [1])], node: [{ opType: 'Add', input: ['s_in', 'e'], output: ['s_out'] }] };
    const bytes = model({
      name: 'g', input: [vi('s0', [1]), vi('xs', [4, 1])], output: [vi('s', [1]), vi('ys', [4, 1])],
      node: [{ opType: 'Scan', input: ['s0', 'xs'], output: ['s', 'ys'], name: 'scan', attribute: [{ name: 'body', type: 5, g: body }, { name: 'num_scan_inputs', type: 2, i: 1 }] }],
    });
    expect(error(() => loadOnnx(bytes, { file: 'm.onnx' })).format()).toBe("m.onnx, node 'scan' (#0): error AIC0020: Scan: node has 2 outputs but the body yields 1");
  });
  it('aic run writes every output, a sequence output as NAME_i.npy (it used to stop at the writer)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-fuzz-run-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), seqModel());
    fs.writeFileSync(path.join(dir, 'x.npy'), serializeNpy(new Tensor('float32', [3], Float32Array.from([1, -2, 3]))));
    const code = await main(['node', 'aic', 'run', path.join(dir, 'm.onnx'), '--input', `x=${path.join(dir, 'x.npy')}`, '--output-dir', path.join(dir, 'out')]);
    expect(code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['s_0.npy', 'y.npy']);
    expect([...parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'out', 'y.npy')))).num]).toEqual([1, 0, 3]);
    expect([...parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'out', 's_0.npy')))).num]).toEqual([1, -2, 3]);
  });
});

describe('.npy headers (fuzz class: allocation sized by the header)', () => {
  it('a shape larger than the data is reported as truncated, not allocated', () => {
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4), }", [0, 0, 0, 0])))
      .toThrow("data truncated: shape [4294967296, 4] of '<f4' needs 68719476736 bytes after the header, the file has 4");
  });
  it('negative or fractional dims are a malformed shape', () => {
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", []))).toThrow('malformed shape (-1,)');
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", []))).toThrow('malformed shape (1.5,)');
  });
});

describe('DSL text (fuzz classes: negative dims reached the allocator, string literals reached JSON.parse)', () => {
  it('a string literal JSON cannot read is a syntax error, not an internal one', () => {
    const e = error(() => parseGraph('graph g(x: f32[2]) -> (y: f32[2]) {\n  y = Cast(x, to = "a\u0001b")\n}\n', { file: 'm.aic' }));
    expect([e.code, e.loc]).toEqual(['AIC0010', { file: 'm.aic', line: 2, col: 20 }]);
  });
  it('a negative dim is an error at its line and column', () => {
    const e = error(() => parseGraph('graph g(x: f32[2]) -> (y: f32[2]) {\n  w: f32[-1] = [1.0]\n  y = Add(x, w)\n}\n', { file: 'm.aic' }));
    expect([e.code, e.exitCode, e.format()]).toEqual(['AIC0020', 1, 'm.aic:2:10: error AIC0020: type: dim -1 is not a non-negative integer']);
  });
});

describe('fusion (fuse class: a rule assumed one dtype for BatchNormalization parameters)', () => {
  it('BatchNormalization with float64 parameters after a float32 Conv is left unfused and runs as at -O0', () => {
    const g = parseGraph(`opset ai.onnx 15
graph g(x: f32[1, 1, 2, 2]) -> (y: f32[1, 1, 2, 2]) {
  w: f32[1, 1, 1, 1] = [2.0]
  s: f64[1] = [3.0]
  b: f64[1] = [0.5]
  m: f64[1] = [1.0]
  v: f64[1] = [4.0]
  c = Conv(x, w)
  y = BatchNormalization(c, s, b, m, v, epsilon = 0.0)
}
`);
    const x = Tensor.fromNumbers('float32', [1, 1, 2, 2], [1, 2, 3, 4]);
    const opt = runPipeline(g, pipelineFor(2)).graph;
    // (2x - 1) / sqrt(4) * 3 + 0.5
    expect((run(opt, new Map([['x', x]])).get('y') as Tensor).toNumbers()).toEqual([2, 5, 8, 11]);
  });
});

describe('compiled targets (fuzz classes: feeds trusted by compiled kernels, C that did not build)', () => {
  const relu = (outputs: unknown[]) => loadOnnx(model({ name: 'g', input: [vi('x', [3])], output: outputs, node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] }), { file: 'm.onnx' });
  it('aic run --target c refuses a feed of another shape, as the interpreter does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-fuzz-feed-'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), model({ name: 'g', input: [vi('x', [3])], output: [vi('y', [3])], node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] }));
    fs.writeFileSync(path.join(dir, 'x.npy'), npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [...new Uint8Array(new Float32Array([1, -2, 3, 4]).buffer)]));
    const err: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => { err.push(s); return true; }) as typeof process.stderr.write;
    try {
      for (const target of ['interp', 'c']) {
        const code = await main(['node', 'aic', 'run', path.join(dir, 'm.onnx'), '--target', target, '--input', `x=${path.join(dir, 'x.npy')}`, '--output-dir', path.join(dir, 'out')]);
        expect(code).toBe(1);
      }
    } finally { process.stderr.write = write; }
    // one line per run, the same on both targets
    const lines = err.join('').split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
    expect(lines[0]).toContain("input 'x': expected shape [3], got [4]");
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
  it('a graph without outputs builds as C', () => {
    const c = compileC(relu([]), { version: 'test', source: 'm.onnx', sourceHash: '-' });
    expect(c.art.c).toContain('(void)outputs;');
    expect(buildC(c.art, c.prog).exe).toBeTruthy();
  });
  it('names holding NUL, quotes, newlines and non-ASCII become valid C string literals and comments', () => {
    const name = 'a\u0000b"\\c\n*/d??=é';
    const g = loadOnnx(model({ name: 'g', input: [vi('x', [3])], output: [vi('y', [3])], node: [{ opType: 'Relu', input: ['x'], output: ['y'], name }] }), { file: 'm.onnx' });
    const c = compileC(g, { version: 'test', source: 'm.onnx', sourceHash: '-' });
    expect(c.art.c).toContain('"a\\000b\\"\\\\c\\012*/d\\077\\077=\\303\\251"');
    const { outputs } = runC(buildC(c.art, c.prog), c.art, c.prog, new Map([['x', new Tensor('float32', [3], Float32Array.from([-1, 0, 2]))]]));
    expect(Array.from(outputs.get('y')!.num)).toEqual([0, 0, 2]);
  });
});

describe('ranks read from data (fuzz class: a shape input of 2^31 values made a 2^31-dim result in inference)', () => {
  it('ConstantOfShape whose shape input declares 2^31 values is refused naming the node, before anything is allocated', () => {
    const bytes = model({
      name: 'g', input: [{ name: 'x', type: { tensorType: { elemType: 7, shape: { dim: [{ dimValue: 2 ** 31 }] } } } }], output: [vi('y', [1])],
      node: [{ opType: 'ConstantOfShape', input: ['x'], output: ['y'], name: 'cos' }],
    });
    const e = error(() => loadOnnx(bytes, { file: 'm.onnx' }));
    expect([e.code, e.exitCode]).toEqual(['AIC0042', 1]);
    expect(e.format()).toContain("node 'cos'");
    expect(e.message).toContain('rank 2147483648 is more than the 64 dims a tensor may have');
  });
});

describe('op loops bounded by attributes (fuzz class: TfIdfVectorizer looped max_skip_count times)', () => {
  const tfidf = (skip: number) => loadOnnx(model({
    name: 'g', input: [{ name: 'x', type: { tensorType: { elemType: 6, shape: { dim: [{ dimValue: 12 }] } } } }], output: [vi('y', [3])],
    node: [{ opType: 'TfIdfVectorizer', input: ['x'], output: ['y'], attribute: [
      { name: 'min_gram_length', type: 2, i: 2 }, { name: 'max_gram_length', type: 2, i: 2 }, { name: 'max_skip_count', type: 2, i: skip },
      { name: 'mode', type: 3, s: new TextEncoder().encode('TF') }, { name: 'ngram_counts', type: 7, ints: [0, 0] },
      { name: 'ngram_indexes', type: 7, ints: [0, 1, 2] }, { name: 'pool_int64s', type: 7, ints: [5, 6, 7, 8, 6, 7] }] }],
  }), { file: 'm.onnx' });
  it('a max_skip_count far beyond the row length counts as the row length does, at once', () => {
    const x = Tensor.fromNumbers('int32', [12], [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]);
    const counts = (skip: number) => (run(tfidf(skip), new Map([['x', x]])).get('y') as Tensor).toNumbers();
    expect(counts(0)).toEqual([1, 1, 1]);
    const t0 = performance.now();
    expect(counts(2 ** 53 - 1)).toEqual(counts(11));
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('aic convert to DSL (class found while fuzzing DSL seeds: subgraph values printed as f32[*])', () => {
  it('a model whose subgraph values have no value_info converts to DSL that reads back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-fuzz-convert-'));
    const branch = (v: number) => ({
      name: `b${v}`, input: [], output: [{ name: `o${v}`, type: { tensorType: { elemType: 7, shape: { dim: [] } } } }],
      node: [
        { opType: 'Constant', output: [`c${v}`], attribute: [{ name: 'value', type: 4, t: { dataType: 7, dims: [], int64Data: [v] } }] },
        { opType: 'Add', input: [`c${v}`, `c${v}`], output: [`o${v}`] },
      ],
    });
    fs.writeFileSync(path.join(dir, 'm.onnx'), model({
      name: 'g', input: [{ name: 'cond', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 7, shape: { dim: [] } } } }],
      node: [{ opType: 'If', input: ['cond'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: branch(1) }, { name: 'else_branch', type: 5, g: branch(2) }] }],
    }));
    const out = path.join(dir, 'm.aic');
    expect(await main(['node', 'aic', 'convert', path.join(dir, 'm.onnx'), '-o', out])).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('c1: i64[] = Constant(');
    const g = loadDslFile(out);
    expect((run(g, new Map([['cond', Tensor.fromNumbers('bool', [], [0])]])).get('y') as Tensor).toNumbers()).toEqual([4]);
  });
});

describe('declared output shapes (fuzz class: a static declared shape skipped the run-time size check)', () => {
  it('Resize declared [1, 1, 1, 3] whose run-time sizes ask for 10^9 rows is refused before anything is computed', () => {
    const g = loadOnnx(onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g', input: [vi('X', [1, 1, 2, 4]), { name: 'sizes', type: { tensorType: { elemType: 7, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [vi('Y', [1, 1, 1, 3])],
        node: [{ opType: 'Resize', input: ['X', '', '', 'sizes'], output: ['Y'], name: 'rs' }],
      },
    })).finish(), { file: 'm.onnx' });
    const x = new Tensor('float32', [1, 1, 2, 4], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    const ok = run(g, new Map([['X', x], ['sizes', new Tensor('int64', [4], Float64Array.from([1, 1, 1, 3]))]]));
    expect((ok.get('Y') as Tensor).shape).toEqual([1, 1, 1, 3]);
    const e = error(() => run(g, new Map([['X', x], ['sizes', new Tensor('int64', [4], Float64Array.from([1, 1, 1e9, 3]))]])));
    expect(e.code).toBe('AIC0045');
    expect(e.message).toContain("value 'Y' of Resize (f32[1, 1, 1000000000, 3]) needs 11.18 GiB");
  });
});

describe('loops (fuzz class: a Loop of 2^31 - 1 iterations grew its scan output until the heap ran out)', () => {
  it('a scan output past --max-tensor-bytes stops the loop with a named error', () => {
    const g = loadOnnx(model({
      name: 'g', input: [{ name: 'M', type: { tensorType: { elemType: 7, shape: { dim: [] } } } }], output: [vi('ys', [-1, 1])],
      node: [{ opType: 'Loop', input: ['M', ''], output: ['ys'], name: 'loop', attribute: [{ name: 'body', type: 5, g: {
        name: 'b', input: [{ name: 'i', type: { tensorType: { elemType: 7, shape: { dim: [] } } } }, { name: 'c', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }],
        output: [{ name: 'c_out', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }, vi('y', [1])],
        node: [{ opType: 'Identity', input: ['c'], output: ['c_out'] },
          { opType: 'Constant', output: ['y'], attribute: [{ name: 'value', type: 4, t: { dataType: 1, dims: [1], floatData: [7] } }] }],
      } }] }],
    }), { file: 'm.onnx' });
    const trips = (m: number) => new Map([['M', new Tensor('int64', [], Float64Array.from([m]))]]);
    expect(Array.from((run(g, trips(3)).get('ys') as Tensor).num)).toEqual([7, 7, 7]);
    setMaxTensorBytes(64 * 1024);
    try {
      const e = error(() => run(g, trips(2 ** 31 - 1)));
      expect(e.code).toBe('AIC0045');
      expect(e.message).toMatch(/^scan output 0 of Loop after \d+ iterations \(f32\[\d+, 1\]\)/);
    } finally { setMaxTensorBytes(DEFAULT_MAX_TENSOR_BYTES); }
  });
});
