/** aic compile MODEL --target T -o DIR: emits a compiled artifact (targets land one by one). */
import { diag } from '@aic/core';
import { TARGETS, findTarget } from '@aic/codegen';
import { resolvePipeline, type PipelineCliOptions } from '../pipeline-options.ts';

export interface CompileOptions extends PipelineCliOptions { target?: string; output?: string; listTargets?: boolean }

export function targetTable(): string {
  const w = Math.max(...TARGETS.map((t) => t.name.length));
  return TARGETS.map((t) => `  ${t.name.padEnd(w)}  ${t.compile ? 'compile' : t.run ? 'run only' : 'planned'}  ${t.summary}`).join('\n');
}

export async function compileCommand(model: string | undefined, opts: CompileOptions): Promise<number> {
  const available = TARGETS.filter((t) => t.compile).map((t) => t.name);
  if (opts.listTargets || !model) {
    process.stdout.write(`targets:\n${targetTable()}\ncompile targets available so far: ${available.length ? available.join(', ') : 'none'}\n`);
    return model || opts.listTargets ? 0 : 2;
  }
  resolvePipeline(opts); // -O / --pipeline are checked now; targets optimize with optimize() once they compile
  const name = opts.target;
  if (!name) throw diag.usage(`compile needs --target; compile targets available so far: ${available.join(', ') || 'none'} (see aic compile --list-targets)`);
  const t = findTarget(name);
  if (!t) throw diag.usage(`unknown target '${name}'; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  if (!t.compile) throw diag.unsupportedFeature(`compiling for target '${name}' (not implemented yet; compile targets available: ${available.join(', ') || 'none'})`);
  return 0;
}
