import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Graph, Node, Tensor, Value } from '@aic/core';
import { loadDslFile, parseGraph, printGraph, saveDsl } from '@aic/dsl';
import { exportOnnx, loadOnnx, loadOnnxFile } from '@aic/onnx';

const GOLDEN = path.join(import.meta.dirname, 'golden');
const MODELS = '/work/shared/models';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-dsl-'));

/** the AicError thrown by f */
function err(f: () => unknown): AicError {
  try { f(); } catch (e) { if (e instanceof AicError) return e; throw e; }
  throw new Error('expected an error');
}

describe('canonical round trip', () => {
  for (const f of fs.readdirSync(GOLDEN).filter((x) => x.endsWith('.aic'))) {
    it(`print(parse(${f})) is the text`, () => {
      const text = fs.readFileSync(path.join(GOLDEN, f), 'utf8');
      const g = parseGraph(text, { file: f, allowUnknownOps: f === 'custom.aic' });
      expect(printGraph(g)).toBe(text);
    });
  }

  it('keeps locations of parsed nodes', () => {
    const g = parseGraph(fs.readFileSync(path.join(GOLDEN, 'basic.aic'), 'utf8'), { file: 'basic.aic' });
    const mm = g.nodes.find((n) => n.name === '/fc/MatMul')!;
    expect(mm.loc).toEqual({ file: 'basic.aic', line: 9, col: 19 });
  });

  it('floats round-trip bit-exactly', () => {
    const n = 257;
    const f32 = new Float32Array(n), f64 = new Float64Array(n);
    const u32 = new Uint32Array(f32.buffer);
    let s = 12345;
    const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s; };
    for (let i = 0; i < n; i++) {
      do u32[i] = rnd(); while (!Number.isFinite(f32[i]!));
      f64[i] = (rnd() / 2 ** 32 - 0.5) * 10 ** ((rnd() % 40) - 20);
    }
    f32[0] = 1.401298464324817e-45; f32[1] = -3.4028234663852886e38; f64[0] = 5e-324; f64[1] = Number.MAX_VALUE;
    const g = new Graph('floats');
    const a = new Value('a', { dtype: 'float32', shape: [n] }); a.const = new Tensor('float32', [n], f32);
    const b = new Value('b', { dtype: 'float64', shape: [n] }); b.const = new Tensor('float64', [n], f64);
    g.constants.push(a, b);
    const o = new Value('o', { dtype: 'float32', shape: [n] });
    g.nodes.push(new Node({ op: 'LeakyRelu', inputs: [a], outputs: [o], attrs: { alpha: { type: 'float', value: f32[7]! } } }));
    g.outputs.push(o, b);
    const text = printGraph(g);
    const g2 = parseGraph(text);
    expect(Array.from(g2.constants[0]!.const!.num)).toEqual(Array.from(f32));
    expect(Array.from(g2.constants[1]!.const!.num)).toEqual(Array.from(f64));
    expect(g2.nodes[0]!.attrs['alpha']).toEqual({ type: 'float', value: f32[7] });
    expect(printGraph(g2)).toBe(text);
  });
});

