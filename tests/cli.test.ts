/** The aic CLI end to end: outputs, exit codes and diagnostics; failures never write files. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';
import { buildModel } from './onnx-builder.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AIC = path.join(ROOT, 'bin/aic');
const FIX = path.join(ROOT, 'tests/fixtures/models');

function aic(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-cli-'));

describe('aic run', () => {
  it('runs small_cnn and writes output.npy matching PyTorch', () => {
    const dir = tmp();
    const r = aic(['run', `${FIX}/small_cnn.onnx`, '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'output.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));
    expect(got.shape).toEqual([1, 10]);
    for (let i = 0; i < 10; i++) expect(Math.abs(got.num[i] - want.num[i])).toBeLessThan(1e-4 + 1e-3 * Math.abs(want.num[i]));
  });

  it('sanitizes output names into file names', () => {
    const dir = tmp();
    const m = path.join(dir, 'm.onnx');
    fs.writeFileSync(m, buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y/out:0'] }], [{ name: 'x', shape: [2] }], [{ name: 'y/out:0', shape: [2] }]));
    fs.writeFileSync(path.join(dir, 'x.npy'), Buffer.from(npyF32([2], [-1, 3])));
    const r = aic(['run', m, '--input', `x=${dir}/x.npy`, '--output-dir', dir]);
    expect(r.code).toBe(0);
    const y = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'y_out_0.npy'))));
    expect(Array.from(y.num)).toEqual([0, 3]);
  });

  it('a missing input is a usage error (2) and writes nothing', () => {
    const dir = tmp();
    const r = aic(['run', `${FIX}/small_cnn.onnx`, '--output-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no value given for graph input 'input'/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an input of the wrong shape is a data error (1) naming the input', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'x.npy'), Buffer.from(npyF32([1, 1, 4, 4], new Array(16).fill(0))));
    const r = aic(['run', `${FIX}/small_cnn.onnx`, '--input', `input=${dir}/x.npy`, '--output-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/input 'input': expected shape \[1, 1, 28, 28\]/);
    expect(fs.readdirSync(dir)).toEqual(['x.npy']);
  });
});

describe('diagnostics and exit codes', () => {
  it('garbage .onnx: exit 1, one line naming the file, no stack trace', () => {
    const dir = tmp();
    const m = path.join(dir, 'bad.onnx');
    fs.writeFileSync(m, 'this is not a protobuf at all \u0007\u0008');
    const r = aic(['inspect', m]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('bad.onnx');
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('truncated .onnx: exit 1', () => {
    const dir = tmp();
    const m = path.join(dir, 'trunc.onnx');
    const bytes = fs.readFileSync(`${FIX}/small_cnn.onnx`);
    fs.writeFileSync(m, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = aic(['inspect', m]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/trunc\.onnx.*not a valid ONNX model/);
  });

  it('missing model file: exit 1', () => {
    const r = aic(['inspect', '/nonexistent/model.onnx']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read '\/nonexistent\/model.onnx': no such file/);
  });

  it('unknown command or option: exit 2', () => {
    expect(aic(['frobnicate']).code).toBe(2);
    expect(aic(['inspect', `${FIX}/small_cnn.onnx`, '--bogus']).code).toBe(2);
    expect(aic(['run', `${FIX}/small_cnn.onnx`, '--target', 'nope']).code).toBe(2);
  });

  it('unsupported op: exit 3 naming op, domain, opset and node', () => {
    const dir = tmp();
    const m = path.join(dir, 'custom.onnx');
    fs.writeFileSync(m, buildModel([{ op: 'FancyOp', name: 'my_node', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: [2] }], [{ name: 'y', shape: [2] }]));
    const c = aic(['check', m]);
    expect(c.code).toBe(3);
    expect(c.out).toMatch(/unsupported op ai\.onnx::FancyOp \(opset 13\).*'my_node'/);
    fs.writeFileSync(path.join(dir, 'x.npy'), Buffer.from(npyF32([2], [1, 2])));
    const r = aic(['run', m, '--input', `x=${dir}/x.npy`, '--output-dir', dir]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/node 'my_node'.*unsupported op FancyOp/);
    expect(fs.existsSync(path.join(dir, 'y.npy'))).toBe(false);
  });

  it('shape mismatch: exit 1 naming the node', () => {
    const dir = tmp();
    const m = path.join(dir, 'mismatch.onnx');
    fs.writeFileSync(m, buildModel([{ op: 'Add', name: 'the_add', inputs: ['a', 'b'], outputs: ['c'] }],
      [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }], [{ name: 'c', shape: [2, 3] }]));
    const r = aic(['inspect', m]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/node 'the_add'.*shape mismatch.*\[2, 3\] and \[4\]/);
  });

  it('check names the --input-shape to add for unbound dims (compiled targets)', () => {
    const dir = tmp();
    const m = path.join(dir, 'sym.onnx');
    fs.writeFileSync(m, buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [{ name: 'x', shape: ['N', 3] }], [{ name: 'y', shape: ['N', 3] }]));
    const r = aic(['check', m, '--target', 'c']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/--input-shape x=<N>x3/);
    const ok = aic(['check', m]);
    expect(ok.code).toBe(0);
  });

  it('check on a compiled target passes If, Loop and Scan (lowering wraps their subgraphs), as compile does', () => {
    const NODE = '/usr/share/libonnx-testdata/data/node';
    for (const t of ['test_if', 'test_scan9_sum']) {
      const r = aic(['check', `${NODE}/${t}/model.onnx`, '--target', 'c']);
      expect(r.out, t).toMatch(/^ok: .* has no blockers for target 'c' \(1 nodes\)/);
      expect(r.code, t).toBe(0);
    }
    // test_loop11's trip count and condition decide its scan output's length: check says which to bind, and passes once bound
    const L = `${NODE}/test_loop11`;
    const loop = aic(['check', `${L}/model.onnx`, '--target', 'c']);
    expect(loop.code).toBe(3);
    expect(loop.out).toMatch(/trip count 'trip_count' is known only when the model runs.*bind the input with --const-input trip_count=FILE/);
    const bound = aic(['check', `${L}/model.onnx`, '--target', 'c', '--const-input', `trip_count=${L}/test_data_set_0/input_0.pb`, '--const-input', `cond=${L}/test_data_set_0/input_1.pb`]);
    expect(bound.out).toMatch(/^ok: /);
    expect(bound.code).toBe(0);
    const dir = tmp();
    expect(aic(['compile', `${NODE}/test_if/model.onnx`, '--target', 'c', '-o', dir]).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'model.c'))).toBe(true);
  });

  it('check on a compiled target refuses what lowering refuses (a run-time size feeding Shape: AIC0340), as compile does', () => {
    const dir = tmp();
    const m = path.join(dir, 'nz.onnx');
    fs.writeFileSync(m, buildModel([
      { op: 'NonZero', name: 'nz', inputs: ['x'], outputs: ['i'] },
      { op: 'Shape', name: 'count', inputs: ['i'], outputs: ['s'] },
    ], [{ name: 'x', shape: [4] }], [{ name: 's', dtype: 7, shape: [2] }]));
    const r = aic(['check', m, '--target', 'c']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^blocked: .* cannot be compiled for target 'c':\n  - .*node 'count'.*AIC0340.*from NonZero.*feeds Shape 'count'/s);
    const c = aic(['compile', m, '--target', 'c', '-o', path.join(dir, 'out')]);
    expect(c.code).toBe(3);
    expect(c.err).toMatch(/AIC0340/);
    expect(aic(['check', m]).code).toBe(0); // the interpreter runs it
  });
});

describe('aic inspect', () => {
  it('--json has inputs, outputs, nodes, ops, params, flops', () => {
    const r = aic(['inspect', `${FIX}/small_cnn.onnx`, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [1, 1, 28, 28], kind: 'tensor' }]);
    expect(j.outputs[0].shape).toEqual([1, 10]);
    expect(j.nodes).toBe(13);
    expect(j.ops.Conv).toBe(2);
    expect(j.params).toBeGreaterThan(20000);
    expect(j.flops).toBeGreaterThan(0);
  });

  it('prints no color codes when NO_COLOR is set', () => {
    const r = aic(['inspect', `${FIX}/small_cnn.onnx`]);
    expect(r.out).not.toMatch(/\u001b\[/);
    expect(r.out).toMatch(/Conv\s+2/);
  });
});

describe('aic compile', () => {
  it('lists the targets', () => {
    const r = aic(['compile', '--list-targets']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/interp/);
    expect(r.out).toMatch(/wasm-simd/);
  });
});

function npyF32(shape: number[], values: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + 4 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer, 10 + header.length);
  values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

describe('DSL diagnostics through the CLI', () => {
  const write = (dir: string, name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };

  it('a syntax error: exit 1, file:line:col, the line, a caret and what was expected; nothing written', () => {
    const dir = tmp();
    const f = write(dir, 'bad.aic', 'graph g(x: f32[4]) -> (y: f32[4]) {\n  y = Relu(x,\n}\n');
    const r = aic(['convert', f, '-o', path.join(dir, 'out.onnx')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.aic:3:1: error AIC0010: syntax error: expected/);
    expect(r.err).toMatch(/\n\s*3 \| \}\n\s*\| \^/);
    expect(fs.existsSync(path.join(dir, 'out.onnx'))).toBe(false);
  });

  it('an unknown op: exit 1 with location and a hint', () => {
    const dir = tmp();
    const f = write(dir, 'op.aic', 'graph g(x: f32[4]) -> (y: f32[4]) {\n  y = Relux(x)\n}\n');
    const r = aic(['inspect', f]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/op\.aic:2:\d+: error AIC0013: unknown op 'Relux' \(did you mean 'Relu'\?\)/);
  });

  it('a missing weights file: exit 1 naming it', () => {
    const dir = tmp();
    const f = write(dir, 'w.aic', 'graph g(x: f32[4]) -> (y: f32[4]) {\n  w: f32[4] = weights("nope.bin", offset = 0)\n  y = Add(x, w)\n}\n');
    const r = aic(['run', f, '--output-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/weights file '.*nope\.bin' not found/);
  });

  it('convert ONNX -> .aic -> ONNX keeps the results', () => {
    const dir = tmp();
    expect(aic(['convert', `${FIX}/small_cnn.onnx`, '-o', path.join(dir, 'm.aic')]).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'm.bin'))).toBe(true);
    expect(aic(['convert', path.join(dir, 'm.aic'), '-o', path.join(dir, 'm.onnx')]).code).toBe(0);
    const r = aic(['run', path.join(dir, 'm.onnx'), '-O', '0', '--input', `input=${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
    expect(r.code, r.err).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'output.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));
    for (let i = 0; i < 10; i++) expect(Math.abs(got.num[i] - want.num[i])).toBeLessThan(1e-4 + 1e-3 * Math.abs(want.num[i]));
  });
});
