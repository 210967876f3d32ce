/** The `aic` command line. Each command lives in commands/; this file only wires options. */
import { Command, CommanderError, Option } from 'commander';
import { diag } from '@aic/core';
import { checkCommand } from './commands/check.ts';
import { compileCommand, targetTable } from './commands/compile.ts';
import { convertCommand } from './commands/convert.ts';
import { inspectCommand } from './commands/inspect.ts';
import { runCommand } from './commands/run.ts';
import { reportError, setVerbose, setupColors } from './ui.ts';

const VERSION = '0.1.0';
const collect = (v: string, prev: string[] = []) => prev.concat([v]);

setupColors();
const program = new Command();
program
  .name('aic')
  .description('aic — an AI compiler toolchain: ONNX or .aic DSL -> graph IR -> optimized kernels for C, WebAssembly SIMD and WGSL')
  .version(VERSION)
  .option('--verbose', 'print notes and stack traces')
  .showHelpAfterError('(run aic --help, or aic <command> --help)')
  .addHelpText('after', `
Exit codes: 0 success; 1 bad model/data file or failed run; 2 bad usage; 3 unsupported op/dtype/feature.
Colors are off when output is not a terminal or NO_COLOR is set.

Examples:
  aic inspect tests/fixtures/models/small_cnn.onnx
  aic run tests/fixtures/models/small_cnn.onnx --input input=tests/fixtures/models/small_cnn.input.npy --output-dir out
  aic convert model.onnx -o model.aic        # DSL text + model.bin weights
  aic check model.onnx --input-shape input=1x3x224x224`);
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

const shapeOpt = () => new Option('--input-shape <NAME=DIMS>', 'bind symbolic input dims, e.g. input=1x3x224x224 (repeatable)').argParser(collect);
let exitCode = 0;
const wrap = <A extends unknown[]>(fn: (...a: A) => Promise<number>) => async (...a: A) => {
  setVerbose(Boolean(program.opts().verbose));
  exitCode = await fn(...a);
};

program.command('inspect')
  .description('show inputs/outputs, op histogram, node count, parameters and FLOPs')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .option('--json', 'machine-readable output (keys: inputs, outputs, nodes, ops, params, paramBytes, flops)')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => inspectCommand(m, o)));

program.command('check')
  .description('list what stops a model from compiling: unsupported ops (with node names), opsets, unbound dims')
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

program.command('run')
  .description('run a model and write every output as DIR/<output name>.npy')
  .argument('<model>', 'an .onnx model or .aic DSL file')
  .option('--target <target>', 'where to run: interp (reference interpreter)', 'interp')
  .addOption(new Option('--input <NAME=FILE>', 'input tensor from .npy or ONNX TensorProto .pb (repeatable; FILE alone for a one-input model)').argParser(collect))
  .option('--output-dir <dir>', 'where to write outputs', '.')
  .addOption(shapeOpt())
  .action(wrap((m: string, o) => runCommand(m, o)));

program.command('compile')
  .description('compile a model for a target; without a model, list the targets')
  .argument('[model]', 'an .onnx model or .aic DSL file')
  .option('--target <target>', 'target to emit')
  .option('-o, --output <dir>', 'output directory')
  .option('--list-targets', 'list targets and what each can do')
  .addHelpText('after', `\nTargets:\n${targetTable()}`)
  .action(wrap((m: string | undefined, o) => compileCommand(m, o)));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // help / version print and exit 0; everything else commander rejects is usage (exit 2)
    exitCode = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
  } else {
    exitCode = reportError(e);
  }
}
if (program.args.length === 0 && process.argv.length <= 2) {
  program.outputHelp();
  exitCode = 2;
}
void diag;
process.exitCode = exitCode;
