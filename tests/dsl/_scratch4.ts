import * as fs from 'node:fs';
import { parseGraph, printGraph } from '@aic/dsl';
import { exportOnnx, loadOnnx } from '@aic/onnx';
const text = fs.readFileSync('tests/dsl/golden/basic.aic', 'utf8');
console.log(printGraph(loadOnnx(exportOnnx(parseGraph(text)))));
