/**
 * aic train-step MODEL --loss L --optimizer sgd|momentum|adam --lr X -o OUT.onnx|OUT.aic
 * Writes one training step as a graph (inputs: the model's, labels/target, each parameter, then the
 * optimizer state; outputs: loss, <param>_next, then <state>_next) and the initial parameters and
 * state as OUT.params/<name>.npy, to feed to the first step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, serializeNpy, writeFileAtomic } from '@aic/core';
import { autodiff } from '@aic/passes';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { prepareForGrad, writeModel } from './grad.ts';

export interface TrainStepCliOptions {
  loss?: string; optimizer?: string; lr?: string; momentum?: string; nesterov?: boolean;
  beta1?: string; beta2?: string; eps?: string; output?: string; inputShape?: string[]; batchnorm?: string; weightDecay?: string;
}

/** A parameter's file name (value names may hold '/'). */
export const paramFile = (name: string) => `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;

/** `--NAME X` as a number in [lo, hi) (undefined when absent). */
function numberOpt(name: string, v: string | undefined, lo: number, hi: number, openLo = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < lo || (openLo && x === lo) || x >= hi) {
    throw diag.usage(`--${name} '${v}': expected a number in ${openLo ? '(' : '['}${lo}, ${hi === Infinity ? 'inf' : hi})`);
  }
  return x;
}

export async function trainStepCommand(model: string, opts: TrainStepCliOptions): Promise<number> {
  if (!opts.output) throw diag.usage('train-step needs -o OUT.onnx or -o OUT.aic');
  const ext = path.extname(opts.output).toLowerCase();
  if (ext !== '.aic' && ext !== '.onnx') throw diag.usage(`-o '${opts.output}': the extension must be .onnx or .aic`);
  const loss = opts.loss ?? '';
  if (!(autodiff.LOSSES as readonly string[]).includes(loss)) throw diag.usage(`--loss '${loss}': expected one of ${autodiff.LOSSES.join(', ')}`);
  const optimizer = opts.optimizer ?? 'sgd';
  if (!(autodiff.OPTIMIZERS as readonly string[]).includes(optimizer)) throw diag.usage(`--optimizer '${optimizer}': expected one of ${autodiff.OPTIMIZERS.join(', ')}`);
  const lr = numberOpt('lr', opts.lr ?? '', 0, Infinity, true)!;
  const stepOpts: autodiff.TrainStepOptions = {
    loss: loss as autodiff.LossKind, lr, optimizer: optimizer as autodiff.OptimizerKind,
    momentum: numberOpt('momentum', opts.momentum, 0, 1), nesterov: opts.nesterov,
    weightDecay: numberOpt('weight-decay', opts.weightDecay, 0, Infinity),
    beta1: numberOpt('beta1', opts.beta1, 0, 1), beta2: numberOpt('beta2', opts.beta2, 0, 1), eps: numberOpt('eps', opts.eps, 0, Infinity),
  };
  if (opts.batchnorm !== undefined && opts.batchnorm !== 'train' && opts.batchnorm !== 'model') throw diag.usage(`--batchnorm '${opts.batchnorm}': expected train or model`);
  if (opts.batchnorm === 'train') stepOpts.batchnorm = 'train';
  const given = (['momentum', 'nesterov', 'beta1', 'beta2', 'eps'] as const).filter((k) => opts[k] !== undefined);
  const own = optimizer === 'momentum' ? ['momentum', 'nesterov'] : optimizer === 'adam' ? ['beta1', 'beta2', 'eps'] : [];
  const stray = given.find((k) => !own.includes(k));
  if (stray) throw diag.usage(`--${stray} does not apply to --optimizer ${optimizer}`);
  const g = prepareForGrad(await loadModel(model, parseShapeOptions(opts.inputShape)));
  const { graph, params, state } = autodiff.trainStepModel(g, stepOpts);
  const dir = opts.output.slice(0, -ext.length) + '.params';
  fs.mkdirSync(dir, { recursive: true });
  for (const p of [...params, ...state]) writeFileAtomic(path.join(dir, paramFile(p.name)), serializeNpy(p.const!));
  await writeModel(graph, opts.output, ext);
  const what = state.length ? `${params.length} initial parameters and ${state.length} state values (optimizer, BatchNormalization running statistics)` : `${params.length} initial parameters`;
  process.stdout.write(`wrote ${opts.output} (one ${optimizer} step, lr ${lr}: loss and ${params.length} updated parameters) and ${what} in ${dir}/\n`);
  return 0;
}
