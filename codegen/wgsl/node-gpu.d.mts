export declare const SWIFTSHADER_ICD: string;
export declare const NO_ADAPTER_HELP: string;
export interface AdapterInfo { vendor: string; architecture: string; description: string; software: boolean; via?: string; passedOver?: string }
export interface NodeGpu { device: any; adapterInfo: AdapterInfo; /** the GPU's wgslLanguageFeatures */ wgslFeatures?: string[] }
export interface GpuAttempt { name: 'user' | 'system' | 'swiftshader'; label: string; env: Record<string, string | undefined> }
export declare function nodeGpuDevice(opts?: { software?: boolean }): Promise<NodeGpu>;
export declare function gpuAttempts(base?: Record<string, string | undefined>, opts?: { exists?: (p: string) => boolean; platform?: string }): GpuAttempt[];
export declare function describeAdapter(a: AdapterInfo): string;
export declare function probeGpu(device: any): Promise<string | undefined>;
