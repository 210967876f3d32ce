/** fused ops (domain 'aic'). */
import { defineOp } from '../registry.ts';
void defineOp;
