/** Saving a graph as OUT.aic plus a sidecar OUT.bin holding the large constants. */
import * as path from 'node:path';
import { writeFileAtomic, type Graph } from '@aic/core';
import { DEFAULT_THRESHOLD, printGraph } from './print.ts';

export interface SaveOptions {
  /** constants with more elements than this go to the sidecar (default 16) */
  threshold?: number;
  /** alignment of each tensor in the sidecar, in bytes (default 64) */
  align?: number;
}

/**
 * Write `outPath` (the DSL text) and, when any constant is large, `<basename>.bin` next to it.
 * Returns the paths written.
 */
export function saveDsl(g: Graph, outPath: string, opts: SaveOptions = {}): { text: string; weights?: string } {
  const base = path.basename(outPath).replace(/\.aic$/, '');
  const binName = `${base}.bin`;
  const sidecar = { file: binName, threshold: opts.threshold ?? DEFAULT_THRESHOLD, align: opts.align ?? 64, chunks: [] as Uint8Array[], size: 0 };
  const text = printGraph(g, { sidecar });
  let weights: string | undefined;
  if (sidecar.chunks.length) {
    const all = new Uint8Array(sidecar.size);
    let off = 0;
    for (const c of sidecar.chunks) { all.set(c, off); off += c.length; }
    weights = path.join(path.dirname(outPath), binName);
    writeFileAtomic(weights, all);
  }
  writeFileAtomic(outPath, text);
  return { text: outPath, weights };
}
