/** What the optimization passes ask of a target: does it have a kernel (compute definition) for an op. */
import { getOp } from '@aic/ir-spec';
import type { Target } from './target.ts';
import { blockedLanes, hasBlockedKernel } from './lower/blocked-ops.ts';

export interface PassTarget {
  name: string;
  hasKernel: (op: string, domain: string) => boolean;
  /** int8 regions channel-blocked by default (TargetCaps.blockedInt8) */
  blockedInt8?: boolean;
}

/** For passes: undefined for targets that run the graph itself (every op runs there). */
export function passTargetOf(t: Pick<Target, 'name' | 'caps'> | undefined): PassTarget | undefined {
  const caps = t?.caps;
  if (!t || !caps) return undefined;
  return {
    name: t.name,
    ...(caps.blockedInt8 && blockedLanes(caps) ? { blockedInt8: true } : {}),
    hasKernel: (op, domain) => {
      const [base, layout] = op.split('@');
      if (getOp(base, domain)?.lower === undefined) return false;
      // channel-blocked kernels: lower/blocked-ops.ts
      return layout === undefined || (layout === `NC${blockedLanes(caps)}HW${blockedLanes(caps)}` && hasBlockedKernel(base, domain, caps));
    },
  };
}
