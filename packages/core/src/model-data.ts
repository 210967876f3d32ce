/**
 * Reading data a model points to (ONNX external data, DSL `weights("...")`): the one place where a
 * path written inside a model is followed. The path resolves relative to the model's folder and
 * must stay in it: absolute paths, `..` escapes and symbolic links (the file or any folder on the
 * way) leading outside are refused, as ONNX's checker and ONNX Runtime do. Byte ranges must be
 * non-negative integers within the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, type Location } from './diagnostics.ts';

export interface ModelDataRef {
  /** the model's folder */
  baseDir: string;
  /** the path as the model writes it */
  location: string;
  /** what the data is for, for messages: "initializer 'w'", "constant 'w'" */
  what: string;
  loc?: Location;
}

/** A path as messages show it: control characters escaped, very long paths shortened in the middle (one readable line). */
export function shownPath(p: string): string {
  // eslint-disable-next-line no-control-regex
  const s = p.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return s.length <= 160 ? s : `${s.slice(0, 80)}...${s.slice(-60)} (${s.length} characters)`;
}

/** Is `p` strictly below `root` (both absolute)? */
function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}

/** The real path of a file a model refers to, confined to the model's folder. */
export function confineModelPath(ref: ModelDataRef): string {
  const { location, what, loc } = ref;
  const refuse = (why: string) => diag.pathOutsideModel(what, shownPath(location), why, loc);
  if (location === '' || location.includes('\0')) throw refuse('is not a file name');
  if (path.isAbsolute(location)) throw refuse("is absolute; it must be relative to the model's folder");
  const base = path.resolve(ref.baseDir);
  const full = path.resolve(base, location);
  if (!isInside(base, full)) throw refuse(`leads outside the model's folder '${base}'`);
  let real: string;
  let realBase: string;
  try {
    realBase = fs.realpathSync(base);
    real = fs.realpathSync(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw diag.missingWeights(shownPath(full), loc, what);
    throw diag.badDataRange(what, shownPath(location), `cannot resolve it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, loc);
  }
  if (!isInside(realBase, real)) throw refuse(`goes through a symbolic link leading outside the model's folder (to '${shownPath(real)}')`);
  return real;
}

/** A byte count or offset as written in the model: a non-negative integer (ONNX writes them as strings). */
function byteCount(v: number | string, field: string, ref: ModelDataRef): number {
  const s = typeof v === 'string' ? v.trim() : '';
  const n = typeof v === 'number' ? v : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw diag.badDataRange(ref.what, shownPath(ref.location), `${field} '${shownPath(String(v))}' is not a non-negative integer`, ref.loc);
  }
  return n;
}

/**
 * Read the `need` bytes at `offset` of the file a model refers to (confined as above). A `length`
 * given by the model must equal `need`.
 */
export function readModelData(ref: ModelDataRef, offset: number | string, length: number | string | undefined, need: number): Uint8Array {
  const real = confineModelPath(ref);
  const off = byteCount(offset, 'offset', ref);
  const size = byteCount(need, 'the size of the tensor', ref);
  if (length !== undefined) {
    const len = byteCount(length, 'length', ref);
    if (len !== size) throw diag.badDataRange(ref.what, shownPath(ref.location), `length ${len} but the tensor needs ${size} bytes`, ref.loc);
  }
  const shown = shownPath(path.resolve(ref.baseDir, ref.location));
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; the type is checked right after
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw diag.badDataRange(ref.what, shownPath(ref.location), `cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, ref.loc);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw diag.badDataRange(ref.what, shownPath(ref.location), 'not a regular file', ref.loc);
    if (off + size > st.size) throw diag.weightsOutOfRange(shown, off, size, st.size, ref.loc, ref.what);
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, off + done);
      if (n === 0) throw diag.weightsOutOfRange(shown, off, size, off + done, ref.loc, ref.what);
      done += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}
