/**
 * aic check MODEL [--target T]: everything that stops this model from compiling/running: unsupported ops,
 * unbound dims and shape-deciding inputs listed together; then, on a compiled target with none of those,
 * the compile itself (without writing), so check passes exactly what compile passes.
 */
import { AicError, formatShape } from '@aic/core';
import { inferGraph, validateGraph } from '@aic/ir-spec';
import { TARGETS, findTarget } from '@aic/codegen';
import { diag } from '@aic/core';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { shapeDataInputs, symbolicInputs, unsupportedNodes } from '../analysis.ts';
import { c } from '../ui.ts';
import { compileModel } from './compile.ts';

export interface CheckOptions { target?: string; inputShape?: string[]; constInput?: string[] }

export async function checkCommand(model: string, opts: CheckOptions): Promise<number> {
  const targetName = opts.target ?? 'interp';
  const target = findTarget(targetName);
  if (!target) throw diag.usage(`unknown target '${targetName}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  const g = await loadModel(model, parseShapeOptions(opts.inputShape));
  const problems: string[] = [];
  let exit = 0;

  if (!target.compile && !target.run) {
    problems.push(`target '${target.name}' is not implemented yet (${target.summary})`);
    exit = 3;
  }
  const bad = unsupportedNodes(g, target.caps !== undefined); // compiled targets need every op's compute definition
  const groups = new Map<string, typeof bad>();
  for (const u of bad) {
    const key = `unsupported op ${u.domain}::${u.op}${u.opset !== undefined ? ` (opset ${u.opset})` : ''}: ${u.why}`;
    groups.set(key, [...(groups.get(key) ?? []), u]);
  }
  for (const [key, us] of groups) {
    const names = us.slice(0, 5).map((u) => `'${u.node}'${u.index !== undefined ? ` (#${u.index})` : ''}`).join(', ');
    problems.push(`${key}; ${us.length} node${us.length > 1 ? 's' : ''}: ${names}${us.length > 5 ? `, and ${us.length - 5} more` : ''}`);
  }
  if (bad.length) exit = 3;
  try {
    // the validation run and compile make; with unsupported nodes (listed above), inference of the rest
    if (bad.length) inferGraph(g);
    else validateGraph(g);
  } catch (e) {
    if (!(e instanceof AicError)) throw e;
    problems.push(e.format());
    exit = exit || e.exitCode;
  }
  if (target.needsStaticShapes) {
    for (const v of symbolicInputs(g)) {
      const dims = v.shape ? v.shape.map((d) => (typeof d === 'number' ? String(d) : `<${d}>`)).join('x') : '<dims>';
      problems.push(`input '${v.name}' has unbound dims ${formatShape(v.shape)}: add --input-shape ${v.name}=${dims}`);
      exit = exit || 3;
    }
    const consts = new Set((opts.constInput ?? []).map((s) => s.split('=')[0]));
    for (const s of shapeDataInputs(g)) {
      if (consts.has(s.input.name)) continue;
      problems.push(`input '${s.input.name}' decides a shape (${s.node.op} '${s.slot}' at node '${s.node.label}'): bind it with --const-input ${s.input.name}=FILE`);
      exit = exit || 3;
    }
  }
  // nothing found above, on a compiled target: everything compile does short of writing (lowering refuses
  // what no list above knows, such as a value whose size the data decides feeding a Shape: AIC0340)
  if (problems.length === 0 && target.compile && target.caps) {
    try {
      await compileModel(model, target.name, { target: target.name, inputShape: opts.inputShape, constInput: opts.constInput });
    } catch (e) {
      if (!(e instanceof AicError)) throw e;
      problems.push(e.format());
      exit = e.exitCode;
    }
  }
  if (problems.length === 0) {
    process.stdout.write(`${c.ok('ok')}: ${model} has no blockers for target '${target.name}' (${g.nodes.length} nodes)\n`);
    return 0;
  }
  process.stdout.write(`${c.err('blocked')}: ${model} cannot be ${target.compile || !target.run ? 'compiled' : 'run'} for target '${target.name}':\n`);
  for (const p of problems) process.stdout.write(`  - ${p}\n`);
  return exit;
}
