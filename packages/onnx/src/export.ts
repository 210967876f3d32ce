/** graph IR -> ONNX ModelProto. */
export {};
