-- test_data_cache.lua — inputs prepared once per run (issue 16): a view's
-- cached passes give bit-identical batches to uncached ones (flat, padded,
-- ragged with degradation and the teacher view, skipped jets), also when a
-- tiny budget spills every row to the mapped file; the budget is respected;
-- train.fit with a distillation teacher trains bit-identically with and
-- without the caches while running the teacher once per jet; bad options
-- raise clear errors. A pass over a complete cache needs no file. Lund
-- graphs (experiments/common.lua's source) are built once within the budget.
local T = require "jetlab.test"
local data = require "jetlab.data"
local dc = require "jetlab.data_cache"
local loss = require "jetlab.loss"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local train = require "jetlab.train"
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local jets_file = require "jets_file"

local N, C = 3000, 20
local PATH = jets_file(N, C, 3, {empty = true})
local ds = assert(data.open(PATH))
local tr = ds:split{0.8, 0.2, seed = 5}
local stats = tr:stats{features = {max_constituents = 16}}
local DEGRADE = {data.smear{E = 0.2, pt = 0.2}, data.undersample{keep = 5, mode = "random"}, seed = 7}

-- Whether two tensors (or ragged tables) hold the same values, bit for bit (as floats: NaN-free here).
local function same(a, b)
  if type(a) == "table" then return same(a.x, b.x) and same(a.offsets, b.offsets) and same(a.coords, b.coords) end
  if a.dtype ~= b.dtype or table.concat(a.shape, ",") ~= table.concat(b.shape, ",") then return false end
  return a:to("f32"):sub(b:to("f32")):abs():max():item() == 0
end

-- Every batch of a pass.
local function pass(view, opts)
  local out = {}
  for b in view:batches(opts) do out[#out + 1] = b end
  return out, view.skipped
end

local function same_passes(a, b, teacher)
  T.eq(#a, #b, "batch count")
  for i = 1, #a do
    if not (same(a[i].x, b[i].x) and same(a[i].y, b[i].y) and same(a[i].w, b[i].w) and same(a[i].jets, b[i].jets)
        and (not teacher or same(a[i].x_teacher, b[i].x_teacher))) then
      return false
    end
  end
  return true
end

local CONFIGS = {
  flat = {format = "flat", batch_size = 64, shuffle = true, features = {max_constituents = 16, standardize = stats},
          chunk_size = 512, block_size = 128},
  padded = {format = "padded", batch_size = 100, shuffle = true, degrade = DEGRADE, chunk_size = 1024, block_size = 256},
  ragged_kd = {format = "ragged", batch_size = 77, shuffle = true, degrade = DEGRADE, teacher_view = true,
               teacher_features = {max_constituents = 20}, features = {max_constituents = 12}, chunk_size = 512,
               block_size = 64},
}

for name, cfg in pairs(CONFIGS) do
  T.case("cached passes are bit-identical to uncached ones: " .. name, function()
    local function opts(cache, epoch)
      local o = {cache = cache, seed = 11, epoch = epoch}
      for k, v in pairs(cfg) do o[k] = v end
      return o
    end
    dc.configure{mb = 64}
    local view = tr:with{}
    for epoch = 0, 2 do -- epoch 0 fills the cache, 1 and 2 read it
      local plain, skipped_plain = pass(view, opts(false, epoch))
      local cached, skipped_cached = pass(view, opts(true, epoch))
      T.ok(same_passes(plain, cached, cfg.teacher_view), "epoch " .. epoch .. " differs")
      T.eq(skipped_cached.empty, skipped_plain.empty, "skipped jets counted alike")
      T.ok(skipped_plain.empty > 0, "the file has empty jets")
    end
    local s = dc.stats()
    T.ok(s.jets >= tr:size(), "every jet of the view is stored")
    dc.configure{mb = 0}
  end)
end

T.case("a tiny budget spills to the mapped file, stays within the budget and still matches", function()
  dc.configure{mb = 0.15}
  local view = ds:split{0.8, 0.2, seed = 5}:with(CONFIGS.ragged_kd)
  local before = dc.stats()
  local plain = pass(view, {cache = false, seed = 3, epoch = 0})
  local first = pass(view, {cache = true, seed = 3, epoch = 0})
  local again = pass(view, {cache = true, seed = 3, epoch = 0})
  T.ok(same_passes(plain, first, true) and same_passes(plain, again, true), "spilled passes match")
  local s = dc.stats()
  T.ok(s.spill_bytes - before.spill_bytes > 0, "rows spilled")
  local used = s.memory_bytes - before.memory_bytes
  T.ok(used <= s.budget_bytes, string.format("memory %d within the budget %d", used, s.budget_bytes))
  dc.configure{mb = 0}
end)

T.case("a complete cache is the whole pass: later passes neither open nor read the file", function()
  for _, mb in ipairs({64, 0.15}) do -- in memory, spilled
    dc.configure{mb = mb}
    local copy = os.tmpname() .. ".h5"
    assert(os.execute(string.format("cp '%s' '%s'", PATH, copy)))
    local view = assert(data.open(copy)):split{0.8, 0.2, seed = 5}:with(CONFIGS.ragged_kd)
    local plain = tr:with(CONFIGS.ragged_kd)
    local first = pass(view, {seed = 3, epoch = 0})
    os.remove(copy)
    for epoch = 0, 1 do
      local cached, skipped = pass(view, {seed = 3, epoch = epoch})
      local uncached, skipped_plain = pass(plain, {cache = false, seed = 3, epoch = epoch})
      T.ok(same_passes(uncached, cached, true), string.format("%g MiB, epoch %d: cached pass without the file", mb,
        epoch))
      T.eq(skipped.empty, skipped_plain.empty, "skips counted from the cache")
    end
    T.ok(#first > 0, "the first pass read the file")
    T.raises(function() pass(view, {cache = false}) end, copy)
    dc.configure{mb = 0}
  end
end)

-- A teacher that counts the jets it sees.
local function counting(model)
  local seen = {n = 0}
  local proxy = setmetatable({eval = function() model:eval() end}, {__call = function(_, x)
    seen.n = seen.n + (type(x) == "table" and x.n or x.shape[1])
    return model(x)
  end})
  return proxy, seen
end

-- One run of a small FCNN (a KD student when teacher is given): losses and weights.
-- o: cache (MiB, 0: off), epochs, dir (checkpoints), resume.
local function fcnn_run(teacher, o)
  dc.configure{mb = o.cache}
  local src = tr:with{format = "flat", batch_size = 50, shuffle = true, degrade = DEGRADE, teacher_view = true,
    features = {max_constituents = 8, standardize = stats}, teacher_features = {max_constituents = 16}}
  jl.manual_seed(1)
  local student = nn.Sequential(nn.Linear(8 * 7, 16), nn.ReLU(), nn.Linear(16, 2))
  local t, seen
  if teacher then t, seen = counting(teacher) end
  local h = train.fit{model = student, optimizer = optim.Adam(student:parameters(), {lr = 1e-3}), train = src,
    epochs = o.epochs or 3, seed = 4, teacher = t, loss = teacher and loss.kd.hinton{alpha = 0.5, T = 4} or nil,
    log = false, checkpoint_dir = o.dir, resume = o.resume}
  dc.configure{mb = 0}
  local losses = {}
  for i, r in ipairs(h) do losses[i] = r.train_loss end
  return losses, student:parameters(), seen and seen.n
end

local function same_weights(p0, p1)
  for i = 1, #p0 do
    if not same(p0[i], p1[i]) then return false end
  end
  return true
end

T.case("train.fit: cached and uncached runs are bit-identical (losses and weights)", function()
  local l0, p0 = fcnn_run(nil, {cache = 0})
  local l1, p1 = fcnn_run(nil, {cache = 64})
  local l2, p2 = fcnn_run(nil, {cache = 0.15})
  T.eq(l1, l0, "losses, cache in memory")
  T.eq(l2, l0, "losses, cache spilled")
  T.ok(same_weights(p0, p1) and same_weights(p0, p2), "weights")
end)

T.case("distillation: one teacher forward per jet per run, repeatable, resumable, close to uncached", function()
  jl.manual_seed(2)
  local teacher = nn.Sequential(nn.Linear(16 * 7, 32), nn.ReLU(), nn.Linear(32, 2))
  local l0, _, seen0 = fcnn_run(teacher, {cache = 0})
  local l1, p1, seen1 = fcnn_run(teacher, {cache = 64})
  local l2, p2 = fcnn_run(teacher, {cache = 0.15})
  local kept = tr:size() - tr.skipped.empty - tr.skipped.invalid
  T.eq(seen0, 3 * kept, "uncached: the teacher sees every jet every epoch")
  T.eq(seen1, kept, "cached: the teacher sees each jet once")
  T.eq(l2, l1, "cached runs repeat bit for bit (memory or spilled)")
  T.ok(same_weights(p1, p2), "cached runs: the same weights")
  T.near(l1, l0, 1e-5, "cached teacher logits differ from per-batch ones by rounding only")
  local dir = os.tmpname() .. ".d"
  fcnn_run(teacher, {cache = 64, epochs = 1, dir = dir})
  local l3, p3 = fcnn_run(teacher, {cache = 64, dir = dir, resume = dir .. "/last.h5"})
  T.eq(l3, l1, "resumed after epoch 1: the same losses")
  T.ok(same_weights(p1, p3), "resumed: the same weights")
  os.execute("rm -rf " .. dir)
end)

T.case("cached teacher logits: training batches carry no teacher view, the same student inputs", function()
  dc.configure{mb = 64}
  local src = tr:with{format = "flat", batch_size = 50, shuffle = true, degrade = DEGRADE, teacher_view = true,
    features = {max_constituents = 8, standardize = stats}, teacher_features = {max_constituents = 16}}
  jl.manual_seed(2)
  local teacher = nn.Sequential(nn.Linear(16 * 7, 32), nn.ReLU(), nn.Linear(32, 2))
  local logits_of, student = require("jetlab.teacher_cache").new(teacher, src)
  T.ok(student ~= src, "a source without the teacher view")
  local full = pass(src, {seed = 5, epoch = 0})
  local light = pass(student, {seed = 5, epoch = 0})
  T.eq(#light, #full, "batches")
  for i = 1, #full do
    T.ok(same(light[i].x, full[i].x) and same(light[i].jets, full[i].jets) and same(light[i].y, full[i].y),
      "batch " .. i .. ": the same student inputs")
    T.eq(light[i].x_teacher, nil, "batch " .. i .. ": no teacher view")
  end
  local direct = jl.no_grad(function() return teacher(full[2].x_teacher) end)
  T.near(logits_of(light[2]), direct, 1e-5, "logits from the teacher's fixed pass")
  student:load_state_dict({epoch = 7})
  T.eq(src:state_dict().epoch, 7, "its state is the view's")
  local stranger = {x = light[1].x, y = light[1].y, jets = light[1].jets + 100000}
  T.raises(function() logits_of(stranger) end, "no teacher view to run it on")
  dc.configure{mb = 0}
end)

T.case("bad cache options raise clear errors", function()
  T.raises(function() dc.configure{mb = -1} end, "mb must be a number >= 0")
  T.raises(function() dc.configure{size = 1} end, "unknown option 'size'")
  T.raises(function() jl.data.row_cache{jets = 10, max_rows = 0, budget_bytes = 0} end, "max_rows >= 1")
  local c = jl.data.row_cache{jets = 5, max_rows = 20, budget_bytes = 1 << 20}
  T.raises(function() jl.data.loader(PATH, {cache = c}) end, "the cache was made for 5 jets")
  local l = jl.data.loader(PATH, {cache = jl.data.row_cache{jets = N, max_rows = 20, budget_bytes = 0}})
  T.ok(l:next(10) ~= nil, "a loader over a fitting cache reads")
  l:close()
end)

T.case("Lund graphs built once per run: the same batches, counted in the budget, per batch beyond it", function()
  package.path = "experiments/?.lua;" .. package.path
  local X = require "common"
  local jets = os.tmpname() .. ".h5"
  assert(jl.gen.write{signal = "top", pt = {500, 600}, n = 120, seed = 1, path = jets})
  local function graph_pass(mb)
    collectgarbage()
    dc.configure{mb = mb}
    local before = dc.stats().memory_bytes
    local view = assert(data.open(jets)):split{0.8, 0.2, seed = 2} -- its own jets, read by the source
    local src = X.lund_source(view, {features = 5, batch_size = 32, shuffle = true, constituents = 60})
    jl.manual_seed(9)
    local out = {}
    for _ = 1, 2 do
      for b in src:batches() do out[#out + 1] = b end
    end
    local kept = dc.stats().memory_bytes - before
    dc.configure{mb = 0}
    return out, kept
  end
  local plain, none = graph_pass(0)
  local cached, kept = graph_pass(64)
  local tiny, small = graph_pass(0.001)
  T.eq(none, 0, "no cache: nothing kept")
  T.ok(kept > 0, "the graphs count against the budget")
  T.eq(small, 0, "a budget too small for the graphs: built per batch")
  dc.configure{mb = 64}
  local owner = {}
  T.ok(dc.claim(owner, 10.5), "a claim of a fractional size")
  T.ok(#pass(tr:with(CONFIGS.flat), {cache = true}) > 0, "caches made after it get a whole budget")
  dc.configure{mb = 0}
  T.eq(#cached, #plain, "batches")
  for i = 1, #plain do
    for _, k in ipairs({"x", "offsets", "src", "dst", "edge_offsets"}) do
      T.ok(same(cached[i].x[k], plain[i].x[k]) and same(tiny[i].x[k], plain[i].x[k]), "batch " .. i .. " " .. k)
    end
    T.ok(same(cached[i].y, plain[i].y) and same(cached[i].w, plain[i].w), "batch " .. i .. " labels, weights")
  end
  os.remove(jets)
end)

T.case("cleanup", function() os.remove(PATH) end)

T.run()
