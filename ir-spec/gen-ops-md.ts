/**
 * Generates ir-spec/OPS.md from the op definitions (npm run gen:ops). A test checks the file is
 * up to date, so the docs never drift from the registry.
 */
import * as fs from 'node:fs';
import { allOps, type OpDef } from './index.ts';

function sig(d: OpDef): string {
  const ins = d.inputs.map((i) => `${i.name}${i.variadic ? '...' : ''}${i.optional ? '?' : ''}`).join(', ');
  const outs = d.outputs.map((o) => `${o.name}${o.variadic ? '...' : ''}${o.optional ? '?' : ''}`).join(', ');
  return `(${ins}) -> (${outs})`;
}
function attrs(d: OpDef): string {
  const a = Object.entries(d.attrs).map(([k, s]) => `${k}: ${s.type}${s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : s.required ? ' (required)' : ''}`);
  return a.length ? a.join('; ') : '-';
}
function onnx(d: OpDef): string {
  if (!d.onnx) return '-';
  const dom = d.onnx.domain ? `${d.onnx.domain}::` : '';
  return `${dom}${d.onnx.opType ?? d.name} ${d.onnx.since}..${d.onnx.until ?? ''}`.trim();
}

export function renderOpsMd(): string {
  const ops = allOps();
  const lines = [
    '# Operator reference',
    '',
    `Generated from ir-spec/ops/*.ts by \`npm run gen:ops\`; do not edit. ${ops.length} ops.`,
    '',
    'Each op has one definition: signature, attributes with defaults, type/shape inference and',
    'verification, reference semantics (used by the interpreter and constant folding) and its ONNX',
    'mapping (op type, domain, opset range; older opset forms are normalized on import).',
    '',
  ];
  const cats = [...new Set(ops.map((o) => o.category))].sort();
  for (const cat of cats) {
    lines.push(`## ${cat}`, '', '| op | signature | attributes | ONNX (opsets) | summary |', '| --- | --- | --- | --- | --- |');
    for (const d of ops.filter((o) => o.category === cat)) {
      const name = d.domain ? `${d.domain}.${d.name}` : d.name;
      lines.push(`| ${name} | \`${sig(d)}\` | ${attrs(d).replace(/\|/g, '\\|')} | ${onnx(d)} | ${d.summary.replace(/\|/g, '\\|')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  fs.writeFileSync(new URL('./OPS.md', import.meta.url), renderOpsMd());
  console.log(`wrote ir-spec/OPS.md (${allOps().length} ops)`);
}
