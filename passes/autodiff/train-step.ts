/**
 * One SGD training step as a graph: the gradient model (grad.ts) whose parameters are inputs, with
 * outputs `loss` then `<param>_next` = param - lr * d loss / d param. A driver feeds `<param>_next`
 * back as `<param>` for the next step. Identity copies of a tied initializer become inputs of their
 * own (the framework's parameters they stand for are separate and diverge after the first step).
 */
import { Node, Value, type Graph } from '@aic/core';
import { graphBuilder, inferGraph } from '@aic/ir-spec';
import { removeDead } from '../graph-utils.ts';
import { gradModel, parameters, type LossKind } from './grad.ts';

export interface TrainStepOptions { loss: LossKind; lr: number }

/** The step model and the initial parameter values (name -> constant value). */
export function sgdStepModel(g0: Graph, opts: TrainStepOptions): { graph: Graph; params: Value[] } {
  const g = gradModel(g0, { loss: opts.loss });
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
  const b = graphBuilder(g, 'sgd_');
  const next = params.map((p) => {
    const grad = g.outputs.find((o) => o.name === `${p.name}_grad`)!;
    const upd = b.op1('Sub', [p, b.op1('Mul', [grad, b.scalar(opts.lr, p.dtype)])]);
    return upd;
  });
  b.flush();
  const outs = next.map((v, i) => {
    const name = `${params[i]!.name}_next`;
    const id = new Node({ op: 'Identity', name, inputs: [v], outputs: [new Value(name, v.type)] });
    g.nodes.push(id);
    return id.outputs[0]!;
  });
  g.outputs = [g.outputs[0]!, ...outs];
  removeDead(g);
  inferGraph(g);
  return { graph: g, params: initial };
}
