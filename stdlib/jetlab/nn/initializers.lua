-- jetlab.nn.initializers — nn.init: in-place weight initialisers with
-- PyTorch's formulas (torch.nn.init), drawn from the jl generator, so the
-- same jl.manual_seed gives the same weights. Each runs under no_grad and
-- returns its tensor.
--
--   local init = require("jetlab.nn").init
--   init.kaiming_uniform_(linear.weight, {a = math.sqrt(5)})   -- nn.Linear's default
--   init.xavier_normal_(w, {gain = init.calculate_gain("tanh")})
--   init.zeros_(b)
--
-- Fans of a weight (out, in, k...) are fan_in = in * prod(k), fan_out = out * prod(k).

local jl = require "jetlab"
local options = require "jetlab.options"

local init = {}

local function fill_from(t, src)
  jl.no_grad(function() t:copy_(src) end)
  return t
end

--- init.uniform_(t[, a = 0[, b = 1]]): U(a, b)
function init.uniform_(t, a, b)
  a, b = a or 0, b or 1
  if t:numel() == 0 then return t end
  return fill_from(t, jl.rand(t.shape, {device = t.device}) * (b - a) + a)
end

--- init.normal_(t[, mean = 0[, std = 1]]): N(mean, std^2)
function init.normal_(t, mean, std)
  mean, std = mean or 0, std or 1
  if t:numel() == 0 then return t end
  return fill_from(t, jl.randn(t.shape, {device = t.device}) * std + mean)
end

--- init.constant_(t, v), init.zeros_(t), init.ones_(t)
function init.constant_(t, v)
  jl.no_grad(function() t:fill_(v) end)
  return t
end

function init.zeros_(t) return init.constant_(t, 0) end
function init.ones_(t) return init.constant_(t, 1) end

--- init.calculate_gain(nonlinearity[, param]) as torch.nn.init.calculate_gain.
function init.calculate_gain(nonlinearity, param)
  local linear = {linear = true, identity = true, sigmoid = true, conv1d = true, conv2d = true, conv3d = true,
    conv_transpose1d = true, conv_transpose2d = true, conv_transpose3d = true}
  if linear[nonlinearity] then return 1 end
  if nonlinearity == "tanh" then return 5 / 3 end
  if nonlinearity == "relu" then return math.sqrt(2) end
  if nonlinearity == "selu" then return 3 / 4 end
  if nonlinearity == "leaky_relu" then
    local slope = param == nil and 0.01 or param
    if type(slope) ~= "number" then error("calculate_gain: negative_slope must be a number", 2) end
    return math.sqrt(2 / (1 + slope * slope))
  end
  error("calculate_gain: unsupported nonlinearity '" .. tostring(nonlinearity) .. "'", 2)
end

--- init.fans(t) → fan_in, fan_out (t has at least 2 dims)
function init.fans(t)
  local shape = t.shape
  if #shape < 2 then
    error("nn.init: fan in and fan out need a tensor with at least 2 dims, got shape (" ..
      table.concat(shape, ", ") .. ")", 3)
  end
  local receptive = 1
  for i = 3, #shape do receptive = receptive * shape[i] end
  return shape[2] * receptive, shape[1] * receptive
end

-- The gain option: a number, {gain = g}, or nil (1).
local function gain_of(opts)
  if type(opts) == "number" then return opts end
  return options.check("nn.init.xavier", opts, {gain = 1}).gain
end

--- init.xavier_uniform_(t[, {gain = 1}]): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
function init.xavier_uniform_(t, opts)
  local fan_in, fan_out = init.fans(t)
  local a = gain_of(opts) * math.sqrt(6 / (fan_in + fan_out))
  return init.uniform_(t, -a, a)
end

--- init.xavier_normal_(t[, {gain = 1}]): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
function init.xavier_normal_(t, opts)
  local fan_in, fan_out = init.fans(t)
  return init.normal_(t, 0, gain_of(opts) * math.sqrt(2 / (fan_in + fan_out)))
end

-- std = gain(nonlinearity, a) / sqrt(fan) for the kaiming initialisers.
local function kaiming_std(t, opts)
  local o = options.check("nn.init.kaiming", opts, {a = 0, mode = "fan_in", nonlinearity = "leaky_relu"})
  local mode = o.mode
  if mode ~= "fan_in" and mode ~= "fan_out" then
    error("nn.init: mode must be 'fan_in' or 'fan_out', got '" .. tostring(mode) .. "'", 3)
  end
  local fan_in, fan_out = init.fans(t)
  local fan = mode == "fan_in" and fan_in or fan_out
  return init.calculate_gain(o.nonlinearity, o.a) / math.sqrt(fan)
end

--- init.kaiming_uniform_(t[, {a = 0, mode = "fan_in", nonlinearity = "leaky_relu"}]):
--- U(-b, b), b = sqrt(3) * gain / sqrt(fan)
function init.kaiming_uniform_(t, opts)
  local bound = math.sqrt(3) * kaiming_std(t, opts)
  return init.uniform_(t, -bound, bound)
end

--- init.kaiming_normal_(t[, {a = 0, mode = "fan_in", nonlinearity = "leaky_relu"}]): N(0, (gain / sqrt(fan))^2)
function init.kaiming_normal_(t, opts)
  return init.normal_(t, 0, kaiming_std(t, opts))
end

return init
