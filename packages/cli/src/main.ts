/** The `aic` command line. Each command lives in commands/; this file only wires options. */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_MAX_TENSOR_BYTES, diag, formatBytes, setMaxTensorBytes, withProgress } from '@aic/core';
import { checkCommand } from './commands/check.ts';
import { compileCommand, targetTable } from './commands/compile.ts';
import { convertCommand } from './commands/convert.ts';
import { inspectCommand } from './commands/inspect.ts';
import { RUN_DEFAULT_WHY, runCommand } from './commands/run.ts';
import { optCommand } from './commands/opt.ts';
import { bisectCommand } from './commands/bisect.ts';
import { registerVizCommands } from './commands/register-viz.ts';
import { registerTuneCommand } from './commands/tune.ts';
import { gradCommand } from './commands/grad.ts';
import { trainStepCommand } from './commands/train-step.ts';
import { registerQuantizeCommand } from './commands/register-quantize.ts';
import { addPipelineOptions, listPassesText } from './pipeline-options.ts';
import { maxTensorBytesOption } from './model-io.ts';
import { progressWanted, reportError, setVerbose, setupColors } from './ui.ts';

const VERSION = '0.1.0';
const collect = (v: string, prev: string[] = []) => prev.concat([v]);

setupColors();
const program = new Command();
program
  .name('aic')
  .description('aic — an AI compiler toolchain: ONNX or .aic DSL -> graph IR -> optimized kernels for C, WebAssembly SIMD and WGSL')
  .version(VERSION)
  .option('--verbose', 'print notes and stack traces')
  .option('--max-tensor-bytes <size>', `largest tensor any value may be (e.g. 512M, 8G; default ${formatBytes(DEFAULT_MAX_TENSOR_BYTES)})`)
  .showHelpAfterError('(run aic --help, or aic <command> --help)')
  .addHelpText('after', `
Exit codes: 0 success; 1 bad model/data file or failed run; 2 bad usage; 3 unsupported op/dtype/feature.
Colors are off when output is not a terminal or NO_COLOR is set.

Examples:
  aic inspect tests/fixtures/models/small_cnn.onnx
  aic run tests/fixtures/models/small_cnn.onnx --input input=tests/fixtures/models/small_cnn.input.npy --output-dir out
  aic convert model.onnx -o model.aic        # DSL text + model.bin weights
  aic check model.onnx --input-shape input=1x3x224x224
  aic opt model.onnx -O2 --stats -o model.opt.aic   # optimized DSL + model.opt.bin
  aic bisect model.onnx -O3                   # which pass changes the results?
  aic opt --list-passes`);
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

const shapeOpt = () => new Option('--input-shape <NAME=DIMS>', 'bind symbolic input dims, e.g. input=1x3x224x224 (repeatable)').argParser(collect);
let exitCode = 0;
let currentArgs: string[] = [];
const wrap = <A extends unknown[]>(fn: (...a: A) => Promise<number>) => async (...a: A) => {
  setVerbose(Boolean(program.opts().verbose));
  setMaxTensorBytes(maxTensorBytesOption(program.opts().maxTensorBytes));
  exitCode = await withProgress(() => fn(...a), progressWanted(currentArgs));
};
/** For commands with the pipeline options: --list-passes needs no model; otherwise the model is required. */
const withPipeline = <O extends { listPasses?: boolean }>(name: string, fn: (m: string, o: O) => Promise<number>) =>
  wrap(async (m: string | undefined, o: O) => {
    if (o.listPasses) { process.stdout.write(listPassesText()); return 0; }
    if (!m) throw diag.usage(`${name} needs a MODEL (an .onnx model or .aic DSL file)`);
    return fn(m, o);
  });

program.command('inspect')
  .description('show inputs/outputs, op histogram, node count, parameters and FLOPs')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .option('--json', 'machine-readable output (keys: inputs, outputs, nodes, ops, params, paramBytes, flops)')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => inspectCommand(m, o)));

program.command('check')
  .description('list what stops a model from compiling: unsupported ops (with node names), opsets, unbound dims; on a compiled target with none of those, the compile itself (nothing written)')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .option('--target <target>', 'target to check against', 'interp')
  .addOption(shapeOpt())
  .addOption(new Option('--const-input <NAME=FILE>', 'treat a shape-deciding input as a constant').argParser(collect))
  .action(wrap((m: string, o) => checkCommand(m, o)));

