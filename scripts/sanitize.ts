/**
 * The sanitizer sweep: the generated C of the shared models ($AIC_SHARED_MODELS or ../shared/models;
 * missing ones are skipped) and of every C-passing node test, built with -fsanitize=address,undefined
 * -fno-sanitize-recover=all, run on the test inputs. Prints every non-clean case and a summary;
 * exits 1 unless all are clean.
 *   npx tsx scripts/sanitize.ts [--models-only | --nodes-only] [FILTER...]
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cPassingNodeTests, sanitizeModel, sanitizeNodeTest, type SanResult } from './sanitizers.ts';

const SHARED = process.env.AIC_SHARED_MODELS ?? path.resolve(import.meta.dirname, '../../shared/models');
const MODELS = ['small_cnn', 'squeezenet1_1', 'tiny_bert', 'mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const pick = (n: string) => filters.length === 0 || filters.some((f) => n.includes(f));

const results: SanResult[] = [];
const report = (r: SanResult) => {
  results.push(r);
  if (r.status !== 'clean') console.log(`${r.status.padEnd(7)} ${r.name}: ${r.detail}`);
};
if (!args.includes('--nodes-only')) {
  for (const m of MODELS.filter(pick)) {
    if (!fs.existsSync(path.join(SHARED, `${m}.json`))) { console.log(`skipped ${m} (not in ${SHARED})`); continue; }
    report(sanitizeModel(SHARED, m));
    console.log(`model ${m}: ${results.at(-1)!.status} (${(results.at(-1)!.ms / 1000).toFixed(1)} s)`);
  }
}
if (!args.includes('--models-only')) for (const t of cPassingNodeTests().filter(pick)) report(sanitizeNodeTest(t));
const count = (s: string) => results.filter((r) => r.status === s).length;
console.log(`sanitizers: ${count('clean')} clean / ${results.length} (report ${count('report')}, wrong ${count('wrong')}, error ${count('error')})`);
process.exitCode = count('clean') === results.length ? 0 : 1;
