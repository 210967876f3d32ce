/**
 * Shape and data-movement ops, one file per family; importing this registers them all (in this order,
 * which is the order OPS.md lists them in within the 'shape' category). Shared helpers: common.ts.
 */
import './views.ts';
import './concat-slice.ts';
import './gather-scatter.ts';
import './expand-pad.ts';
import './generators.ts';
import './rearrange.ts';
import './resize.ts';
