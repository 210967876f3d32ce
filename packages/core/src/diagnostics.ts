/**
 * The one catalog of diagnostics. Every error the toolchain reports to a user is created here, so
 * wording, codes and exit codes stay consistent. Exit codes: 1 bad model/data or failed run,
 * 2 bad usage, 3 unsupported (op / dtype / feature).
 */
export interface Location {
  /** DSL or model file */
  file?: string;
  line?: number;
  col?: number;
  /** ONNX node name (or op type when unnamed) */
  node?: string;
  /** ONNX node index in its graph */
  index?: number;
}

export function formatLocation(loc: Location | undefined): string {
  if (!loc) return '';
  const parts: string[] = [];
  if (loc.file) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}:${loc.col ?? 1}` : loc.file);
  if (loc.node !== undefined) parts.push(`node '${loc.node}'${loc.index !== undefined ? ` (#${loc.index})` : ''}`);
  return parts.join(', ');
}

export type ExitCode = 1 | 2 | 3;

export class AicError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
    readonly loc?: Location,
    /** extra lines printed after the message (e.g. a source excerpt with a caret) */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'AicError';
  }
  /** One line: `file:line:col: error AIC0101: message` */
  format(): string {
    const where = formatLocation(this.loc);
    return `${where ? where + ': ' : ''}error ${this.code}: ${this.message}`;
  }
}

export interface OpRef { op: string; domain?: string; opset?: number }
function opName(r: OpRef): string {
  return `${r.domain ? r.domain + '::' : ''}${r.op}${r.opset !== undefined ? ` (opset ${r.opset})` : ''}`;
}

/** The catalog: one constructor per diagnostic. */
export const diag = {
  // --- 1: bad input files / failed runs -----------------------------------------------------
  fileNotFound: (file: string) => new AicError('AIC0001', `cannot read '${file}': no such file`, 1, { file }),
  fileUnreadable: (file: string, why: string) => new AicError('AIC0002', `cannot read '${file}': ${why}`, 1, { file }),
  badOnnx: (file: string, why: string) => new AicError('AIC0003', `'${file}' is not a valid ONNX model: ${why}`, 1, { file }),
  badTensorFile: (file: string, why: string) => new AicError('AIC0004', `'${file}' is not a valid tensor file: ${why}`, 1, { file }),
  /** `what` (optional) names the value the weights are for, e.g. "initializer 'w'" */
  missingWeights: (file: string, loc?: Location, what?: string) =>
    new AicError('AIC0005', `${what ? `${what}: ` : ''}weights file '${file}' not found`, 1, loc ?? { file }),
  weightsOutOfRange: (file: string, offset: number, bytes: number, size: number, loc?: Location, what?: string) =>
    new AicError('AIC0006', `${what ? `${what}: ` : ''}weights '${file}' at offset ${offset} needs ${bytes} bytes but the file has ${size}`, 1, loc),
  syntax: (loc: Location, expected: string, excerpt: string) =>
    new AicError('AIC0010', `syntax error: expected ${expected}`, 1, loc, excerpt),
  undefinedValue: (name: string, loc?: Location) => new AicError('AIC0011', `'${name}' is not defined`, 1, loc),
  redefinedValue: (name: string, loc?: Location) => new AicError('AIC0012', `'${name}' is defined twice`, 1, loc),
  unknownOp: (op: string, loc?: Location, hint?: string) =>
    new AicError('AIC0013', `unknown op '${op}'${hint ? ` (did you mean '${hint}'?)` : ''}`, 1, loc),
  verify: (op: string, msg: string, loc?: Location) => new AicError('AIC0020', `${op}: ${msg}`, 1, loc),
  shapeMismatch: (op: string, msg: string, loc?: Location) => new AicError('AIC0021', `${op}: shape mismatch: ${msg}`, 1, loc),
  typeMismatch: (what: string, expected: string, got: string, loc?: Location) =>
    new AicError('AIC0022', `${what}: expected ${expected}, got ${got}`, 1, loc),
  runtime: (op: string, msg: string, loc?: Location) => new AicError('AIC0030', `${op} failed: ${msg}`, 1, loc),
  badInputData: (name: string, msg: string) => new AicError('AIC0031', `input '${name}': ${msg}`, 1),
  /** an external tool (the C compiler, a generated program) failed; its output goes in the detail lines */
  toolFailed: (tool: string, what: string, output: string) =>
    new AicError('AIC0033', `${tool} failed ${what}${output.trim() ? `: ${output.trim().split('\n')[0]}` : ''}`, 1, undefined, output.trim() || undefined),
  // --- tensor files and size limits (AIC0045-AIC0054) ------------------------------------------
  /** a value (named in `what`) larger than --max-tensor-bytes */
  tensorTooLarge: (what: string, type: string, size: string, limit: string, loc?: Location) =>
    new AicError('AIC0045', `${what} (${type}) needs ${size}, more than the limit of ${limit} per tensor (--max-tensor-bytes)`, 1, loc),
  /** a wasm target's linear memory (weights, arena, inputs, outputs, scratch) past 4 GiB */
  wasmMemoryTooLarge: (target: string, size: string, parts: string) =>
    new AicError('AIC0046', `target '${target}': the model needs ${size} of linear memory (${parts}), more than the 4 GiB a 32-bit WebAssembly memory holds; use --target c`, 1),
  badTensor: (what: string, why: string, loc?: Location) => new AicError('AIC0048', `${what}: ${why}`, 1, loc),
  cannotWrite: (file: string, why: string) => new AicError('AIC0049', `cannot write '${file}': ${why}`, 1, { file }),
  invalidShape: (what: string, shape: string, loc?: Location) =>
    new AicError('AIC0047', `${what}: invalid shape ${shape} (dims must be non-negative integers)`, 1, loc),
  missingInput: (name: string) => new AicError('AIC0032', `no value given for graph input '${name}' (pass --input ${name}=FILE)`, 2),
  // --- aic run / bisect: input shapes taken from the input files (AIC0080-AIC0084) -------------
  /** --input-shape NAME=DIMS and the file given for NAME hold different shapes */
  inputShapeVsFile: (name: string, given: readonly number[], file: string, got: readonly number[]) =>
    new AicError('AIC0080', `input '${name}': --input-shape gives [${given.join(', ')}] but ${file} holds [${got.join(', ')}]`, 1, { file }),
  inputRankVsFile: (name: string, declared: readonly (number | string)[], file: string, got: readonly number[]) =>
    new AicError('AIC0081', `input '${name}': expected shape [${declared.join(', ')}] (rank ${declared.length}), got [${got.join(', ')}] (rank ${got.length}) in ${file}`, 1, { file }),
  /** static dim `dim` of the declared shape differs from the file's */
  inputDimVsFile: (name: string, declared: readonly (number | string)[], file: string, got: readonly number[], dim: number) =>
    new AicError('AIC0082', `input '${name}': expected shape [${declared.join(', ')}], got [${got.join(', ')}] in ${file}: dim ${dim} is ${declared[dim]} in the model but ${got[dim]} in the file`, 1, { file }),
  /** one symbolic dim bound to two values by two inputs (`a`, `b`: "input 'x' (x.npy)") */
  inputSymbolConflict: (dim: string, a: string, av: number, b: string, bv: number, file?: string) =>
    new AicError('AIC0083', `dim '${dim}' is ${av} for ${a} but ${bv} for ${b}`, 1, file ? { file } : undefined),
  // --- frontends: paths a model follows (ONNX external data, DSL weights) --------------------
  /** `what` names the initializer / DSL value; the path must stay inside the model's folder */
  pathOutsideModel: (what: string, location: string, why: string, loc?: Location) =>
    new AicError('AIC0040', `${what}: data path '${location}' ${why}`, 1, loc),
  badDataRange: (what: string, location: string, why: string, loc?: Location) =>
    new AicError('AIC0041', `${what}: data in '${location}': ${why}`, 1, loc),
  /** a rank read from data (the length of a shape input) past what any tensor may have */
  rankTooLarge: (what: string, rank: number, max: number, loc?: Location) =>
    new AicError('AIC0042', `${what}: rank ${rank} is more than the ${max} dims a tensor may have`, 1, loc),
  // --- aic viz / aic profile (AIC0350-AIC0359) --------------------------------------------------
  /** `aic viz --profile FILE`: not what `aic profile --json` writes */
  badProfile: (file: string, why: string) => new AicError('AIC0350', `'${file}' is not an aic profile: ${why}`, 1, { file }),
  /** a package the page of `aic viz` inlines (the graph-layout library) is not installed */
  vizPackageMissing: (pkg: string) => new AicError('AIC0351', `aic viz needs the npm package '${pkg}' (run npm install)`, 3),
  // --- autodiff: aic grad and derivative rules (AIC0380-AIC0389) --------------------------------
  /** a gradient has to pass through `op`, which has no derivative rule (OpDef.vjp) yet */
  noDerivative: (op: string, value: string, loc?: Location) =>
    new AicError('AIC0380', `unsupported: op ${op} has no derivative yet (the gradient reaches it through '${value}')`, 3, loc),
  /** the op has a derivative rule, but not for this form of it */
  derivativeUnsupported: (op: string, why: string, loc?: Location) =>
    new AicError('AIC0381', `unsupported: no derivative of ${op} for ${why}`, 3, loc),
  /** the gradient has to pass through an input the op has no derivative for (indices, statistics...) */
  noDerivativeInput: (op: string, input: string, loc?: Location) =>
    new AicError('AIC0382', `unsupported: ${op} has no derivative with respect to its input '${input}'`, 3, loc),
  /** --wrt names a value the model lacks or one that is not a float tensor */
  gradBadWrt: (name: string, why: string) => new AicError('AIC0383', `--wrt '${name}': ${why}`, 2),
  /** the loss cannot apply to the model's first output */
  gradBadLoss: (loss: string, why: string) => new AicError('AIC0384', `--loss ${loss}: ${why}`, 1),
  // --- quantize: aic quantize, calibration samples (AIC0410-AIC0419) ------------------------------
  /** --calibrate DIR holds no .npy sample (for the input named, with several inputs) */
  calibEmpty: (dir: string, input?: string) =>
    new AicError('AIC0410', `calibration folder '${dir}' holds no .npy sample${input ? ` for input '${input}'` : ''}`, 1, { file: dir }),
  /** a sample's shape or dtype is not the input's */
  calibSampleMismatch: (file: string, input: string, expected: string, got: string) =>
    new AicError('AIC0411', `calibration sample '${file}' for input '${input}': expected ${expected}, got ${got}`, 1, { file }),
  /** a model with several inputs needs DIR/<input name>/ per input */
  calibMissingInput: (dir: string, input: string, inputs: readonly string[]) =>
    new AicError('AIC0412', `calibration folder '${dir}' has no sub-folder '${input}': a model with several inputs (${inputs.join(', ')}) needs one sub-folder of .npy samples per input name`, 1, { file: dir }),
  /** sample file names differ between the input sub-folders */
  calibUnmatched: (dir: string, file: string, input: string, missingIn: string) =>
    new AicError('AIC0413', `calibration sample '${file}' of input '${input}' has no file of the same name for input '${missingIn}' in '${dir}' (samples are matched by file name)`, 1, { file: dir }),
  /** --exclude names nodes the model lacks */
  quantUnknownExclude: (names: readonly string[], layers: readonly string[]) =>
    new AicError('AIC0414', `--exclude: no node named ${names.map((n) => `'${n}'`).join(', ')}${layers.length ? `; quantizable nodes: ${layers.slice(0, 8).join(', ')}${layers.length > 8 ? ', ...' : ''}` : ''}`, 2),
  /** nothing to quantize: no float32 Conv / MatMul / Gemm left */
  quantNothing: (model: string) =>
    new AicError('AIC0415', `unsupported: '${model}' has no float32 Conv, MatMul or Gemm to quantize (after --exclude)`, 3, { file: model }),
  // --- 2: usage --------------------------------------------------------------------------------
  usage: (msg: string) => new AicError('AIC0100', msg, 2),
  // --- library API (AIC0360-AIC0369): misuse by a calling program --------------------------------
  /** `fn` got something that is not a model from load() / optimize() */
  apiNotAModel: (fn: string) => new AicError('AIC0360', `${fn}: expected a model returned by load() or optimize()`, 2),
  /** a tensor given to the API (feed, constant input) is malformed: `what` names it */
  apiBadTensor: (what: string, why: string) => new AicError('AIC0361', `${what}: ${why}`, 2),
  // --- 3: unsupported --------------------------------------------------------------------------
  // --- opset imports beyond the newest aic knows (AIC0090-AIC0094) -------------------------------
  /** the model imports `domain` at `opset`, newer than the newest opset ir-spec knows */
  opsetTooNew: (domain: string, opset: number, newest: number, loc?: Location) =>
    new AicError('AIC0090', `unsupported opset: the model imports ${domain} opset ${opset}, newer than the newest supported (${newest})`, 3, loc),
  unsupportedOp: (r: OpRef, loc?: Location) =>
    new AicError('AIC0200', `unsupported op ${opName(r)}`, 3, loc),
  /** `opset`: the model's opset and the ranges the definitions cover, e.g. "6 (supported 7..latest)" */
  unsupportedOpset: (r: OpRef, opset: string, loc?: Location) =>
    new AicError('AIC0201', `unsupported ${opName(r)} opset ${opset}`, 3, loc),
  unsupportedDtype: (what: string, dtype: string, loc?: Location) =>
    new AicError('AIC0202', `unsupported element type ${dtype} in ${what}`, 3, loc),
  unsupportedFeature: (what: string, loc?: Location) => new AicError('AIC0203', `unsupported: ${what}`, 3, loc),
  unsupportedAttr: (r: OpRef, attr: string, value: string, loc?: Location) =>
    new AicError('AIC0204', `unsupported ${opName(r)} attribute ${attr}=${value}`, 3, loc),
  // --- tune: aic tune and tuning logs (AIC0400-AIC0409); 0400-0402 are warnings (the record is not applied) ---
  tuneLogCorrupt: (file: string, line: number, why: string) => new AicError('AIC0400', `tuning log record ignored (corrupt): ${why}`, 1, { file, line }),
  tuneLogForeign: (file: string, line: number, why: string) => new AicError('AIC0401', `tuning log record ignored (foreign): ${why}`, 1, { file, line }),
  tuneLogMismatched: (file: string, line: number, why: string) => new AicError('AIC0402', `tuning log record ignored (mismatched): ${why}`, 1, { file, line }),
  /** a target or runner aic tune cannot measure on yet */
  tuneUnsupported: (what: string) => new AicError('AIC0403', `unsupported: ${what}`, 3),
  // tune3 (winners confirmed, whole-model check): AIC0404 is a warning (the log keeps the defaults)
  tuneModelCheckFailed: (model: string, why: string) => new AicError('AIC0404', `whole-model check failed: the model did not build or run with the tuned schedules (${why}); every winner dropped, the log keeps the defaults`, 1, { file: model }),
  // --- ctrlflow: If / Loop / Scan on compiled targets (AIC0390-AIC0399) ----------------------------
  /** a value inside a subgraph of control node `node` whose shape is not known at compile time */
  controlDynamicShape: (node: string, value: string, shape: string, target: string, loc?: Location) =>
    new AicError('AIC0390', `unsupported: ${node}: value '${value}' inside its subgraph has shape ${shape}, known only when the model runs; `
      + `compiled control flow needs static shapes inside subgraphs (target ${target}; --target interp runs it)`, 3, loc),
  /** If branches whose outputs differ in shape, or a loop-carried value whose shape changes per iteration */
  controlShapeChanges: (node: string, what: string, a: string, b: string, target: string, loc?: Location) =>
    new AicError('AIC0391', `unsupported: ${node}: ${what} has shape ${a} in one place and ${b} in another; `
      + `compiled control flow needs one static shape (target ${target}; --target interp runs it)`, 3, loc),
  /** a control-flow form the compiled targets do not take yet (`what` says which) */
  controlUnsupported: (node: string, what: string, target: string, loc?: Location) =>
    new AicError('AIC0392', `unsupported: ${node}: ${what} (target ${target}; --target interp runs it)`, 3, loc),
  // --- dynsize: outputs whose size the data decides, on compiled targets (AIC0340-AIC0349) -------
  /** `value` (an output of `op`) is consumed by `consumer`, which cannot take a run-time extent yet */
  dynamicSizeConsumed: (value: string, op: string, consumer: string, target: string, loc?: Location) =>
    new AicError('AIC0340', `unsupported: value '${value}' (from ${op}) has a size known only when the model runs; on target ${target} `
      + `such a value can only be a graph output or feed ops that work row by row along its first dim yet, and it feeds ${consumer} (--target interp runs it)`, 3, loc),
  /** an output whose size the data decides, with no static bound to allocate */
  dynamicSizeUnbounded: (value: string, op: string, target: string, loc?: Location) =>
    new AicError('AIC0341', `unsupported: value '${value}' (from ${op}) has a size known only when the model runs, `
      + `and no bound for it is known at compile time (target ${target}; --target interp runs it)`, 3, loc),
  // --- symdims: symbolic (run-time) dims in compiled artifacts (AIC0450-AIC0459) ----------------
  /** a run of a symbolic-batch artifact with a batch beyond its declared --max-shape */
  symbolBeyondMax: (symbol: string, value: number, max: number, where: string) =>
    new AicError('AIC0450', `${where}: '${symbol}' is ${value}, beyond its maximum ${max} (compiled with --max-shape ${symbol}=${max})`, 1),
  /** a symbolic dim that a compiled artifact cannot keep symbolic: `what` names the op or input and the dim */
  symbolUnsupported: (symbol: string, what: string, loc?: Location) =>
    new AicError('AIC0451', `unsupported: symbolic dim '${symbol}' ${what}; compiled artifacts keep only a leading batch dim symbolic, `
      + `one that no op mixes across (bind it with --input-shape, or --target interp runs it)`, 3, loc),
  /** inputs of one run disagree on the symbolic batch, or one is not a whole number of samples */
  symbolMismatch: (symbol: string, detail: string) =>
    new AicError('AIC0452', `the inputs disagree on '${symbol}': ${detail}`, 1),
  // --- symseq: symbolic dims other than a leading batch as run-time extents (AIC0453-AIC0459) ----
  /** a run-time extent needs a declared maximum (--max-shape) of at least 8 */
  extentMaxNeeded: (symbol: string, what: string) =>
    new AicError('AIC0453', `symbolic dim '${symbol}' ${what}`, 2),
  /** what the run-time extents of codegen/lower/extents.ts cannot express */
  extentUnsupported: (symbol: string, what: string, loc?: Location) =>
    new AicError('AIC0454', `unsupported: symbolic dim${symbol ? ` '${symbol}'` : ''} ${what}; run-time extents need the same program at every value, `
      + 'with sizes polynomial in the dim (bind it with --input-shape, or --target interp runs it)', 3, loc),
  // --- multisym: a symbolic batch and a run-time extent together (AIC0458-AIC0459, AIC0475-AIC0479) ----
  /** a target whose host does not take a batch and a run-time extent together */
  batchExtentUnsupported: (batch: string, extent: string, target: string, targets: string) =>
    new AicError('AIC0475', `unsupported: symbolic dims '${batch}' (the batch) and '${extent}' (a run-time extent) together on target ${target} `
      + `(targets: ${targets}; bind one with --input-shape, or --target interp runs it)`, 3),
  /** a batch that ops mix along (AIC0451's case) next to a run-time extent: it cannot be a second one */
  batchMixesBesideExtent: (batch: string, extent: string, why: string) =>
    new AicError('AIC0476', `unsupported: symbolic dim '${batch}' is not a batch that runs per sample (${why}), and '${extent}' is already the run-time extent; `
      + 'an artifact takes one run-time extent (bind one with --input-shape, or --target interp runs it)', 3),
};

/** Attach a location to an error thrown deep inside op code, keeping catalog errors as they are. */
export function withLocation(e: unknown, op: string, loc: Location | undefined): AicError {
  if (e instanceof AicError) {
    if (e.loc === undefined || (e.loc.node === undefined && e.loc.line === undefined)) {
      return new AicError(e.code, e.message, e.exitCode, { ...loc, ...e.loc }, e.detail);
    }
    return e;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return diag.runtime(op, msg, loc);
}
