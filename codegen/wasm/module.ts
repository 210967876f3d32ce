/**
 * A small typed WebAssembly module builder: instructions as data (`[op, ...immediates]`), functions
 * with typed locals, and a binary encoder (sections, LEB128, function bodies) plus a text printer
 * (WAT-like, for `--emit wat`). No dependencies; output is a pure function of the builder's
 * contents, so the same inputs give byte-identical modules.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VT: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** One instruction: its text name and immediates (numbers; bigint for i64.const; lane/byte arrays). */
export type Instr = [string, ...(number | bigint | string | number[])[]];

type Imm = 'none' | 'mem' | 'idx' | 'i32' | 'i64' | 'f32' | 'f64' | 'block' | 'call' | 'v128' | 'lane' | 'memlane' | 'shuffle' | 'mem0' | 'mem00';
interface OpInfo { code: number[]; imm: Imm; align?: number }
const OPS = new Map<string, OpInfo>();
const def = (name: string, code: number[], imm: Imm = 'none', align?: number) => OPS.set(name, { code, imm, align });

// control
def('unreachable', [0x00]); def('nop', [0x01]);
def('block', [0x02], 'block'); def('loop', [0x03], 'block'); def('if', [0x04], 'block'); def('else', [0x05]); def('end', [0x0b]);
def('br', [0x0c], 'idx'); def('br_if', [0x0d], 'idx'); def('return', [0x0f]); def('call', [0x10], 'call');
def('drop', [0x1a]); def('select', [0x1b]);
def('local.get', [0x20], 'idx'); def('local.set', [0x21], 'idx'); def('local.tee', [0x22], 'idx');
// memory
const memops: [string, number, number][] = [
  ['i32.load', 0x28, 2], ['i64.load', 0x29, 3], ['f32.load', 0x2a, 2], ['f64.load', 0x2b, 3],
  ['i32.load8_s', 0x2c, 0], ['i32.load8_u', 0x2d, 0], ['i32.load16_s', 0x2e, 1], ['i32.load16_u', 0x2f, 1],
  ['i64.load8_s', 0x30, 0], ['i64.load8_u', 0x31, 0], ['i64.load16_s', 0x32, 1], ['i64.load16_u', 0x33, 1], ['i64.load32_s', 0x34, 2], ['i64.load32_u', 0x35, 2],
  ['i32.store', 0x36, 2], ['i64.store', 0x37, 3], ['f32.store', 0x38, 2], ['f64.store', 0x39, 3], ['i32.store8', 0x3a, 0], ['i32.store16', 0x3b, 1],
  ['i64.store8', 0x3c, 0], ['i64.store16', 0x3d, 1], ['i64.store32', 0x3e, 2],
];
for (const [n, c, a] of memops) def(n, [c], 'mem', a);
def('memory.size', [0x3f], 'mem0'); def('memory.grow', [0x40], 'mem0');
def('i32.const', [0x41], 'i32'); def('i64.const', [0x42], 'i64'); def('f32.const', [0x43], 'f32'); def('f64.const', [0x44], 'f64');
const simple = (start: number, names: string[]) => names.forEach((n, i) => { if (n) def(n, [start + i]); });
simple(0x45, ['i32.eqz', 'i32.eq', 'i32.ne', 'i32.lt_s', 'i32.lt_u', 'i32.gt_s', 'i32.gt_u', 'i32.le_s', 'i32.le_u', 'i32.ge_s', 'i32.ge_u',
  'i64.eqz', 'i64.eq', 'i64.ne', 'i64.lt_s', 'i64.lt_u', 'i64.gt_s', 'i64.gt_u', 'i64.le_s', 'i64.le_u', 'i64.ge_s', 'i64.ge_u',
  'f32.eq', 'f32.ne', 'f32.lt', 'f32.gt', 'f32.le', 'f32.ge', 'f64.eq', 'f64.ne', 'f64.lt', 'f64.gt', 'f64.le', 'f64.ge',
  'i32.clz', 'i32.ctz', 'i32.popcnt', 'i32.add', 'i32.sub', 'i32.mul', 'i32.div_s', 'i32.div_u', 'i32.rem_s', 'i32.rem_u', 'i32.and', 'i32.or', 'i32.xor', 'i32.shl', 'i32.shr_s', 'i32.shr_u', 'i32.rotl', 'i32.rotr',
  'i64.clz', 'i64.ctz', 'i64.popcnt', 'i64.add', 'i64.sub', 'i64.mul', 'i64.div_s', 'i64.div_u', 'i64.rem_s', 'i64.rem_u', 'i64.and', 'i64.or', 'i64.xor', 'i64.shl', 'i64.shr_s', 'i64.shr_u', 'i64.rotl', 'i64.rotr',
  'f32.abs', 'f32.neg', 'f32.ceil', 'f32.floor', 'f32.trunc', 'f32.nearest', 'f32.sqrt', 'f32.add', 'f32.sub', 'f32.mul', 'f32.div', 'f32.min', 'f32.max', 'f32.copysign',
  'f64.abs', 'f64.neg', 'f64.ceil', 'f64.floor', 'f64.trunc', 'f64.nearest', 'f64.sqrt', 'f64.add', 'f64.sub', 'f64.mul', 'f64.div', 'f64.min', 'f64.max', 'f64.copysign',
  'i32.wrap_i64', 'i32.trunc_f32_s', 'i32.trunc_f32_u', 'i32.trunc_f64_s', 'i32.trunc_f64_u', 'i64.extend_i32_s', 'i64.extend_i32_u',
  'i64.trunc_f32_s', 'i64.trunc_f32_u', 'i64.trunc_f64_s', 'i64.trunc_f64_u', 'f32.convert_i32_s', 'f32.convert_i32_u', 'f32.convert_i64_s', 'f32.convert_i64_u', 'f32.demote_f64',
  'f64.convert_i32_s', 'f64.convert_i32_u', 'f64.convert_i64_s', 'f64.convert_i64_u', 'f64.promote_f32',
  'i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64',
  'i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s']);