program.command('convert')
  .description('convert between ONNX and the .aic DSL (weights go to a .bin sidecar next to the .aic)')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .requiredOption('-o, --output <file>', 'OUT.aic or OUT.onnx')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => convertCommand(m, o)));

const runCmd = program.command('run')
  .description('run a model (optimized, -O2 by default) and write every output as DIR/<output name>.npy')
  .argument('[model]', 'an .onnx model or .aic DSL file')
  .option('--target <target>', 'where to run: interp (reference interpreter), c (generated C built with the system cc; CC/CFLAGS override), wasm-simd / wasm (the generated model.mjs) or wgsl (WebGPU via Dawn; SwiftShader without a GPU)', 'interp')
  .addOption(new Option('--input <NAME=FILE>', 'input tensor from .npy or ONNX TensorProto .pb (repeatable; FILE alone for a one-input model)').argParser(collect))
  .option('--output-dir <dir>', 'where to write outputs', '.')
  .addOption(new Option('--tuning-log <file>', 'compiled targets: compile with the fastest record per kernel of a log from aic tune (repeatable)').argParser(collect))
  .addOption(new Option('--wgsl-limit <NAME=VALUE>', 'target wgsl: compile for a device granting this WebGPU limit, e.g. maxStorageBufferBindingSize=1G for a weight over 128 MiB (repeatable; default: the limits every WebGPU device has)').argParser(collect))
  .addOption(shapeOpt());
addPipelineOptions(runCmd, undefined, RUN_DEFAULT_WHY)
  .action(withPipeline('run', (m, o) => runCommand(m, o)));

const opt = program.command('opt')
  .description('optimize a model with a pass pipeline and write it as DSL (+ .bin weights) or ONNX')
  .argument('[model]', 'an .onnx model or .aic DSL file')
  .option('-o, --output <file>', 'OUT.aic (DSL + OUT.bin weights) or OUT.onnx (only when every op of the result is standard ONNX)')
  .addOption(shapeOpt())
  .addHelpText('after', `
Fused ops (domain 'aic') have no standard ONNX form: write -o OUT.aic for -O2/-O3 results (exit 3 otherwise).
Examples:
  aic opt model.onnx -o model.opt.aic --stats
  aic opt model.onnx --pipeline fold-constants,eliminate-dead-nodes -o model.clean.onnx
  aic opt model.onnx -O3 --explain --verify-each=numeric -o model.o3.aic`);
addPipelineOptions(opt).action(withPipeline('opt', (m, o) => optCommand(m, o)));

const bisect = program.command('bisect')
  .description('find the first pass of a pipeline that changes a model\'s results (exit 0: none does; 1: names the pass and node)')
  .argument('[model]', 'an .onnx model or .aic DSL file')
  .addOption(new Option('--input <NAME=FILE>', 'input tensor (.npy or .pb); inputs not given get seeded random values (repeatable)').argParser(collect))
  .option('--seed <n>', 'seed for the random inputs', '1')
  .option('--rtol <x>', 'relative tolerance', '1e-3')
  .option('--atol <x>', 'absolute tolerance', '1e-4')
  .addOption(shapeOpt())
  .addOption(new Option('-O, --opt-level <level>', 'the -O pipeline to bisect (default: 2)'))
  .addOption(new Option('--pipeline <passes>', 'an explicit pass list to bisect instead of -O'))
  .option('--list-passes', 'list the passes and the -O pipelines, then exit');
bisect.action(withPipeline('bisect', (m, o) => bisectCommand(m, o)));

const compileCmd = program.command('compile')
  .description('compile a model for a target; without a model, list the targets')
  .argument('[model]', 'an .onnx model or .aic DSL file')
  .option('--target <target>', 'target to emit')
  .option('-o, --output <dir>', 'output directory')
  .option('--list-targets', 'list targets and what each can do')
  .option('--emit <form>', 'print instead of writing files: loops (loop-nest IR), schedule (every kernel\'s schedule), c (model.c), wat (wasm text), wgsl (kernels)')
  .option('--schedule <file>', 'override kernel schedules: `kernel NAME { split i1 by 8; vectorize i1_i }` blocks (see --emit schedule)')
  .option('--plain-loops', 'plain loop nests, no default schedules (a research baseline)')
  .addOption(new Option('--tuning-log <file>', 'apply the fastest record per kernel of a log from aic tune (repeatable; --schedule still overrides)').argParser(collect))
  .option('--embed-weights', 'wasm targets: put the weights inside model.wasm instead of model.weights')
  .addOption(new Option('--wgsl-limit <NAME=VALUE>', 'target wgsl: compile for a device granting this WebGPU limit, e.g. maxStorageBufferBindingSize=1G for a weight over 128 MiB (repeatable; default: the limits every WebGPU device has)').argParser(collect))
  .addOption(new Option('--const-input <NAME=FILE>', 'bind an input whose value decides a shape (Reshape shape, Slice starts...) to a constant (repeatable)').argParser(collect))
  .addOption(shapeOpt())
  .addOption(new Option('--max-shape <NAME=N>', 'the largest value a symbolic dim (--input-shape input=Nx3x224x224) takes at run time (repeatable)').argParser(collect))
  .addHelpText('after', `\nTargets:\n${targetTable()}\n\nExamples:\n  aic compile model.onnx --target c -o out/   # out/model.c, model.h, model.weights, README.md\n  aic compile model.onnx --target c --emit loops\n  aic compile model.onnx --target c --stats -o out/   # peak activation memory next to the naive sum`);
