/**
 * aic quantize MODEL --calibrate DIR -o OUT.onnx|OUT.aic [--method minmax|percentile|entropy]
 *   [--percentile P] [--per-channel|--per-tensor] [--activations uint8|int8] [--exclude NODE...]
 *   [--report] [--report-json FILE]
 * Post-training int8 quantization to a QDQ model (passes/quantize).
 */
import * as path from 'node:path';
import { diag, writeFileAtomic } from '@aic/core';
import { quantize } from '@aic/passes';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { readCalibrationSamples } from '../calib-samples.ts';
import { writeModel } from './grad.ts';

export interface QuantizeCliOptions {
  calibrate?: string; output?: string; method?: string; percentile?: string; perChannel?: boolean; perTensor?: boolean;
  activations?: string; exclude?: string[]; report?: boolean; reportJson?: string; inputShape?: string[];
}

function parseOptions(o: QuantizeCliOptions): quantize.QuantizeOptions {
  const method = o.method ?? 'minmax';
  if (!(quantize.CALIB_METHODS as readonly string[]).includes(method)) throw diag.usage(`--method '${method}': expected ${quantize.CALIB_METHODS.join(', ')}`);
  let percentile: number | undefined;
  if (o.percentile !== undefined) {
    percentile = Number(o.percentile);
    if (!(percentile > 0 && percentile <= 100)) throw diag.usage(`--percentile '${o.percentile}': expected a number in (0, 100]`);
    if (method !== 'percentile') throw diag.usage('--percentile goes with --method percentile');
  }
  if (o.perChannel && o.perTensor) throw diag.usage('--per-channel and --per-tensor exclude each other');
  const activations = o.activations ?? 'uint8';
  if (activations !== 'uint8' && activations !== 'int8') throw diag.usage(`--activations '${activations}': expected uint8 or int8`);
  return { method: method as quantize.CalibMethod, percentile, perChannel: !o.perTensor, activations, exclude: o.exclude ?? [], report: Boolean(o.report || o.reportJson) };
}

export async function quantizeCommand(model: string, o: QuantizeCliOptions): Promise<number> {
  if (!o.output) throw diag.usage('quantize needs -o OUT.onnx or -o OUT.aic');
  const ext = path.extname(o.output).toLowerCase();
  if (ext !== '.onnx' && ext !== '.aic') throw diag.usage(`-o '${o.output}': the extension must be .onnx or .aic (DSL + .bin sidecar)`);
  if (!o.calibrate) throw diag.usage('quantize needs --calibrate DIR (one .npy per sample; a sub-folder per input for several inputs)');
  const opts = parseOptions(o);
  const g = await loadModel(model, parseShapeOptions(o.inputShape));
  const samples = readCalibrationSamples(o.calibrate, g);
  const r = quantize.quantizeGraph(g, samples, { ...opts, model });
  await writeModel(r.graph, o.output, ext);
  const before = quantize.weightBytes(r.prepared), after = quantize.weightBytes(r.graph);
  process.stdout.write(`quantized ${r.layers.length} layers (${opts.method}, ${opts.perChannel ? 'per-channel' : 'per-tensor'} int8 weights, ${opts.activations} activations) `
    + `on ${samples.length} samples; weights ${before} -> ${after} bytes (${(before / Math.max(after, 1)).toFixed(2)}x smaller)\nwrote ${o.output}\n`);
  if (r.report) {
    if (o.report) process.stdout.write(`\nper-layer SQNR on the calibration samples, worst first:\n${quantize.formatReport(r.report)}`);
    if (o.reportJson) writeFileAtomic(o.reportJson, JSON.stringify(r.report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
  }
  return 0;
}