['i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u', 'i64.trunc_sat_f32_s', 'i64.trunc_sat_f32_u', 'i64.trunc_sat_f64_s', 'i64.trunc_sat_f64_u']
  .forEach((n, i) => def(n, [0xfc, i]));
def('memory.copy', [0xfc, 10], 'mem00'); def('memory.fill', [0xfc, 11], 'mem0');
// SIMD (0xFD prefix, LEB128 sub-opcode)
const simd = (n: string, c: number, imm: Imm = 'none', align?: number) => def(n, [0xfd, c], imm, align);
simd('v128.load', 0, 'mem', 4);
simd('v128.load8x8_s', 1, 'mem', 3); simd('v128.load8x8_u', 2, 'mem', 3); simd('v128.load16x4_s', 3, 'mem', 3); simd('v128.load16x4_u', 4, 'mem', 3);
simd('v128.load32x2_s', 5, 'mem', 3); simd('v128.load32x2_u', 6, 'mem', 3);
simd('v128.load8_splat', 7, 'mem', 0); simd('v128.load16_splat', 8, 'mem', 1); simd('v128.load32_splat', 9, 'mem', 2); simd('v128.load64_splat', 10, 'mem', 3);
simd('v128.store', 11, 'mem', 4); simd('v128.const', 12, 'v128'); simd('i8x16.shuffle', 13, 'shuffle'); simd('i8x16.swizzle', 14);
['i8x16.splat', 'i16x8.splat', 'i32x4.splat', 'i64x2.splat', 'f32x4.splat', 'f64x2.splat'].forEach((n, i) => simd(n, 15 + i));
[['i8x16.extract_lane_s', 21], ['i8x16.extract_lane_u', 22], ['i8x16.replace_lane', 23], ['i16x8.extract_lane_s', 24], ['i16x8.extract_lane_u', 25], ['i16x8.replace_lane', 26],
  ['i32x4.extract_lane', 27], ['i32x4.replace_lane', 28], ['i64x2.extract_lane', 29], ['i64x2.replace_lane', 30], ['f32x4.extract_lane', 31], ['f32x4.replace_lane', 32],
  ['f64x2.extract_lane', 33], ['f64x2.replace_lane', 34]].forEach(([n, c]) => simd(n as string, c as number, 'lane'));
