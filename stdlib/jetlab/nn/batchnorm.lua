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
--
-- sync = true (nn.BatchNorm1d(64, {sync = true})): synchronised BatchNorm for
-- data-parallel training (`mpirun -n K`): in training the statistics are those
-- of the rows of every rank — per channel sum and count, then the sum of
-- squared deviations from the mean, summed over ranks with jl.dist.all_sum,
-- whose backward sums the gradients of those sums over ranks too — so K ranks holding a share of a batch each normalise as one process
-- holding the whole batch. Every rank must run the layer's forward and backward
-- (a collective each) in training; in eval it is plain BatchNorm on the rank's rows. In one process it is plain BatchNorm (composed from
-- ops: slower than the fused kernel). train.fit under MPI turns it on for the
-- BatchNorm layers of graph networks (jetlab.dist_train) unless sync = false.

local jl = require "jetlab"
local options = require "jetlab.options"
local Module = require "jetlab.nn.module"
local init = require "jetlab.nn.initializers"

local BatchNorm1d = Module:extend("BatchNorm1d")

local defaults = {momentum = 0.1, eps = 1e-5, affine = true, track_running_stats = true, sync = options.OPTIONAL}

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

-- The synchronised training forward of x (N, C): statistics over every rank's
-- rows, in two passes as the fused kernel (the mean, then the squared
-- deviations from it), each one jl.dist.all_sum.
local function sync_forward(self, x, momentum)
  local c = self.num_features
  local sums = jl.dist.all_sum(jl.cat({x:sum(1), jl.full({1}, x.shape[1], {device = x.device})}, 1)) -- (C + 1)
  local count = sums[c + 1]
  if count < 1 then error(string.format("BatchNorm1d(%d, sync): no rows on any rank", c), 3) end
  local mean = sums:narrow(1, 1, c) / count
  local centred = x - mean
  local var = jl.dist.all_sum((centred * centred):sum(1)) / count -- biased, (C)
  local y = centred / (var + self.eps):sqrt()
  if self.affine then y = y * self.weight + self.bias end
  if self.track_running_stats then
    jl.no_grad(function()
      local unbiased = count > 1 and var * (count / (count - 1)) or var
      self.running_mean:copy_(self.running_mean * (1 - momentum) + mean * momentum)
      self.running_var:copy_(self.running_var * (1 - momentum) + unbiased * momentum)
    end)
  end
  return y
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
  if self.sync and self.training then
    return sync_forward(self, x, momentum or 0.1)
  end
  local use_running = not self.training or self.track_running_stats
  return jl.batch_norm(x, self.weight, self.bias, use_running and self.running_mean or nil,
    use_running and self.running_var or nil,
    {training = self.training or not self.track_running_stats, momentum = momentum or 0.1, eps = self.eps})
end

function BatchNorm1d:extra_repr()
  return string.format("%d, eps=%g, momentum=%s, affine=%s, track_running_stats=%s%s", self.num_features, self.eps,
    tostring(self.momentum), tostring(self.affine), tostring(self.track_running_stats), self.sync and ", sync=true" or "")
end

return BatchNorm1d
