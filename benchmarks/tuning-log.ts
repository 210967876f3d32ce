/**
 * A benchmark's `--tuning-log DIR`: the schedules of DIR/NAME.TARGET.jsonl (what tune-bench.ts --log
 * writes) for a graph, as `aic compile --tuning-log` applies them; warnings and the count go to stderr.
 * Undefined when there is no such file (the default schedules).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Graph } from '@aic/core';
import type { Directive } from '@aic/loop-ir';
import { tuningLogSchedules } from '@aic/api/internal';

export function logSchedules(dir: string | undefined, name: string, target: string, graph: Graph): Map<string, Directive[]> | undefined {
  const log = dir ? path.join(dir, `${name}.${target}.jsonl`) : '';
  if (!log || !fs.existsSync(log)) return undefined;
  const r = tuningLogSchedules(graph, target, [{ file: log, text: fs.readFileSync(log, 'utf8') }]);
  for (const w of r.warnings) process.stderr.write(`${name}: warning ${w.code}: ${w.message}\n`);
  process.stderr.write(`${name}: ${r.kernels} kernels tuned by ${log}\n`);
  return r.schedules;
}