const cmp = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'];
cmp.forEach((c, i) => { simd(`i8x16.${c}`, 35 + i); simd(`i16x8.${c}`, 45 + i); simd(`i32x4.${c}`, 55 + i); });
['eq', 'ne', 'lt', 'gt', 'le', 'ge'].forEach((c, i) => { simd(`f32x4.${c}`, 65 + i); simd(`f64x2.${c}`, 71 + i); });
['v128.not', 'v128.and', 'v128.andnot', 'v128.or', 'v128.xor', 'v128.bitselect', 'v128.any_true'].forEach((n, i) => simd(n, 77 + i));
simd('v128.load8_lane', 84, 'memlane', 0); simd('v128.load16_lane', 85, 'memlane', 1); simd('v128.load32_lane', 86, 'memlane', 2); simd('v128.load64_lane', 87, 'memlane', 3);
simd('v128.store8_lane', 88, 'memlane', 0); simd('v128.store16_lane', 89, 'memlane', 1); simd('v128.store32_lane', 90, 'memlane', 2); simd('v128.store64_lane', 91, 'memlane', 3);
simd('v128.load32_zero', 92, 'mem', 2); simd('v128.load64_zero', 93, 'mem', 3);
simd('f32x4.demote_f64x2_zero', 94); simd('f64x2.promote_low_f32x4', 95);
simd('i8x16.abs', 96); simd('i8x16.neg', 97); simd('i8x16.narrow_i16x8_s', 101); simd('i8x16.narrow_i16x8_u', 102);
simd('f32x4.ceil', 103); simd('f32x4.floor', 104); simd('f32x4.trunc', 105); simd('f32x4.nearest', 106);
simd('i8x16.add', 110); simd('i8x16.sub', 113);
simd('i16x8.narrow_i32x4_s', 133); simd('i16x8.narrow_i32x4_u', 134);
simd('i16x8.extend_low_i8x16_s', 135); simd('i16x8.extend_high_i8x16_s', 136); simd('i16x8.extend_low_i8x16_u', 137); simd('i16x8.extend_high_i8x16_u', 138);
simd('i32x4.abs', 160); simd('i32x4.neg', 161); simd('i32x4.all_true', 163); simd('i32x4.bitmask', 164);
simd('i32x4.extend_low_i16x8_s', 167); simd('i32x4.extend_high_i16x8_s', 168); simd('i32x4.extend_low_i16x8_u', 169); simd('i32x4.extend_high_i16x8_u', 170);
simd('i32x4.shl', 171); simd('i32x4.shr_s', 172); simd('i32x4.shr_u', 173); simd('i32x4.add', 174); simd('i32x4.sub', 177); simd('i32x4.mul', 181); simd('i32x4.dot_i16x8_s', 186);
simd('i32x4.min_s', 182); simd('i32x4.min_u', 183); simd('i32x4.max_s', 184); simd('i32x4.max_u', 185);
simd('f32x4.abs', 224); simd('f32x4.neg', 225); simd('f32x4.sqrt', 227); simd('f32x4.add', 228); simd('f32x4.sub', 229); simd('f32x4.mul', 230); simd('f32x4.div', 231);
simd('f32x4.min', 232); simd('f32x4.max', 233); simd('f32x4.pmin', 234); simd('f32x4.pmax', 235);
simd('f64x2.abs', 236); simd('f64x2.neg', 237); simd('f64x2.sqrt', 239); simd('f64x2.add', 240); simd('f64x2.sub', 241); simd('f64x2.mul', 242); simd('f64x2.div', 243);
simd('i32x4.trunc_sat_f32x4_s', 248); simd('i32x4.trunc_sat_f32x4_u', 249); simd('f32x4.convert_i32x4_s', 250); simd('f32x4.convert_i32x4_u', 251);

