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

/** Write to a temporary sibling and rename, so readers never see a partial file. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch { /* ignore */ }
    throw e;
  }
}

/** Replace every character outside [A-Za-z0-9._-] by '_' (output file names). */
export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
