/**
 * A progress bar for long work (compiling a large model, the conformance sweep, profiling): one
 * line on stderr, redrawn at most 10 times a second, erased when done. Nothing at all when stderr is
 * not a terminal, when CI is set, or when AIC_NO_PROGRESS is set, so logs and pipes never see it.
 */

export interface Progress {
  /** `n` more units done (default 1); `what` names the current item */
  tick(n?: number, what?: string): void;
  /** more work found: the total grows */
  grow(n: number): void;
  /** print a line on stdout without breaking the bar (it is erased and redrawn below the line) */
  log(line: string): void;
  /** erase the bar (idempotent) */
  done(): void;
}

const NONE: Progress = { tick() {}, grow() {}, log(line) { process.stdout.write(line + '\n'); }, done() {} };

export function progressEnabled(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.CI && env.AIC_NO_PROGRESS === undefined;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The bar's text for `done` of `total` after `elapsedMs`, fitted to `columns`. */
export function progressLine(label: string, done: number, total: number, elapsedMs: number, what: string, columns: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const eta = done > 0 && done < total ? ` eta ${clock(elapsedMs * (total - done) / done)}` : '';
  const head = `${label} `;
  const tail = ` ${done}/${total} ${clock(elapsedMs)}${eta}`;
  const width = Math.max(10, Math.min(30, columns - head.length - tail.length - 4));
  const full = Math.round(frac * width);
  const line = `${head}[${'#'.repeat(full)}${'.'.repeat(width - full)}]${tail}${what ? ` ${what}` : ''}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 2)) + '…' : line;
}

/** A bar over `total` units labelled `label`; a no-op where progressEnabled() is false. */
export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressEnabled(stream)) return NONE;
  const t0 = Date.now();
  let done = 0, what = '', last = 0, shown = false, closed = false;
  const draw = (force = false) => {
    const now = Date.now();
    if (closed || (!force && now - last < 100)) return;
    last = now;
    stream.write(`\r\x1b[K${progressLine(label, done, total, now - t0, what, stream.columns || 80)}`);
    shown = true;
  };
  return {
    tick(n = 1, w) { done += n; if (w !== undefined) what = w; draw(done >= total); },
    grow(n) { total += n; },
    log(line) {
      if (shown && !closed) stream.write('\r\x1b[K');
      process.stdout.write(line + '\n');
      if (shown) draw(true);
    },
    done() { if (!closed && shown) stream.write('\r\x1b[K'); closed = true; },
  };
}

// ---- progress of deep work (passes, lowering), shown by whoever installed a sink --------------------

type Sink = (phase: string, done: number, total: number, what: string) => void;
let sink: Sink | undefined;

/** Called by long loops anywhere (the pass manager, lowering): `done` of `total` units of `phase`. */
export function reportProgress(phase: string, done: number, total: number, what = ''): void {
  sink?.(phase, done, total, what);
}

/**
 * Run `fn` with a bar for every phase reported inside it (a no-op off a terminal, see progressEnabled,
 * and when not `wanted`: a caller that prints to stderr while working passes false).
 * A phase's bar is erased when it reaches its total, and whatever is left when `fn` ends or throws,
 * so output printed after the work never shares a line with a bar.
 */
export async function withProgress<T>(fn: () => Promise<T>, wanted = true, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  if (!wanted || !progressEnabled(stream) || sink) return fn();
  let bar: Progress | undefined, phase = '', at = 0;
  sink = (p, done, total, what) => {
    if (p !== phase || !bar) { bar?.done(); bar = progress(p, total, stream); phase = p; at = 0; }
    bar.tick(done - at, what);
    at = done;
    if (done >= total) { bar.done(); bar = undefined; phase = ''; }
  };
  try {
    return await fn();
  } finally {
    bar?.done();
    sink = undefined;
  }
}
