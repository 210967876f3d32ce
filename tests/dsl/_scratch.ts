import { parseGraph, printGraph } from '@aic/dsl';
const src = `# hello
graph mlp(x: f32[1, 4]) -> (probs: f32[1, 4]) {
  b1: f32[4] = [1.0, 2, 3, 0.1]
  h = Relu(Add(Abs(x), b1)) @"/relu"
  probs = Neg(h)
}
`;
const g = parseGraph(src);
const t = printGraph(g);
console.log(t);
console.log(printGraph(parseGraph(t)) === t);
try { parseGraph(`graph g(x: f32[1]) -> (y: f32[1]) {\n  y = Rellu(x)\n}`, {file: 'a.aic'}); } catch (e: any) { console.log(e.format()); }
try { parseGraph(`graph g(x: f32[1]) -> (y: f32[1]) {\n  y = Relu(x,, )\n}`, {file: 'a.aic'}); } catch (e: any) { console.log(e.format()); console.log(e.detail); }
