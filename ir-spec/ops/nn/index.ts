/**
 * nn ops: convolutions (Conv, ConvTranspose, ConvInteger), pooling (Average/Max/Lp, their Global forms,
 * MaxUnpool), normalizations (BatchNormalization, InstanceNormalization, LayerNormalization,
 * GroupNormalization, LRN, MeanVarianceNormalization) and Dropout (inference form), one file per family; importing this registers them all (in this order, which is the order
 * OPS.md lists them in within the 'nn' category). Shared helpers: common.ts.
 */
import './conv.ts';
import './pool.ts';
import './norm.ts';
import './dropout.ts';
