-- test_golden_mlp.lua — optimizers and losses against PyTorch's own numbers
-- (tests/fixtures/golden_mlp.lua, made with golden_mlp.h5 by
-- tests/fixtures/make_golden_mlp.py): a Linear-ReLU-BatchNorm-Linear MLP
-- trained 10 steps on a fixed batch with the weighted cross-entropy, once
-- with AdamW (weight decay) and once with SGD momentum, gives PyTorch's
-- per-step losses, final weights and running statistics; kd.hinton gives
-- PyTorch's value and gradient. Errors are normalised: max |ours - torch| over
-- a tensor divided by max |torch| over it, and must stay below 1e-5.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local loss = require "jetlab.loss"
local optim = require "jetlab.optim"

local TOL = 1e-5
local G = dofile("tests/fixtures/golden_mlp.lua")

-- max |a - b| / max |b| over the flattened values of a (tensor) and b (table)
local function normalised_error(a, b)
  local function flat(x, out)
    if type(x) == "table" then
      for _, v in ipairs(x) do flat(v, out) end
    else
      out[#out + 1] = x
    end
    return out
  end
  local av, bv = flat(jl.is_tensor(a) and a:tolist() or a, {}), flat(jl.is_tensor(b) and b:tolist() or b, {})
  assert(#av == #bv, "sizes differ")
  local diff, scale = 0, 0
  for i = 1, #bv do
    diff = math.max(diff, math.abs(av[i] - bv[i]))
    scale = math.max(scale, math.abs(bv[i]))
  end
  if diff ~= diff then return math.huge end
  return diff / math.max(scale, 1e-30)
end

local function check(what, got, want)
  local err = normalised_error(got, want)
  T.ok(err <= TOL, string.format("%s: normalised error %.3g > %g", what, err, TOL))
  return err
end

-- The fixture's model with its initial weights; names as in the fixture.
local function model()
  local m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 3))
  local layers = {fc1 = m[1], bn = m[3], fc2 = m[4]}
  jl.no_grad(function()
    for name, values in pairs(G.init) do
      local layer, field = name:match("^(%w+)%.(.+)$")
      layers[layer][field]:copy_(jl.from(values))
    end
  end)
  return m, layers
end

local function train(make_opt)
  local m, layers = model()
  m:train()
  local x, y, w = jl.from(G.batch.x), jl.from(G.batch.labels, {dtype = "i64"}), jl.from(G.batch.weights)
  local opt = make_opt(m:parameters())
  local losses = {}
  for step = 1, #G.adamw.losses do
    opt:zero_grad()
    local l = loss.cross_entropy(m(x), y, {weights = w})
    l:backward()
    opt:step()
    losses[step] = l:item()
  end
  return losses, layers
end

local worst = {}

local function compare_run(name, make_opt)
  local want = G[name]
  local losses, layers = train(make_opt)
  local e = check(name .. " losses", losses, want.losses)
  for key, values in pairs(want.final) do
    local layer, field = key:match("^(%w+)%.(.+)$")
    e = math.max(e, check(name .. " final " .. key, layers[layer][field], values))
  end
  worst[name] = e
end

T.case("AdamW (weight decay): 10 steps give PyTorch's losses, weights and running stats", function()
  compare_run("adamw", function(ps)
    return optim.AdamW(ps, {lr = 1e-2, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0.05})
  end)
end)

T.case("SGD momentum: 10 steps give PyTorch's losses, weights and running stats", function()
  compare_run("sgd", function(ps)
    return optim.SGD(ps, {lr = 0.1, momentum = 0.9, weight_decay = 1e-3})
  end)
end)

T.case("kd.hinton: PyTorch's value and gradient, weighted and unweighted", function()
  local H = G.hinton
  local crit = loss.kd.hinton{alpha = 0.3, T = 4}
  local e = 0
  for _, weighted in ipairs({true, false}) do
    local s = jl.from(H.student, {requires_grad = true})
    local l = crit(s, jl.from(H.labels, {dtype = "i64"}), jl.from(H.teacher),
      weighted and {weights = jl.from(H.weights)} or nil)
    l:backward()
    local suffix = weighted and "" or "_unweighted"
    e = math.max(e, check("hinton loss" .. suffix, {l:item()}, {H["loss" .. suffix]}))
    e = math.max(e, check("hinton grad" .. suffix, s.grad, H["grad" .. suffix]))
  end
  worst.hinton = e
end)

T.case("the HDF5 fixture holds the same numbers as the Lua one", function()
  if not (jl.h5tensors and jl.h5tensors.load) then return end
  local f = assert(jl.h5tensors.load("tests/fixtures/golden_mlp.h5"))
  local seen = 0
  for _, entry in ipairs(f.datasets) do
    local node = G
    for part in entry[1]:gmatch("[^/]+") do node = node[part] end
    local t = entry[2]
    if entry[1]:find("labels") then t = t + 1 end
    T.ok(jl.equal(t, jl.from(node, {dtype = t.dtype})), entry[1])
    seen = seen + 1
  end
  T.eq(seen, 35)
end)

T.case("report", function()
  print(string.format("golden normalised errors: adamw %.3g, sgd %.3g, hinton %.3g",
    worst.adamw or -1, worst.sgd or -1, worst.hinton or -1))
end)

T.run()
