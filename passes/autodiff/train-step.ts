/**
 * One training step as a graph: the gradient model (grad.ts) whose parameters are inputs, with
 * outputs `loss` then `<param>_next`. A driver feeds `<param>_next` back as `<param>` for the next
 * step. Identity copies of a tied initializer become inputs of their own (the framework's parameters
 * they stand for are separate and diverge after the first step).
 *
 * sgd: param - lr * gradient. momentum / adam: one node of the ai.onnx.preview.training op
 * (Momentum, Adam; their one definition is ir-spec/ops/training.ts) over all parameters; the optimizer
 * state is more inputs (`<param>_velocity`, or `<param>_m` and `<param>_v`, then the int64 scalar `step`,
 * the number of steps taken) and outputs (`<state>_next`, `step_next` = step + 1), its initial value zero.
 * BatchNormalization in training mode adds its running statistics to the state (batchnorm-state.ts).
 */
import { Node, Tensor, Value, cloneGraph, type Graph } from '@aic/core';
import { graphBuilder, inferGraph } from '@aic/ir-spec';
import { removeDead } from '../graph-utils.ts';
import { gradModel, parameters, type LossKind } from './grad.ts';
import { carryBatchNormStats, trainBatchNorm, type BatchNormMode } from './batchnorm-state.ts';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export interface TrainStepOptions {
  loss: LossKind; lr: number; optimizer?: OptimizerKind;
  /** momentum: the velocity decay (torch.optim.SGD's momentum; dampening 0), default 0.9 */
  momentum?: number; nesterov?: boolean;
  /** adam: torch.optim.Adam's betas and eps (ONNX Adam adds eps to the uncorrected sqrt(v)) */
  beta1?: number; beta2?: number; eps?: number;
  /** L2 weight decay: wd * param added to each gradient (torch.optim's weight_decay; ONNX's norm_coefficient) */
  weightDecay?: number;
  /** 'train': BatchNormalization in training mode (batch statistics; running ones carried as state); default: as the model says */
  batchnorm?: BatchNormMode;
}

const TRAINING = 'ai.onnx.preview.training';
const float = (value: number) => ({ type: 'float' as const, value });

/** The step model and the initial values of its parameters and optimizer state (name -> constant value). */
export function trainStepModel(g0: Graph, opts: TrainStepOptions): { graph: Graph; params: Value[]; state: Value[] } {
  let src = g0;
  if (opts.batchnorm === 'train') { src = cloneGraph(g0); trainBatchNorm(src); }
  const g = gradModel(src, { loss: opts.loss });
  const params = parameters(g).filter((p) => g.outputs.some((o) => o.name === `${p.name}_grad`));
  const initial: Value[] = [];
  for (const p of params) {
    const init = new Value(p.name, p.type);
    if (p.const) {
      init.const = p.const;
      g.constants.splice(g.constants.indexOf(p), 1);
      delete p.const;
    } else {
      // an Identity copy of a tied weight: its value is the initializer's
      const id = p.producer!;
      init.const = id.inputs[0]!.const;
      g.nodes.splice(g.nodes.indexOf(id), 1);
      delete p.producer;
    }
    g.inputs.push(p);
    initial.push(init);
  }
  const grads = params.map((p) => g.outputs.find((o) => o.name === `${p.name}_grad`)!);
  const b = graphBuilder(g, 'opt_');
  const kind = opts.optimizer ?? 'sgd';
  const wd = opts.weightDecay ?? 0;
  const stateNames = kind === 'momentum' ? ['velocity'] : kind === 'adam' ? ['m', 'v'] : [];
  const state = stateNames.flatMap((s) => params.map((p) => {
    const v = new Value(`${p.name}_${s}`, p.type);
    v.const = new Tensor(p.dtype, p.shape as number[]);
    return v;
  }));
  const next: Value[] = [];
  if (kind === 'sgd') {
    for (const [i, p] of params.entries()) {
      const g = wd ? b.op1('Add', [grads[i]!, b.op1('Mul', [p, b.scalar(wd, p.dtype)])]) : grads[i]!;
      next.push(b.op1('Sub', [p, b.op1('Mul', [g, b.scalar(opts.lr, p.dtype)])]));
    }
  } else if (params.length) {
    // `step` unless the model has a value of that name
    const taken = new Set([...g.definedValues()].map((v) => v.name));
    let stepName = 'step';
    while (taken.has(stepName)) stepName = `_${stepName}`;
    const step = new Value(stepName, { dtype: 'int64', shape: [] });
    step.const = Tensor.fromNumbers('int64', [], [0]);
    state.push(step);
    const inputs = state.map((s) => new Value(s.name, s.type));
    g.inputs.push(...inputs);
    const r = b.scalar(opts.lr, params[0]!.dtype);
    const stepIn = inputs[inputs.length - 1]!;
    const perParam = inputs.slice(0, -1);
    const stepNext = b.op1('Add', [stepIn, b.constant(Tensor.fromNumbers('int64', [], [1]))]);
    const outs = kind === 'momentum'
      ? b.op('Momentum', [r, stepIn, ...params, ...grads, ...perParam], {
        alpha: float(opts.momentum ?? 0.9), beta: float(1), mode: opts.nesterov ? 'nesterov' : 'standard', norm_coefficient: float(wd),
      }, 2 * params.length, TRAINING)
      // ONNX Adam corrects the bias when T > 0 with T the step's number (torch's t, from 1)
      : b.op('Adam', [r, stepNext, ...params, ...grads, ...perParam], {
        alpha: float(opts.beta1 ?? 0.9), beta: float(opts.beta2 ?? 0.999), epsilon: float(opts.eps ?? 1e-8), norm_coefficient: float(wd),
      }, 3 * params.length, TRAINING);
    next.push(...outs, stepNext);
  }
  b.flush();
  const bn = carryBatchNormStats(g);
  state.push(...bn.initial);
  next.push(...bn.next);
  const names = [...params, ...state].map((v) => `${v.name}_next`);
  const outs = next.map((v, i) => {
    const id = new Node({ op: 'Identity', name: names[i]!, inputs: [v], outputs: [new Value(names[i]!, v.type)] });
    g.nodes.push(id);
    return id.outputs[0]!;
  });
  g.outputs = [g.outputs[0]!, ...outs];
  removeDead(g);
  inferGraph(g);
  return { graph: g, params: initial, state };
}

/** One SGD step (trainStepModel with the sgd optimizer). */
export function sgdStepModel(g0: Graph, opts: TrainStepOptions): { graph: Graph; params: Value[] } {
  return trainStepModel(g0, { ...opts, optimizer: 'sgd' });
}
