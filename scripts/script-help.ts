/**
 * `--help` / `-h` for the benchmarks and scripts: print the file's leading doc comment (its usage)
 * and exit 0 before the script starts any work. Every script that reads process.argv calls it first.
 */
import * as fs from 'node:fs';

/** The leading block comment of a source file, without its comment markers. */
export function leadingDoc(source: string): string {
  const m = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(source);
  if (!m) return '';
  return m[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
}

/** Print the usage of the script at `file` and exit 0 when its arguments ask for help. */
export function exitOnHelp(file: string, argv: string[] = process.argv.slice(2)): void {
  if (!argv.includes('--help') && !argv.includes('-h')) return;
  process.stdout.write(`${leadingDoc(fs.readFileSync(file, 'utf8')) || `${file}: no usage text`}\n`);
  process.exit(0);
}
