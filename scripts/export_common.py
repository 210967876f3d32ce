"""What the model export scripts write next to NAME.onnx, as ../shared/tools/export_models.py does:
NAME.input.npy, NAME.output.npy (PyTorch's output) and NAME.json."""
import json, os
import numpy as np

def write_io(out, name, x, y, opset, source):
    np.save(os.path.join(out, name + ".input.npy"), np.ascontiguousarray(x.numpy()))
    np.save(os.path.join(out, name + ".output.npy"), np.ascontiguousarray(y.numpy().astype(np.float32)))
    meta = {"model": name + ".onnx", "opset": opset,
            "inputs": [{"name": "input", "dtype": "float32", "shape": list(x.shape), "file": name + ".input.npy"}],
            "outputs": [{"name": "output", "dtype": "float32", "shape": list(y.shape), "file": name + ".output.npy"}],
            "source": source}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(name, os.path.getsize(os.path.join(out, name + ".onnx")))
