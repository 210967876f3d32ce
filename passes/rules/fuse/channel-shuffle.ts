/**
 * Channel shuffle -> aic.ChannelShuffle (ir-spec/ops/channel-shuffle.ts), one copy instead of three:
 *   Reshape(Transpose(Reshape(x, [N, g, C/g, D1...]), perm = [0, 2, 1, 3...]), [N, C, D1...])
 * as ShuffleNet exports it. Decided on the (static) shapes the three nodes produce, not on how their
 * shape operands are written (0 / -1 entries).
 */
import { isStatic, type Node, type Value } from '@aic/core';
import { P, type Match, type Rule, type RuleEnv } from '../../rewrite/pattern.ts';
import { all, kernel, onlyUsedBy, staticShape, type Guard } from './util.ts';

const dims = (n: Node) => n.outputs[0].shape as number[];
const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** the group count g, or why this is no channel shuffle */
function groups(m: Match): number | string {
  const x = m.values.x, split = dims(m.nodes.split), t = m.nodes.t;
  if (!isStatic(x.shape) || !isStatic(split)) return 'unknown dim: channel shuffle needs static shapes';
  const xs = x.shape as number[], r = xs.length;
  if (r < 2) return 'not [N, C, ...]';
  const g = split[1];
  if (split.length !== r + 1 || split[0] !== xs[0] || g * split[2] !== xs[1] || !same(split.slice(3), xs.slice(2))) {
    return `[${split.join(', ')}] does not split the channels of [${xs.join(', ')}] into groups`;
  }
  const perm = (t.attrs.perm?.value as number[] | undefined) ?? [];
  if (!same(perm, [0, 2, 1, ...xs.slice(2).map((_, i) => i + 3)])) return `Transpose perm [${perm.join(', ')}] does not swap the group axes`;
  if (!same(dims(m.root), xs)) return 'the result is not shaped like the input';
  return g;
}

const channelShuffle: Rule = {
  name: 'channel-shuffle', family: 'fuse',
  summary: 'Reshape(Transpose(Reshape(x, [N, g, C/g, ...]), [0, 2, 1, ...]), [N, C, ...]) -> aic.ChannelShuffle(x, group = g)',
  pattern: P.op('Reshape', [P.op('Transpose', [P.op('Reshape', [P.any('x')], { bind: 'split' })], { bind: 't' })], { bind: 'root' }),
  guard: (m: Match, env: RuleEnv): Guard => all(
    () => staticShape(m.root.outputs[0]),
    () => { const g = groups(m); return typeof g === 'string' ? g : true; },
    () => kernel(env, 'ChannelShuffle'),
  ),
  replace: (m, b) => b.op('ChannelShuffle', [m.values.x], { group: { type: 'int', value: groups(m) as number } }, { domain: 'aic' }),
};

/** n's `axis` attribute (default d) is the channel axis of a rank-r value */
const onChannels = (n: Node, r: number, d: number): boolean => { const a = (n.attrs.axis?.value as number | undefined) ?? d; return a === 1 || a === 1 - r; };

/**
 * Inputs layout-nc4hw4 blocks (static 4-D float32 activations, none a constant): elsewhere the folded
 * Concat / Split would run row-major as select chains, slower than -O2's view and plane copies
 */
function blockable(vs: readonly (Value | null)[]): Guard {
  for (const v of vs) {
    if (!v || v.const || v.dtype !== 'float32' || !isStatic(v.shape) || v.shape.length !== 4) return `${v?.name ?? 'an input'} is not a static 4-D float32 activation`;
  }
  return true;
}

/**
 * The Concat feeding a channel shuffle, read by the shuffle itself (-O3 only, see fuse.ts
 * ONLY_NC4HW4_RULES): on channel-blocked buffers a Concat of parts that are not whole blocks is a lane
 * copy, row-major it is a free view.
 */
const shuffleConcat: Rule = {
  name: 'shuffle-concat', family: 'fuse',
  summary: 'aic.ChannelShuffle(Concat(x1, ..., axis = 1)) -> aic.ChannelShuffle(x1, ...)',
  pattern: P.op('ChannelShuffle', [P.op('Concat', undefined, { bind: 'cat' })], { domain: 'aic', bind: 'root' }),
  guard: (m: Match, env: RuleEnv): Guard => all(
    () => (m.root.inputs.length === 1 ? true : 'the shuffle already reads several inputs'),
    () => staticShape(m.root.outputs[0]),
    () => (onChannels(m.nodes.cat, dims(m.root).length, 1) ? true : 'Concat is not on the channel axis'),
    () => onlyUsedBy(env, m.nodes.cat.outputs[0], [m.root]),
    () => blockable(m.nodes.cat.inputs),
    () => kernel(env, 'ChannelShuffle'),
  ),
  replace: (m, b) => b.op('ChannelShuffle', m.nodes.cat.inputs, { group: m.root.attrs.group! }, { domain: 'aic', outputs: m.root.outputs.length }),
};

/** Equal parts of a channel shuffle's result split on the channels, written by the shuffle itself (-O3 only). */
const splitShuffle: Rule = {
  name: 'split-shuffle', family: 'fuse',
  summary: 'Split(aic.ChannelShuffle(x...), equal parts, axis = 1) -> aic.ChannelShuffle(x...) with one output per part',
  pattern: P.op('Split', [P.op('ChannelShuffle', undefined, { domain: 'aic', bind: 'shuffle' })], { bind: 'root' }),
  guard: (m: Match, env: RuleEnv): Guard => all(
    () => (m.nodes.shuffle.outputs.length === 1 ? true : 'the shuffle is already split'),
    () => staticShape(m.nodes.shuffle.outputs[0]),
    () => (m.root.outputs.every((o) => isStatic(o.shape)) ? true : 'unknown dim in a part'),
    () => (onChannels(m.root, dims(m.nodes.shuffle).length, 0) ? true : 'Split is not on the channel axis'),
    () => (new Set(m.root.outputs.map((o) => (o.shape as number[])[1])).size === 1 ? true : 'parts of different sizes'),
    () => onlyUsedBy(env, m.nodes.shuffle.outputs[0], [m.root]),
    () => blockable(m.nodes.shuffle.inputs),
  ),
  replace: (m, b) => b.op('ChannelShuffle', m.nodes.shuffle.inputs, { group: m.nodes.shuffle.attrs.group! }, { domain: 'aic', outputs: m.root.outputs.length }),
};

export const channelShuffleRules: Rule[] = [channelShuffle, shuffleConcat, splitShuffle];
