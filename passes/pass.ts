/**
 * A pass is a named, pure function Graph -> Graph, declared once (name, summary, options,
 * statistics) and registered by its kebab-case name. Pipelines are strings:
 *   "fold-constants{max-elements=65536},eliminate-dead-nodes,fuse"
 */
import { diag, type Graph } from '@aic/core';

export type OptionValue = number | boolean | string;
export interface OptionSpec { type: 'number' | 'boolean' | 'string'; default: OptionValue; doc: string }

/** A fusion / rewrite decision, for --explain. */
export interface ExplainRecord { pass: string; rule: string; node: string; outcome: 'applied' | 'rejected'; reason?: string }

export interface PassContext {
  options: Record<string, OptionValue>;
  /** counters this pass changed (printed by --stats) */
  stats: Record<string, number>;
  /** receives every candidate considered, when --explain is on */
  explain?: (r: ExplainRecord) => void;
  /** what the compilation target can do (kernels available, vector width); undefined = interpreter */
  target?: { name: string; hasKernel?: (op: string, domain: string) => boolean; blockedInt8?: boolean };
}

export interface PassDef {
  name: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** names of the statistics counters the pass reports */
  statistics: string[];
  run(g: Graph, ctx: PassContext): Graph;
}

const registry = new Map<string, PassDef>();

export function definePass(p: PassDef): PassDef {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(p.name)) throw new Error(`pass name '${p.name}' is not kebab-case`);
  if (registry.has(p.name)) throw new Error(`pass '${p.name}' defined twice`);
  registry.set(p.name, p);
  return p;
}
export function getPass(name: string): PassDef | undefined { return registry.get(name); }
export function allPasses(): PassDef[] { return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name)); }

export interface PipelineStep { pass: PassDef; options: Record<string, OptionValue> }

/** Parse "a,b{k=v,k2=v2},c" into steps with typed options (defaults applied). */
export function parsePipeline(text: string): PipelineStep[] {
  const steps: PipelineStep[] = [];
  let i = 0;
  const s = text.trim();
  if (s === '') return steps;
  while (i < s.length) {
    const m = /^\s*([a-z0-9-]+)\s*/.exec(s.slice(i));
    if (!m) throw diag.usage(`pipeline '${text}': expected a pass name at column ${i + 1}`);
    const name = m[1];
    i += m[0].length;
    const pass = registry.get(name);
    if (!pass) {
      const near = allPasses().map((p) => p.name).find((n) => n.startsWith(name.slice(0, 4)));
      throw diag.usage(`unknown pass '${name}'${near ? ` (did you mean '${near}'?)` : ''}; passes: ${allPasses().map((p) => p.name).join(', ')}`);
    }
    const options: Record<string, OptionValue> = {};
    for (const [k, o] of Object.entries(pass.options)) options[k] = o.default;
    if (s[i] === '{') {
      const end = s.indexOf('}', i);
      if (end < 0) throw diag.usage(`pipeline '${text}': unclosed '{' after ${name}`);
      for (const kv of s.slice(i + 1, end).split(',').map((x) => x.trim()).filter(Boolean)) {
        const [k, v] = kv.split('=').map((x) => x.trim());
        const spec = pass.options[k];
        if (!spec) throw diag.usage(`pass '${name}' has no option '${k}'; options: ${Object.keys(pass.options).join(', ') || 'none'}`);
        if (spec.type === 'number') {
          if (v === undefined || Number.isNaN(Number(v))) throw diag.usage(`pass '${name}' option '${k}' needs a number`);
          options[k] = Number(v);
        } else if (spec.type === 'boolean') {
          if (v !== undefined && !['true', 'false', '1', '0'].includes(v)) throw diag.usage(`pass '${name}' option '${k}' is true or false, not '${v}' (options are separated by ',')`);
          options[k] = v === undefined || v === 'true' || v === '1';
        }
        else options[k] = v ?? '';
      }
      i = end + 1;
    }
    steps.push({ pass, options });
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i < s.length) {
      if (s[i] !== ',') throw diag.usage(`pipeline '${text}': expected ',' at column ${i + 1}`);
      i++;
    }
  }
  return steps;
}

export function formatStep(st: PipelineStep): string {
  const diff = Object.entries(st.options).filter(([k, v]) => st.pass.options[k].default !== v);
  return diff.length ? `${st.pass.name}{${diff.map(([k, v]) => `${k}=${v}`).join(',')}}` : st.pass.name;
}
