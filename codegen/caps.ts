/** Capabilities each compiled target declares (lowering and schedules read these, never the target name). */
import type { TargetCaps } from '@aic/ir-spec';

const ALL_SCALARS = ['f32', 'f64', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool'] as const;

export const C_CAPS: TargetCaps = { name: 'c', vectorLanes: 16, dtypes: [...ALL_SCALARS] };
/** The loop-IR interpreter: checks lowering without a compiler. */
export const LOOPS_CAPS: TargetCaps = { name: 'loops', vectorLanes: 4, dtypes: [...ALL_SCALARS] };
