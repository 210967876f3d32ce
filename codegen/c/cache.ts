/**
 * A content-addressed build cache that is safe when several processes build the same key at once.
 * An entry is a directory `<base>` (or `<base>.1`, `<base>.2`, ... when an earlier name holds a
 * corrupt entry) holding the built files and, written last, a marker `complete` that lists every
 * file with its size. Rules:
 *  - a build happens in a private temporary directory next to the entries (same file system);
 *  - it is published with one rename, which never replaces an existing entry: when another process
 *    published first, the late finisher discards its own directory and uses the first result;
 *  - nothing is ever removed from a published entry (a process may be running its executable);
 *  - an entry whose marker is missing or disagrees with its files is never used; the next build
 *    goes to the next free name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MARKER = 'complete';
/** How many names one key may use before corrupt entries stop us (each needs a damaged disk or a manual edit). */
const MAX_NAMES = 8;

const candidates = (base: string) => Array.from({ length: MAX_NAMES }, (_, i) => (i === 0 ? base : `${base}.${i}`));

/** True when `dir` is a published entry whose marker matches its files. */
export function entryComplete(dir: string): boolean {
  let listed: Record<string, number>;
  try {
    listed = JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')).files;
  } catch {
    return false;
  }
  if (!listed || typeof listed !== 'object' || Object.keys(listed).length === 0) return false;
  return Object.entries(listed).every(([f, size]) => {
    try {
      return fs.statSync(path.join(dir, f)).size === size;
    } catch {
      return false;
    }
  });
}

/** The complete entry for `base`, if any. */
export function cacheLookup(base: string): string | null {
  for (const dir of candidates(base)) {
    if (entryComplete(dir)) return dir;
    if (!fs.existsSync(dir)) return null; // names are taken in order: none after a free one
  }
  return null;
}

/** A build directory older than this belongs to a killed process (builds take minutes). */
const STALE_MS = 24 * 3600 * 1000;

/** A private directory to build `base` in (removed by cachePublish or cacheDiscard); drops stale ones of killed builds. */
export function cacheTemp(base: string): string {
  const parent = path.dirname(base), prefix = `${path.basename(base)}.tmp-`;
  fs.mkdirSync(parent, { recursive: true });
  for (const f of fs.readdirSync(parent)) {
    if (!f.startsWith(prefix)) continue;
    try {
      if (Date.now() - fs.statSync(path.join(parent, f)).mtimeMs > STALE_MS) cacheDiscard(path.join(parent, f));
    } catch { /* another process removed it first */ }
  }
  return fs.mkdtempSync(path.join(parent, prefix));
}

export function cacheDiscard(tmp: string): void {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/**
 * Publish the files built in `tmp` (all of them listed in the marker, written now) under `base`;
 * returns the entry to use: ours, or the one another process published first.
 */
export function cachePublish(base: string, tmp: string): string {
  const files: Record<string, number> = {};
  for (const f of fs.readdirSync(tmp)) files[f] = fs.statSync(path.join(tmp, f)).size;
  fs.writeFileSync(path.join(tmp, MARKER), JSON.stringify({ files }));
  for (const dir of candidates(base)) {
    if (entryComplete(dir)) { cacheDiscard(tmp); return dir; }
    if (fs.existsSync(dir)) continue; // corrupt: never used, never removed (someone may be looking at it)
    try {
      fs.renameSync(tmp, dir); // fails when `dir` appeared meanwhile (a non-empty directory is never replaced)
      return dir;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
      if (entryComplete(dir)) { cacheDiscard(tmp); return dir; }
    }
  }
  // every name holds a corrupt entry: run from our private copy, which then stays (never in the way)
  return tmp;
}
