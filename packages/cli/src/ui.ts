/** Terminal output: colors (chalk) only on a TTY without NO_COLOR; errors as one line on stderr. */
import chalk from 'chalk';
import { AicError } from '@aic/core';

export function setupColors(): void {
  if (process.env.NO_COLOR !== undefined || !process.stdout.isTTY || !process.stderr.isTTY) chalk.level = 0;
}

export const c = {
  bold: (s: string) => chalk.bold(s),
  dim: (s: string) => chalk.dim(s),
  ok: (s: string) => chalk.green(s),
  warn: (s: string) => chalk.yellow(s),
  err: (s: string) => chalk.red(s),
  name: (s: string) => chalk.cyan(s),
};

export let verbose = false;
/** Progress bars (stderr, terminals only) unless the command prints to stderr while it works. */
export function progressWanted(args: readonly string[]): boolean {
  return !verbose && !args.some((a) => /^--(print-ir-(before|after)|explain|stats|verify-each)\b/.test(a));
}
export function setVerbose(v: boolean): void { verbose = v; }
export function note(msg: string): void { if (verbose) process.stderr.write(c.dim(`note: ${msg}`) + '\n'); }

/** Print an error and return its exit code (1 bad input/run, 2 usage, 3 unsupported). */
export function reportError(e: unknown): number {
  if (e instanceof AicError) {
    const line = e.format();
    const i = line.indexOf('error ');
    process.stderr.write(`aic: ${line.slice(0, i)}${c.err('error')}${line.slice(i + 5)}\n`);
    if (e.detail) process.stderr.write(e.detail.endsWith('\n') ? e.detail : e.detail + '\n');
    if (verbose && e.stack) process.stderr.write(c.dim(e.stack) + '\n');
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`aic: ${c.err('internal error')}: ${err?.message ?? String(e)}${verbose ? '' : ' (run with --verbose for the stack trace)'}\n`);
  if (verbose && err?.stack) process.stderr.write(err.stack + '\n');
  return 1;
}
