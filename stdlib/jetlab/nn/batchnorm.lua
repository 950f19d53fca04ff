-- jetlab.nn.batchnorm — nn.BatchNorm1d over node tables (N, C), as PyTorch's:
-- training normalises with the batch statistics (biased variance) and updates
-- running_mean / running_var in place, running = (1 - momentum) * running +
-- momentum * batch (unbiased variance); eval uses the running statistics.
-- Input (N, C) only: flatten (B, L, C) layouts to rows first.
--
--   local bn = nn.BatchNorm1d(64)        -- {momentum = 0.1, eps = 1e-5, affine = true, track_running_stats = true}
--   local y = bn(x)                      -- x (N, 64)
--   bn:eval()                            -- running statistics from now on
--
-- momentum = false gives PyTorch's momentum=None: a cumulative average
-- (momentum 1 / num_batches_tracked).

local jl = require "jetlab"
local options = require "jetlab.options"
local Module = require "jetlab.nn.module"
local init = require "jetlab.nn.initializers"

local BatchNorm1d = Module:extend("BatchNorm1d")

local defaults = {momentum = 0.1, eps = 1e-5, affine = true, track_running_stats = true}

function BatchNorm1d:__init(num_features, opts)
  Module.__init(self)
  if math.type(num_features) ~= "integer" or num_features < 1 then
    error("BatchNorm1d: num_features must be a positive integer, got " .. tostring(num_features), 2)
  end
  self.num_features = num_features
  for k, v in pairs(options.check("BatchNorm1d", opts, defaults)) do self[k] = v end
  if self.affine then
    self:register_parameter("weight", jl.ones(num_features))
    self:register_parameter("bias", jl.zeros(num_features))
  end
  if self.track_running_stats then
    self:register_buffer("running_mean", jl.zeros(num_features))
    self:register_buffer("running_var", jl.ones(num_features))
    self:register_buffer("num_batches_tracked", jl.zeros({}, {dtype = "i64"}))
  end
end

function BatchNorm1d:_reset()
  if self.affine then
    init.ones_(self.weight)
    init.zeros_(self.bias)
  end
  if self.track_running_stats then
    self.running_mean:fill_(0)
    self.running_var:fill_(1)
    self.num_batches_tracked:fill_(0)
  end
end

function BatchNorm1d:forward(x)
  local shape = x.shape
  if #shape ~= 2 or shape[2] ~= self.num_features then
    error(string.format("BatchNorm1d(%d): expected input (N, %d), got (%s)", self.num_features, self.num_features,
      table.concat(shape, ", ")), 2)
  end
  local momentum = self.momentum
  if self.training and self.track_running_stats then
    local n = self.num_batches_tracked
    n:copy_(n + 1)
    if momentum == false then momentum = 1 / n:item() end
  end
  local use_running = not self.training or self.track_running_stats
  return jl.batch_norm(x, self.weight, self.bias, use_running and self.running_mean or nil,
    use_running and self.running_var or nil,
    {training = self.training or not self.track_running_stats, momentum = momentum or 0.1, eps = self.eps})
end

function BatchNorm1d:extra_repr()
  return string.format("%d, eps=%g, momentum=%s, affine=%s, track_running_stats=%s", self.num_features, self.eps,
    tostring(self.momentum), tostring(self.affine), tostring(self.track_running_stats))
end

return BatchNorm1d
