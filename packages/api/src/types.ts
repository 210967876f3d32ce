/**
 * The public types of the library API (`import { load, optimize, compile, run, inspect } from 'aic'`).
 * Self-contained on purpose: the published index.d.ts is emitted from this file and index.ts alone,
 * so a user's type checker never needs aic's internal packages. index.ts checks at compile time that
 * the internal objects (Graph, Tensor, PassReport...) still satisfy these shapes.
 */

/** Element types (storage: float16/bfloat16 in Float32Array, int64/uint64 in Float64Array, bool in Uint8Array 0/1). */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string';

/** A dimension: a number, or a symbol ('N', 'batch') until bound. */
export type Dim = number | string;

export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array
  | Uint8Array | Uint16Array | Uint32Array;

/** A tensor as `run` returns it. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: NumericArray | string[];
  /** the elements as JS numbers (a copy; throws for string tensors) */
  toNumbers(): number[];
}

/** What `run` (feeds) and `load` (constInputs) accept: a Tensor, or data with its dtype and shape. */
export interface TensorInit {
  /** a DType; typed wider so that an object literal kept in a variable fits (an unknown name throws AIC0361) */
  dtype: DType | (string & {});
  shape: readonly number[];
  /** row-major elements; BigInt64Array / BigUint64Array for int64 / uint64 are converted */
  data: ArrayLike<number> | ArrayLike<bigint> | readonly string[];
}

/** A graph input or output. */
export interface ModelValue {
  readonly name: string;
  readonly dtype: DType;
  /** undefined: unknown rank */
  readonly shape: readonly Dim[] | undefined;
  readonly kind: 'tensor' | 'sequence' | 'optional';
}

export interface ModelNode {
  readonly op: string;
  /** '' = ai.onnx; 'aic' = fused ops made by optimize */
  readonly domain: string;
  readonly name: string;
}

/**
 * A model in aic's graph IR, as `load` and `optimize` return it. Read it freely; hand it back to
 * optimize / compile / run / inspect (they never modify it).
 */
export interface Model {
  readonly name: string;
  readonly inputs: readonly ModelValue[];
  readonly outputs: readonly ModelValue[];
  readonly nodes: readonly ModelNode[];
  /** opset imports: domain ('' = ai.onnx) -> version */
  readonly opsets: Readonly<Record<string, number>>;
}

export interface LoadOptions {
  /** 'onnx' or 'aic' (the DSL); by default from the file extension or contents. Bytes are always ONNX. */
  format?: 'onnx' | 'aic';
  /** bind symbolic input dims, e.g. { input: [1, 3, 224, 224] } ('' = the only input) */
  inputShapes?: Record<string, readonly number[]>;
  /** bind inputs whose values decide shapes (Reshape's shape, Slice's starts...) to constants */
  constInputs?: Record<string, Tensor | TensorInit>;
  /** receives notes (e.g. ONNX nodes reordered on import) */
  onNote?: (message: string) => void;
}

/** One pass run by optimize. */
export interface PassReport {
  pass: string;
  ms: number;
  nodesBefore: number;
  nodesAfter: number;
  /** the pass's statistics counters (fused, folded, ...) */
  stats: Record<string, number>;
}

/** A fusion / rewrite candidate considered by a pass (OptimizeOptions.explain). */
export interface ExplainRecord { pass: string; rule: string; node: string; outcome: 'applied' | 'rejected'; reason?: string }

export interface OptimizeOptions {
  /** optimization level 0-3 (default 2); exclusive with `pipeline` */
  level?: number;
  /** an explicit pass list, e.g. "fold-constants,fuse,eliminate-dead-nodes" (options: pass{key=value}) */
  pipeline?: string;
  /** the target the result is for: fusion only makes ops it has kernels for (default: the interpreter) */
  target?: string;
  /** check the IR after every pass: structure/types, or also numerically against the interpreter */
  verifyEach?: false | 'structure' | 'numeric';
  /** seed of the random inputs of verifyEach 'numeric' (default 1) */
  seed?: number;
  /** receives every fusion / rewrite candidate considered */
  explain?: (record: ExplainRecord) => void;
}

export interface OptimizeResult {
  model: Model;
  /** "-O2" or the pipeline text */
  label: string;
  passes: PassReport[];
}

/** The text forms a compiled model can print. */
export type EmitForm = 'loops' | 'schedule' | 'c' | 'wat' | 'wgsl';

export interface CompileOptions {
  /** a compile target: 'c', 'wasm-simd', 'wasm', 'wgsl' (see `targets()`) */
  target: string;
  /** schedule overrides: `kernel NAME { split i1 by 8; vectorize i1_i }` blocks */
  schedules?: string;
  /** plain loop nests, no default schedules (a research baseline) */
  plainLoops?: boolean;
  /** wasm targets: weights inside model.wasm instead of model.weights */
  embedWeights?: boolean;
  /**
   * target wgsl: device limits to compile for, by WebGPU limit name (e.g. { maxStorageBufferBindingSize:
   * 1 << 30 }); default WebGPU's guaranteed ones. The artifact then loads only on a device granting them.
   */
  wgslLimits?: Record<string, number>;
  /** the model's file name and a hash of it, recorded in the artifact (defaults: the graph name, '-') */
  source?: string;
  sourceHash?: string;
  /**
   * keep symbolic input dims in the artifact (docs/symbolic-dims.md): a leading batch runs per sample,
   * one other symbol (a sequence length) is a run-time extent, and both at once (ids [batch, S]). With it, compile optimizes the model
   * itself (pass it as loaded, not optimized): an extent needs the model optimized at several values.
   */
  symbolic?: SymbolicCompileOptions;
}

