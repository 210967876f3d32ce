export declare const SWIFTSHADER_ICD: string;
export declare const NO_ADAPTER_HELP: string;
export interface NodeGpu { device: any; adapterInfo: { vendor: string; architecture: string; description: string; software: boolean } }
export declare function nodeGpuDevice(opts?: { software?: boolean }): Promise<NodeGpu>;
export declare function gpuChildEnv(base?: Record<string, string | undefined>): Record<string, string | undefined>;
