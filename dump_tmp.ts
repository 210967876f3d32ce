import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNpy, type RValue } from '@aic/core';
import { compileC, passTarget, prepareForRun } from '@aic/codegen';
import { loadModel } from '/work/main/packages/cli/src/model-io.ts';
import { optimize } from '/work/main/packages/cli/src/pipeline-options.ts';
const dir = '/work/shared/models';
const name = process.argv[2];
const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
const feeds = new Map<string, RValue>();
for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))));
const g = await loadModel(path.join(dir, meta.model ?? `${name}.onnx`));
const { graph } = optimize(g, {}, 2, () => {}, passTarget('c'));
prepareForRun(graph, feeds);
const compiled = compileC(graph, { version: 'x', source: name, sourceHash: '-' });
fs.writeFileSync(`/tmp/aic/${name}.c`, compiled.art.c);
for (const k of process.argv.slice(3)) {
  const s = compiled.art.c;
  const i = s.indexOf(`static void ${k}(`);
  const j = s.indexOf('\n}\n', i);
  console.log(s.slice(i, j + 2));
  console.log('schedule', JSON.stringify(compiled.prog.schedules.get(k)));
}
