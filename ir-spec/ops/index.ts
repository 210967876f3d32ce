/** Every op family; importing a family registers its ops. Add a family here, nowhere else. */
import './elementwise.ts';
import './nn.ts';
import './linalg.ts';
import './shape.ts';
import './reduce.ts';
import './control.ts';
import './rnn.ts';
import './misc.ts';
import './loss.ts';
import './quant.ts';
import './sequence.ts';
import './signal.ts';
import './training.ts';
import './fused.ts';
import './squeeze-excite.ts';
import './channel-shuffle.ts';
import './layout.ts';
