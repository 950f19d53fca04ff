-- jetlab.onnx.graph — a builder for ONNX graph descriptions (the table
-- jl.onnx.write serialises, bindings/lua_onnx.c): values get fresh names,
-- weights become initializers, and eval-mode BatchNorm folds into the Linear
-- before it. The family exporters (jetlab.onnx.fcnn, jetlab.onnx.lundnet) use it.
--
--   local g = graph.new("fcnn")
--   local x = g:input("features", "f32", {"batch", 35}, "standardised features")
--   local h = g:op("Relu", {g:linear(x, fc1, bn1)})      -- Gemm with BN folded in
--   g:output(g:op("Softmax", {h}, {axis = -1}, "probabilities"), "f32", {"batch", 2})
--   assert(jl.onnx.write("m.onnx", g:description{opset = 17, metadata = {...}}))
--
-- Tensors handed to the builder are detached f32/i64 CPU tensors copied at
-- write time; folding computes in f32 (jetlab has no f64 tensors): a folded
-- weight is within one rounding of the exact product.

local jl = require "jetlab"

local G = {}
G.__index = G

--- graph.new(name) → an empty graph builder
function G.new(name)
  return setmetatable({name = name, nodes = {}, initializers = {}, inputs = {}, outputs = {}, used = {}}, G)
end

-- A name not used yet, from a prefix ("gemm" → "gemm_3").
function G:fresh(prefix)
  local n = (self.used[prefix] or 0) + 1
  self.used[prefix] = n
  return string.format("%s_%d", prefix, n)
end

--- g:input(name, dtype, shape, doc) → name (a graph input; shape entries: sizes or dim names)
function G:input(name, dtype, shape, doc)
  self.inputs[#self.inputs + 1] = {name = name, dtype = dtype, shape = shape, doc = doc}
  return name
end

--- g:output(name, dtype, shape, doc): marks a computed value as a graph output.
function G:output(name, dtype, shape, doc)
  self.outputs[#self.outputs + 1] = {name = name, dtype = dtype, shape = shape, doc = doc}
end

--- g:const(prefix, tensor | {integers} | integer) → name of a new initializer (lists and
--- integers become i64 tensors: shapes and axes).
function G:const(prefix, value)
  if not jl.is_tensor(value) then value = jl.tensor(value, {dtype = "i64"}) end
  local name = self:fresh(prefix)
  self.initializers[#self.initializers + 1] = {name, value:detach():cpu():contiguous()}
  return name
end

--- g:op(op, inputs, attrs, out) → the name of the node's (first) output; out names it
--- (default a fresh name), a list of names gives several outputs (all returned).
function G:op(op, inputs, attrs, out)
  local outs = type(out) == "table" and out or {out or self:fresh(op:lower())}
  self.nodes[#self.nodes + 1] = {op = op, inputs = inputs, outputs = outs, attrs = attrs}
  return table.unpack(outs)
end

--- graph.bn_affine(bn) → scale, shift (C): eval-mode BatchNorm1d as y = scale x + shift.
function G.bn_affine(bn)
  local scale = 1 / (bn.running_var:detach() + bn.eps):sqrt()
  if bn.weight then scale = scale * bn.weight:detach() end
  local shift = -(bn.running_mean:detach() * scale)
  if bn.bias then shift = shift + bn.bias:detach() end
  return scale, shift
end

--- graph.fold(weight (out, in), bias (out) | nil, bn | nil) → weight, bias: the Linear
--- followed by an eval-mode BatchNorm1d as one affine map (bias zeros when both are absent).
function G.fold(weight, bias, bn)
  local w = weight:detach()
  local b = bias and bias:detach() or jl.zeros(w.shape[1])
  if bn then
    local scale, shift = G.bn_affine(bn)
    w = w * scale:unsqueeze(2)
    b = b * scale + shift
  end
  return w, b
end

--- g:linear(x, linear, bn) → x W^T + b (Gemm), bn (an nn.BatchNorm1d after the Linear) folded in.
function G:linear(x, linear, bn)
  local w, b = G.fold(linear.weight, linear.bias, bn)
  return self:op("Gemm", {x, self:const("weight", w), self:const("bias", b)}, {transB = 1})
end

--- g:dense(x, weight (out, in), bias (out) | nil) → x W^T (+ b) on the last axis of x of any
--- rank (MatMul, then Add): the Linear of channels-last tensors (batch, points, ..., in).
function G:dense(x, weight, bias)
  local y = self:op("MatMul", {x, self:const("weight", weight:t():contiguous())})
  return bias and self:op("Add", {y, self:const("bias", bias)}) or y
end

--- g:affine(x, scale, shift) → x * scale + shift per channel (an eval-mode BatchNorm alone).
function G:affine(x, scale, shift)
  local m = self:op("Mul", {x, self:const("scale", scale)})
  return self:op("Add", {m, self:const("shift", shift)})
end

--- g:description{opset =, doc =, metadata =} → the table jl.onnx.write takes.
function G:description(o)
  return {opset = o.opset, producer = "jetlab", producer_version = o.version, graph = self.name, doc = o.doc,
    inputs = self.inputs, outputs = self.outputs, nodes = self.nodes, initializers = self.initializers,
    metadata = o.metadata}
end

return G
