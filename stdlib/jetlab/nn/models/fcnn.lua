-- jetlab.nn.models.fcnn — the ATLAS DNN: flattened constituents (n × 7)
-- through hidden × [Linear, (BatchNorm1d), ReLU, (Dropout)] to the outputs.
-- The seed Teacher is 5 × 400, the Student 1 × 64.
--
--   local net = fcnn.fcnn{inputs = 80 * 7, hidden = {400, 400, 400, 400, 400}, outputs = 2,
--                         batchnorm = false, dropout = 0, flatten = false}
--   local logits = net(x)            -- x (B, 560); flatten = true takes (B, 80, 7)
--
-- Parameter names: "1.weight", "1.bias", ... counting every layer of the Sequential.

local options = require "jetlab.options"
local Sequential = require "jetlab.nn.sequential"
local Linear = require "jetlab.nn.linear"
local BatchNorm1d = require "jetlab.nn.batchnorm"
local Dropout = require "jetlab.nn.dropout"
local activation = require "jetlab.nn.activation"

local M = {}

local defaults = {inputs = options.REQUIRED, hidden = {400, 400, 400, 400, 400}, outputs = 2, batchnorm = false,
  dropout = 0, flatten = false}

--- fcnn.fcnn{inputs=, hidden=, outputs=, batchnorm=, dropout=, flatten=} → nn.Sequential
function M.fcnn(opts)
  if type(opts) ~= "table" then error("fcnn: an options table is expected", 2) end
  local o = options.check("fcnn", opts, defaults)
  if math.type(o.inputs) ~= "integer" or o.inputs < 1 then
    error("fcnn: inputs must be a positive integer, got " .. tostring(o.inputs), 2)
  end
  local layers = {}
  if o.flatten then layers[#layers + 1] = activation.Flatten() end
  local width = o.inputs
  for _, h in ipairs(o.hidden) do
    layers[#layers + 1] = Linear(width, h)
    if o.batchnorm then layers[#layers + 1] = BatchNorm1d(h) end
    layers[#layers + 1] = activation.ReLU()
    if o.dropout > 0 then layers[#layers + 1] = Dropout(o.dropout) end
    width = h
  end
  layers[#layers + 1] = Linear(width, o.outputs)
  return Sequential(layers)
end

-- opts with inputs and hidden set unless given.
local function with(opts, inputs, hidden)
  local o = {inputs = inputs, hidden = hidden}
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

--- fcnn.teacher(inputs[, opts]): 5 × 400; fcnn.student(inputs[, opts]): 1 × 64.
function M.teacher(inputs, opts) return M.fcnn(with(opts, inputs, {400, 400, 400, 400, 400})) end
function M.student(inputs, opts) return M.fcnn(with(opts, inputs, {64})) end

return M
