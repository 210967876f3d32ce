/** Every pass; importing one registers it. Add a pass here, nowhere else. */
import './fold-constants.ts';
import './eliminate-dead-nodes.ts';
import './eliminate-common-subexpressions.ts';
