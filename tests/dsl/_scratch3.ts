import * as fs from 'node:fs';
import { parseGraph, printGraph } from '@aic/dsl';
for (const f of fs.readdirSync('tests/dsl/golden').filter(f => f.endsWith('.aic'))) {
  const t = fs.readFileSync('tests/dsl/golden/' + f, 'utf8');
  try {
    const o = printGraph(parseGraph(t, { file: f, allowUnknownOps: f === 'custom.aic' }));
    console.log(f, o === t); if (o !== t) console.log(o);
  } catch (e: any) { console.log(f, e.format ? e.format() + '\n' + (e.detail ?? '') : e); }
}
