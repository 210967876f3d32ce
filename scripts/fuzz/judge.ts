/**
 * Judging a case: aic must exit 0/1/2/3, print no stack trace (without --verbose), say nothing of an internal
 * error, end in time, and leave no file behind when it fails (no temporary files ever). Failures that match a
 * defect being fixed elsewhere are labelled 'known (defect N)'.
 */
export type Outcome = 'ok' | 'rejected' | 'internal-error' | 'codegen-error' | 'stack-trace' | 'bad-exit' | 'leftover' | 'hang' | 'crash' | 'oom';
export const PASSING: readonly Outcome[] = ['ok', 'rejected'];

export interface RunResult {
  /** exit code, or null when killed / crashed */
  exit: number | null;
  stdout: string;
  stderr: string;
  /** files and folders the run created in the case folder */
  created: string[];
  /** set by the pool when the worker died, hung or grew too large */
  killed?: 'hang' | 'crash' | 'oom';
}

const CODEGEN = /cc failed compiling the generated C|does not validate \(a bug|lowering \w+ failed/;
const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

export function judge(r: RunResult): { outcome: Outcome; why: string } {
  if (r.killed) return { outcome: r.killed, why: firstLine(r.stderr) || r.killed };
  const text = `${r.stdout}\n${r.stderr}`;
  if (/internal error/i.test(text)) return { outcome: 'internal-error', why: lineOf(text, /internal error/i) };
  if (STACK.test(text)) return { outcome: 'stack-trace', why: lineOf(text, STACK) };
  // diagnostics that report a bug of aic itself: generated code that does not build or validate
  if (CODEGEN.test(r.stderr)) return { outcome: 'codegen-error', why: lineOf(r.stderr, CODEGEN) };
  if (r.exit === null || r.exit < 0 || r.exit > 3) return { outcome: 'bad-exit', why: `exit ${r.exit}: ${firstLine(r.stderr)}` };
  const tmp = r.created.filter((f) => /\.tmp\b|\.tmp\d*$/.test(f));
  if (tmp.length) return { outcome: 'leftover', why: `temporary files left: ${tmp.join(', ')}` };
  if (r.exit !== 0 && r.created.length) return { outcome: 'leftover', why: `exit ${r.exit} but wrote ${r.created.slice(0, 5).join(', ')}` };
  return r.exit === 0 ? { outcome: 'ok', why: '' } : { outcome: 'rejected', why: firstLine(r.stderr) };
}

const firstLine = (s: string) => s.split('\n').find((l) => l.trim()) ?? '';
function lineOf(s: string, re: RegExp): string { return s.split('\n').find((l) => re.test(l))?.trim() ?? ''; }

/** Known defects fixed in other branches (issue 9): [defect, pattern over the message and the mutations]. */
const KNOWN: [number, RegExp][] = [
  [4, /cannot write (string|bfloat16) tensors as \.npy|holds uint16 but the model expects bfloat16/],
  [6, /Array buffer allocation failed|Invalid typed array length: \d{9,}|heap out of memory/],
  [9, /ENOTEMPTY|\.cache\/aic\/c\/.*\.tmp/],
];

/** a hang, runaway memory or broken code after a mutation that can make a size absurd (a huge dim, data that decides a size): defect 6 */
const ABSURD_SIZE = /huge dim|dims huge|int64 value|^input \d+: /;

export function knownDefect(outcome: Outcome, why: string, stderr: string, what: string[]): number | undefined {
  if ((outcome === 'hang' || outcome === 'oom' || outcome === 'codegen-error') && what.some((w) => ABSURD_SIZE.test(w))) return 6;
  // a compiled target lowering an op at an opset the interpreter refuses (the op type or opset was changed)
  if (outcome === 'codegen-error' && /lowering \w+ failed/.test(why) && what.some((w) => /^(op-type|opset):/.test(w))) return 3;
  return KNOWN.find(([, re]) => re.test(why) || re.test(stderr))?.[0];
}

/** A key that groups failures of one class: the outcome and the message with names and numbers blanked. */
export function classKey(outcome: Outcome, why: string): string {
  const msg = why.replace(/^aic: /, '').replace(/'[^']*'/g, "'_'").replace(/"[^"]*"/g, '"_"').replace(/\d+(\.\d+)?/g, 'N').replace(/\s+/g, ' ');
  return `${outcome}: ${msg.slice(0, 160)}`;
}
