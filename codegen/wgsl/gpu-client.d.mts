export interface GpuReply { ok: boolean; message?: string; outputs?: Record<string, ArrayLike<number | bigint>>; ms?: number; adapter?: { vendor: string; architecture: string; description: string; software: boolean }; messages?: { type: string; message: string; lineNum: number; linePos: number }[] }
export declare class GpuChild {
  request(msg: Record<string, unknown>): Promise<GpuReply>;
  close(): void;
}
