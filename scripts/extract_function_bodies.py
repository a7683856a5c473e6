#!/usr/bin/env python3
"""Extract the ONNX spec's function bodies (ops defined as a composition of other ops) into
runtime/assets/onnx_functions.pb, a ModelProto whose `functions` list holds one FunctionProto
per (domain, op, since_version). The importer inlines one when no native kernel exists.
The `overload` field carries the since_version. Context-dependent functions are skipped.
"""
import sys
import onnx
from onnx import defs, helper

funcs = []
for s in defs.get_all_schemas_with_history():
    if not s.has_function or s.deprecated:
        continue
    body = s.function_body
    f = onnx.FunctionProto()
    f.CopyFrom(body)
    f.name = s.name
    f.domain = s.domain
    f.overload = str(s.since_version)
    if not f.opset_import:
        f.opset_import.append(helper.make_opsetid(s.domain, s.since_version))
    funcs.append(f)
m = onnx.ModelProto()
m.ir_version = 10
m.functions.extend(funcs)
out = sys.argv[1] if len(sys.argv) > 1 else "runtime/assets/onnx_functions.pb"
with open(out, "wb") as fh:
    fh.write(m.SerializeToString())
print(f"wrote {len(funcs)} function bodies to {out}")
