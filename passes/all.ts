/** Every pass; importing one registers it. Add a pass here, nowhere else. */
import './fold-constants.ts';
import './eliminate-dead-nodes.ts';
import './eliminate-common-subexpressions.ts';
import './eliminate-redundant.ts';
import './fuse.ts';
import './fuse-qdq.ts';
import './layout-nc4hw4.ts';
