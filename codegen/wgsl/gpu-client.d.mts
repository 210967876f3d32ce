import type { AdapterInfo, GpuAttempt } from './node-gpu.mjs';
export interface GpuReply { ok: boolean; message?: string; /** a failed runtime check (host-runtime.mjs checkRecord) */ check?: { step: number; code: number; value: number; bound: number }; outputs?: Record<string, ArrayLike<number | bigint>>; ms?: number; /** op 'time': ms per dispatch */ dispatchMs?: number[]; adapter?: AdapterInfo; /** how the model's int8 dot products ran (host-runtime.mjs) */ dot4?: 'packed' | 'unpacked'; messages?: { type: string; message: string; lineNum: number; linePos: number }[] }
export declare class GpuChild {
  constructor(attempts?: GpuAttempt[]);
  request(msg: Record<string, unknown>): Promise<GpuReply>;
  close(): void;
}