/** `compile(model, { target, symbolic })`: what `aic compile --input-shape x=Nx3x224x224 --max-shape N=8` does. */
export interface SymbolicCompileOptions {
  /**
   * input dims that name symbols, by input name ('' = the only input): { x: 'Nx3x224x224' } or
   * { x: ['N', 3, 224, 224] }; symbols the model declares need no entry
   */
  shapes?: Record<string, string | readonly Dim[]>;
  /** each symbol's maximum: { N: 8 } (optional for a batch; required for a run-time extent: AIC0453) */
  max?: Record<string, number>;
  /** optimization level 0-3 (default 2, for the target); exclusive with `pipeline` */
  level?: number;
  /** an explicit pass list instead of `level` */
  pipeline?: string;
  /** receives notes (e.g. a model fixed to batch 1 run per sample) */
  onNote?: (message: string) => void;
}

export interface CompiledModel {
  target: string;
  /** number of kernels */
  kernels: number;
  memory: { /** peak activation bytes */ arenaBytes: number; /** the sum without reuse */ naiveBytes: number };
  /** the forms this target has: always 'loops' and 'schedule', plus 'c', 'wat' or 'wgsl' */
  forms: EmitForm[];
  /** print a form (throws a usage error for a form this target does not have) */
  emit(form: EmitForm): string;
  /** write the artifact into dir (created if needed; files written atomically); returns the paths */
  write(dir: string): string[];
  /** a short summary: memory, kernels, weights (what `aic compile --stats` prints) */
  summary: string;
  /** with `symbolic`: the symbol the artifact takes at run time, and its maximum (undefined: none) */
  symbolic?: { symbol: string; kind: 'batch' | 'extent'; max?: number };
  /** with `symbolic`: every symbol the artifact takes, the batch first (a batch and a sequence length: both) */
  symbols?: { symbol: string; kind: 'batch' | 'extent'; max?: number }[];
}

export interface RunOptions {
  /** 'interp' (default: the reference interpreter), 'c', 'wasm-simd', 'wasm' or 'wgsl' */
  target?: string;
  /** receives notes (e.g. the C build, the WebGPU adapter) */
  onNote?: (message: string) => void;
  /** target wgsl: device limits to compile for (see CompileOptions.wgslLimits) */
  wgslLimits?: Record<string, number>;
}

export interface RunResult {
  /** the tensor outputs, by name */
  outputs: Record<string, Tensor>;
  /** every output by name, whatever its kind: a tensor, a sequence (Tensor[]) or an empty optional (null) */
  values: Record<string, Tensor | Tensor[] | null>;
  /** time of the run itself (not compiling or building), in milliseconds */
  ms: number;
}

export interface TargetDescription {
  name: string;
  summary: string;
  compile: boolean;
  run: boolean;
}

/** What `inspect` reports (the same keys as `aic inspect --json`, less `model`). */
export interface ModelInfo {
  graph: string;
  opsets: Record<string, number>;
  inputs: { name: string; dtype: DType; shape: Dim[] | null; kind: string }[];
  outputs: { name: string; dtype: DType; shape: Dim[] | null; kind: string }[];
  /** node count, subgraphs included */
  nodes: number;
  /** op histogram ('domain.Op' outside ai.onnx) */
  ops: Record<string, number>;
  params: number;
  paramBytes: number;
  flops: number;
  /** nodes whose FLOPs could not be counted (unknown shapes) */
  flopsUncounted: string[];
}

/** Every error aic throws is an Error with a catalog code and the CLI's exit code. */
export interface AicDiagnostic extends Error {
  /** 'AIC0001'... */
  readonly code: string;
  /** 1 bad model/data or failed run, 2 bad usage, 3 unsupported */
  readonly exitCode: 1 | 2 | 3;
  /** one line: `file:line:col: error AIC0101: message` */
  format(): string;
}

/** Post-training int8 quantization (`quantize()`; the CLI's `aic quantize`). */
export interface QuantizeOptions {
  /** activation ranges: 'minmax' (default), 'percentile' or 'entropy' (KL divergence) */
  method?: 'minmax' | 'percentile' | 'entropy';
  /** with 'percentile': the percentile of |x| kept (default 99.999) */
  percentile?: number;
  /** one weight scale per output channel (default true) */
  perChannel?: boolean;
  /** activation type (default 'uint8') */
  activations?: 'uint8' | 'int8';
  /** node names left in float */
  exclude?: string[];
  /** measure per-layer SQNR on the samples */
  report?: boolean;
}

/** One layer's SQNR (dB) on the calibration samples. */
export interface LayerSqnr { name: string; op: string; sqnrDb: number; outputSqnrDb?: number; weightSqnrDb?: number }

export interface QuantizeResult {
  /** the QDQ model (QuantizeLinear / DequantizeLinear, int8 weights, int32 biases) */
  model: Model;
  /** the names of the quantized layers */
  layers: string[];
  /** with `report`: per-layer SQNR, worst first */
  report?: LayerSqnr[];
}
