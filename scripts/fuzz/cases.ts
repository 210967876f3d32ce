/**
 * One fuzz case from (campaign seed, case id): a family (what is mutated), a seed model, the files to write in
 * the case folder and the aic command line. Pure: the same inputs always give the same case.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from './rng.ts';
import type { Seed } from './seeds.ts';
import { onnx } from '@aic/onnx';
import { mutateOnnx } from './onnx-mutate.ts';
import { mutateTensorData } from './onnx-values.ts';
import { mutateBytes, mutateNpy } from './raw.ts';
import { mutateDsl } from './dsl.ts';

export type Family = 'onnx-struct' | 'onnx-bytes' | 'dsl' | 'tensor' | 'args' | 'clean';
export interface Case {
  id: number; family: Family; seed: string; command: string; args: string[]; what: string[];
  /** relative path -> content; a null content makes a directory */
  files: Map<string, Uint8Array | null>;
}

const FAMILIES: [Family, number][] = [['onnx-struct', 38], ['onnx-bytes', 10], ['dsl', 22], ['tensor', 15], ['args', 8], ['clean', 7]];
const read = (f: string) => new Uint8Array(fs.readFileSync(f));

interface Ctx { r: Rng; seed: Seed; files: Map<string, Uint8Array | null>; what: string[]; model: string; cShare: number }

function pickSeed(r: Rng, seeds: Seed[], family: Family): Seed {
  const pool = seeds.filter((s) => family !== 'dsl' || s.aic);
  const heavy = pool.filter((s) => s.heavy), fixtures = pool.filter((s) => !s.heavy && !s.name.startsWith('test_'));
  const roll = r.next();
  if (heavy.length && roll < 0.01) return r.pick(heavy);
  if (fixtures.length && roll < 0.07) return r.pick(fixtures);
  const nodeTests = pool.filter((s) => s.name.startsWith('test_'));
  return r.pick(nodeTests.length ? nodeTests : pool.length ? pool : seeds);
}

/** a TensorProto input: structured (dims, dtype, data) or byte edits */
function mutatePb(bytes: Uint8Array, r: Rng): { bytes: Uint8Array; what: string[] } {
  if (r.chance(0.4)) return mutateBytes(bytes, r);
  try {
    const t = onnx.TensorProto.decode(bytes);
    const what = r.chance(0.3) ? `dtype ${t.dataType = r.pick([0, 1, 6, 7, 9, 10, 11, 16, 8, 99])}` : mutateTensorData(t, r);
    return { bytes: onnx.TensorProto.encode(t).finish(), what: [`pb ${what}`] };
  } catch { return mutateBytes(bytes, r); }
}

/** the inputs of a run: .npy where there is one (mostly), else the .pb */
function inputArgs(c: Ctx, mutate: boolean): string[] | null {
  const ins = c.seed.inputs.filter((i) => i.npy || i.pb);
  if (ins.length !== c.seed.inputs.length) return null;
  const victim = mutate ? c.r.int(0, ins.length - 1) : -1;
  return ins.flatMap((inp, k) => {
    const usePb = !inp.npy || (inp.pb !== undefined && c.r.chance(0.2));
    const name = `in_${k}${usePb ? '.pb' : '.npy'}`;
    let bytes: Uint8Array = read(usePb ? inp.pb! : inp.npy!);
    if (k === victim) {
      const m = usePb ? mutatePb(bytes, c.r) : mutateNpy(bytes, c.r);
      bytes = m.bytes;
      c.what.push(`input ${k}: ${m.what.join(', ')}`);
    }
    c.files.set(name, bytes);
    return ['--input', `${inp.name}=${name}`];
  });
}

function optArgs(r: Rng): string[] {
  return r.weighted([[[] as string[], 6], [['-O0'], 1], [['-O1'], 1], [['-O3'], 1], [['--verify-each'], 0.5]] as const).slice();
}

/**
 * Every case runs under --max-tensor-bytes 512M: the fuzzer checks that limits hold, not how much memory the
 * machine has (the default 4 GiB per value is more than a worker may use).
 */
const LIMIT_ARGS = ['--max-tensor-bytes', '512M'];

/** the command: inspect / check / run (interp, sometimes c) / compile wasm-simd / convert */
function command(c: Ctx, mutateInputs: boolean): { command: string; args: string[] } {
  const cmd = chooseCommand(c, mutateInputs);
  return { ...cmd, args: [...cmd.args, ...LIMIT_ARGS] };
}

function chooseCommand(c: Ctx, mutateInputs: boolean): { command: string; args: string[] } {
  const { r, model } = c;
  const heavy = c.seed.heavy;
  const kind = mutateInputs ? 'run' : r.weighted([['inspect', 16], ['check', 16], ['run', heavy ? 0 : 40], ['compile', heavy ? 4 : 20], ['convert', 4]] as const);
  if (kind === 'run') {
    const ins = inputArgs(c, mutateInputs);
    if (ins) {
      const target = r.chance(c.cShare) ? 'c' : 'interp';
      return { command: `run ${target}`, args: ['run', model, '--target', target, ...ins, '--output-dir', 'out', ...optArgs(r)] };
    }
  }
  if (kind === 'compile') return { command: 'compile wasm-simd', args: ['compile', model, '--target', 'wasm-simd', '-o', 'out', ...optArgs(r)] };
  if (kind === 'convert') {
    const to = r.pick(['out.aic', 'out.onnx']);
    return { command: `convert ${to.slice(4)}`, args: ['convert', model, '-o', to] };
  }
  if (kind === 'check') return { command: 'check', args: ['check', model, '--target', r.pick(['interp', 'c', 'wasm-simd'])] };
  return { command: 'inspect', args: ['inspect', model, ...(r.chance(0.5) ? ['--json'] : [])] };
}

