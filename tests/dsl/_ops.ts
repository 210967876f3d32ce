import { allOps } from '@aic/ir-spec';
console.log(allOps().map(o => (o.domain? o.domain+'.':'')+o.name + (o.onnx ? '' : '(no-onnx)')).join(' '));
