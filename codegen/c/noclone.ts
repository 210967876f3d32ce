/**
 * Every kernel of model.c carries AIC_KERNEL: `noclone` under GCC, so that IPA-CP never specializes a
 * kernel on the arena addresses its one call site passes.
 *
 * Why (GCC 12.2, -O2 and up, any -march; tests/fixtures/c/gcc12-ipa-cp-null-tmr.c): in a clone
 * `k.constprop` both pointers are constants into the same object, `in = arena + A` and `out = arena + B`.
 * When they step by different sizes (uint8 in, float out: every DequantizeLinear / QuantizeLinear, a
 * Cast, a strided copy), IVOPTs writes the store address off the load's induction variable,
 * `out = 4 * in - 3 * &arena + C`; no pointer term has coefficient 1, so the TARGET_MEM_REF gets a
 * literal 0 base: `MEM[(float *)0B + C + _x + iv * 4]`. ipa-pure-const reads that as a NULL
 * dereference, takes the rest of the block as unreachable, finds the clone `pure`, and DCE deletes
 * the call: the kernel never runs and its output keeps stale arena bytes (quantized small_cnn on C:
 * max |diff| 0.015 vs the interpreter; quantized mobilenet_v2: cosine 0.34 vs fp32 where wasm-simd
 * gives 0.99991; mobilenet_v3_small: NaN logits). Cost on fp32 models (benchmarks/c-flags.ts,
 * default vs `-DAIC_KERNEL=`): none measurable, per-model ratios both ways within the noise.
 * With pointer parameters IVOPTs keeps `out` (coefficient 1) as the base, so no clone, no bug.
 * The generated C is well-defined (UBSan-clean); -fno-ipa-cp hides the bug too, but for the whole
 * translation unit. Inlined kernels are not affected: pure-const only matters for calls within the
 * unit, and aic_model_run (where they land) is called from outside.
 * Clang has no `noclone` (and no IPA-CP clones of this kind). `-DAIC_KERNEL=` restores cloning (to
 * measure what the attribute costs: benchmarks/c-flags.ts --flags "... -DAIC_KERNEL=").
 */

/** The attribute macro every kernel definition carries (defined once at the top of model.c). */
export const KERNEL_ATTR = 'AIC_KERNEL';
export const KERNEL_ATTR_DEFINE = [
  '/* GCC: no IPA-CP clones of kernels (GCC 12 may drop the call to a clone that gets its arena pointers as constants) */',
  `#ifndef ${KERNEL_ATTR}`,
  '#if defined(__GNUC__) && !defined(__clang__)',
  `#define ${KERNEL_ATTR} __attribute__((noclone))`,
  '#else',
  `#define ${KERNEL_ATTR}`,
  '#endif',
  '#endif',
];
