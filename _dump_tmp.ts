import * as fs from 'node:fs';
import { onnx, toNum } from './packages/onnx/src/proto.ts';
const dir = '/usr/share/libonnx-testdata/data/node';
for (const d of process.argv.slice(2)) {
  const model = onnx.ModelProto.decode(fs.readFileSync(`${dir}/${d}/model.onnx`));
  const ops = (model.opsetImport??[]).map((o:any)=>`${o.domain||''}:${toNum(o.version)}`).join(',');
  const ty = (t:any):string => t?.tensorType ? `T${t.tensorType.elemType}[${(t.tensorType.shape?.dim??[]).map((x:any)=>x.dimParam||toNum(x.dimValue)).join(',')}]` : t?.sequenceType ? `seq(${ty(t.sequenceType.elemType)})` : t?.optionalType ? `opt(${ty(t.optionalType.elemType)})` : '?';
  const vis = (g:any, ind:string) => {
    console.log(ind+'inputs: '+(g.input??[]).map((v:any)=>v.name+':'+ty(v.type)).join(' ')+'  outputs: '+(g.output??[]).map((v:any)=>v.name+':'+ty(v.type)).join(' ') + ' inits: ' + (g.initializer??[]).map((t:any)=>t.name).join(','));
    for (const n of g.node ?? []) {
      const at = (n.attribute??[]).map((a:any)=> a.g ? `${a.name}=<graph>` : `${a.name}=${a.type===1?a.f:a.type===2?toNum(a.i):a.type===3?new TextDecoder().decode(a.s):a.type===6?JSON.stringify(a.floats):a.type===7?JSON.stringify((a.ints??[]).map(toNum)):a.type===8?JSON.stringify((a.strings??[]).map((s:any)=>new TextDecoder().decode(s))):a.type===4?'tensor':'?'}`).join(' ');
      console.log(`${ind}${n.opType}(${(n.input??[]).join(',')}) -> ${(n.output??[]).join(',')}  ${at}`);
      for (const a of n.attribute??[]) if (a.g) vis(a.g, ind+'    ');
    }
  };
  console.log(`== ${d} opset ${ops}`); vis(model.graph, '  ');
}