function writeSeedModel(c: Ctx, dsl: boolean): void {
  if (!dsl) { c.files.set(c.model, read(c.seed.onnx)); return; }
  c.files.set(c.model, read(c.seed.aic!));
  const bin = c.seed.aic!.replace(/\.aic$/, '.bin');
  if (fs.existsSync(bin)) c.files.set('model.bin', read(bin));
}

/** command-line mistakes on a valid model: bad shapes, missing/odd files, output paths that are files */
const ARG_MUTATIONS: [string, (a: string[], c: Ctx) => string[]][] = [
  ['input-shape', (a, c) => [...a, '--input-shape', c.r.pick(['x=1x2', '=3', 'N=0x0', '1x-1', `${c.seed.inputs[0]?.name ?? 'x'}=99999999999x99999999`, 'a=b', ''])]],
  ['drop-input', (a) => { const i = a.indexOf('--input'); return i < 0 ? a : [...a.slice(0, i), ...a.slice(i + 2)]; }],
  ['input-missing-file', (a) => a.map((x) => (x.endsWith('.npy') || x.endsWith('.pb') ? x.replace(/in_\d/, 'nope') : x))],
  ['input-is-dir', (a, c) => { c.files.set('adir', null); return a.map((x) => (/in_\d/.test(x) ? x.replace(/in_\d\.\w+/, 'adir') : x)); }],
  ['output-is-file', (a, c) => { c.files.set('afile', new Uint8Array([1])); return a.map((x) => (x === 'out' ? 'afile' : x)); }],
  ['model-missing', (a, c) => a.map((x) => (x === c.model ? 'nope.onnx' : x))],
  ['model-is-dir', (a, c) => { c.files.set('mdir.onnx', null); return a.map((x) => (x === c.model ? 'mdir.onnx' : x)); }],
  ['model-empty', (a, c) => { c.files.set('empty.onnx', new Uint8Array()); return a.map((x) => (x === c.model ? 'empty.onnx' : x)); }],
  ['model-wrong-ext', (a, c) => { c.files.set('swapped.aic', c.files.get(c.model)!); return a.map((x) => (x === c.model ? 'swapped.aic' : x)); }],
  ['target', (a, c) => [...a, '--target', c.r.pick(['bogus', '', 'wasm', 'C'])]],
  ['opt-level', (a, c) => [...a, '-O', c.r.pick(['9', '-1', 'x', ''])]],
  ['pipeline', (a, c) => [...a, '--pipeline', c.r.pick(['nope', 'fold-constants,,', 'fuse{x=1}', '{', ''])]],
  ['unknown-option', (a) => [...a, '--frobnicate']],
  ['emit', (a, c) => [...a, '--emit', c.r.pick(['bogus', 'wgsl', 'c', 'loops'])]],
];

export function makeCase(campaignSeed: number, id: number, seeds: Seed[], cShare = 0.04): Case {
  const r = new Rng(`${campaignSeed}:${id}`);
  const family = r.weighted(FAMILIES);
  const seed = pickSeed(r, seeds, family);
  const dsl = family === 'dsl' || (family === 'args' && !!seed.aic && r.chance(0.2));
  const c: Ctx = { r, seed, files: new Map(), what: [], model: dsl ? 'model.aic' : 'model.onnx', cShare };
  writeSeedModel(c, dsl);
  if (family === 'onnx-struct') {
    const m = mutateOnnx(c.files.get(c.model)!, r);
    c.files.set(c.model, m.bytes);
    for (const [k, v] of m.files) c.files.set(k, v);
    c.what.push(...m.what);
  } else if (family === 'onnx-bytes') {
    const m = mutateBytes(c.files.get(c.model)!, r);
    c.files.set(c.model, m.bytes);
    c.what.push(...m.what);
  } else if (family === 'dsl') {
    if (c.files.has('model.bin') && r.chance(0.15)) {
      const m = mutateBytes(c.files.get('model.bin')!, r);
      c.files.set('model.bin', m.bytes);
      c.what.push(`model.bin: ${m.what.join(', ')}`);
    } else {
      const m = mutateDsl(new TextDecoder().decode(c.files.get(c.model)!), r);
      c.files.set(c.model, new TextEncoder().encode(m.text));
      c.what.push(...m.what);
    }
  }
  let cmd = command(c, family === 'tensor');
  if (family === 'args') {
    const [name, f] = r.pick(ARG_MUTATIONS);
    cmd = { command: cmd.command, args: f(cmd.args, c) };
    c.what.push(`args ${name}`);
  }
  return { id, family, seed: seed.name, command: cmd.command, args: cmd.args, what: c.what, files: c.files };
}

/** Write a case's files into `dir` (emptied first). */
export function writeCase(c: Case, dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of c.files) {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    if (content === null) fs.mkdirSync(f, { recursive: true });
    else fs.writeFileSync(f, content);
  }
}
