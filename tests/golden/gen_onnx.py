#!/usr/bin/env python3
"""Golden fixtures for the ONNX importer (tests/engine/onnx_golden_test.cpp).

Builds small ONNX graphs with onnx.helper: every op the importer lowers, at
odd shapes and in each attribute combination it supports, and a few small
multi-node graphs (a conv block, an MLP, an attention block, the shape chains
exporters emit). onnxruntime runs each on the CPU with its graph optimisations
off, so the reference is the graph as written, and the script writes per case

    fixtures/onnx/<case>.onnx          the graph (weights inline)
    fixtures/onnx/<case>.safetensors   "input/<name>" and "output/<name>"

plus fixtures/onnx/manifest.json: the generator, the seed, the package
versions and every case (name, the ops it covers, the opset).

Run (needs onnx, onnxruntime, numpy, safetensors in a venv outside the
repository; CI never runs it, it only reads the committed fixtures):
    python3 -m venv /work/venv-onnx
    /work/venv-onnx/bin/pip install onnx onnxruntime numpy safetensors
    /work/venv-onnx/bin/python tests/golden/gen_onnx.py [--out tests/golden/fixtures/onnx]
"""

import argparse
import json
import os
import platform
import sys

import numpy as np
import onnx
import onnxruntime as ort
import safetensors
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

SEED = 20250716
MAX_FILE_BYTES = 2 * 1000 * 1000
rng = np.random.default_rng(SEED)

F = TensorProto.FLOAT
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL

NP_TYPES = {np.float32: F, np.int64: I64, np.int32: TensorProto.INT32, np.bool_: BOOL, np.uint8: TensorProto.UINT8}


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def randu(*shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


class Case:
    def __init__(self, name, nodes, inputs, outputs, inits=None, opset=17, ops=None, dims=None, out_types=None,
                 raw=True):
        self.name = name
        self.nodes = nodes
        self.inputs = inputs  # name -> numpy array
        self.outputs = outputs  # names
        self.inits = inits or {}  # name -> numpy array or TensorProto
        self.opset = opset
        self.ops = ops or sorted({n.op_type for n in nodes})
        self.dims = dims or {}  # input name -> declared dims (symbols allowed)
        self.out_types = out_types or {}
        self.raw = raw

    def model(self, out_shapes=None):
        """The graph; output shapes are declared once known (from a first run)."""
        ins = []
        for name, a in self.inputs.items():
            ins.append(helper.make_tensor_value_info(name, NP_TYPES[a.dtype.type], self.dims.get(name, list(a.shape))))
        outs = [helper.make_tensor_value_info(o, self.out_types.get(o, F), (out_shapes or {}).get(o)) for o in self.outputs]
        inits = []
        for name, v in self.inits.items():
            if isinstance(v, TensorProto):
                v.name = name
                inits.append(v)
            elif self.raw:
                inits.append(numpy_helper.from_array(v, name))
            else:
                inits.append(helper.make_tensor(name, NP_TYPES[v.dtype.type], v.shape, v.flatten().tolist()))
        g = helper.make_graph(self.nodes, self.name, ins, outs, inits)
        ir = 8 if self.opset <= 17 else (9 if self.opset <= 20 else 10)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=ir,
                              producer_name="gen_onnx.py")
        if out_shapes is not None:
            onnx.checker.check_model(m)
        return m

    def reference(self):
        """The checked model and onnxruntime's outputs for the case's inputs."""
        first = run_reference(self.model(), self.inputs)
        m = self.model({k: list(v.shape) for k, v in first.items()})
        outputs = run_reference(m, self.inputs)
        return m, outputs


CASES = []


def add(*args, **kwargs):
    CASES.append(Case(*args, **kwargs))


def node(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name or f"{op.lower()}_{len(outs)}", **attrs)


def single(name, op, inputs, attrs=None, inits=None, opset=17, n_out=1, out_types=None, dims=None, raw=True):
    """A one-node graph: op over the given inputs (graph inputs first, then initializers)."""
    names = list(inputs) + list(inits or {})
    outs = [f"y{i}" for i in range(n_out)] if n_out > 1 else ["y"]
    add(name, [node(op, names, outs, name=name, **(attrs or {}))], inputs, outs, inits, opset=opset,
        out_types=out_types, dims=dims, raw=raw)


def c64(*v):
    return np.array(v, dtype=np.int64)


