/** File helpers: atomic writes (never leave a partial output), readable errors. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag } from './diagnostics.ts';

export function readFileOrThrow(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw diag.fileNotFound(file);
    if (err.code === 'EISDIR') throw diag.fileUnreadable(file, 'is a directory');
    throw diag.fileUnreadable(file, err.message);
  }
}

/**
 * Write to a temporary sibling and rename, so readers never see a partial file. Missing folders are
 * made; any failure (a folder that is a file, no permission...) is the catalog's cannotWrite.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    makeDirs(dir);
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch { /* ignore */ }
    const err = e as NodeJS.ErrnoException;
    throw diag.cannotWrite(file, err.code ? `${err.code}: ${err.message.replace(/^\w+: /, '')}` : err.message);
  }
}

/**
 * mkdir -p, one level at a time from the nearest existing ancestor (Node 20's recursive mkdirSync
 * never returns for a path under /proc).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = dir;
  while (!fs.existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  if (fs.existsSync(d) && !fs.statSync(d).isDirectory()) throw new Error(`'${d}' is not a directory`);
  for (const m of missing.reverse()) fs.mkdirSync(m);
}

/** Replace every character outside [A-Za-z0-9._-] by '_' (output file names). */
export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
