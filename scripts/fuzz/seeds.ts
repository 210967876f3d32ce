/**
 * The seed corpus: the model fixtures and a fixed sample of the ONNX node tests, each with its inputs as
 * .pb (and .npy where the dtype has one) and, where the model converts, a DSL copy (.aic + .bin).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, serializeNpy } from '@aic/core';
import { decodeValueFile, loadOnnx, onnx } from '@aic/onnx';
import { saveDsl } from '@aic/dsl';

export interface SeedInput { name: string; pb?: string; npy?: string }
export interface Seed { name: string; onnx: string; inputs: SeedInput[]; aic?: string; heavy?: boolean }

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const NODE_DIR = process.env.AIC_NODE_TESTS ?? '/usr/share/libonnx-testdata/data/node';
const FIXTURES = path.join(ROOT, 'tests/fixtures/models');
/** node tests always in the sample: subgraphs, sequences, optionals, strings, odd dtypes */
const ALWAYS = ['test_if', 'test_loop11', 'test_scan9_sum', 'test_if_seq', 'test_sequence_insert_at_back', 'test_optional_get_element',
  'test_strnormalizer_export_monday_casesensintive_lower', 'test_cast_FLOAT_to_BFLOAT16', 'test_gather_0', 'test_conv_with_strides_padding',
  'test_reshape_extended_dims', 'test_constantofshape_int_zeros', 'test_expand_dim_changed', 'test_slice', 'test_div_uint8', 'test_argmax_default_axis_example'];

/** The sample: ALWAYS plus every k-th test, so the same `sample` gives the same seeds everywhere. */
export function sampleNodeTests(sample: number): string[] {
  if (!fs.existsSync(NODE_DIR)) return [];
  const all = fs.readdirSync(NODE_DIR).filter((d) => fs.existsSync(path.join(NODE_DIR, d, 'model.onnx'))).sort();
  const picked = new Set(ALWAYS.filter((t) => all.includes(t)));
  const step = Math.max(1, all.length / Math.max(1, sample - picked.size));
  for (let i = 0; picked.size < sample && i < all.length; i += step) picked.add(all[Math.floor(i)]!);
  return [...picked].sort();
}

function graphInputNames(bytes: Uint8Array): string[] {
  const g = onnx.ModelProto.decode(bytes).graph;
  const inits = new Set((g?.initializer ?? []).map((t) => t.name ?? ''));
  return (g?.input ?? []).map((v) => v.name ?? '').filter((n) => !inits.has(n));
}

function toNpy(pbFile: string, npyFile: string): boolean {
  try {
    const v = decodeValueFile(new Uint8Array(fs.readFileSync(pbFile)));
    if (!(v instanceof Tensor)) return false;
    fs.writeFileSync(npyFile, serializeNpy(v));
    return true;
  } catch { return false; }
}

function withDsl(seed: Seed, dir: string): Seed {
  try {
    const bytes = new Uint8Array(fs.readFileSync(seed.onnx));
    const aic = path.join(dir, 'model.aic');
    saveDsl(loadOnnx(bytes, { file: seed.onnx }), aic);
    return { ...seed, aic };
  } catch { return seed; }
}

function nodeSeed(name: string, dir: string): Seed {
  const base = path.join(NODE_DIR, name);
  const onnxFile = path.join(base, 'model.onnx');
  const names = graphInputNames(new Uint8Array(fs.readFileSync(onnxFile)));
  const data = path.join(base, 'test_data_set_0');
  const inputs = names.map((n, i) => {
    const pb = path.join(data, `input_${i}.pb`);
    if (!fs.existsSync(pb)) return { name: n };
    const npy = path.join(dir, `input_${i}.npy`);
    return { name: n, pb, npy: toNpy(pb, npy) ? npy : undefined };
  });
  return withDsl({ name, onnx: onnxFile, inputs }, dir);
}

function fixtureSeed(json: string, dir: string): Seed {
  const meta = JSON.parse(fs.readFileSync(json, 'utf8')) as { model: string; inputs: { name: string; file: string }[] };
  const onnxFile = path.join(FIXTURES, meta.model);
  const heavy = fs.statSync(onnxFile).size > 2_000_000;
  return withDsl({ name: meta.model.replace(/\.onnx$/, ''), onnx: onnxFile, heavy, inputs: meta.inputs.map((i) => ({ name: i.name, npy: path.join(FIXTURES, i.file) })) }, dir);
}

/** Build (or reuse) the seed corpus under `dir`; returns its manifest. */
export function prepareSeeds(dir: string, sample: number): Seed[] {
  const manifest = path.join(dir, `manifest-${sample}.json`);
  if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8')) as Seed[];
  const seeds: Seed[] = [];
  for (const f of fs.readdirSync(FIXTURES).filter((x) => x.endsWith('.json')).sort()) {
    const d = path.join(dir, f.replace(/\.json$/, ''));
    fs.mkdirSync(d, { recursive: true });
    seeds.push(fixtureSeed(path.join(FIXTURES, f), d));
  }
  for (const t of sampleNodeTests(sample)) {
    const d = path.join(dir, t);
    fs.mkdirSync(d, { recursive: true });
    seeds.push(nodeSeed(t, d));
  }
  fs.writeFileSync(manifest, JSON.stringify(seeds, null, 1));
  return seeds;
}