def build():
    # ---- elementwise -----------------------------------------------------------------
    for op in ["Add", "Sub", "Mul", "Div"]:
        b = randu(3, 1) * np.where(rng.random((3, 1)) > 0.5, 1, -1).astype(np.float32)
        single(f"{op.lower()}_broadcast", op, {"a": randn(2, 3, 5), "b": b})
        single(f"{op.lower()}_init_left", op, {"x": randn(4, 7)}, inits={"c": randu(7)})
    single("add_scalar_rank0", "Add", {"a": randn(2, 3)}, inits={"b": np.array(1.5, dtype=np.float32)})
    single("pow_scalar_2", "Pow", {"x": randn(3, 17)}, inits={"e": np.array(2.0, dtype=np.float32)})
    single("pow_scalar_half", "Pow", {"x": randu(2, 9)}, inits={"e": np.array([0.5], dtype=np.float32)})
    single("pow_tensor", "Pow", {"x": randu(2, 5), "e": randn(5)})
    for op, x in [("Sqrt", randu(3, 11)), ("Log", randu(2, 3, 7)), ("Reciprocal", randu(13) * np.sign(randn(13))),
                  ("Exp", randn(4, 6)), ("Neg", randn(5, 3)), ("Abs", randn(7, 2)), ("Relu", randn(3, 5, 7)),
                  ("Sigmoid", randn(2, 33, scale=3)), ("Tanh", randn(65, scale=2)), ("Erf", randn(3, 19)),
                  ("Sin", randn(17)), ("Cos", randn(17)), ("HardSwish", randn(4, 9, scale=4))]:
        single(op.lower(), op, {"x": x})
    single("leaky_relu", "LeakyRelu", {"x": randn(3, 7)}, {"alpha": 0.3})
    single("leaky_relu_default", "LeakyRelu", {"x": randn(9)})
    single("hard_sigmoid", "HardSigmoid", {"x": randn(4, 9, scale=4)}, {"alpha": 0.25, "beta": 0.4})
    single("gelu_erf", "Gelu", {"x": randn(3, 15, scale=2)}, opset=20)
    single("gelu_tanh", "Gelu", {"x": randn(3, 15, scale=2)}, {"approximate": "tanh"}, opset=20)
    single("prelu", "PRelu", {"x": randn(2, 3, 4, 5)}, inits={"slope": randu(3, 1, 1, lo=0.05, hi=0.5)})
    single("max_variadic", "Max", {"a": randn(2, 3), "b": randn(3), "c": randn(2, 1)})
    single("min_variadic", "Min", {"a": randn(4, 1), "b": randn(1, 5)})
    single("sum_variadic", "Sum", {"a": randn(2, 3), "b": randn(2, 3), "c": randn(3)})
    single("mean_variadic", "Mean", {"a": randn(3, 4), "b": randn(4)})
    single("clip_inputs", "Clip", {"x": randn(5, 6, scale=2)},
           inits={"lo": np.array(-0.5, np.float32), "hi": np.array(0.75, np.float32)}, opset=13)
    add("clip_max_only", [node("Clip", ["x", "", "hi"], ["y"])], {"x": randn(3, 8, scale=2)}, ["y"],
        {"hi": np.array(0.5, np.float32)}, opset=13)
    single("clip_attrs_opset9", "Clip", {"x": randn(5, 6, scale=2)}, {"min": -1.0, "max": 0.25}, opset=9)

    # ---- softmax and reductions ---------------------------------------------------------
    single("softmax_axis1", "Softmax", {"x": randn(2, 5, 3, scale=3)}, {"axis": 1}, opset=13)
    single("softmax_last", "Softmax", {"x": randn(3, 4, 17, scale=3)})
    single("softmax_opset11_coerced", "Softmax", {"x": randn(2, 3, 4, 5)}, {"axis": 1}, opset=11)
    single("log_softmax", "LogSoftmax", {"x": randn(3, 11, scale=5)}, {"axis": -1})
    single("reduce_mean_attr", "ReduceMean", {"x": randn(2, 5, 7)}, {"axes": [1]}, opset=13)
    single("reduce_mean_input", "ReduceMean", {"x": randn(2, 3, 6, 5)}, {"keepdims": 0},
           inits={"axes": c64(2, 3)}, opset=18)
    single("reduce_sum_input", "ReduceSum", {"x": randn(4, 9)}, inits={"axes": c64(-1)}, opset=13)
    single("reduce_sum_all", "ReduceSum", {"x": randn(3, 4, 5)}, {"keepdims": 0}, opset=13)
    single("reduce_max", "ReduceMax", {"x": randn(3, 4, 5)}, {"axes": [0, 2]}, opset=13)
    single("reduce_min", "ReduceMin", {"x": randn(3, 4, 5)}, {"axes": [1], "keepdims": 0}, opset=13)
    single("reduce_sum_square", "ReduceSumSquare", {"x": randn(3, 8)}, {"axes": [1]}, opset=13)
    single("reduce_l2", "ReduceL2", {"x": randn(2, 3, 8)}, {"axes": [2]}, opset=13)
    single("reduce_log_sum_exp", "ReduceLogSumExp", {"x": randn(2, 6, scale=10)}, {"axes": [1], "keepdims": 0},
           opset=13)
    single("argmax", "ArgMax", {"x": randn(3, 7, 4)}, {"axis": 1, "keepdims": 0}, out_types={"y": I64})
    add("cumsum", [node("CumSum", ["x", "axis"], ["y"])], {"x": randn(3, 6)}, ["y"], {"axis": c64(1)}, opset=14)

    # ---- matrix products -------------------------------------------------------------------
    single("matmul_2d", "MatMul", {"a": randn(5, 7), "b": randn(7, 3)})
    single("matmul_batched_weight", "MatMul", {"a": randn(2, 3, 5, 7)}, inits={"w": randn(7, 4)})
    single("matmul_broadcast", "MatMul", {"a": randn(2, 1, 4, 5), "b": randn(3, 5, 6)})
    single("matmul_vector_left", "MatMul", {"a": randn(5), "b": randn(2, 5, 3)})
    single("matmul_vector_right", "MatMul", {"a": randn(2, 4, 5), "b": randn(5)})
    single("gemm_linear", "Gemm", {"a": randn(6, 10)}, {"transB": 1}, inits={"w": randn(4, 10), "c": randn(4)})
    single("gemm_trans_a_alpha_beta", "Gemm", {"a": randn(7, 3), "b": randn(7, 5)},
           {"transA": 1, "alpha": 0.5, "beta": 2.0}, inits={"c": randn(3, 5)})
    single("gemm_no_c", "Gemm", {"a": randn(2, 9), "b": randn(9, 4)})
    single("gemm_row_c", "Gemm", {"a": randn(3, 6)}, {"transB": 1, "beta": 0.5}, inits={"w": randn(5, 6), "c": randn(1, 5)})

    # ---- convolution ---------------------------------------------------------------------
    single("conv_3x3_pad1", "Conv", {"x": randn(2, 3, 13, 11)}, {"pads": [1, 1, 1, 1]},
           inits={"w": randn(5, 3, 3, 3, scale=0.3), "b": randn(5)})
    single("conv_stride2_asym_pads", "Conv", {"x": randn(1, 4, 12, 9)}, {"strides": [2, 2], "pads": [0, 1, 2, 1]},
           inits={"w": randn(6, 4, 3, 3, scale=0.3)})
    single("conv_dilation2", "Conv", {"x": randn(1, 2, 15, 14)}, {"dilations": [2, 2], "pads": [2, 2, 2, 2]},
           inits={"w": randn(3, 2, 3, 3, scale=0.3), "b": randn(3)})
    single("conv_depthwise", "Conv", {"x": randn(2, 6, 9, 9)}, {"group": 6, "pads": [1, 1, 1, 1]},
           inits={"w": randn(6, 1, 3, 3, scale=0.3), "b": randn(6)})
    single("conv_groups2", "Conv", {"x": randn(1, 4, 8, 7)}, {"group": 2, "kernel_shape": [3, 2]},
           inits={"w": randn(6, 2, 3, 2, scale=0.3)})
    single("conv_same_upper", "Conv", {"x": randn(1, 3, 10, 7)}, {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
           inits={"w": randn(4, 3, 4, 4, scale=0.3)})
    single("conv_same_lower", "Conv", {"x": randn(1, 3, 9, 8)}, {"auto_pad": "SAME_LOWER"},
           inits={"w": randn(2, 3, 2, 2, scale=0.3)})
    single("conv_valid_1x1", "Conv", {"x": randn(2, 8, 5, 6)}, {"auto_pad": "VALID"},
           inits={"w": randn(3, 8, 1, 1, scale=0.3), "b": randn(3)})
    single("conv_1d", "Conv", {"x": randn(2, 3, 17)}, {"pads": [2, 1], "strides": [2]},
           inits={"w": randn(4, 3, 5, scale=0.3), "b": randn(4)})
    single("conv_runtime_weight", "Conv", {"x": randn(1, 2, 6, 6), "w": randn(3, 2, 3, 3)})

    # ---- normalisation -----------------------------------------------------------------------
    c = 5
    single("batchnorm", "BatchNormalization", {"x": randn(2, c, 4, 3)}, {"epsilon": 1e-3},
           inits={"s": randu(c), "b": randn(c), "m": randn(c), "v": randu(c)}, opset=15)
    single("batchnorm_2d_input", "BatchNormalization", {"x": randn(4, c)},
           inits={"s": randu(c), "b": randn(c), "m": randn(c), "v": randu(c)}, opset=15)
    single("instance_norm", "InstanceNormalization", {"x": randn(2, 3, 5, 7, scale=3)}, {"epsilon": 1e-4},
           inits={"s": randu(3), "b": randn(3)})
    single("layer_norm_last", "LayerNormalization", {"x": randn(2, 7, 12)}, inits={"s": randu(12), "b": randn(12)})
    single("layer_norm_axis1_no_bias", "LayerNormalization", {"x": randn(2, 3, 4)}, {"axis": 1, "epsilon": 1e-3},
           inits={"s": randu(3, 4)})

    # ---- pooling --------------------------------------------------------------------------------
    single("maxpool_3x3_s2_p1", "MaxPool", {"x": randn(2, 3, 11, 10)},
           {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]})
    single("maxpool_ceil", "MaxPool", {"x": randn(1, 2, 10, 9)}, {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1})
    single("maxpool_asym_pads", "MaxPool", {"x": randn(1, 2, 7, 8)}, {"kernel_shape": [2, 3], "pads": [0, 1, 1, 2]})
    single("maxpool_1d", "MaxPool", {"x": randn(2, 3, 12)}, {"kernel_shape": [3], "strides": [2]})
    single("avgpool_exclude_pad", "AveragePool", {"x": randn(1, 3, 9, 8)},
           {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]})
    single("avgpool_include_pad", "AveragePool", {"x": randn(1, 3, 9, 8)},
           {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1})
    single("avgpool_ceil", "AveragePool", {"x": randn(1, 2, 10, 11)}, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1})
    single("avgpool_same_upper", "AveragePool", {"x": randn(1, 2, 7, 7)}, {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"})
    single("global_avgpool", "GlobalAveragePool", {"x": randn(2, 5, 7, 3)})
    single("global_maxpool", "GlobalMaxPool", {"x": randn(2, 5, 7, 3)})

    # ---- resizing --------------------------------------------------------------------------------
    empty = np.array([], dtype=np.float32)

    def resize(name, x, attrs, scales=None, sizes=None, opset=13):
        inits = {"roi": empty}
        ins = ["x", "roi"]
        if scales is not None:
            inits["scales"] = np.array(scales, np.float32)
            ins.append("scales")
        else:
            ins.append("")
            inits["sizes"] = c64(*sizes)
            ins.append("sizes")
        add(name, [node("Resize", ins, ["y"], **attrs)], {"x": x}, ["y"], inits, opset=opset)

    resize("resize_nearest_asym_x2", randn(1, 2, 5, 7), {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                                                         "nearest_mode": "floor"}, scales=[1, 1, 2, 2])
    resize("resize_linear_half_pixel_x2", randn(2, 3, 6, 5), {"mode": "linear"}, scales=[1, 1, 2, 2])
    resize("resize_linear_align_corners", randn(1, 2, 7, 6), {"mode": "linear", "coordinate_transformation_mode":
                                                              "align_corners"}, sizes=[1, 2, 12, 9])
    resize("resize_linear_pytorch_down", randn(1, 3, 12, 10), {"mode": "linear", "coordinate_transformation_mode":
                                                               "pytorch_half_pixel"}, sizes=[1, 3, 5, 4])
    resize("resize_linear_fractional_scale", randn(1, 1, 7, 9), {"mode": "linear"}, scales=[1, 1, 1.7, 0.6])
    resize("resize_nearest_half_pixel_down", randn(1, 2, 11, 9), {"mode": "nearest", "coordinate_transformation_mode":
                                                                  "half_pixel"}, sizes=[1, 2, 5, 4])
    resize("resize_nearest_prefer_ceil", randn(1, 2, 6, 6), {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
           scales=[1, 1, 1.5, 2.5])
    resize("resize_nearest_ceil_align", randn(1, 2, 5, 4), {"mode": "nearest", "nearest_mode": "ceil",
                                                            "coordinate_transformation_mode": "align_corners"},
           sizes=[1, 2, 9, 7])
    single("upsample_nearest_opset9", "Upsample", {"x": randn(1, 2, 3, 4)}, {"mode": "nearest"},
           inits={"scales": np.array([1, 1, 2, 3], np.float32)}, opset=9)
    single("upsample_linear_opset9", "Upsample", {"x": randn(1, 2, 3, 4)}, {"mode": "linear"},
           inits={"scales": np.array([1, 1, 2, 2], np.float32)}, opset=9)

    # ---- shape and layout ---------------------------------------------------------------
    single("reshape_zero_minus1", "Reshape", {"x": randn(2, 3, 4, 5)}, inits={"s": c64(0, -1, 5)})
    single("flatten_axis2", "Flatten", {"x": randn(2, 3, 4, 5)}, {"axis": 2})
    single("squeeze_attr", "Squeeze", {"x": randn(2, 1, 3, 1)}, {"axes": [1, -1]}, opset=11)
    single("squeeze_input", "Squeeze", {"x": randn(1, 3, 1, 4)}, inits={"axes": c64(0)}, opset=13)
    single("unsqueeze_attr", "Unsqueeze", {"x": randn(3, 4)}, {"axes": [0, 3]}, opset=11)
    single("unsqueeze_input", "Unsqueeze", {"x": randn(3, 4)}, inits={"axes": c64(-1, 1)}, opset=13)
    single("transpose_perm", "Transpose", {"x": randn(2, 3, 4, 5)}, {"perm": [0, 2, 3, 1]})
    single("transpose_default", "Transpose", {"x": randn(3, 5, 2)})
    single("concat_last", "Concat", {"a": randn(2, 3, 1), "b": randn(2, 3, 4), "c": randn(2, 3, 2)}, {"axis": -1})
    single("split_input", "Split", {"x": randn(2, 9, 3)}, {"axis": 1}, inits={"s": c64(2, 3, 4)}, opset=13, n_out=3)
    single("split_equal_opset11", "Split", {"x": randn(6, 4)}, {"axis": 0}, opset=11, n_out=3)
    single("split_num_outputs_uneven", "Split", {"x": randn(2, 7)}, {"axis": 1, "num_outputs": 3}, opset=18, n_out=3)
    single("slice_steps_negative", "Slice", {"x": randn(5, 8, 6)},
           inits={"st": c64(-4, 1), "en": c64(np.iinfo(np.int64).max, -1), "ax": c64(0, 2), "sp": c64(2, 1)})
    single("slice_opset9_attrs", "Slice", {"x": randn(4, 7)}, {"starts": [1, 0], "ends": [3, 100], "axes": [0, 1]},
           opset=9)
    single("gather_scalar_index", "Gather", {"x": randn(4, 5, 3)}, {"axis": 1}, inits={"i": np.array(-2, np.int64)})
    single("gather_index_matrix", "Gather", {"x": randn(3, 6, 2)}, {"axis": 1},
           inits={"i": np.array([[0, 5], [3, 3], [-1, 2]], np.int64)})
    single("gather_consecutive", "Gather", {"x": randn(7, 3)}, inits={"i": c64(2, 3, 4)})
    single("gather_runtime_ids", "Gather", {"ids": np.array([[1, 0, 4], [3, 3, 2]], np.int64)}, inits={"table": randn(5, 6)})
    # Gather with run-time indices needs the table first: reorder inputs.
    CASES[-1].nodes[0].input[:] = ["table", "ids"]
    single("gather_runtime_ids_axis1", "Gather", {"ids": np.array([2, 0], np.int64)}, {"axis": 1},
           inits={"table": randn(3, 4, 2)})
    CASES[-1].nodes[0].input[:] = ["table", "ids"]
    single("expand_float", "Expand", {"x": randn(3, 1)}, inits={"s": c64(2, 3, 4)})
    single("tile", "Tile", {"x": randn(2, 3)}, inits={"r": c64(2, 3)})
    single("pad_constant", "Pad", {"x": randn(2, 3, 4)}, inits={"p": c64(0, 1, 2, 0, 2, 1), "v": np.array(1.5, np.float32)},
           opset=13)
    single("pad_reflect", "Pad", {"x": randn(1, 2, 5, 6)}, {"mode": "reflect"}, inits={"p": c64(0, 0, 2, 1, 0, 0, 1, 3)},
           opset=13)
    single("pad_edge", "Pad", {"x": randn(1, 2, 4, 3)}, {"mode": "edge"}, inits={"p": c64(0, 0, 1, 2, 0, 0, 3, 0)},
           opset=13)
    single("pad_crop", "Pad", {"x": randn(3, 6)}, inits={"p": c64(-1, 2, 0, -2)}, opset=13)
    single("pad_axes_opset18", "Pad", {"x": randn(2, 3, 4)}, inits={"p": c64(1, 2, 0, 1), "v": np.array(0, np.float32),
                                                                    "a": c64(0, -1)}, opset=18)
    single("pad_attrs_opset9", "Pad", {"x": randn(2, 3)}, {"pads": [0, 1, 1, 2], "value": -2.0}, opset=9)
    single("depth_to_space_dcr", "DepthToSpace", {"x": randn(1, 8, 2, 3)}, {"blocksize": 2})
    single("depth_to_space_crd", "DepthToSpace", {"x": randn(2, 12, 2, 2)}, {"blocksize": 2, "mode": "CRD"})
    single("space_to_depth", "SpaceToDepth", {"x": randn(1, 3, 4, 6)}, {"blocksize": 2})
    single("identity", "Identity", {"x": randn(3, 4)})
    single("dropout_inference", "Dropout", {"x": randn(3, 4)}, opset=13)
    single("cast_to_int_and_back", "Cast", {"x": randn(3, 5, scale=4)}, {"to": I64}, out_types={"y": I64})
    single("cast_to_float16", "Cast", {"x": randn(4, 6, scale=3)}, {"to": TensorProto.FLOAT16},
           out_types={"y": TensorProto.FLOAT16})
    single("cast_int_to_float", "Cast", {"x": np.array([[3, -2], [7, 0]], np.int64)}, {"to": F})

    # ---- known at load: shape chains, constants, comparisons ---------------------------------
    # The chain torch.onnx emits for x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    add("shape_chain_flatten", [
        node("Shape", ["x"], ["s"], name="shape"),
        node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
        node("Concat", ["n1", "minus1"], ["shape2"], name="concat", axis=0),
        node("Reshape", ["x", "shape2"], ["y"], name="reshape"),
    ], {"x": randn(3, 4, 5)}, ["y"], {"zero": np.array(0, np.int64), "axes0": c64(0), "minus1": c64(-1)},
        opset=13, dims={"x": ["batch", 4, 5]})
    # Exporters' dynamic reshape guards: Where(Equal(shape, 0), input shape, shape); Range; ConstantOfShape.
    add("shape_where_equal_range", [
        node("Shape", ["x"], ["s"], name="shape"),
        node("Equal", ["target", "zeros"], ["is0"], name="equal"),
        node("Where", ["is0", "s", "target"], ["t2"], name="where"),
        node("Reshape", ["x", "t2"], ["r"], name="reshape"),
        node("Shape", ["r"], ["rs"], name="shape2"),
        node("Gather", ["rs", "last"], ["n"], name="gather", axis=0),
        node("Range", ["start", "n", "step"], ["ar"], name="range"),
        node("Cast", ["ar"], ["arf"], name="cast", to=F),
        node("Add", ["r", "arf"], ["y0"], name="add"),
        node("ConstantOfShape", ["rs"], ["ones"], name="cos",
             value=helper.make_tensor("v", F, [1], [2.0])),
        node("Mul", ["y0", "ones"], ["y"], name="mul"),
        node("Size", ["x"], ["size"], name="size"),
    ], {"x": randn(2, 3, 4)}, ["y", "size"], {"target": c64(0, 12, 1), "zeros": c64(0, 0, 0), "last": np.array(1, np.int64),
                                           "start": np.array(0, np.int64), "step": np.array(1, np.int64)},
        opset=13, out_types={"size": I64})
    add("constant_nodes", [
        node("Constant", [], ["c1"], name="c1", value=helper.make_tensor("c", F, [3], [1.0, -2.0, 0.5])),
        node("Constant", [], ["c2"], name="c2", value_float=0.25),
        node("Constant", [], ["c3"], name="c3", value_ints=[2, 3]),
        node("Mul", ["x", "c1"], ["m"], name="mul"),
        node("Add", ["m", "c2"], ["a"], name="add"),
        node("Reshape", ["a", "c3"], ["y"], name="reshape"),
    ], {"x": randn(2, 3)}, ["y"], {}, opset=13)
    add("typed_field_initializers", [node("Add", ["x", "w"], ["t"]), node("Mul", ["t", "s"], ["y"])],
        {"x": randn(2, 4)}, ["y"], {"w": randn(4), "s": randn(2, 1)}, raw=False)
    add("float16_bfloat16_initializers", [node("Cast", ["h"], ["hf"], name="cast_h", to=F),
                                          node("Cast", ["bf"], ["bff"], name="cast_bf", to=F),
                                          node("Add", ["x", "hf"], ["t"]), node("Mul", ["t", "bff"], ["y"])],
        {"x": randn(3, 4)}, ["y"],
        {"h": randn(4).astype(np.float16),
         "bf": helper.make_tensor("bf", TensorProto.BFLOAT16, [3, 1], [1.5, -0.25, 3.0])})
    # Folding at load: a transposed weight initializer and a Cast of constants.
    add("fold_transposed_weight", [
        node("Transpose", ["wt"], ["w"], name="transpose_w", perm=[1, 0]),
        node("Cast", ["half"], ["halff"], name="cast_half", to=F),
        node("Mul", ["w", "halff"], ["w2"], name="scale_w"),
        node("MatMul", ["x", "w2"], ["y"], name="matmul"),
    ], {"x": randn(3, 5)}, ["y"], {"wt": randn(4, 5), "half": np.array(0.5, np.float32).astype(np.float16)})

    # ---- small multi-node graphs -----------------------------------------------------------------
    # A conv block: Conv -> BatchNorm -> Relu -> MaxPool -> Conv -> InstanceNorm -> LeakyRelu -> Resize -> GAP -> Flatten -> Gemm.
    add("conv_block", [
        node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["n1"], name="bn1"),
        node("Relu", ["n1"], ["r1"], name="relu1"),
        node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[1, 1]),
        node("InstanceNormalization", ["c2", "in_s", "in_b"], ["n2"], name="in2"),
        node("LeakyRelu", ["n2"], ["r2"], name="lrelu2", alpha=0.2),
        node("Resize", ["r2", "", "scales"], ["u2"], name="up2", mode="linear"),
        node("GlobalAveragePool", ["u2"], ["g"], name="gap"),
        node("Flatten", ["g"], ["f"], name="flatten"),
        node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ], {"x": randn(2, 3, 16, 14)}, ["y"],
        {"w1": randn(8, 3, 3, 3, scale=0.3), "b1": randn(8), "bn_s": randu(8), "bn_b": randn(8), "bn_m": randn(8),
         "bn_v": randu(8), "w2": randn(6, 8, 3, 3, scale=0.2), "in_s": randu(6), "in_b": randn(6),
         "scales": np.array([1, 1, 2, 2], np.float32), "fc_w": randn(10, 6), "fc_b": randn(10)}, opset=13)
    # An MLP as torch.onnx exports it: MatMul + Add, GELU spelled out with Erf, LayerNorm, Softmax.
    d, h = 12, 20
    sqrt2 = np.array(np.sqrt(2.0), np.float32)
    add("mlp", [
        node("MatMul", ["x", "w1"], ["m1"], name="fc1_matmul"),
        node("Add", ["m1", "b1"], ["a1"], name="fc1_add"),
        node("Div", ["a1", "sqrt2"], ["g0"], name="gelu_div"),
        node("Erf", ["g0"], ["g1"], name="gelu_erf"),
        node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
        node("Mul", ["a1", "g2"], ["g3"], name="gelu_mul"),
        node("Mul", ["g3", "half"], ["g4"], name="gelu_half"),
        node("MatMul", ["g4", "w2"], ["m2"], name="fc2_matmul"),
        node("Add", ["b2", "m2"], ["a2"], name="fc2_add"),
        node("LayerNormalization", ["a2", "ln_s", "ln_b"], ["ln"], name="ln", axis=-1),
        node("Softmax", ["ln"], ["y"], name="softmax", axis=-1),
    ], {"x": randn(2, 5, d)}, ["y"],
        {"w1": randn(d, h, scale=0.3), "b1": randn(h), "sqrt2": sqrt2, "one": np.array(1, np.float32),
         "half": np.array(0.5, np.float32), "w2": randn(h, d, scale=0.3), "b2": randn(d), "ln_s": randu(d),
         "ln_b": randn(d)}, opset=17, dims={"x": ["batch", "seq", d]})
    # Attention written out: Q/K/V projections, head split by Reshape/Transpose, MatMul-Softmax-MatMul.
    heads, dh, seq = 2, 4, 6
    dm = heads * dh
    add("attention_block", [
        node("MatMul", ["x", "wq"], ["q0"], name="q_proj"),
        node("MatMul", ["x", "wk"], ["k0"], name="k_proj"),
        node("MatMul", ["x", "wv"], ["v0"], name="v_proj"),
        node("Reshape", ["q0", "heads_shape"], ["q1"], name="q_split"),
        node("Reshape", ["k0", "heads_shape"], ["k1"], name="k_split"),
        node("Reshape", ["v0", "heads_shape"], ["v1"], name="v_split"),
        node("Transpose", ["q1"], ["q"], name="q_t", perm=[0, 2, 1, 3]),
        node("Transpose", ["k1"], ["kt"], name="k_t", perm=[0, 2, 3, 1]),
        node("Transpose", ["v1"], ["v"], name="v_t", perm=[0, 2, 1, 3]),
        node("MatMul", ["q", "kt"], ["s0"], name="scores"),
        node("Mul", ["s0", "scale"], ["s1"], name="scale"),
        node("Softmax", ["s1"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["o0"], name="context"),
        node("Transpose", ["o0"], ["o1"], name="o_t", perm=[0, 2, 1, 3]),
        node("Reshape", ["o1", "merge_shape"], ["o2"], name="merge"),
        node("MatMul", ["o2", "wo"], ["o3"], name="o_proj"),
        node("Add", ["o3", "bo"], ["y"], name="o_bias"),
    ], {"x": randn(2, seq, dm)}, ["y"],
        {"wq": randn(dm, dm, scale=0.4), "wk": randn(dm, dm, scale=0.4), "wv": randn(dm, dm, scale=0.4),
         "heads_shape": c64(0, 0, heads, dh), "scale": np.array(1 / np.sqrt(dh), np.float32),
         "merge_shape": c64(0, 0, dm), "wo": randn(dm, dm, scale=0.4), "bo": randn(dm)}, opset=13)
    # What the rewrites act on, alone: Conv + BN, MatMul + Add, an Identity in the middle.
    add("rewrite_conv_bn", [
        node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1], group=2),
        node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], name="bn", epsilon=1e-4),
        node("Identity", ["n"], ["i"], name="identity"),
        node("Sigmoid", ["i"], ["y"], name="sigmoid"),
    ], {"x": randn(1, 4, 7, 6)}, ["y"],
        {"w": randn(6, 2, 3, 3, scale=0.4), "b": randn(6), "s": randu(6), "bb": randn(6), "m": randn(6, scale=0.5),
         "v": randu(6)}, opset=13)
    add("rewrite_matmul_add", [
        node("MatMul", ["x", "w"], ["m"], name="matmul"),
        node("Add", ["m", "b"], ["a"], name="add"),
        node("Tanh", ["a"], ["y"], name="tanh"),
        node("MatMul", ["x", "w"], ["m2"], name="matmul_shared_weight"),
        node("Add", ["m2", "b2"], ["y2"], name="add_broadcast_bias"),  # [1, 4] bias: left unfused
    ], {"x": randn(3, 2, 6)}, ["y", "y2"], {"w": randn(6, 4), "b": randn(4), "b2": randn(1, 4)}, opset=13)

    # ---- Ditto's ops (added after the first phase's cases, so those keep their bytes) ----------
    # 3-D convolution: LivePortrait's warp network and appearance volume.
    single("conv3d_3x3x3_pad1", "Conv", {"x": randn(1, 3, 5, 6, 7)}, {"pads": [1, 1, 1, 1, 1, 1]},
           inits={"w": randn(4, 3, 3, 3, 3, scale=0.2), "b": randn(4)})
    single("conv3d_stride_asym_pads", "Conv", {"x": randn(1, 2, 6, 7, 5)},
           {"strides": [2, 1, 2], "pads": [0, 1, 1, 1, 0, 2]}, inits={"w": randn(3, 2, 2, 3, 3, scale=0.2)})
    single("conv3d_1x1x1", "Conv", {"x": randn(2, 5, 3, 4, 4)}, inits={"w": randn(6, 5, 1, 1, 1, scale=0.3),
                                                                       "b": randn(6)})
    single("conv3d_depthwise", "Conv", {"x": randn(1, 4, 4, 5, 5)}, {"group": 4, "pads": [1, 1, 1, 1, 1, 1]},
           inits={"w": randn(4, 1, 3, 3, 3, scale=0.3), "b": randn(4)})
    single("conv3d_groups2_dilation", "Conv", {"x": randn(1, 4, 7, 7, 6)}, {"group": 2, "dilations": [2, 1, 1]},
           inits={"w": randn(6, 2, 3, 3, 2, scale=0.3)})
    single("conv3d_same_upper", "Conv", {"x": randn(1, 2, 5, 6, 6)}, {"auto_pad": "SAME_UPPER", "strides": [1, 2, 2]},
           inits={"w": randn(3, 2, 3, 3, 3, scale=0.3)})
    # 3-D pooling (DownBlock3d: AvgPool3d(kernel (1, 2, 2))) and resizing (UpBlock3d: nearest (1, 2, 2)).
    single("avgpool3d_1x2x2", "AveragePool", {"x": randn(1, 3, 4, 6, 8)}, {"kernel_shape": [1, 2, 2],
                                                                          "strides": [1, 2, 2]})
    single("avgpool3d_pads_exclude", "AveragePool", {"x": randn(1, 2, 5, 6, 7)},
           {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1, 1, 1, 1, 1, 1]})
    single("avgpool3d_ceil_include_pad", "AveragePool", {"x": randn(1, 2, 5, 5, 6)},
           {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2], "pads": [0, 1, 1, 1, 1, 0], "ceil_mode": 1,
            "count_include_pad": 1}, opset=19)
    single("maxpool3d_2x2x2", "MaxPool", {"x": randn(2, 2, 5, 6, 7)}, {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]})
    single("maxpool3d_pads", "MaxPool", {"x": randn(1, 3, 4, 5, 6)},
           {"kernel_shape": [3, 3, 3], "strides": [1, 2, 2], "pads": [1, 1, 1, 1, 1, 1]})
    resize("resize3d_nearest_1x2x2", randn(1, 2, 3, 4, 5), {"mode": "nearest"}, scales=[1, 1, 1, 2, 2])
    resize("resize3d_linear_x2", randn(1, 2, 3, 4, 5), {"mode": "linear"}, scales=[1, 1, 2, 2, 2])
    resize("resize3d_linear_align_corners", randn(1, 1, 4, 5, 3), {"mode": "linear",
                                                                   "coordinate_transformation_mode": "align_corners"},
           sizes=[1, 1, 7, 3, 6])
    resize("resize3d_nearest_asym", randn(1, 2, 4, 3, 5), {"mode": "nearest", "coordinate_transformation_mode":
                                                           "asymmetric", "nearest_mode": "floor"},
           scales=[1, 1, 0.5, 2, 1.5])

    # Grid sampling: 2-D at opset 16, 3-D (LivePortrait's deformation of the appearance
    # volume) at opset 20. Grid values reach past [-1, 1] so every padding mode matters.
    def grid(*shape):
        return rng.uniform(-1.25, 1.25, shape).astype(np.float32)

    for mode, pad, ac in [("bilinear", "zeros", 0), ("bilinear", "border", 1), ("bilinear", "reflection", 0),
                          ("bilinear", "reflection", 1), ("nearest", "zeros", 1), ("nearest", "border", 0),
                          ("nearest", "reflection", 0)]:
        single(f"gridsample_{mode}_{pad}_ac{ac}", "GridSample", {"x": randn(2, 3, 5, 7), "grid": grid(2, 4, 6, 2)},
               {"mode": mode, "padding_mode": pad, "align_corners": ac}, opset=16)
    for mode, pad, ac in [("linear", "zeros", 0), ("linear", "border", 1), ("linear", "reflection", 0),
                          ("nearest", "zeros", 0), ("nearest", "border", 1)]:
        single(f"gridsample3d_{mode}_{pad}_ac{ac}", "GridSample",
               {"x": randn(1, 3, 4, 5, 6), "grid": grid(1, 3, 4, 5, 3)},
               {"mode": mode, "padding_mode": pad, "align_corners": ac}, opset=20)

    # Attention patterns the fusion meets (engine/onnx/rewrites.h): HuBERT's eager
    # attention (q scaled first, [B * H, S, D] tensors, K^T by a last-two swap), a Div by
    # sqrt(d), torch's SDPA export (both q and K^T scaled by sqrt(scale)), keys whose
    # broadcast leading dims make the lowering take the three ops, and a Softmax read twice
    # (left unfused).
    bh, s_q, s_k, d = 6, 5, 7, 8
    add("attention_hubert_style", [
        node("Mul", ["q0", "qs"], ["q"], name="q_scale"),
        node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        node("MatMul", ["q", "kt"], ["s"], name="scores"),
        node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["y"], name="context"),
    ], {"q0": randn(bh, s_q, d), "k": randn(bh, s_k, d), "v": randn(bh, s_k, 3)}, ["y"],
        {"qs": np.array(d ** -0.5, np.float32)}, opset=17)
    add("attention_div_scale", [
        node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 1, 3, 2]),
        node("MatMul", ["q", "kt"], ["s"], name="scores"),
        node("Div", ["s", "sd"], ["s2"], name="div"),
        node("Softmax", ["s2"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["y"], name="context"),
    ], {"q": randn(2, 3, s_q, d), "k": randn(2, 3, s_k, d), "v": randn(2, 3, s_k, d)}, ["y"],
        {"sd": np.array([np.sqrt(d)], np.float32)}, opset=13)
    add("attention_sdpa_export", [
        node("Mul", ["q0", "sq"], ["q"], name="q_scale"),
        node("Transpose", ["k"], ["kt0"], name="k_t", perm=[0, 1, 3, 2]),
        node("Mul", ["kt0", "sq"], ["kt"], name="k_scale"),
        node("MatMul", ["q", "kt"], ["s"], name="scores"),
        node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["y"], name="context"),
    ], {"q0": randn(1, 4, 9, d), "k": randn(1, 4, 9, d), "v": randn(1, 4, 9, d)}, ["y"],
        {"sq": np.array(d ** -0.25, np.float32)}, opset=17)
    add("attention_broadcast_keys", [
        node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 1, 3, 2]),
        node("MatMul", ["q", "kt"], ["s"], name="scores"),
        node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["y"], name="context"),
    ], {"q": randn(2, 3, s_q, d), "k": randn(1, 3, s_k, d), "v": randn(2, 1, s_k, d)}, ["y"], opset=13)
    add("attention_probs_read_twice", [
        node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        node("MatMul", ["q", "kt"], ["s"], name="scores"),
        node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v"], ["y"], name="context"),
    ], {"q": randn(2, s_q, d), "k": randn(2, s_k, d), "v": randn(2, s_k, d)}, ["y", "p"], opset=13)

    # Norm + activation patterns (the fusions of engine/onnx/rewrites.h): torch's GroupNorm
    # export before opset 18 followed by SiLU as x * sigmoid(x); the same with a
    # [1, C, 1, 1] gamma and the merge shape computed by Shape; InstanceNorm + SiLU; and a
    # "GroupNorm" whose merge reshape is not x's shape (the lowering runs the ops).
    c_gn, g_gn = 6, 3
    gn_x = randn(2, c_gn, 5, 4, scale=2)
    add("groupnorm_export_silu", [
        node("Reshape", ["x", "split"], ["r1"], name="split"),
        node("InstanceNormalization", ["r1", "ones", "zeros"], ["n"], name="inorm", epsilon=1e-5),
        node("Reshape", ["n", "merge"], ["r2"], name="merge"),
        node("Mul", ["r2", "gamma"], ["m"], name="gamma"),
        node("Add", ["m", "beta"], ["h"], name="beta"),
        node("Sigmoid", ["h"], ["sg"], name="sigmoid"),
        node("Mul", ["h", "sg"], ["y"], name="silu"),
    ], {"x": gn_x}, ["y"], {"split": c64(0, g_gn, -1), "ones": np.ones(g_gn, np.float32),
                           "zeros": np.zeros(g_gn, np.float32), "merge": c64(2, c_gn, 5, 4),
                           "gamma": randu(c_gn, 1, 1), "beta": randn(c_gn, 1, 1)}, opset=17)
    add("groupnorm_export_shape_chain", [
        node("Shape", ["x"], ["xs"], name="shape"),
        node("Reshape", ["x", "split"], ["r1"], name="split"),
        node("InstanceNormalization", ["r1", "ones", "zeros"], ["n"], name="inorm", epsilon=1e-6),
        node("Reshape", ["n", "xs"], ["r2"], name="merge"),
        node("Mul", ["gamma", "r2"], ["m"], name="gamma"),
        node("Add", ["beta", "m"], ["y"], name="beta"),
    ], {"x": randn(1, c_gn, 7, 3)}, ["y"], {"split": c64(1, 2, -1), "ones": np.ones(2, np.float32),
                                            "zeros": np.zeros(2, np.float32), "gamma": randu(1, c_gn, 1, 1),
                                            "beta": randn(1, c_gn, 1, 1)}, opset=17)
    add("instancenorm_silu", [
        node("InstanceNormalization", ["x", "s", "b"], ["n"], name="inorm", epsilon=1e-4),
        node("Sigmoid", ["n"], ["sg"], name="sigmoid"),
        node("Mul", ["sg", "n"], ["y"], name="silu"),
    ], {"x": randn(2, 4, 6, 5)}, ["y"], {"s": randu(4), "b": randn(4)}, opset=17)
    add("groupnorm_export_other_merge", [
        node("Reshape", ["x", "split"], ["r1"], name="split"),
        node("InstanceNormalization", ["r1", "ones", "zeros"], ["n"], name="inorm"),
        node("Reshape", ["n", "merge"], ["r2"], name="merge"),
        node("Mul", ["r2", "gamma"], ["m"], name="gamma"),
        node("Add", ["m", "beta"], ["y"], name="beta"),
    ], {"x": randn(2, 4, 3, 5)}, ["y"], {"split": c64(0, 2, -1), "ones": np.ones(2, np.float32),
                                         "zeros": np.zeros(2, np.float32), "merge": c64(2, 4, 15),
                                         "gamma": randu(4, 1), "beta": randn(4, 1)}, opset=17)


