/**
 * aic train-step MODEL --loss L --optimizer sgd --lr X -o OUT.onnx|OUT.aic
 * Writes one SGD step as a graph (inputs: the model's, labels/target, then each parameter; outputs:
 * loss, then <param>_next) and the initial parameters as OUT.params/<param>.npy, to feed to the first step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, serializeNpy, writeFileAtomic } from '@aic/core';
import { autodiff } from '@aic/passes';
import { loadModel, parseShapeOptions } from '../model-io.ts';
import { prepareForGrad, writeModel } from './grad.ts';

export interface TrainStepCliOptions { loss?: string; optimizer?: string; lr?: string; output?: string; inputShape?: string[] }

/** A parameter's file name (value names may hold '/'). */
export const paramFile = (name: string) => `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;

export async function trainStepCommand(model: string, opts: TrainStepCliOptions): Promise<number> {
  if (!opts.output) throw diag.usage('train-step needs -o OUT.onnx or -o OUT.aic');
  const ext = path.extname(opts.output).toLowerCase();
  if (ext !== '.aic' && ext !== '.onnx') throw diag.usage(`-o '${opts.output}': the extension must be .onnx or .aic`);
  const loss = opts.loss ?? '';
  if (!(autodiff.LOSSES as readonly string[]).includes(loss)) throw diag.usage(`--loss '${loss}': expected one of ${autodiff.LOSSES.join(', ')}`);
  if ((opts.optimizer ?? 'sgd') !== 'sgd') throw diag.unsupportedFeature(`--optimizer ${opts.optimizer} (only sgd yet)`);
  const lr = Number(opts.lr);
  if (opts.lr === undefined || !Number.isFinite(lr) || lr <= 0) throw diag.usage(`--lr '${opts.lr}': expected a positive number`);
  const g = prepareForGrad(await loadModel(model, parseShapeOptions(opts.inputShape)));
  const { graph, params } = autodiff.sgdStepModel(g, { loss: loss as autodiff.LossKind, lr });
  const dir = opts.output.slice(0, -ext.length) + '.params';
  fs.mkdirSync(dir, { recursive: true });
  for (const p of params) writeFileAtomic(path.join(dir, paramFile(p.name)), serializeNpy(p.const!));
  await writeModel(graph, opts.output, ext);
  process.stdout.write(`wrote ${opts.output} (one SGD step, lr ${lr}: loss and ${params.length} updated parameters) and ${params.length} initial parameters in ${dir}/\n`);
  return 0;
}
