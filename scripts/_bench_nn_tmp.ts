import { Tensor } from '@aic/core';
import { evalOp, A } from '../tests/helpers.ts';
function rnd(shape: number[]) { const t = new Tensor('float32', shape); const d = t.num; for (let i = 0; i < d.length; i++) d[i] = Math.random() - 0.5; return t; }
const cases: [number[], number[], Record<string, any>][] = [
  [[1, 3, 224, 224], [64, 3, 7, 7], { strides: A.ints([2, 2]), pads: A.ints([3, 3, 3, 3]) }],
  [[1, 64, 56, 56], [64, 64, 3, 3], { pads: A.ints([1, 1, 1, 1]) }],
  [[1, 256, 14, 14], [256, 256, 3, 3], { pads: A.ints([1, 1, 1, 1]) }],
  [[1, 512, 7, 7], [512, 512, 3, 3], { pads: A.ints([1, 1, 1, 1]) }],
  [[1, 144, 56, 56], [144, 1, 3, 3], { pads: A.ints([1, 1, 1, 1]), group: A.int(144) }],
  [[1, 96, 56, 56], [24, 96, 1, 1], {}],
];
for (const [xs, ws, at] of cases) {
  const x = rnd(xs), w = rnd(ws);
  evalOp('Conv', [x, w], at);
  const t0 = performance.now();
  evalOp('Conv', [x, w], at);
  const ms = performance.now() - t0;
  const [y] = evalOp('Conv', [x, w], at);
  const macs = y.size * ws[1] * ws[2] * ws[3];
  console.log(xs.join('x'), ws.join('x'), `${ms.toFixed(1)} ms`, `${(macs / ms / 1e6).toFixed(2)} GMAC/s`);
}
