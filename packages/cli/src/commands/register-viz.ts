/** The options of `aic viz` and `aic profile` (registered from main.ts). */
import { Option, type Command } from 'commander';
import { addPipelineOptions } from '../pipeline-options.ts';
import { vizCommand, type VizOptions } from './viz.ts';
import { profileCommand, type ProfileOptions } from './profile.ts';

const collect = (v: string, prev: string[] = []) => prev.concat([v]);
type WithPipeline = <O extends { listPasses?: boolean }>(name: string, fn: (m: string, o: O) => Promise<number>) => (m: string | undefined, o: O) => Promise<void>;

export function registerVizCommands(program: Command, withPipeline: WithPipeline): void {
  const shapeOpt = () => new Option('--input-shape <NAME=DIMS>', 'bind symbolic input dims, e.g. input=1x3x224x224 (repeatable)').argParser(collect);
  const viz = program.command('viz')
    .description('draw the graph before and after optimization as one self-contained HTML page (fusion, layouts, kernel times)')
    .argument('[model]', 'an .onnx model or .aic DSL file')
    .option('-o, --output <file>', 'the HTML file to write')
    .option('--profile <file>', 'color each kernel by its share of the run time (JSON from aic profile --json)')
    .option('--target <target>', 'optimize for this target (default: the profile\'s, else c)')
    .addOption(shapeOpt())
    .addHelpText('after', `
The page needs no network: open it from disk. Drag to pan, wheel to zoom, click a node for its
details, ⊞ on a fused node expands it to the nodes it replaced; NC4HW4 (blocked) nodes have a dashed
blue border, layout conversions are orange.
Examples:
  aic viz model.onnx -o model.html
  aic profile model.onnx --target c --json prof.json && aic viz model.onnx --profile prof.json -o model.html`);
  addPipelineOptions(viz).action(withPipeline('viz', (m, o: VizOptions) => vizCommand(m, o)));

  const prof = program.command('profile')
    .description('time every kernel of a compiled model: median ms, share, GFLOP/s, GB/s and % of the machine\'s measured peak')
    .argument('[model]', 'an .onnx model or .aic DSL file')
    .option('--target <target>', 'c or wasm-simd (also wasm)', 'c')
    .option('--runs <n>', 'timed runs (after one warm-up)', '20')
    .option('--json <file>', 'also write the report as JSON (what aic viz --profile reads)')
    .option('--top <n>', 'table rows, slowest first (0: all)', '25')
    .addOption(new Option('--input <NAME=FILE>', 'input tensor (.npy or .pb); inputs not given get seeded random values (repeatable)').argParser(collect))
    .option('--seed <n>', 'seed for the random inputs', '1')
    .option('--remeasure-peak', 'measure the machine\'s peak again instead of reading the cached one (~/.cache/aic/peak/)')
    .addOption(new Option('--tuning-log <file>', 'compile with the fastest record per kernel of a log from aic tune (repeatable)').argParser(collect))
    .option('--schedule <file>', 'override kernel schedules, as aic compile --schedule (`kernel NAME { ... }` blocks; they win over --tuning-log)')
    .addOption(shapeOpt())
    .addHelpText('after', `
The peak (GFLOP/s of a generated multiply-add kernel, GB/s of a 64 MiB streaming read) is measured once
per target, CPU and compiler and cached; on a busy machine remeasure it when idle. %peak compares
kernels with FLOPs to the FLOP peak and the others to the streaming bandwidth (data already in cache
can go past 100%). C times every kernel call inside the model (clock_gettime); wasm calls the
exported kernels one by one from JavaScript.
Examples:
  aic profile model.onnx --target c --runs 50
  aic profile model.onnx --target wasm-simd --json prof.json && aic viz model.onnx --profile prof.json -o model.html
  aic compile model.onnx --target c -O3 --emit schedule > s.txt   # edit one kernel's block, then
  aic profile model.onnx --target c -O3 --schedule s.txt`);
  addPipelineOptions(prof).action(withPipeline('profile', (m, o: ProfileOptions) => profileCommand(m, o)));
}