export function hasOp(name: string): boolean { return OPS.has(name); }

// ---- byte writer ---------------------------------------------------------------------------------

export class Bytes {
  private buf = new Uint8Array(1024);
  length = 0;
  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }
  byte(b: number) { this.room(1); this.buf[this.length++] = b & 0xff; }
  bytes(bs: ArrayLike<number>) { this.room(bs.length); this.buf.set(bs, this.length); this.length += bs.length; }
  u32(v: number) {
    v >>>= 0;
    do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; this.byte(b); } while (v);
  }
  s32(v: number) {
    v |= 0;
    for (;;) {
      const b = v & 0x7f; v >>= 7;
      if ((v === 0 && !(b & 0x40)) || (v === -1 && (b & 0x40))) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }
  s64(v: bigint) {
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7fn); v >>= 7n;
      if ((v === 0n && !(b & 0x40)) || (v === -1n && (b & 0x40))) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }
  f32(v: number) { const a = new Uint8Array(4); new DataView(a.buffer).setFloat32(0, v, true); this.bytes(a); }
  f64(v: number) { const a = new Uint8Array(8); new DataView(a.buffer).setFloat64(0, v, true); this.bytes(a); }
  str(s: string) { const b = new TextEncoder().encode(s); this.u32(b.length); this.bytes(b); }
  /** a length-prefixed sub-block */
  vec(f: (w: Bytes) => void) { const w = new Bytes(); f(w); this.u32(w.length); this.bytes(w.done()); }
  done(): Uint8Array { return this.buf.slice(0, this.length); }
}

// ---- functions and modules -----------------------------------------------------------------------

export class Func {
  readonly locals: ValType[] = [];
  readonly code: Instr[] = [];
  constructor(readonly name: string, readonly params: ValType[], readonly results: ValType[], public exportAs?: string) {}
  /** a new local of type t; returns its index */
  local(t: ValType): number { this.locals.push(t); return this.params.length + this.locals.length - 1; }
  emit(...ins: Instr[]) { for (const i of ins) this.code.push(i); }
  typeOf(idx: number): ValType { return idx < this.params.length ? this.params[idx] : this.locals[idx - this.params.length]; }
}

export interface Import { module: string; name: string; params: ValType[]; results: ValType[]; as: string }

export class ModuleBuilder {
  readonly imports: Import[] = [];
  readonly funcs: Func[] = [];
  memoryPages = 1;
  exportMemory = 'memory';
  readonly data: { offset: number; bytes: Uint8Array }[] = [];
  readonly customs: { name: string; bytes: Uint8Array }[] = [];

  addImport(imp: Import): string {
    if (!this.imports.some((i) => i.as === imp.as)) this.imports.push(imp);
    return imp.as;
  }
  addFunc(f: Func): Func { this.funcs.push(f); return f; }
  hasFunc(name: string): boolean { return this.funcs.some((f) => f.name === name) || this.imports.some((i) => i.as === name); }

  private indexMap(): Map<string, number> {
    const m = new Map<string, number>();
    this.imports.forEach((imp, i) => m.set(imp.as, i));
    this.funcs.forEach((f, i) => m.set(f.name, this.imports.length + i));
    return m;
  }