describe('writing models', () => {
  it('desugars nested expressions into nodes with generated names', () => {
    const g = parseGraph([
      'graph g(x: f32[2, 3], w: f32[3, 4], b: f32[4]) -> (y) {',
      '  _t0: f32[2, 4] = Neg(MatMul(x, w))  # a user name that a generated one must avoid',
      '  y = Relu(Add(MatMul(x, w), b))',
      '}',
    ].join('\n'), { file: 'n.aic' });
    expect(g.nodes.map((n) => n.op)).toEqual(['MatMul', 'Neg', 'MatMul', 'Add', 'Relu']);
    expect(g.nodes[2]!.loc).toEqual({ file: 'n.aic', line: 3, col: 16 });
    expect(printGraph(g)).toBe([
      'opset ai.onnx 17',
      'graph g(x: f32[2, 3], w: f32[3, 4], b: f32[4]) -> (y: f32[2, 4]) {',
      '  _t1: f32[2, 4] = MatMul(x, w)',
      '  _t0: f32[2, 4] = Neg(_t1)',
      '  _t2: f32[2, 4] = MatMul(x, w)',
      '  _t3: f32[2, 4] = Add(_t2, b)',
      '  y: f32[2, 4] = Relu(_t3)',
      '}',
      '',
    ].join('\n'));
  });

  it('the mlp example with a weights sidecar', () => {
    const dir = tmp();
    const w1 = Tensor.fromNumbers('float32', [784, 128], Array.from({ length: 784 * 128 }, (_, i) => Math.sin(i) / 10));
    const b1 = Tensor.fromNumbers('float32', [128], Array.from({ length: 128 }, (_, i) => i / 128));
    const w2 = Tensor.fromNumbers('float32', [128, 10], Array.from({ length: 1280 }, (_, i) => Math.cos(i) / 10));
    const bin = new Uint8Array(407040);
    bin.set(new Uint8Array(w1.num.buffer), 0);
    bin.set(new Uint8Array(b1.num.buffer), 401408);
    bin.set(new Uint8Array(w2.num.buffer), 401920);
    fs.writeFileSync(path.join(dir, 'mlp.bin'), bin);
    const src = `graph mlp(x: f32[1, 784]) -> (probs: f32[1, 10]) {
  w1: f32[784, 128] = weights("mlp.bin", offset = 0)
  b1: f32[128] = weights("mlp.bin", offset = 401408)
  w2: f32[128, 10] = weights("mlp.bin", offset = 401920)
  h = Relu(Add(MatMul(x, w1), b1))
  probs = Softmax(MatMul(h, w2), axis = -1)
}
`;
    fs.writeFileSync(path.join(dir, 'mlp.aic'), src);
    const g = loadDslFile(path.join(dir, 'mlp.aic'));
    expect(g.nodes.map((n) => n.op)).toEqual(['MatMul', 'Add', 'Relu', 'MatMul', 'Softmax']);
    expect(Array.from(g.constants[0]!.const!.num)).toEqual(Array.from(w1.num));
    expect(Array.from(g.constants[2]!.const!.num)).toEqual(Array.from(w2.num));
    const printed = printGraph(g);
    expect(printed).toBe(`opset ai.onnx 17
graph mlp(x: f32[1, 784]) -> (probs: f32[1, 10]) {
  w1: f32[784, 128] = weights("mlp.bin", offset = 0)
  b1: f32[128] = weights("mlp.bin", offset = 401408)
  w2: f32[128, 10] = weights("mlp.bin", offset = 401920)
  _t0: f32[1, 128] = MatMul(x, w1)
  _t1: f32[1, 128] = Add(_t0, b1)
  h: f32[1, 128] = Relu(_t1)
  _t2: f32[1, 10] = MatMul(h, w2)
  probs: f32[1, 10] = Softmax(_t2, axis = -1)
}
`);
    expect(printGraph(parseGraph(printed, { file: path.join(dir, 'x.aic') }))).toBe(printed);

    // save with a fresh sidecar elsewhere and read it back
    const out = path.join(dir, 'sub', 'model.aic');
    const res = saveDsl(g, out);
    expect(res.weights).toBe(path.join(dir, 'sub', 'model.bin'));
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('w1: f32[784, 128] = weights("model.bin", offset = 0)');
    expect(text).toContain('b1: f32[128] = weights("model.bin", offset = 401408)');
    const g2 = loadDslFile(out);
    expect(Array.from(g2.constants[1]!.const!.num)).toEqual(Array.from(b1.num));
    expect(Array.from(g2.constants[2]!.const!.num)).toEqual(Array.from(w2.num));
    expect(printGraph(g2).replaceAll('model.bin', 'mlp.bin')).toBe(printed);
  });

  it('small constants stay inline when saving', () => {
    const dir = tmp();
    const g = parseGraph(fs.readFileSync(path.join(GOLDEN, 'basic.aic'), 'utf8'));
    const res = saveDsl(g, path.join(dir, 'basic.aic'));
    expect(res.weights).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'basic.bin'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'basic.aic'), 'utf8')).toBe(printGraph(g));
  });
});

