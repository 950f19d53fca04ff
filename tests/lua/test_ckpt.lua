-- test_ckpt.lua — jetlab.ckpt and jetlab.literal: bit-exact round trips,
-- strict and partial loads, mismatch messages, truncated / foreign / missing
-- files rejected with nil, message, and the atomic write (no .tmp left, the
-- old checkpoint intact after a failed save).
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local ckpt = require "jetlab.ckpt"
local literal = require "jetlab.literal"

local dir = fs.tmpdir()
local function path(name) return dir .. "/" .. name end

local exists = fs.exists

-- A model object as nn modules present it: named_parameters / named_buffers.
local Model = {}
Model.__index = Model
local function model(spec)
  local m = setmetatable({params = {}, buffers = {}}, Model)
  for _, e in ipairs(spec) do
    local list = e.buffer and m.buffers or m.params
    list[#list + 1] = {e[1], e[2]}
  end
  return m
end
function Model:named_parameters() return self.params end
function Model:named_buffers() return self.buffers end
function Model:get(name)
  for _, list in ipairs({self.params, self.buffers}) do
    for _, e in ipairs(list) do if e[1] == name then return e[2] end end
  end
end

local function net(input, hidden, outputs)
  return model({
    {"blocks.1.weight", jl.randn(hidden, input)},
    {"blocks.1.bias", jl.randn(hidden)},
    {"blocks.2.weight", jl.randn(hidden, hidden)},
    {"head.weight", jl.randn(outputs, hidden)},
    {"head.bias", jl.randn(outputs)},
    {"bn.running_mean", jl.randn(hidden), buffer = true},
    {"bn.num_batches_tracked", jl.tensor(7, {dtype = "i64"}), buffer = true},
  })
end

local function same_values(a, b, msg)
  T.eq(a.dtype, b.dtype, msg)
  T.eq(a.shape, b.shape, msg)
  T.ok(jl.equal(a, b), (msg or "") .. ": values differ")
end

T.case("round trip is bit-exact: model, optimizer, epoch, config, extra", function()
  jl.manual_seed(1)
  local m = net(14, 8, 2)
  local opt_state = {
    state = {{exp_avg = jl.randn(8, 14), step = 3}, {exp_avg = jl.randn(8), step = 3}},
    param_groups = {{lr = 1e-3, betas = {0.9, 0.999}, weight_decay = 0.01, params = {1, 2}}},
  }
  local optimizer = {state_dict = function() return opt_state end}
  local config = {model = "fcnn", hidden = {400, 400}, lr = 1.2e-5, batch = 250, smear = 0.1 + 0.2,
    flags = {bn = false, teacher = true}, ["odd key"] = 1 / 0}
  local extra = {mean = jl.randn(7), std = jl.rand(7) + 0.5, n_train = 120000, note = "train split"}
  local p = path("round.h5")
  T.eq(ckpt.save(p, {model = m, optimizer = optimizer, epoch = 12, config = config, extra = extra}), true)
  T.ok(not exists(p .. ".tmp"), "no .tmp after a successful save")

  local c = assert(ckpt.load(p))
  T.eq(c.epoch, 12)
  T.eq(c.config, config)
  T.eq(literal.encode(c.config), literal.encode(config))
  local n = 0
  for _, list in ipairs({m.params, m.buffers}) do
    for _, e in ipairs(list) do
      same_values(c.model_state[e[1]], e[2], e[1])
      n = n + 1
    end
  end
  local loaded = 0
  for _ in pairs(c.model_state) do loaded = loaded + 1 end
  T.eq(loaded, n)
  same_values(c.optimizer_state.state[1].exp_avg, opt_state.state[1].exp_avg, "exp_avg 1")
  same_values(c.optimizer_state.state[2].exp_avg, opt_state.state[2].exp_avg, "exp_avg 2")
  T.eq(c.optimizer_state.state[2].step, 3)
  T.eq(c.optimizer_state.param_groups, opt_state.param_groups)
  same_values(c.extra.mean, extra.mean, "extra.mean")
  same_values(c.extra.std, extra.std, "extra.std")
  T.eq(c.extra.n_train, 120000)
  T.eq(math.type(c.extra.n_train), "integer")
  T.eq(c.extra.note, "train split")
end)

T.case("a plain {name = tensor} model state saves and loads too", function()
  local w = jl.randn(3, 4)
  local p = path("plain.h5")
  assert(ckpt.save(p, {model = {["fc.weight"] = w, ["fc.bias"] = jl.zeros(3)}}))
  local c = assert(ckpt.load(p))
  same_values(c.model_state["fc.weight"], w)
  T.eq(c.epoch, nil)
  T.eq(c.config, nil)
  T.eq(c.optimizer_state, nil)
end)

T.case("load_into copies every tensor in place, strictly", function()
  jl.manual_seed(2)
  local src, dst = net(14, 8, 2), net(14, 8, 2)
  local p = path("strict.h5")
  assert(ckpt.save(p, {model = src, epoch = 3}))
  local held = dst:get("blocks.1.weight") -- the same object must receive the values
  local state = assert(ckpt.load_into(p, dst))
  T.eq(state.epoch, 3)
  T.ok(rawequal(held, dst:get("blocks.1.weight")))
  for _, name in ipairs({"blocks.1.weight", "blocks.2.weight", "head.bias", "bn.running_mean", "bn.num_batches_tracked"}) do
    same_values(dst:get(name), src:get(name), name)
  end
end)

T.case("load_into into parameters that require grad, and restores the optimizer", function()
  local src = model({{"w", jl.randn(2, 2)}})
  local dst = model({{"w", jl.zeros(2, 2, {requires_grad = true})}})
  local restored
  local opt = {
    state_dict = function() return {step = 5, m = jl.ones(2, 2)} end,
    load_state_dict = function(_, s) restored = s end,
  }
  local p = path("opt.h5")
  assert(ckpt.save(p, {model = src, optimizer = opt}))
  assert(ckpt.load_into(p, dst, {optimizer = opt}))
  same_values(dst:get("w"):detach(), src:get("w"))
  T.ok(dst:get("w").requires_grad)
  T.eq(restored.step, 5)
  same_values(restored.m, jl.ones(2, 2))
  local ok, err = ckpt.load_into(path("plain.h5"), model({{"fc.weight", jl.zeros(3, 4)}}), {optimizer = opt, strict = false})
  T.eq(ok, nil)
  T.ok(err:find("has no optimizer state", 1, true), err)
end)

T.case("a shape mismatch names the tensor, both shapes and the file; nothing is copied", function()
  jl.manual_seed(3)
  local p = path("shape.h5")
  assert(ckpt.save(p, {model = net(14, 64, 2)}))
  local m = net(7, 64, 2)
  local before = m:get("blocks.2.weight"):clone()
  local ok, err = ckpt.load_into(p, m)
  T.eq(ok, nil)
  T.eq(err, "ckpt: blocks.1.weight has shape (64, 14) in " .. p .. " but (64, 7) in the model")
  same_values(m:get("blocks.2.weight"), before, "untouched")
end)

T.case("strict loads name a missing or an unexpected tensor; dtype mismatches too", function()
  local p = path("names.h5")
  assert(ckpt.save(p, {model = model({{"a.weight", jl.zeros(2)}, {"b.weight", jl.zeros(2)}})}))
  local _, err = ckpt.load_into(p, model({{"a.weight", jl.zeros(2)}, {"c.weight", jl.zeros(2)}}))
  T.eq(err, "ckpt: c.weight is in the model but not in " .. p)
  _, err = ckpt.load_into(p, model({{"a.weight", jl.zeros(2)}}))
  T.eq(err, "ckpt: b.weight is in " .. p .. " but not in the model")
  _, err = ckpt.load_into(p, model({{"a.weight", jl.zeros(2, {dtype = "i64"})}, {"b.weight", jl.zeros(2)}}))
  T.eq(err, "ckpt: a.weight has dtype f32 in " .. p .. " but i64 in the model")
  _, err = ckpt.load_into(p, model({{"z", jl.zeros(2)}}), {strict = false})
  T.ok(err:find("no tensor of " .. p .. " matches the model", 1, true), err)
end)

T.case("{strict = false, only = 'blocks'} loads a backbone and leaves the head alone", function()
  jl.manual_seed(4)
  local p = path("backbone.h5")
  local teacher = net(14, 8, 2)
  teacher.params[#teacher.params + 1] = {"blocks_extra.weight", jl.randn(3)}
  assert(ckpt.save(p, {model = teacher}))
  local student = net(14, 8, 5) -- a fresh head of another size
  local head = student:get("head.weight"):clone()
  assert(ckpt.load_into(p, student, {strict = false, only = "blocks"}))
  same_values(student:get("blocks.1.weight"), teacher:get("blocks.1.weight"))
  same_values(student:get("blocks.2.weight"), teacher:get("blocks.2.weight"))
  same_values(student:get("head.weight"), head, "head untouched")
  T.ok(not jl.equal(student:get("bn.running_mean"), teacher:get("bn.running_mean")), "bn is outside 'blocks'")
  -- strict within the prefix: blocks_extra is not under "blocks", so this passes too
  assert(ckpt.load_into(p, student, {only = "blocks"}))
  -- without only, the head's shape still has to match
  local _, err = ckpt.load_into(p, student, {strict = false})
  T.eq(err, "ckpt: head.weight has shape (2, 8) in " .. p .. " but (5, 8) in the model")
end)

T.case("an nn model with BatchNorm and an Adam optimizer round-trip through load_into", function()
  local nn, optim = require "jetlab.nn", require "jetlab.optim"
  jl.manual_seed(5)
  local function make() return nn.models.fcnn{inputs = 6, hidden = {8, 8}, outputs = 2, batchnorm = true} end
  local a, b = make(), make()
  local opt_a = optim.Adam(a:parameters(), {lr = 1e-2})
  local x, y = jl.randn(16, 6), jl.randint(1, 3, 16)
  for _ = 1, 3 do
    opt_a:zero_grad()
    jl.cross_entropy(a(x), y):backward()
    opt_a:step()
  end
  local p = path("nn.h5")
  assert(ckpt.save(p, {model = a, optimizer = opt_a, epoch = 3}))
  local opt_b = optim.Adam(b:parameters(), {lr = 1}) -- the lr comes back from the file
  assert(ckpt.load_into(p, b, {optimizer = opt_b}))
  local sa, sb = a:state_dict(), b:state_dict()
  for name, t in pairs(sa) do same_values(sb[name], t, name) end
  T.eq(opt_b.param_groups[1].lr, 1e-2)
  -- one more identical step on both gives identical weights
  for _, pair in ipairs({{a, opt_a}, {b, opt_b}}) do
    pair[2]:zero_grad()
    jl.cross_entropy(pair[1](x), y):backward()
    pair[2]:step()
  end
  sa, sb = a:state_dict(), b:state_dict()
  for name, t in pairs(sa) do same_values(sb[name], t, name .. " after a step") end
end)

T.case("a truncated checkpoint is rejected with a clear message", function()
  local p = path("full.h5")
  assert(ckpt.save(p, {model = net(14, 64, 2), epoch = 1}))
  local f = assert(io.open(p, "rb"))
  local bytes = f:read("a")
  f:close()
  local cut = path("truncated.h5")
  f = assert(io.open(cut, "wb"))
  f:write(bytes:sub(1, #bytes // 2))
  f:close()
  local ok, err = ckpt.load(cut)
  T.eq(ok, nil)
  T.ok(err:find("ckpt: cannot read " .. cut .. ": not a valid HDF5 checkpoint (truncated or corrupt?)", 1, true), err)
  ok, err = ckpt.load_into(cut, net(14, 64, 2))
  T.eq(ok, nil)
  T.ok(err:find("truncated or corrupt", 1, true), err)
end)

T.case("missing, non-HDF5 and foreign HDF5 files are rejected by name", function()
  local _, err = ckpt.load(path("nothing.h5"))
  T.ok(err:find("ckpt: cannot read " .. path("nothing.h5") .. ": No such file", 1, true), err)
  local text = path("text.h5")
  local f = assert(io.open(text, "w"))
  f:write("not an HDF5 file\n")
  f:close()
  _, err = ckpt.load(text)
  T.ok(err:find("ckpt: cannot read " .. text .. ": not a valid HDF5 checkpoint", 1, true), err)
  local foreign = path("foreign.h5")
  assert(jl.h5tensors.save(foreign, {{"/x", jl.zeros(2)}}))
  _, err = ckpt.load(foreign)
  T.ok(err:find(foreign .. " is an HDF5 file but not a jetlab checkpoint", 1, true), err)
end)

T.case("a failed save leaves no .tmp and the old checkpoint intact", function()
  local p = path("atomic.h5")
  assert(ckpt.save(p, {model = model({{"w", jl.ones(3)}}), epoch = 1}))
  -- "a" is a dataset, so "a/b" cannot be created under it: HDF5 fails mid-write
  local ok, err = ckpt.save(p, {model = {a = jl.zeros(1), ["a/b"] = jl.zeros(1)}, epoch = 2})
  T.eq(ok, nil)
  T.ok(err:find("/model/a/b", 1, true) and err:find(p .. ".tmp", 1, true), err)
  T.ok(not exists(p .. ".tmp"), "the .tmp is removed")
  T.eq(assert(ckpt.load(p)).epoch, 1)
  -- a folder that does not exist
  ok, err = ckpt.save(path("no/such/dir/x.h5"), {model = model({{"w", jl.ones(3)}})})
  T.eq(ok, nil)
  T.ok(err:find("cannot create " .. path("no/such/dir/x.h5.tmp"), 1, true), err)
  -- a config that cannot be written raises before anything is written
  T.raises(function() ckpt.save(p, {config = {f = print}}) end, "a function at top.f cannot be written")
  T.raises(function() ckpt.save(p, {modle = {}}) end, "unknown option 'modle'")
  T.ok(not exists(p .. ".tmp"))
end)

T.case("literal: exact round trips of numbers, strings and nesting", function()
  local v = {1, 2.0, 0.1, -0.0, 1e300, 2 ^ 53, math.maxinteger, 1 / 0, -1 / 0,
    s = "quote \" newline \n tab \t", [10] = true, [2.5] = "x", nested = {a = {b = {}}}}
  local back = assert(literal.decode(literal.encode(v)))
  T.eq(back, v)
  T.eq(math.type(back[2]), "float")
  T.eq(math.type(back[1]), "integer")
  T.eq(literal.encode(back), literal.encode(v))
  local nan = assert(literal.decode(literal.encode({0 / 0})))[1]
  T.ok(nan ~= nan)
  T.eq(literal.encode({b = 1, a = {2, 3}}), "{a = {2, 3}, b = 1}")
  local bad, err = literal.decode("{os.exit()}")
  T.eq(bad, nil)
  T.ok(err:find("global 'os'", 1, true), err)
  local cycle = {}
  cycle.self = cycle
  T.raises(function() literal.encode(cycle) end, "cycle at top.self")
end)

T.case("cleanup", function()
  fs.remove_tree(dir)
end)

T.run()