def run_reference(model, inputs):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, inputs)))


def stored(a):
    # safetensors has no bool: bools are stored as u8 (the engine's bool).
    if a.dtype == np.bool_:
        return a.astype(np.uint8)
    if a.dtype == np.float16:
        return a.astype(np.float32)
    return a.copy(order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "fixtures", "onnx"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    build()
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    manifest = {
        "generator": "tests/golden/gen_onnx.py",
        "seed": SEED,
        "reference": "onnxruntime CPUExecutionProvider, graph optimizations disabled",
        "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__,
                     "safetensors": safetensors.__version__, "python": platform.python_version()},
        "cases": [],
    }
    total = 0
    for c in CASES:
        m, outputs = c.reference()
        tensors = {f"input/{k}": stored(v) for k, v in c.inputs.items()}
        tensors.update({f"output/{k}": stored(v) for k, v in outputs.items()})
        onnx_path = os.path.join(args.out, c.name + ".onnx")
        st_path = os.path.join(args.out, c.name + ".safetensors")
        onnx.save(m, onnx_path)
        save_file(tensors, st_path, metadata={"case": c.name})
        for p in (onnx_path, st_path):
            size = os.path.getsize(p)
            assert size < MAX_FILE_BYTES, f"{p} is {size} bytes"
            total += size
        manifest["cases"].append({"name": c.name, "ops": c.ops, "opset": c.opset,
                                  "outputs": {k: str(v.dtype) for k, v in outputs.items()}})
    # One model with its weights in an external data file beside it.
    ext = Case("external_data", [node("MatMul", ["x", "w"], ["m"]), node("Add", ["m", "b"], ["y"])],
               {"x": randn(2, 8)}, ["y"], {"w": randn(8, 16), "b": randn(16)})
    m, outputs = ext.reference()
    weights = os.path.join(args.out, "external_data.weights")
    if os.path.exists(weights):
        os.remove(weights)  # onnx appends to an existing data file
    onnx.save_model(m, os.path.join(args.out, "external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.weights", size_threshold=0)
    save_file({"input/x": ext.inputs["x"], "output/y": outputs["y"]}, os.path.join(args.out, "external_data.safetensors"),
              metadata={"case": "external_data"})
    manifest["external_data"] = {"model": "external_data.onnx", "weights": "external_data.weights"}
    # A graph the engine refuses (no reference: onnxruntime is not run on it),
    # for `models inspect` and the fuzzer's seeds: a standard op without a
    # lowering, a custom-domain op, and an attribute value it does not support.
    bad = helper.make_graph(
        [node("Relu", ["x"], ["r"], name="relu"),
         node("GridSample", ["r", "grid"], ["g"], name="warp", mode="bicubic"),
         helper.make_node("Warp3D", ["r", "grid"], ["g3"], name="warp3d", domain="com.custom"),
         node("Resize", ["r", "", "scales"], ["y"], name="cubic_up", mode="cubic")],
        "unsupported", [helper.make_tensor_value_info("x", F, [1, 2, 4, 4]),
                        helper.make_tensor_value_info("grid", F, [1, 4, 4, 2])],
        [helper.make_tensor_value_info(o, F, None) for o in ["g", "g3", "y"]],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    bad_model = helper.make_model(bad, opset_imports=[helper.make_opsetid("", 16), helper.make_opsetid("com.custom", 1)],
                                  ir_version=8, producer_name="gen_onnx.py")
    onnx.save(bad_model, os.path.join(args.out, "unsupported_ops.onnx"))
    manifest["unsupported"] = {"model": "unsupported_ops.onnx", "nodes": ["warp", "warp3d", "cubic_up"]}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(CASES)} cases, {total / 1000:.0f} kB in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
