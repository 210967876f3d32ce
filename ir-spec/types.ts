/**
 * The shape of one op definition. Everything about an op lives in its OpDef: signature,
 * attributes with defaults, type/shape inference + verification, reference semantics, FLOPs and the
 * ONNX mapping. Constant folding, the interpreter, the frontends and the docs all read this record.
 */
import type {
  Attr, AttrType, DType, Graph, Location, Node, RValue, Tensor, TensorType, Value,
} from '@aic/core';
import type { Expr, ScalarType, Stmt, TensorRef } from '@aic/loop-ir';

export interface InputSpec {
  name: string;
  /** type-constraint name from OpDef.types, e.g. 'T' */
  type?: string;
  optional?: boolean;
  /** consumes all remaining inputs */
  variadic?: boolean;
  /** the input's *value* decides the output shape (Reshape's shape, Slice's starts...) */
  shapeData?: boolean;
  /** the op reads only this input's shape and dtype, never its values (Shape, Size, EyeLike) */
  shapeOnly?: boolean;
  /**
   * with shapeData: the values are data that decide only how many elements an output has (NonZero's X,
   * Unique's X, NonMaxSuppression's inputs, Compress's condition), never a shape slot a run binds;
   * compiled targets allocate the output's bound (OpDef.maxShape) and learn the count when the kernel runs
   */
  countData?: boolean;
  doc?: string;
}
export interface OutputSpec {
  name: string;
  type?: string;
  optional?: boolean;
  variadic?: boolean;
  doc?: string;
}
export interface AttrSpec {
  type: AttrType;
  /** default value; omit together with required=false for "absent means something" attributes */
  default?: number | string | number[] | string[];
  required?: boolean;
  doc?: string;
}

/** Typed access to a node's attributes, defaults applied. */
export interface AttrReader {
  has(name: string): boolean;
  int(name: string): number;
  float(name: string): number;
  str(name: string): string;
  ints(name: string): number[];
  floats(name: string): number[];
  strs(name: string): string[];
  tensor(name: string): Tensor;
  graph(name: string): Graph;
  raw(name: string): Attr | undefined;
}

export interface EvalCtx {
  /** input values; undefined where an optional input is omitted */
  readonly inputs: readonly (RValue | undefined)[];
  readonly attrs: AttrReader;
  /** number of outputs the node declares (ops like TopK/Dropout/LSTM have optional outputs) */
  readonly outputCount: number;
  readonly node: Node;
  /** tensor input i; throws a clear error when absent or not a tensor */
  input(i: number): Tensor;
  /** tensor input i or undefined when omitted / empty optional */
  optInput(i: number): Tensor | undefined;
  /** run a subgraph (If/Loop/Scan bodies) with the given inputs, outer values visible */
  runSubgraph(g: Graph, inputs: RValue[]): RValue[];
}

export interface InferCtx {
  readonly inputTypes: readonly (TensorType | undefined)[];
  /** the compile-time value of input i, when it is a constant */
  constValue(i: number): Tensor | undefined;
  readonly attrs: AttrReader;
  readonly outputCount: number;
  readonly node: Node;
  /** input type i (throws when the input is omitted) */
  type(i: number): TensorType;
}

/** What inference returns for each output; `kind` for sequence/optional outputs. */
export type OutType = TensorType & { kind?: 'tensor' | 'sequence' | 'optional' };

export interface OnnxImportView {
  readonly opset: number;
  attrs: Record<string, Attr>;
  inputs: (Value | null)[];
  /** create a graph constant holding t (for attribute -> input moves across opsets) */
  constInput(t: Tensor): Value;
  readonly loc: Location;
}

export interface OnnxMapping {
  /** ONNX op type, defaults to OpDef.name */
  opType?: string;
  /** ONNX domain, defaults to '' (ai.onnx) */
  domain?: string;
  /** first opset version this definition handles */
  since: number;
  /** last opset version handled (inclusive); absent = up to the newest */
  until?: number;
  /** normalize an older opset's form to this definition's signature (attribute renames, attr -> input) */
  fromOnnx?: (v: OnnxImportView) => void;
  /** inverse of fromOnnx for export at `opset` (default: identity) */
  toOnnx?: (v: OnnxImportView) => void;
}

