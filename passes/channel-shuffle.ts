/**
 * ShuffleNet's channel shuffle, exported as Reshape [N, C, H, W] -> [N, g, C/g, H, W], Transpose
 * [0, 2, 1, 3, 4], Reshape -> [N, C, H, W], becomes one aic.ChannelShuffle (ir-spec/ops/channel-shuffle.ts):
 * a 4-D op that runs on channel-blocked activations, where the 5-D pieces would force a layout
 * conversion on each side. Used by layout-nc4hw4 before it forms regions; the intermediate values
 * must have no other use.
 */
import { Node, isStatic, type Graph } from '@aic/core';
import { useMap } from './graph-utils.ts';

const ints = (n: Node, name: string): number[] | undefined => {
  const a = n.attrs[name];
  return a?.type === 'ints' ? a.value : undefined;
};

/** Rewrite every channel shuffle of g in place; returns how many. */
export function formChannelShuffles(g: Graph): number {
  const uses = useMap(g);
  const single = (v: import('@aic/core').Value) => (uses.get(v)?.length ?? 0) === 1 && !g.outputs.includes(v);
  const replace = new Map<Node, Node>();
  const drop = new Set<Node>();
  for (const t of g.nodes) {
    if (t.op !== 'Transpose' || t.domain !== '' || (ints(t, 'perm') ?? []).join() !== '0,2,1,3,4') continue;
    const r1 = t.inputs[0]?.producer, mid = t.outputs[0];
    const r2 = uses.get(mid)?.[0];
    if (!r1 || r1.op !== 'Reshape' || r1.domain !== '' || !r2 || r2.op !== 'Reshape' || r2.domain !== '') continue;
    if (!single(t.inputs[0]!) || !single(mid) || !g.nodes.includes(r1)) continue;
    const x = r1.inputs[0], y = r2.outputs[0], s5 = t.inputs[0]!.shape;
    if (!x || !isStatic(x.shape) || !isStatic(y.shape) || !isStatic(s5) || x.shape.length !== 4 || s5.length !== 5) continue;
    const [N, C, H, W] = x.shape as number[];
    const [n5, grp, cg, h5, w5] = s5 as number[];
    if (n5 !== N || grp * cg !== C || h5 !== H || w5 !== W || (y.shape as number[]).join() !== [N, C, H, W].join()) continue;
    replace.set(r2, new Node({ op: 'ChannelShuffle', domain: 'aic', name: r2.name, inputs: [x], outputs: [y], attrs: { group: { type: 'int', value: grp } }, loc: r2.loc }));
    drop.add(r1).add(t);
  }
  if (!replace.size) return 0;
  g.nodes = g.nodes.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n);
  return replace.size;
}
