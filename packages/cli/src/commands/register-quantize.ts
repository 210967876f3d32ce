/** The options of `aic quantize` (registered from main.ts). */
import { Option, type Command } from 'commander';
import { quantizeCommand, type QuantizeCliOptions } from './quantize.ts';

const collect = (v: string, prev: string[] = []) => prev.concat([v]);
type Wrap = <A extends unknown[]>(fn: (...a: A) => Promise<number>) => (...a: A) => Promise<void>;

export function registerQuantizeCommand(program: Command, wrap: Wrap): void {
  program.command('quantize')
    .description('post-training int8 quantization: calibrate on sample inputs, write a QDQ model (ONNX Runtime runs it) or DSL')
    .argument('<model>', 'an .onnx model or .aic DSL file')
    .option('--calibrate <dir>', 'folder of .npy samples, one per file, shaped as the input (several inputs: DIR/<input name>/*.npy matched by file name)')
    .option('-o, --output <file>', 'OUT.onnx (QDQ model) or OUT.aic (DSL + .bin weights)')
    .option('--method <m>', 'activation ranges: minmax | percentile | entropy (KL divergence, as TensorRT)', 'minmax')
    .option('--percentile <p>', 'with --method percentile: the percentile of |x| kept (default 99.999)')
    .option('--per-channel', 'one weight scale per output channel (the default)')
    .option('--per-tensor', 'one weight scale per tensor')
    .option('--activations <type>', 'activation type: uint8 (default) or int8, asymmetric', 'uint8')
    .option('--exclude <nodes...>', 'node names to leave in float (see --report)')
    .option('--report', 'print per-layer SQNR (dB) of the quantized model on the calibration samples, worst first')
    .option('--report-json <file>', 'write the per-layer SQNR report as JSON')
    .addOption(new Option('--input-shape <NAME=DIMS>', 'bind symbolic input dims, e.g. input=1x3x224x224 (repeatable)').argParser(collect))
    .addHelpText('after', `
Quantizes Conv, MatMul and Gemm (int8 symmetric weights, per output channel by default; int32 biases;
activations around them); a Relu/Clip right after a layer is its epilogue. BatchNormalization is folded
into the weights first. Other ops stay float between DequantizeLinear and QuantizeLinear.
Examples:
  aic quantize model.onnx --calibrate calib/ -o model.int8.onnx --report
  aic quantize model.onnx --calibrate calib/ --method entropy --exclude /fc/Gemm -o model.int8.onnx`)
    .action(wrap((m: string, o: QuantizeCliOptions) => quantizeCommand(m, o)));
}