export interface OpDef {
  name: string;
  /** '' = standard ONNX; 'aic' = this toolchain's own (fused) ops */
  domain?: string;
  /** family, used to group OPS.md */
  category: string;
  summary: string;
  /** allowed dtypes per type-constraint name */
  types?: Record<string, readonly DType[]>;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  attrs: Record<string, AttrSpec>;
  /** binary op whose two operands can be swapped (CSE sorts them) */
  commutative?: boolean;
  /** results are random (Bernoulli, RandomNormal...): never folded or deduplicated */
  nondeterministic?: boolean;
  onnx?: OnnxMapping;
  /** output types; throws diag.verify / diag.shapeMismatch for invalid nodes */
  infer(ctx: InferCtx): OutType[];
  /**
   * Ops whose bodies run in the enclosing scope (If, Loop, Scan, SequenceMap): the element type (and
   * kind) of each input of graph attribute `attr` as the op passes them in (Loop's iteration number,
   * carried values...). Inference gives them to the body and infers the body before the node;
   * undefined entries keep the declared type. Absent: the body is not inferred in place (a fused
   * op's self-contained body is typed by the op's own infer).
   */
  bodyInputs?(ctx: InferCtx, attr: string): (OutType | undefined)[];
  /** reference semantics */
  eval(ctx: EvalCtx): RValue[];
  /**
   * Outputs whose size data decides (a symbolic dim in `outputs`, from infer): a static upper bound
   * of each such output's shape (undefined where none is known). Compiled targets allocate the bound,
   * the kernel stores the run-time extent (LowerCtx.extent) and the output's elements compactly.
   */
  maxShape?(ctx: InferCtx, outputs: OutType[]): (number[] | undefined)[];
  /** multiply-add counted as 2 FLOPs; static shapes given */
  flops?(ctx: InferCtx, outputs: OutType[]): number;
  /**
   * Compute definition for compiled targets: describe each output with ctx.compute (an expression
   * per output element, reductions via E.reduce) or ctx.extern (imperative loop IR). Absent = the op
   * cannot be compiled yet (`aic check --target c` reports it).
   */
  lower?(ctx: LowerCtx): void;
  /**
   * Reverse-mode derivative (vector-Jacobian product) as graph IR built from other ops, so a
   * gradient graph is optimized and compiled like any graph (ir-spec/vjp/). Absent: `aic grad`
   * names the op in an "unsupported" error when a gradient has to pass through it.
   */
  vjp?: VjpDef;
}

/** A node's reverse-mode derivative. */
export interface VjpDef {
  /** the inputs that carry a derivative (indices, shapes, statistics, labels carry none); 'all' for variadic ops */
  wrt: readonly number[] | 'all';
  /** the cotangent of each input (by input index; undefined = zero or not asked), as nodes added with ctx.b */
  grad(ctx: VjpCtx): (Value | undefined)[];
}

export interface VjpCtx {
  readonly node: Node;
  readonly attrs: AttrReader;
  /** the node's inputs / outputs (types inferred, shapes static) */
  readonly x: readonly (Value | null)[];
  readonly y: readonly Value[];
  /** the cotangent of each output (undefined: that output does not reach the loss) */
  readonly dy: readonly (Value | undefined)[];
  /** which inputs' cotangents are asked for */
  readonly need: readonly boolean[];
  readonly b: GraphBuilder;
  /** throw the catalog's "no derivative for these attributes" error (exit 3) naming this node */
  unsupported(why: string): never;
}

/** An attribute given to GraphBuilder.op: a plain number is an int, a number[] ints, a string a string. */
export type AttrInit = Attr | number | number[] | string;

/** Adds nodes to a graph under construction, inferring each node's output types as it goes. */
export interface GraphBuilder {
  /** a node `op` (domain '' unless `domain`) with `nOut` outputs (default 1); returns them */
  op(op: string, inputs: readonly (Value | null)[], attrs?: Record<string, AttrInit>, nOut?: number, domain?: string): Value[];
  /** one-output shorthand */
  op1(op: string, inputs: readonly (Value | null)[], attrs?: Record<string, AttrInit>): Value;
  /** a constant value */
  constant(t: Tensor): Value;
  /** a rank-0 constant of `dtype` */
  scalar(x: number, dtype: DType): Value;
  /** a 1-D int64 constant (shapes, axes, pads) */
  ints(xs: readonly number[]): Value;
}