describe('diagnostics', () => {
  it('syntax error: file:line:col, the line and a caret', () => {
    const e = err(() => parseGraph('graph g(x: f32[2]) -> (y: f32[2]) {\n  y = Relu(x,, )\n}\n', { file: 'bad.aic' }));
    expect(e.code).toBe('AIC0010');
    expect(`${e.format()}\n${e.detail}`).toBe([
      'bad.aic:2:14: error AIC0010: syntax error: expected a name or an op name',
      '   2 |   y = Relu(x,, )',
      '     |              ^',
    ].join('\n'));
    const e2 = err(() => parseGraph('graph g(x: f33[2]) -> (y) {\n}\n', { file: 'bad.aic' }));
    expect(e2.format()).toBe('bad.aic:1:12: error AIC0010: syntax error: expected a type');
  });

  it('line numbers stay right after long multi-line literals', () => {
    const nums = Array.from({ length: 40 }, (_, i) => `${i}.5`);
    const src = `graph g(x: f32[40]) -> (y) {\n  c: f32[40] = [${nums.slice(0, 20).join(', ')},\n    ${nums.slice(20).join(', ')}]\n  y = Add(x, c\n}\n`;
    const e = err(() => parseGraph(src, { file: 'l.aic' }));
    expect(e.loc).toMatchObject({ line: 5, col: 1 });
    expect(e.detail).toBe('   5 | }\n     | ^');
    const ok = parseGraph(src.replace('Add(x, c\n', 'Add(x, c)\n'));
    expect(Array.from(ok.constants[0]!.const!.num)).toEqual(nums.map(Number));
  });

  it('unknown op with a hint', () => {
    const e = err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = Relu(Sofmax(x))\n}\n', { file: 'u.aic' }));
    expect(e.code).toBe('AIC0013');
    expect(e.format()).toBe("u.aic:2:12: error AIC0013: unknown op 'Sofmax' (did you mean 'Softmax'?)");
    expect(err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = aic.FusedConf(x)\n}\n')).message)
      .toBe("unknown op 'aic.FusedConf' (did you mean 'aic.FusedConv'?)");
  });

  it('wrong argument counts and unknown attributes', () => {
    const e = err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = Add(x)\n}\n', { file: 'a.aic' }));
    expect(e.code).toBe('AIC0020');
    expect(e.format()).toMatch(/^a\.aic:2:7: error AIC0020: Add: expects at least 2 input\(s\), got 1$/);
    const e2 = err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = Softmax(x, axes = 1)\n}\n', { file: 'a.aic' }));
    expect(e2.format()).toBe("a.aic:2:18: error AIC0020: Softmax: unknown attribute 'axes' (did you mean 'axis'?)");
    const e3 = err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = Relu(x, x)\n}\n', { file: 'a.aic' }));
    expect(e3.code).toBe('AIC0020');
  });

  it('undefined and redefined values', () => {
    expect(err(() => parseGraph('graph g(x: f32[2]) -> (y) {\n  y = Relu(z)\n}\n', { file: 'a.aic' })).format())
      .toBe("a.aic:2:12: error AIC0011: 'z' is not defined");
    expect(err(() => parseGraph('graph g(x: f32[2]) -> (x) {\n  x = Relu(x)\n}\n', { file: 'a.aic' })).format())
      .toBe("a.aic:2:3: error AIC0012: 'x' is defined twice");
  });

  it('annotations that contradict inference', () => {
    const e = err(() => parseGraph('graph g(x: f32[2, 3], w: f32[3, 4]) -> (y) {\n  y: f32[2, 5] = MatMul(x, w)\n}\n', { file: 't.aic' }));
    expect(e.code).toBe('AIC0022');
    expect(e.format()).toBe("t.aic:2:3: error AIC0022: type of 'y': expected f32[2, 4], got the declared f32[2, 5]");
    const e2 = err(() => parseGraph('graph g(x: f32[2]) -> (y: i64[2]) {\n  y = Relu(x)\n}\n', { file: 't.aic' }));
    expect(e2.code).toBe('AIC0022');
    expect(e2.loc).toMatchObject({ file: 't.aic', line: 1 });
  });

  it('missing or too short weights files', () => {
    const dir = tmp();
    const src = 'graph g(x: f32[4]) -> (y) {\n  w: f32[4] = weights("w.bin", offset = 4)\n  y = Add(x, w)\n}\n';
    fs.writeFileSync(path.join(dir, 'g.aic'), src);
    const e = err(() => loadDslFile(path.join(dir, 'g.aic')));
    expect(e.code).toBe('AIC0005');
    expect(e.format()).toBe(`${path.join(dir, 'g.aic')}:2:15: error AIC0005: constant 'w': weights file '${path.join(dir, 'w.bin')}' not found`);
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(16));
    const e2 = err(() => loadDslFile(path.join(dir, 'g.aic')));
    expect(e2.code).toBe('AIC0006');
    expect(e2.loc).toMatchObject({ line: 2, col: 15 });
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(20));
    expect(loadDslFile(path.join(dir, 'g.aic')).constants[0]!.const!.size).toBe(4);
  });

  it('inline constants must match their type', () => {
    expect(err(() => parseGraph('graph g() -> (c) {\n  c: i64[3] = [1, 2]\n}\n')).code).toBe('AIC0020');
  });
});

