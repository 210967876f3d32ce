/** sequence ops. */
import { defineOp } from '../registry.ts';
void defineOp;