/** What a target declares about itself; lowering and schedules read it instead of forking. */
export interface TargetCaps {
  name: string;
  /** f32 lanes of the target's SIMD vector (1 = none) */
  vectorLanes: number;
  /** element types the target can store and compute */
  dtypes: readonly ScalarType[];
  /**
   * integer dot product of the target's vectors (codegen/schedule/int-dot*.ts): 2 = int16 pairs
   * (wasm-simd i32x4.dot_i16x8_s, x86 pmaddwd), 4 = unsigned x signed byte quads (x86 VNNI vpdpbusd)
   */
  intDot?: 2 | 4;
  /**
   * f32 multiply-add is one fused vector instruction (C built with -ffp-contract=fast): small integer
   * sums computed exactly in f32 lanes (codegen/schedule/float-sum.ts) cost one instruction per term
   * there; on wasm-simd (mul + add) they measured no faster than its i32 lanes
   */
  fma?: boolean;
  /**
   * a vector has vectorLanes lanes whatever its element type (wasm-simd: narrow integers ride in 32-bit
   * lanes), so schedules vectorize byte data by vectorLanes too, not 4x as many byte lanes
   */
  fixedLanes?: boolean;
  /**
   * int8 / uint8 regions of quantized models are channel-blocked at -O3 by default (layout-nc4hw4's
   * int8=auto), where they measured faster than row-major int8 (C: benchmarks/o3-vs-o2.ts --int8)
   */
  blockedInt8?: boolean;
  /**
   * the target's own compiler packs straight-line lane copies at constant offsets into vector loads and
   * permutes (C: GCC / Clang's SLP vectorizer), so channel-mixing copies on blocked layouts (a channel
   * shuffle) unroll their channel blocks too (schedule/blocked.ts); wasm-simd's emitter copies lane by lane
   */
  packsLaneCopies?: boolean;
  /**
   * the target's compiler spills a register tile's accumulators around the inner of two reduction
   * loops when the tile's epilogue needs many vector constants (V8 hoists every constant to the
   * function's entry: a sigmoid's dozen stay live across the reduction). Blocked 1x1 convs with such
   * an epilogue keep one reduction loop there, its index r / x, r % x (schedule/blocked.ts)
   */
  splitReductionSpills?: boolean;
  /**
   * entering a loop costs the target set-up work (V8: a stack check and stack reloads of the enclosing
   * loops' values, ~12 instructions), so a blocked conv's last window tap and its input lanes run as
   * one loop (kw * x steps, addresses still linear) instead of an x-step loop entered per tap
   * (schedule/blocked.ts). C compilers keep the short loop faster (resnet18's stride-2 convs 10% slower fused)
   */
  loopEntryCost?: boolean;
  /**
   * vector registers the target's compiler gives a register tile (default 32), where it holds all of a
   * step's loads and the accumulators at once (V8 issues a block's loads before its arithmetic and
   * keeps 16 xmm registers on x64): a one-block tile takes at most (n - 2) / 2 rows (7 on wasm-simd:
   * 7 input loads, the weight and 7 accumulators; 8 spilled an accumulator and a load per tap)
   */
  vectorRegisters?: number;
  /** GPU limits, for GPU targets */
  gpu?: { maxWorkgroupSize: number; maxWorkgroupStorage: number; maxBindings: number };
}

export interface LowerCtx {
  readonly node: Node;
  readonly attrs: AttrReader;
  /** the node's inputs as buffers with static shapes (undefined where omitted) */
  readonly inputs: readonly (TensorRef | undefined)[];
  /** the node's outputs as buffers with static shapes */
  readonly outputs: readonly TensorRef[];
  /** compile-time value of input i, when it is a constant */
  constValue(i: number): Tensor | undefined;
  /**
   * Present when an output's size is decided when the kernel runs (OpDef.maxShape): an i32 [1] buffer
   * where the kernel stores the run-time extent of the outputs' data-dependent dim. Those outputs'
   * shapes are then bounds, and their elements are stored compactly, row-major in the run-time shape.
   */
  readonly extent?: TensorRef;
  readonly target: TargetCaps;
  /** a kernel-unique name */
  fresh(prefix: string): string;
  /** define output o elementwise: f gets one index variable per output dim (outermost first) */
  compute(o: number, f: (idx: Expr[]) => Expr): void;
  /** an imperative stage writing the listed outputs (and any temps) */
  extern(outs: number[], body: Stmt): void;
  /** a kernel-private scratch buffer (zero-initialized is NOT guaranteed) */
  temp(prefix: string, dtype: ScalarType, shape: number[]): TensorRef;
  /** define kernel temp t elementwise, as a compute stage of its own (scheduled like an output's); later stages may read t */
  computeTemp?(t: TensorRef, f: (idx: Expr[]) => Expr): void;
  /** throw the catalog's "unsupported" diagnostic (exit 3), naming this node */
  unsupported(why: string): never;
}
