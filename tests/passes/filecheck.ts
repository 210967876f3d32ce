/**
 * A small FileCheck: a golden pass test is one .aic file whose comment lines say what to run and
 * what the printed result must contain.
 *
 *   # RUN: fold-constants,eliminate-dead-nodes      (pipeline; may repeat to chain)
 *   # CHECK: y: f32[4] = Relu(x)                     (a later line contains this text)
 *   # CHECK-NEXT: ...                                (the very next line contains it)
 *   # CHECK-NOT: Add(                                (no line between the surrounding matches has it)
 *   # CHECK-COUNT-2: Conv(                           (exactly 2 lines contain it, anywhere)
 *   # NUMERIC: off                                   (skip the numeric-equivalence check)
 *   graph ... { ... }
 */
export interface GoldenSpec { pipeline: string; checks: { kind: 'CHECK' | 'CHECK-NEXT' | 'CHECK-NOT' | `CHECK-COUNT-${number}`; text: string; line: number }[]; numeric: boolean }

export function parseGolden(text: string): GoldenSpec {
  const pipes: string[] = [];
  const checks: GoldenSpec['checks'] = [];
  let numeric = true;
  text.split('\n').forEach((l, i) => {
    const m = /^\s*#\s*(RUN|CHECK(?:-NEXT|-NOT|-COUNT-\d+)?|NUMERIC):\s?(.*)$/.exec(l);
    if (!m) return;
    if (m[1] === 'RUN') pipes.push(m[2].trim());
    else if (m[1] === 'NUMERIC') numeric = m[2].trim() !== 'off';
    else checks.push({ kind: m[1] as GoldenSpec['checks'][number]['kind'], text: m[2].trim(), line: i + 1 });
  });
  return { pipeline: pipes.join(','), checks, numeric };
}

/** Returns undefined when every check holds, else a message naming the failing check. */
export function fileCheck(output: string, checks: GoldenSpec['checks']): string | undefined {
  const lines = output.split('\n').filter((l) => !/^\s*#/.test(l));
  let pos = -1;
  let pendingNot: GoldenSpec['checks'] = [];
  for (const c of checks) {
    if (c.kind.startsWith('CHECK-COUNT-')) {
      const n = Number(c.kind.slice('CHECK-COUNT-'.length));
      const got = lines.filter((l) => l.includes(c.text)).length;
      if (got !== n) return `line ${c.line}: ${c.kind}: '${c.text}' found ${got} times`;
      continue;
    }
    if (c.kind === 'CHECK-NOT') { pendingNot.push(c); continue; }
    let found = -1;
    if (c.kind === 'CHECK-NEXT') {
      if (lines[pos + 1]?.includes(c.text)) found = pos + 1;
      else return `line ${c.line}: CHECK-NEXT: '${c.text}' is not on the line after '${lines[pos] ?? ''}'`;
    } else {
      for (let i = pos + 1; i < lines.length; i++) if (lines[i].includes(c.text)) { found = i; break; }
      if (found < 0) return `line ${c.line}: CHECK: '${c.text}' not found after line ${pos + 1}`;
    }
    for (const nc of pendingNot) {
      for (let i = pos + 1; i < found; i++) if (lines[i].includes(nc.text)) return `line ${nc.line}: CHECK-NOT: '${nc.text}' found: '${lines[i]}'`;
    }
    pendingNot = [];
    pos = found;
  }
  for (const nc of pendingNot) {
    for (let i = pos + 1; i < lines.length; i++) if (lines[i].includes(nc.text)) return `line ${nc.line}: CHECK-NOT: '${nc.text}' found: '${lines[i]}'`;
  }
  return undefined;
}
