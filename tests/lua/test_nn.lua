-- test_nn.lua — jetlab.nn: parameter names and counts, freeze/unfreeze,
-- reset_parameters, train/eval behaviour of Dropout and BatchNorm1d (running
-- statistics against PyTorch's formula), state_dict round trips and mismatch
-- messages, the printed tree, nn.init statistics, LayerNorm gradients against
-- central differences, determinism for a seed, and no leaked tensors.
local T = require "jetlab.test"
local nn = require "jetlab.nn"

-- A Lua pattern matching s literally.
local function literal(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end

local function names(entries)
  local out = {}
  for i, e in ipairs(entries) do out[i] = e[1] end
  return out
end

-- Block: an mlp (ReLU, Linear) with a learned scale, to get nested dotted names.
local Block = nn.Module:extend("Block")
function Block:__init(width)
  nn.Module.__init(self)
  self:register_parameter("scale", jl.ones(width))
  self:register_module("mlp", nn.Sequential(nn.ReLU(), nn.Linear(width, width)))
end
function Block:_reset() nn.init.ones_(self.scale) end
function Block:forward(x) return self.mlp(x) * self.scale end

local Net = nn.Module:extend("Net")
function Net:__init()
  nn.Module.__init(self)
  self:register_module("blocks", nn.Sequential(Block(4), Block(4)))
  self:register_module("head", nn.Linear(4, 2))
end
function Net:forward(x) return self.head(self.blocks(x)) end

T.case("fcnn teacher 5x400 on 80*7 inputs: names and parameter count", function()
  local net = nn.models.fcnn_teacher(80 * 7)
  local n_in, want = 80 * 7, 0
  for _, w in ipairs({400, 400, 400, 400, 400, 2}) do
    want = want + n_in * w + w
    n_in = w
  end
  T.eq(want, 866802)
  T.eq(net:num_parameters(), want)
  T.eq(net:num_parameters({trainable = true}), want)
  T.eq(names(net:named_parameters()), {"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias",
    "7.weight", "7.bias", "9.weight", "9.bias", "11.weight", "11.bias"})
  T.eq(#net, 11)
  T.eq(net[1].weight.shape, {400, 560})
  T.eq(net[11].bias.shape, {2})
  T.eq(#net:parameters(), 12)
  local student = nn.models.fcnn_student(5 * 7)
  T.eq(student:num_parameters(), 35 * 64 + 64 + 64 * 2 + 2)
  local y = student(jl.randn(3, 35))
  T.eq(y.shape, {3, 2})
end)

T.case("fcnn options: batchnorm, dropout, flatten; unknown options are errors", function()
  local net = nn.models.fcnn{inputs = 14, hidden = {8, 6}, outputs = 3, batchnorm = true, dropout = 0.2, flatten = true}
  local kinds = {}
  for i, m in ipairs(net:children()) do kinds[i] = m.__name end
  T.eq(kinds, {"Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout",
    "Linear"})
  T.eq(names(net:named_buffers()), {"3.running_mean", "3.running_var", "3.num_batches_tracked",
    "7.running_mean", "7.running_var", "7.num_batches_tracked"})
  T.eq(net(jl.randn(5, 2, 7)).shape, {5, 3})
  T.raises(function() nn.models.fcnn{inputs = 4, hiden = {3}} end, "unknown option 'hiden'")
  T.raises(function() nn.models.fcnn{hidden = {3}} end, "option 'inputs' is required")
  T.raises(function() nn.models.fcnn{inputs = 0} end, "inputs must be a positive integer")
  T.raises(function() nn.Linear(2, 2, {bais = false}) end, "Linear: unknown option 'bais'")
  T.raises(function() nn.init.kaiming_uniform_(jl.empty(2, 2), {mdoe = "fan_out"}) end, "unknown option 'mdoe'")
end)

T.case("nested modules get stable dotted names; shared parameters count once", function()
  local net = Net()
  T.eq(names(net:named_parameters()), {"blocks.1.scale", "blocks.1.mlp.2.weight", "blocks.1.mlp.2.bias",
    "blocks.2.scale", "blocks.2.mlp.2.weight", "blocks.2.mlp.2.bias", "head.weight", "head.bias"})
  T.eq(net:num_parameters(), 2 * (4 + 16 + 4) + 8 + 2)
  T.ok(rawequal(net:get("blocks.2.mlp.2"), net.blocks[2].mlp[2]))
  T.ok(rawequal(net:get(""), net))
  T.raises(function() net:get("blocks.3") end, literal("no submodule 'blocks.3' (children of blocks: 1, 2)"))
  local names_of_modules = names(net:named_modules())
  T.eq(names_of_modules[1], "")
  T.eq(names_of_modules[#names_of_modules], "head")

  local shared = nn.Linear(3, 3)
  local tied = nn.Sequential(shared, nn.ReLU(), shared)
  T.eq(names(tied:named_parameters()), {"1.weight", "1.bias"})
  T.eq(tied:num_parameters(), 12)
  T.raises(function() net:register_module("head", nn.ReLU()) end, "'head' is already a field")
  T.raises(function() net:register_module("train", nn.ReLU()) end, "'train' is already a field or method")
end)

T.case("freeze: frozen parameters get no gradient, the others do", function()
  jl.manual_seed(3)
  local net = Net()
  T.ok(rawequal(net:freeze("blocks"), net))
  for _, e in ipairs(net:named_parameters()) do
    T.eq(e[2].requires_grad, e[1]:sub(1, 4) == "head", e[1])
  end
  T.eq(net:num_parameters({trainable = true}), 10)
  T.eq(#net:parameters(), 8)
  T.eq(#net:parameters({trainable = true}), 2)
  local x = jl.randn(5, 4)
  net(x):sum():backward()
  for _, e in ipairs(net:named_parameters()) do
    T.eq(e[2].grad ~= nil, e[1]:sub(1, 4) == "head", e[1])
  end
  T.ok(tostring(net):find("frozen", 1, true), "tree marks frozen layers")
  net:unfreeze()
  T.eq(net:num_parameters({trainable = true}), net:num_parameters())
  net:zero_grad()
  T.eq(net.head.weight.grad, nil)
end)

T.case("freeze patterns: dotted prefixes stop at a dot, Lua patterns when magic", function()
  local seq = nn.Sequential()
  for _ = 1, 11 do seq:add(nn.Linear(2, 2)) end
  seq:freeze("1")
  local frozen = {}
  for _, e in ipairs(seq:named_parameters()) do
    if not e[2].requires_grad then frozen[#frozen + 1] = e[1] end
  end
  T.eq(frozen, {"1.weight", "1.bias"})
  seq:unfreeze()
  seq:freeze("^1%d?%.weight$")
  frozen = {}
  for _, e in ipairs(seq:named_parameters()) do
    if not e[2].requires_grad then frozen[#frozen + 1] = e[1] end
  end
  T.eq(frozen, {"1.weight", "10.weight", "11.weight"})
  seq:unfreeze("10.weight")
  T.eq(seq[10].weight.requires_grad, true)
  T.raises(function() seq:freeze("haed") end, "no parameter name matches 'haed'")
  T.ok(nn.Module.name_matches("blocks.1.weight", "blocks.1"))
  T.ok(not nn.Module.name_matches("blocks.10.weight", "blocks.1"))
  T.ok(nn.Module.name_matches("blocks.1", "blocks.1"))
end)

T.case("reset_parameters re-initialises only the named submodule, in place", function()
  jl.manual_seed(4)
  local net = Net()
  local before = {}
  for _, e in ipairs(net:named_parameters()) do before[e[1]] = e[2]:clone() end
  local head_weight = net.head.weight
  jl.no_grad(function() net.blocks[1].scale:fill_(3) end)
  before["blocks.1.scale"] = net.blocks[1].scale:clone()
  net:reset_parameters("head")
  T.ok(rawequal(net.head.weight, head_weight), "same tensor object (optimizers keep it)")
  for _, e in ipairs(net:named_parameters()) do
    local changed = not jl.equal(e[2], before[e[1]])
    T.eq(changed, e[1]:sub(1, 4) == "head", e[1])
  end
  net:reset_parameters("blocks.1")
  T.eq(net.blocks[1].scale:tolist(), {1, 1, 1, 1})
  T.ok(not jl.equal(net.blocks[1].mlp[2].weight, before["blocks.1.mlp.2.weight"]))
  T.ok(jl.equal(net.blocks[2].mlp[2].weight, before["blocks.2.mlp.2.weight"]))
  local bound = 1 / math.sqrt(4)
  T.ok(net.head.weight:abs():max():item() <= bound)
end)

T.case("train/eval recurse and switch dropout", function()
  local net = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Dropout(0.5)))
  T.eq(net.training, true)
  T.ok(rawequal(net:eval(), net))
  T.eq(net[2][1].training, false)
  net:train()
  T.eq(net[2][1].training, true)

  jl.manual_seed(5)
  local drop = nn.Dropout(0.5)
  local x = jl.ones(200, 50)
  local y = drop(x)
  local zeros = y:eq(0):to("i64"):sum():item()
  local twos = y:eq(2):to("i64"):sum():item()
  T.eq(zeros + twos, 10000, "every element is dropped or scaled by 1/(1-p)")
  T.ok(zeros > 4500 and zeros < 5500, "about half dropped: " .. zeros)
  drop:eval()
  T.ok(rawequal(drop(x), x), "identity in eval")
  T.raises(function() nn.Dropout(1.5) end, literal("p must be in [0, 1]"))
  T.eq(nn.Dropout(1)(x):sum():item(), 0)
  -- gradients flow through the kept elements only, scaled
  drop:train()
  local xg = jl.ones(4, 5, {requires_grad = true})
  local yg = drop(xg)
  yg:sum():backward()
  T.eq(xg.grad:tolist(), yg:detach():tolist())
end)

-- mean and biased variance of each column of a (N, C) tensor, as Lua tables.
local function column_stats(x)
  local rows = x:tolist()
  local C, N = #rows[1], #rows
  local mean, var = {}, {}
  for c = 1, C do
    local s = 0
    for r = 1, N do s = s + rows[r][c] end
    mean[c] = s / N
    local ss = 0
    for r = 1, N do ss = ss + (rows[r][c] - mean[c]) ^ 2 end
    var[c] = ss / N
  end
  return mean, var
end

T.case("BatchNorm1d: batch statistics in training, running statistics (PyTorch momentum) in eval", function()
  jl.manual_seed(6)
  local bn = nn.BatchNorm1d(3)
  T.eq(names(bn:named_parameters()), {"weight", "bias"})
  T.eq(names(bn:named_buffers()), {"running_mean", "running_var", "num_batches_tracked"})
  local want_mean, want_var = {0, 0, 0}, {1, 1, 1}
  local N = 16
  for step = 1, 3 do
    local x = jl.randn(N, 3) * step + step
    local y = bn(x)
    local ym, yv = column_stats(y)
    T.near(ym, {0, 0, 0}, 1e-5)
    T.near(yv, {1, 1, 1}, 1e-3)
    local m, v = column_stats(x)
    for c = 1, 3 do
      want_mean[c] = 0.9 * want_mean[c] + 0.1 * m[c]
      want_var[c] = 0.9 * want_var[c] + 0.1 * v[c] * N / (N - 1)
    end
    T.near(bn.running_mean:tolist(), want_mean, 1e-5)
    T.near(bn.running_var:tolist(), want_var, 1e-5)
    T.eq(bn.num_batches_tracked:item(), step)
  end
  bn:eval()
  local x = jl.randn(4, 3)
  jl.no_grad(function()
    bn.weight:copy_(jl.from({1, 2, 3}))
    bn.bias:copy_(jl.from({0, -1, 1}))
  end)
  local rows, y = x:tolist(), bn(x):tolist()
  for r = 1, 4 do
    for c = 1, 3 do
      local want = (rows[r][c] - want_mean[c]) / math.sqrt(want_var[c] + 1e-5) * c + ({0, -1, 1})[c]
      T.near(y[r][c], want, 1e-5)
    end
  end
  T.eq(bn.num_batches_tracked:item(), 3, "eval does not count batches")
  T.raises(function() bn(jl.randn(4, 5)) end, literal("BatchNorm1d(3): expected input (N, 3), got (4, 5)"))
  bn:train()
  T.raises(function() bn(jl.randn(1, 3)) end, "more than one row per channel")
end)

T.case("BatchNorm1d options: cumulative momentum, no running stats, no affine", function()
  local bn = nn.BatchNorm1d(2, {momentum = false})
  local a, b = jl.randn(10, 2), jl.randn(10, 2) + 3
  bn(a)
  bn(b)
  local ma, va = column_stats(a)
  local mb, vb = column_stats(b)
  T.near(bn.running_mean:tolist(), {(ma[1] + mb[1]) / 2, (ma[2] + mb[2]) / 2}, 1e-5)
  T.near(bn.running_var:tolist(), {(va[1] + vb[1]) / 2 * 10 / 9, (va[2] + vb[2]) / 2 * 10 / 9}, 1e-5)

  local free = nn.BatchNorm1d(2, {track_running_stats = false, affine = false})
  T.eq(#free:parameters(), 0)
  T.eq(#free:buffers(), 0)
  free:eval()
  local y = free(b)
  T.near(column_stats(y), {0, 0}, 1e-5)
  T.raises(function() nn.BatchNorm1d(2, {momentun = 0.1}) end, "unknown option 'momentun'")
end)

T.case("BatchNorm1d backward reaches x, weight and bias", function()
  jl.manual_seed(7)
  local bn = nn.BatchNorm1d(3)
  local x = jl.randn(6, 3, {requires_grad = true})
  local proj = jl.randn(6, 3)
  ;(bn(x) * proj):sum():backward()
  T.eq(x.grad.shape, {6, 3})
  T.near(bn.bias.grad:tolist(), proj:sum(1):tolist(), 1e-5)
  -- in training the gradient of x sums to zero over the batch (the mean is subtracted)
  T.near(x.grad:sum(1):tolist(), {0, 0, 0}, 1e-5)
end)

T.case("state_dict round trip and load_state_dict errors", function()
  jl.manual_seed(8)
  local a = nn.models.fcnn{inputs = 7, hidden = {5}, batchnorm = true}
  a(jl.randn(8, 7))
  jl.manual_seed(9)
  local b = nn.models.fcnn{inputs = 7, hidden = {5}, batchnorm = true}
  local sd = a:state_dict()
  local keys = {}
  for k in pairs(sd) do keys[#keys + 1] = k end
  table.sort(keys)
  T.eq(keys, {"1.bias", "1.weight", "2.bias", "2.num_batches_tracked", "2.running_mean", "2.running_var",
    "2.weight", "4.bias", "4.weight"})
  T.eq(sd["1.weight"].requires_grad, false)
  local result = b:load_state_dict(sd)
  T.eq(result, {missing = {}, unexpected = {}})
  for k, t in pairs(b:state_dict()) do T.ok(jl.equal(t, sd[k]), k) end
  a:eval()
  b:eval()
  local x = jl.randn(3, 7)
  T.ok(jl.equal(a(x), b(x)))
  T.eq(b[1].weight.requires_grad, true, "loading keeps parameters trainable")

  local wide = nn.models.fcnn{inputs = 14, hidden = {5}, batchnorm = true}
  local before = wide[1].bias:clone()
  T.raises(function() wide:load_state_dict(sd) end,
    literal("load_state_dict: 1.weight has shape (5, 7) in the checkpoint but (5, 14) in the model"))
  T.ok(jl.equal(wide[1].bias, before), "nothing copied when a load fails")

  sd["1.bias"] = nil
  T.raises(function() b:load_state_dict(sd) end, literal("1.bias is missing from the checkpoint"))
  sd["1.bias"] = a[1].bias:detach()
  sd["9.weight"] = jl.zeros(2)
  T.raises(function() b:load_state_dict(sd) end, literal("unexpected 9.weight in the checkpoint"))
  sd["1.bias"] = nil
  local partial = b:load_state_dict(sd, {strict = false})
  T.eq(partial, {missing = {"1.bias"}, unexpected = {"9.weight"}})
end)

T.case("tostring shows the tree, shapes and counts", function()
  local net = nn.models.fcnn{inputs = 560, batchnorm = true, dropout = 0.1, hidden = {64}}
  local s = tostring(net)
  T.ok(s:find("Sequential(", 1, true), s)
  T.ok(s:find("(1): Linear(in_features=560, out_features=64, bias=true)  -- 35904 params: weight (64, 560), bias (64)",
    1, true), s)
  T.ok(s:find("(2): BatchNorm1d(64, eps=1e-05, momentum=0.1", 1, true), s)
  T.ok(s:find("(3): ReLU()", 1, true), s)
  T.ok(s:find("(4): Dropout(p=0.1)", 1, true), s)
  T.ok(s:find(")  -- " .. net:num_parameters() .. " params, " .. net:num_parameters() .. " trainable", 1, true), s)
  local nested = tostring(Net())
  T.ok(nested:find("\n  (blocks): Sequential(\n    (1): Block(  -- 4 params: scale (4)\n      (mlp): Sequential(", 1,
    true), nested)
end)

-- mean and standard deviation of all elements
local function moments(t)
  local m = t:mean():item()
  return m, math.sqrt(((t - m) ^ 2):mean():item())
end

T.case("nn.init draws follow PyTorch's formulas", function()
  jl.manual_seed(10)
  local init = nn.init
  local w = jl.empty(300, 200)
  local fan_in, fan_out = init.fans(w)
  T.eq({fan_in, fan_out}, {200, 300})
  T.eq(init.fans(jl.empty(8, 4, 3, 3)), 36)

  init.uniform_(w, -2, 4)
  local m, s = moments(w)
  T.ok(w:min():item() >= -2 and w:max():item() < 4)
  T.near(m, 1, 0.02)
  T.near(s, 6 / math.sqrt(12), 0.02)

  init.normal_(w, 3, 0.5)
  m, s = moments(w)
  T.near(m, 3, 0.01)
  T.near(s, 0.5, 0.02)

  local a = math.sqrt(6 / 500)
  init.xavier_uniform_(w)
  T.ok(w:abs():max():item() <= a)
  T.near(select(2, moments(w)), a / math.sqrt(3), 0.02)
  init.xavier_normal_(w, {gain = 2})
  T.near(select(2, moments(w)), 2 * math.sqrt(2 / 500), 0.02)

  init.kaiming_uniform_(w, {nonlinearity = "relu"})
  local bound = math.sqrt(2) * math.sqrt(3 / 200)
  T.ok(w:abs():max():item() <= bound)
  T.near(select(2, moments(w)), math.sqrt(2 / 200), 0.02)
  init.kaiming_normal_(w, {mode = "fan_out", nonlinearity = "relu"})
  T.near(select(2, moments(w)), math.sqrt(2 / 300), 0.02)

  local lin = nn.Linear(200, 300)
  T.ok(lin.weight:abs():max():item() <= 1 / math.sqrt(200))
  T.near(select(2, moments(lin.weight)), 1 / math.sqrt(200) / math.sqrt(3), 0.02)
  T.ok(lin.bias:abs():max():item() <= 1 / math.sqrt(200))

  T.eq(init.zeros_(jl.empty(3)):tolist(), {0, 0, 0})
  T.eq(init.ones_(jl.empty(2)):tolist(), {1, 1})
  T.near(init.calculate_gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3), 1e-12)
  T.near(init.calculate_gain("tanh"), 5 / 3, 1e-12)
  T.raises(function() init.xavier_uniform_(jl.empty(5)) end, literal("at least 2 dims, got shape (5)"))
  T.raises(function() init.calculate_gain("swish") end, "unsupported nonlinearity 'swish'")
end)

T.case("the same seed gives the same model, dropout masks and outputs", function()
  local function run(seed)
    jl.manual_seed(seed)
    local net = nn.models.fcnn{inputs = 6, hidden = {8, 8}, dropout = 0.3}
    local x = jl.randn(4, 6)
    return net:state_dict(), net(x)
  end
  local sd1, y1 = run(11)
  local sd2, y2 = run(11)
  local _, y3 = run(12)
  for k, t in pairs(sd1) do T.ok(jl.equal(t, sd2[k]), k) end
  T.ok(jl.equal(y1, y2))
  T.ok(not jl.equal(y1, y3))
end)

-- sum(f() * proj) in double, for central differences
local function projected(f, proj)
  return jl.no_grad(function() return (f():to("f32") * proj):sum():item() end)
end

-- max |autograd - numeric| / max(1, |numeric|) over the elements of each input
local function gradcheck(f, inputs)
  local proj = jl.randn(f().shape)
  for _, t in ipairs(inputs) do t.grad = nil end
  ;(f() * proj):sum():backward()
  local worst = 0
  for _, t in ipairs(inputs) do
    local flat = t:view(-1)
    local grad = t.grad:view(-1):tolist()
    for i = 1, t:numel() do
      local keep = flat[i]
      local h = 1e-2 * math.max(1, math.abs(keep))
      jl.no_grad(function() flat[i] = keep + h end)
      local hi = projected(f, proj)
      jl.no_grad(function() flat[i] = keep - h end)
      local lo = projected(f, proj)
      jl.no_grad(function() flat[i] = keep end)
      local numeric = (hi - lo) / (2 * h)
      worst = math.max(worst, math.abs(grad[i] - numeric) / math.max(1, math.abs(numeric)))
    end
  end
  return worst
end

T.case("LayerNorm: normalises the trailing dims; gradients match central differences", function()
  jl.manual_seed(12)
  local ln = nn.LayerNorm(5)
  T.eq(names(ln:named_parameters()), {"weight", "bias"})
  local x = jl.randn(3, 5) * 2 + 1
  local y = ln(x)
  T.near(y:mean(2):tolist(), {0, 0, 0}, 1e-5)
  T.near(y:var(2, {unbiased = false}):tolist(), {1, 1, 1}, 1e-3)
  jl.no_grad(function()
    ln.weight:copy_(jl.randn(5))
    ln.bias:copy_(jl.randn(5))
  end)
  local xg = jl.randn(4, 5, {requires_grad = true})
  T.ok(gradcheck(function() return ln(xg) end, {xg, ln.weight, ln.bias}) < 1e-2)

  local ln2 = nn.LayerNorm({2, 3}, {eps = 1e-6})
  local x3 = jl.randn(4, 2, 3, {requires_grad = true})
  local y3 = ln2(x3)
  T.eq(y3.shape, {4, 2, 3})
  T.near(y3:reshape(4, 6):mean(2):tolist(), {0, 0, 0, 0}, 1e-5)
  T.ok(gradcheck(function() return ln2(x3) end, {x3, ln2.weight}) < 1e-2)
  T.raises(function() ln2(jl.randn(4, 3, 2)) end, literal("does not end with the normalized shape (2, 3)"))
  T.eq(#nn.LayerNorm(4, {elementwise_affine = false}):parameters(), 0)
end)

T.case("to(device), activations and Linear without bias", function()
  local net = nn.Sequential(nn.Linear(3, 2, {bias = false}), nn.Tanh(), nn.Identity(), nn.Sigmoid())
  T.eq(names(net:named_parameters()), {"1.weight"})
  local w = net[1].weight
  T.ok(rawequal(net:to("cpu"), net))
  T.ok(rawequal(net[1].weight, w), "already there: nothing moved")
  local x = jl.randn(4, 3)
  T.near(net(x):tolist(), jl.linear(x, w):tanh():sigmoid():tolist(), 1e-6)
  T.eq(nn.Flatten()(jl.randn(2, 3, 4)).shape, {2, 12})
  T.eq(nn.Flatten(1)(jl.randn(2, 3, 4)).shape, {24})
  T.raises(function() nn.Linear(0, 3) end, "in_features must be a positive integer")
  T.raises(function() nn.Module()(x) end, "forward is not implemented")
  T.ok(rawequal(jl.nn, nn), "jl.nn is require 'jetlab.nn'")
end)

T.case("no tensors outlive their models", function()
  collectgarbage()
  collectgarbage()
  local start = jl.stats().tensors
  do
    local net = nn.models.fcnn{inputs = 10, hidden = {8}, batchnorm = true, dropout = 0.1}
    local x = jl.randn(6, 10)
    net(x):sum():backward()
    net:eval()
    net(x)
    net:load_state_dict(net:state_dict())
    local _ = tostring(net)
  end
  collectgarbage()
  collectgarbage()
  T.eq(jl.stats().tensors, start)
end)

T.run()
