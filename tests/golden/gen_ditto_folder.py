"""A stand-in for Ditto's published ditto_onnx folder: one tiny graph per
network with the real graph inputs (names, types, shapes as Ditto's wrappers
feed them: tests/golden/fixtures/ditto_onnx/OPS.md section 2) and as many
outputs as the pipeline reads, each output a cheap reduction of the first
input. It tests recognising the folder, naming what is missing or of another
version, and loading every network through engine/models/ditto, without
hundreds of megabytes of weights. The structure of each network (what the
engine must compute) is tested by gen_ditto_onnx.py's graphs.

    python tests/golden/gen_ditto_folder.py  # needs onnx (PyPI)
"""
import os

import onnx
from onnx import TensorProto, helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64

# file, [(input name, type, dims)], outputs (names)
NETWORKS = [
    ("appearance_extractor.onnx", [("image", F, [1, 3, 256, 256])], ["pred"]),
    ("motion_extractor.onnx", [("image", F, [1, 3, 256, 256])], ["pitch", "yaw", "roll", "t", "exp", "scale", "kp"]),
    ("warp_network.onnx", [("feature_3d", F, [1, 32, 16, 64, 64]), ("kp_source", F, [1, 21, 3]),
                           ("kp_driving", F, [1, 21, 3])], ["out"]),
    ("decoder.onnx", [("feature", F, [1, 256, 64, 64])], ["output"]),
    ("stitch_network.onnx", [("kp_source", F, [1, 21, 3]), ("kp_driving", F, [1, 21, 3])], ["out"]),
    ("lmdm_v0.4_hubert.onnx", [("x", F, [1, 80, 265]), ("cond_frame", F, [1, 265]), ("cond", F, [1, 80, 1103]),
                               ("time_cond", I64, [1])], ["pred_noise", "x_start"]),
    ("hubert.onnx", [("input_values", F, [1, "samples"])], ["encoding_out"]),
    ("insightface_det.onnx", [("input.1", F, [1, 3, 512, 512])],
     [f"{k}{s}" for k in ("score_", "bbox_", "kps_") for s in (8, 16, 32)]),
    ("landmark106.onnx", [("data", F, [1, 3, 192, 192])], ["fc1"]),
    ("landmark203.onnx", [("input", F, [1, 3, 224, 224])], ["landmarks"]),
    ("blaze_face.onnx", [("input", F, [1, 128, 128, 3])], ["regressors", "classificators"]),
    ("face_mesh.onnx", [("input", F, [1, 256, 256, 3])], ["Identity", "Identity_1", "Identity_2"]),
]


def main():
    out = os.path.join(os.path.dirname(__file__), "fixtures", "ditto_folder")
    os.makedirs(out, exist_ok=True)
    for file, inputs, outputs in NETWORKS:
        first, ftype, _ = inputs[0]
        nodes = []
        src = first
        if ftype != F:
            nodes.append(helper.make_node("Cast", [first], ["as_float"], to=F))
            src = "as_float"
        for i, o in enumerate(outputs):
            # A different scalar per output: the mean times (i + 1).
            nodes.append(helper.make_node("ReduceMean", [src], [f"mean{i}"], keepdims=0))
            nodes.append(helper.make_node("Mul", [f"mean{i}", f"k{i}"], [o]))
        inits = [helper.make_tensor(f"k{i}", F, [], [float(i + 1)]) for i in range(len(outputs))]
        g = helper.make_graph(nodes, file[:-5], [helper.make_tensor_value_info(n, t, d) for n, t, d in inputs],
                              [helper.make_tensor_value_info(o, F, []) for o in outputs], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                              producer_name="gen_ditto_folder.py")
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, file))
    print(f"{len(NETWORKS)} graphs in {out}")


if __name__ == "__main__":
    main()