addPipelineOptions(compileCmd)
  .action(wrap(async (m: string | undefined, o) => {
    if (o.listPasses) { process.stdout.write(listPassesText()); return 0; }
    return compileCommand(m, o);
  }));

program.command('grad')
  .description('write the gradient model: loss on the first output, then d loss / d parameter for each parameter')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .option('--loss <kind>', 'reverse mode: sum | mean | cross-entropy (first output = logits; adds int64 input labels) | mse (adds input target)')
  .option('--wrt <names>', "reverse mode: 'params' (float initializers, the default) or a comma-separated list of value names")
  .option('--mode <mode>', 'reverse (gradients of a loss, the default) or forward (Jacobian-vector products of the outputs)')
  .addOption(new Option('--tangent <NAME=FILE>', 'forward mode: the direction for value NAME (.npy/.pb; NAME alone adds an input NAME_tangent); repeatable').argParser(collect))
  .requiredOption('-o, --output <file>', 'OUT.onnx or OUT.aic; outputs: loss, then <name>_grad (forward mode: the outputs, then <output>_tangent)')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => gradCommand(m, o)));

program.command('train-step')
  .description('write one training step (sgd, momentum, adam) as a graph: loss, the updated parameters and optimizer state (initial ones in OUT.params/)')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .requiredOption('--loss <kind>', 'sum | mean | cross-entropy (adds int64 input labels) | mse (adds input target)')
  .option('--optimizer <name>', 'sgd | momentum (torch.optim.SGD momentum, dampening 0) | adam (ONNX Adam)', 'sgd')
  .requiredOption('--lr <x>', 'learning rate')
  .option('--momentum <x>', 'momentum: velocity decay (default 0.9)')
  .option('--nesterov', 'momentum: Nesterov step')
  .option('--beta1 <x>', 'adam: first moment decay (default 0.9)')
  .option('--beta2 <x>', 'adam: second moment decay (default 0.999)')
  .option('--eps <x>', 'adam: added to sqrt of the second moment (default 1e-8)')
  .option('--weight-decay <x>', 'L2 weight decay added to each gradient (torch.optim weight_decay), any optimizer (default 0)')
  .option('--batchnorm <mode>', 'train: BatchNormalization uses batch statistics and carries its running ones (torch model.train()); model (default): as the model says')
  .requiredOption('-o, --output <file>', 'OUT.onnx or OUT.aic; inputs: the model\'s, labels/target, each parameter; outputs: loss, <param>_next')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => trainStepCommand(m, o)));

registerVizCommands(program, withPipeline);
registerQuantizeCommand(program, wrap);
registerTuneCommand(program, withPipeline);

/**
 * Run the CLI on `argv` (as process.argv: node, script, args...) and return the exit code; never calls
 * process.exit, so it can run in-process (the fuzzer calls it once per case). Output goes to process.stdout/stderr.
 */
export async function main(argv: string[]): Promise<number> {
  exitCode = 0;
  currentArgs = argv;
  try {
    // a bare --verify-each means structure checks: keep commander from taking the next argument as its mode
    await program.parseAsync(argv.map((a) => (a === '--verify-each' ? '--verify-each=structure' : a)));
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version print and exit 0; everything else commander rejects is usage (exit 2)
      exitCode = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    } else {
      exitCode = reportError(e);
    }
  }
  if (program.args.length === 0 && argv.length <= 2) {
    program.outputHelp();
    exitCode = 2;
  }
  return exitCode;
}
void diag;
