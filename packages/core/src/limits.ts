/**
 * Size limits on tensors: one check, applied wherever a size becomes known (shape inference over a
 * graph: ir-spec's inferGraph; every allocation of a Tensor), so an absurd size is a named error
 * before any work is done instead of a failure late in a run.
 *
 * Default 4 GiB per value: the largest single tensors of real models (LLM embedding tables, e.g.
 * 128256 x 4096 float32 = 2 GiB) fit, a 32-bit WebAssembly memory cannot hold more in total, and a
 * value past it is almost always a wrong dim; `--max-tensor-bytes` raises it for the C target.
 */
import { diag, type Location } from './diagnostics.ts';
import { BYTE_SIZE, SHORT_NAME, type DType } from './dtype.ts';

export const DEFAULT_MAX_TENSOR_BYTES = 4 * 2 ** 30;
let maxBytes = DEFAULT_MAX_TENSOR_BYTES;

export function maxTensorBytes(): number { return maxBytes; }
export function setMaxTensorBytes(n: number): void { maxBytes = n; }

/**
 * Bytes a tensor of this type takes. A string element counts 64 bytes: a string tensor is a JavaScript
 * array on the garbage-collected heap (a reference per element plus the string), and that heap is far
 * smaller than memory (an 8-byte estimate let a 512M-element string fill exhaust it and abort the process).
 */
export const STRING_ELEMENT_BYTES = 64;
export function tensorBytes(dtype: DType, shape: readonly number[]): number {
  let n = dtype === 'string' ? STRING_ELEMENT_BYTES : BYTE_SIZE[dtype];
  for (const d of shape) n *= d;
  return n;
}

/** Throw the catalog's tensorTooLarge when a tensor of this type exceeds the limit. */
export function checkTensorBytes(dtype: DType, shape: readonly number[], what: string, loc?: Location): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw diag.invalidShape(what, `[${shape.join(', ')}]`, loc);
  }
  const bytes = tensorBytes(dtype, shape);
  if (bytes > maxBytes) throw diag.tensorTooLarge(what, `${SHORT_NAME[dtype]}[${shape.join(', ')}]`, formatBytes(bytes), formatBytes(maxBytes), loc);
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** `4294967296`, `512M`, `8G`, `1.5GiB`, `64kb` (binary units) -> bytes; undefined when malformed. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  return n > 0 ? n : undefined;
}

export function formatBytes(n: number): string {
  for (const [u, f] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= f) return `${+(n / f).toFixed(2)} ${u}`;
  }
  return `${n} bytes`;
}