describe('ONNX', () => {
  const roundTrip = (model: string) => {
    const dir = tmp();
    const g = loadOnnxFile(path.join(MODELS, `${model}.onnx`));
    saveDsl(g, path.join(dir, 'a.aic'));
    const text1 = fs.readFileSync(path.join(dir, 'a.aic'), 'utf8');
    const g2 = loadDslFile(path.join(dir, 'a.aic'));
    saveDsl(g2, path.join(dir, 'b.aic'));
    const text2 = fs.readFileSync(path.join(dir, 'b.aic'), 'utf8').replaceAll('"b.bin"', '"a.bin"');
    expect(text2).toBe(text1);
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'b.bin')), fs.readFileSync(path.join(dir, 'a.bin')))).toBe(0);
    return { g, g2, text1 };
  };

  it('small_cnn: ONNX -> text -> graph -> text is stable', () => {
    const { g } = roundTrip('small_cnn');
    const inline = printGraph(g);
    expect(printGraph(parseGraph(inline))).toBe(inline);
  });

  it('tiny_bert: ONNX -> text -> graph -> text is stable', () => {
    roundTrip('tiny_bert');
  });

  for (const model of ['small_cnn', 'tiny_bert']) {
    it(`${model}: graph -> ONNX -> graph prints the same`, () => {
      const g = loadOnnxFile(path.join(MODELS, `${model}.onnx`));
      const g2 = loadOnnx(exportOnnx(g));
      expect(printGraph(g2)).toBe(printGraph(g));
    });
  }

  for (const f of ['basic.aic', 'attrs.aic', 'control.aic']) {
    it(`${f}: DSL -> ONNX -> DSL is the identity`, () => {
      const text = fs.readFileSync(path.join(GOLDEN, f), 'utf8');
      const g = loadOnnx(exportOnnx(parseGraph(text)));
      expect(printGraph(g)).toBe(text);
    });
  }

  it('exporting an aic-domain op is unsupported', () => {
    const g = new Graph('f');
    const x = new Value('x', { dtype: 'float32', shape: [1] });
    const y = new Value('y', { dtype: 'float32', shape: [1] });
    g.inputs.push(x); g.outputs.push(y);
    g.nodes.push(new Node({ op: 'FusedMatMul', domain: 'aic', name: 'fm', inputs: [x, x], outputs: [y] }));
    const e = err(() => exportOnnx(g));
    expect(e.code).toBe('AIC0203');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain('aic.FusedMatMul');
    expect(e.message).toContain("'fm'");
  });
});