  encode(): Uint8Array {
    const out = new Bytes();
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const types: string[] = [];
    const typeIdx = (p: ValType[], r: ValType[]) => {
      const k = `${p.join(',')}->${r.join(',')}`;
      let i = types.indexOf(k);
      if (i < 0) { types.push(k); i = types.length - 1; }
      return i;
    };
    const impTypes = this.imports.map((i) => typeIdx(i.params, i.results));
    const fnTypes = this.funcs.map((f) => typeIdx(f.params, f.results));
    const section = (id: number, f: (w: Bytes) => void) => { out.byte(id); out.vec(f); };
    section(1, (w) => {
      w.u32(types.length);
      for (const k of types) {
        const [p, r] = k.split('->').map((s) => (s ? s.split(',') as ValType[] : []));
        w.byte(0x60); w.u32(p.length); p.forEach((t) => w.byte(VT[t])); w.u32(r.length); r.forEach((t) => w.byte(VT[t]));
      }
    });
    if (this.imports.length) {
      section(2, (w) => {
        w.u32(this.imports.length);
        this.imports.forEach((imp, i) => { w.str(imp.module); w.str(imp.name); w.byte(0x00); w.u32(impTypes[i]); });
      });
    }
    section(3, (w) => { w.u32(this.funcs.length); fnTypes.forEach((t) => w.u32(t)); });
    section(5, (w) => { w.u32(1); w.byte(0x00); w.u32(this.memoryPages); });
    const exps = this.funcs.filter((f) => f.exportAs);
    const idx = this.indexMap();
    section(7, (w) => {
      w.u32(exps.length + 1);
      w.str(this.exportMemory); w.byte(0x02); w.u32(0);
      for (const f of exps) { w.str(f.exportAs!); w.byte(0x00); w.u32(idx.get(f.name)!); }
    });
    section(10, (w) => {
      w.u32(this.funcs.length);
      for (const f of this.funcs) w.vec((b) => encodeBody(f, b, idx));
    });
    if (this.data.length) {
      section(11, (w) => {
        w.u32(this.data.length);
        for (const d of this.data) { w.byte(0x00); w.byte(0x41); w.s32(d.offset); w.byte(0x0b); w.u32(d.bytes.length); w.bytes(d.bytes); }
      });
    }
    // name section (function names, for profilers and stack traces)
    section(0, (w) => {
      w.str('name');
      w.byte(1);
      w.vec((s) => {
        s.u32(this.imports.length + this.funcs.length);
        this.imports.forEach((imp, i) => { s.u32(i); s.str(imp.as); });
        this.funcs.forEach((f, i) => { s.u32(this.imports.length + i); s.str(f.name); });
      });
    });
    for (const c of this.customs) section(0, (w) => { w.str(c.name); w.bytes(c.bytes); });
    return out.done();
  }

