// scratch harness (deleted at the end): stub ops owned by others, then run node tests
import { Tensor, castTensor, type RValue } from '@aic/core';
import { defineOp, getOp } from '@aic/ir-spec';
import { runNodeTest, summarize } from './scripts/conformance.ts';
import { listNodeTests } from './scripts/conformance.ts';
const stub = (name: string, infer: any, ev: any, attrs: any = {}) => { if (!getOp(name)) defineOp({ name, category: 'stub', summary: '', inputs: [{ name: 'x', variadic: true }], outputs: [{ name: 'y', variadic: true }], attrs, onnx: { since: 1 }, infer, eval: ev }); };
stub('Constant', (c: any) => { const t = c.attrs.tensor('value'); return [{ dtype: t.dtype, shape: t.shape.slice() }]; }, (c: any) => [c.attrs.tensor('value')], { value: { type: 'tensor' } });
stub('Identity', (c: any) => [{ ...c.type(0), kind: c.node.inputs[0].kind }], (c: any) => [c.inputs[0]]);
stub('Not', () => [{ dtype: 'bool', shape: [] }], (c: any) => [Tensor.fromNumbers('bool', c.input(0).shape, c.input(0).toNumbers().map((v: number) => v ? 0 : 1))]);
stub('Shape', () => [{ dtype: 'int64', shape: undefined }], (c: any) => [Tensor.fromNumbers('int64', [c.input(0).rank], c.input(0).shape)]);
stub('Unsqueeze', () => [{ dtype: 'int64', shape: undefined }], (c: any) => [c.input(0).reshape([1])], { axes: { type: 'ints' } });
stub('Slice', (c: any) => [{ dtype: c.type(0).dtype, shape: undefined }], (c: any) => { const x = c.input(0); const s = c.input(1).num[0], e = c.input(2).num[0]; return [Tensor.fromNumbers(x.dtype, [e - s], x.toNumbers().slice(s, e))]; });
const filters = process.argv.slice(2);
const res = listNodeTests().filter((t) => filters.some((f) => t.includes(f))).map((t) => { const r = runNodeTest(t); if (r.status !== 'pass' || process.env.ALL) console.log(r.status, t, r.detail); return r; });
console.log(summarize(res));
