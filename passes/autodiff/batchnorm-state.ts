/**
 * BatchNormalization in a training step. In training mode (training_mode=1, or `--batchnorm train`
 * turning the model's inference-mode nodes into it, as torch's model.train()) a node normalizes with
 * the batch statistics and updates its running ones: running = momentum * input_stat + (1 - momentum)
 * * batch_stat (ONNX's rule; the variance is the biased one, where torch's running_var takes the
 * unbiased one). The running statistics are state the step carries: input_mean / input_var become
 * inputs and the node's outputs 1 and 2 the step's `<stat>_next`.
 */
import { Value, type Graph } from '@aic/core';

export type BatchNormMode = 'model' | 'train';

const isBn = (op: string, domain: string) => op === 'BatchNormalization' && domain === '';

/** Turn every inference-mode BatchNormalization of g into training mode (in place). */
export function trainBatchNorm(g: Graph): void {
  for (const n of g.nodes) {
    if (isBn(n.op, n.domain) && (n.attrs.training_mode?.value ?? 0) === 0) n.attrs.training_mode = { type: 'int', value: 1 };
  }
}

/**
 * Make the running statistics of g's training-mode BatchNormalization nodes carried state: each
 * constant input_mean / input_var becomes an input; returns their initial values and the values
 * of their next step (the node's running_mean / running_var outputs, added where absent).
 */
export function carryBatchNormStats(g: Graph): { initial: Value[]; next: Value[] } {
  const initial: Value[] = [], next: Value[] = [];
  const carried = new Set<Value>();
  for (const n of g.nodes) {
    if (!isBn(n.op, n.domain) || (n.attrs.training_mode?.value ?? 0) === 0) continue;
    for (const k of [3, 4]) {
      const stat = n.inputs[k];
      // a statistic shared by two nodes, or one computed in the graph, stays as it is
      if (!stat?.const || carried.has(stat) || !g.constants.includes(stat)) continue;
      carried.add(stat);
      const init = new Value(stat.name, stat.type);
      init.const = stat.const;
      g.constants.splice(g.constants.indexOf(stat), 1);
      delete stat.const;
      g.inputs.push(stat);
      const j = k - 2;
      while (n.outputs.length <= j) n.outputs.push(new Value('', stat.type));
      if (!n.outputs[j]!.name) {
        const o = new Value(`${stat.name}_running`, stat.type);
        o.producer = n;
        n.outputs[j] = o;
      }
      initial.push(init);
      next.push(n.outputs[j]!);
    }
  }
  return { initial, next };
}