  /** WAT-like text (exact instructions; large data segments abbreviated). */
  toText(): string {
    const L: string[] = ['(module'];
    for (const imp of this.imports) {
      L.push(`  (import "${imp.module}" "${imp.name}" (func $${imp.as}${sig(imp.params, imp.results)}))`);
    }
    L.push(`  (memory (export "${this.exportMemory}") ${this.memoryPages})`);
    for (const f of this.funcs) {
      L.push(`  (func $${f.name}${f.exportAs ? ` (export "${f.exportAs}")` : ''}${sig(f.params, f.results)}`);
      if (f.locals.length) {
        for (let i = 0; i < f.locals.length; i += 16) L.push(`    (local ${f.locals.slice(i, i + 16).join(' ')})`);
      }
      let depth = 2;
      for (const ins of f.code) {
        const op = ins[0];
        if (op === 'end' || op === 'else') depth--;
        L.push(`${'  '.repeat(depth)}${instrText(ins)}`);
        if (op === 'block' || op === 'loop' || op === 'if' || op === 'else') depth++;
      }
      L.push('  )');
    }
    for (const d of this.data) {
      const head = Array.from(d.bytes.subarray(0, 32), (b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
      L.push(`  (data (i32.const ${d.offset}) "${head}${d.bytes.length > 32 ? '...' : ''}") ;; ${d.bytes.length} bytes`);
    }
    for (const c of this.customs) L.push(`  ;; custom section "${c.name}": ${new TextDecoder().decode(c.bytes)}`);
    L.push(')');
    return L.join('\n') + '\n';
  }
}

function sig(p: ValType[], r: ValType[]): string {
  return `${p.length ? ` (param ${p.join(' ')})` : ''}${r.length ? ` (result ${r.join(' ')})` : ''}`;
}

function instrText(ins: Instr): string {
  const [op, ...imm] = ins;
  const info = OPS.get(op);
  if (!info) throw new Error(`wasm: unknown instruction ${op}`);
  switch (info.imm) {
    case 'mem': return `${op}${imm[1] ? ` offset=${imm[1]}` : ''}`;
    case 'memlane': return `${op}${imm[1] ? ` offset=${imm[1]}` : ''} ${imm[2]}`;
    case 'block': return imm[0] ? `${op} (result ${imm[0]})` : op;
    case 'call': return `call $${imm[0]}`;
    case 'v128': { const b = imm[0] as number[]; const dv = new DataView(new Uint8Array(b).buffer); return `v128.const i32x4 ${[0, 1, 2, 3].map((i) => `0x${dv.getUint32(4 * i, true).toString(16)}`).join(' ')}`; }
    case 'shuffle': return `${op} ${(imm[0] as number[]).join(' ')}`;
    case 'f32': case 'f64': { const v = imm[0] as number; return `${op} ${Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : String(v)}`; }
    case 'none': case 'mem0': case 'mem00': return op;
    default: return `${op} ${imm.map(String).join(' ')}`;
  }
}

function encodeBody(f: Func, w: Bytes, idx: Map<string, number>): void {
  // locals: runs of equal types
  const runs: [number, ValType][] = [];
  for (const t of f.locals) {
    if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
    else runs.push([1, t]);
  }
  w.u32(runs.length);
  for (const [n, t] of runs) { w.u32(n); w.byte(VT[t]); }
  for (const ins of f.code) encodeInstr(ins, w, idx);
  w.byte(0x0b);
}

function encodeInstr(ins: Instr, w: Bytes, idx: Map<string, number>): void {
  const [op, ...imm] = ins;
  const info = OPS.get(op);
  if (!info) throw new Error(`wasm: unknown instruction ${op}`);
  w.byte(info.code[0]);
  if (info.code[0] === 0xfd || info.code[0] === 0xfc) w.u32(info.code[1]);
  switch (info.imm) {
    case 'none': return;
    case 'mem': w.u32((imm[0] as number | undefined) ?? info.align!); w.u32((imm[1] as number | undefined) ?? 0); return;
    case 'memlane': w.u32((imm[0] as number | undefined) ?? info.align!); w.u32((imm[1] as number | undefined) ?? 0); w.byte(imm[2] as number); return;
    case 'idx': w.u32(imm[0] as number); return;
    case 'call': {
      const i = idx.get(imm[0] as string);
      if (i === undefined) throw new Error(`wasm: call to unknown function ${String(imm[0])}`);
      w.u32(i); return;
    }
    case 'i32': w.s32(imm[0] as number); return;
    case 'i64': w.s64(BigInt(imm[0] as number | bigint)); return;
    case 'f32': w.f32(imm[0] as number); return;
    case 'f64': w.f64(imm[0] as number); return;
    case 'block': w.byte(imm[0] ? VT[imm[0] as ValType] : 0x40); return;
    case 'v128': case 'shuffle': w.bytes(imm[0] as number[]); return;
    case 'lane': w.byte(imm[0] as number); return;
    case 'mem0': w.byte(0); return;
    case 'mem00': w.byte(0); w.byte(0); return;
  }
}

/** 16 bytes of four i32 lanes / four f32 lanes. */
export function v128Of(kind: 'i32' | 'f32', lanes: number[]): number[] {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  lanes.forEach((v, i) => (kind === 'f32' ? dv.setFloat32(4 * i, v, true) : dv.setInt32(4 * i, v | 0, true)));
  return Array.from(b);
}
