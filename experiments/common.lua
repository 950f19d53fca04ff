-- experiments/common.lua — what the experiment scripts share (not a library
-- API: a helper of experiments/*.lua, which put this folder on package.path).
--
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local X = require "common"
--   local path = X.dataset(cfg, "top500")                 -- generated once, cached in results/data/
--   local tr, va, te = X.splits(path, cfg)                -- n_train / n_val / n_test jets
--   local fam = X.family("fcnn", cfg, tr)                 -- features + standardisation for one model family
--   local r = X.fit(run, {key = "fcnn_teacher", label = "FCNN 5x400", variant = "teacher",
--                         spec = X.spec.fcnn(cfg, {400, 400}), train = fam:source(tr, {shuffle = true}),
--                         val = fam:source(va), test = fam:source(te), epochs = 4, lr = 1e-3})
--   print(r.metrics.auc, r.ckpt)
--
-- Datasets (X.DATASETS): top500 (top vs QCD, jet pT 500-600 GeV; seed 2's data),
-- top500_matched (the same with the tops truth-contained, as the ATLAS labels of
-- seed 1's data), top2000 (top vs QCD, 2000-2400 GeV), w500 (W vs QCD, 500-600
-- GeV), made by cfg.generator (--generator builtin | pythia) into <out>/data/ and
-- reused when present (samples.lua). `--data FILE.h5` replaces the target
-- (top500 or top500_matched).
--
-- Model specs are plain tables, stored in every checkpoint's extra (with the
-- standardisation statistics), so X.load_tagger rebuilds a tagger from its file:
--   {kind = "fcnn", inputs =, hidden = {...}}, {kind = "particlenet", opts = {...}},
--   {kind = "lundnet", opts = {features = 5 | 3}}
-- Families: fcnn → flat constituent features, particlenet → ragged features,
-- lundnet → Lund-plane graphs (X.lund_source: jets read into memory, graphs
-- built per batch with jl.lund.graphs).

local jl = require "jetlab"
local E = require "jetlab.experiment"
local data = require "jetlab.data"
local data_cache = require "jetlab.data_cache"
local dist_shard = require "jetlab.dist_shard"
local train = require "jetlab.train"
local optim = require "jetlab.optim"
local schedule = require "jetlab.schedule"
local ckpt = require "jetlab.ckpt"
local backbone = require "jetlab.nn.backbone"
local pooled_source = require "jetlab.pooled_source"
local fs = require "jetlab.fs"
local results = require "jetlab.results"
local models = require("jetlab.nn").models
local literal = require "jetlab.literal"
local U = require "jetlab.uncertainty"
local samples = require "samples"

local X = {}

X.DATASETS = samples.DATASETS

-- The repository's copy of the LundNet authors' published W tagger (seed 2's W source).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
X.PUBLISHED_W_LUNDNET5 = here .. "/../tests/fixtures/lundnet/W_QCD_500GeV_LundNet5.pt"
X.GENERATORS = samples.GENERATORS

--- X.dataset(cfg, name[, n]) → path of an ATLAS-layout file: cfg.data for
--- the target when given, else cfg.generator's sample, made now when it is not cached (samples.lua).
X.dataset = samples.dataset

--- X.quick_pythia([more]) → the quick_pythia preset (E.config): the --quick sizes under --generator
--- pythia, samples of 1600 jets (800 training, 300 validation, 500 test) that the experiments share
--- through the cache, as Pythia makes 30-60 jets/s on 2 cores; `more` adds or replaces keys.
function X.quick_pythia(more)
  local preset = {n_jets = 1600, n_train = 800, n_val = 300, n_test = 500}
  for k, v in pairs(more or {}) do preset[k] = v end
  return preset
end

--- X.jets_about(cfg) → "Generated jets (<what made them>)", for the summaries' notes.
function X.jets_about(cfg) return "Generated jets (" .. X.GENERATORS[cfg.generator or "builtin"] .. ")" end

local exists = fs.exists

--- X.splits(path, cfg[, n_train]) → train, val, test views with (about)
--- n_train, cfg.n_val, cfg.n_test jets (scaled down when the file is smaller).
function X.splits(path, cfg, n_train)
  local ds = assert(data.open(path))
  local n = ds:size()
  local want = {n_train or cfg.n_train, cfg.n_val, cfg.n_test}
  local total = want[1] + want[2] + want[3]
  local scale = total > n and n / total or 1
  if scale < 1 then
    io.stderr:write(string.format("note: %s has %d jets, fewer than the %d asked for: using %.0f%% of each split\n",
      path, n, total, 100 * scale))
  end
  return ds:split{want[1] * scale / n, want[2] * scale / n, want[3] * scale / n, seed = cfg.seed}
end

-- --------------------------------------------------------------- models

X.spec = {}
-- The --quick architectures: LundNet at a quarter of the channels, ParticleNet-Lite.
X.LUND_LITE = {blocks = {{16, 16}, {16, 16}, {32, 32}, {32, 32}, {64, 64}, {64, 64}}, fusion = 192, fc = 128}
X.PN_LITE = {k = 7, blocks = {{32, 32, 32}, {64, 64, 64}}, fc = 128}
function X.spec.fcnn(constituents, hidden)
  return {kind = "fcnn", inputs = constituents * 7, hidden = hidden}
end
function X.spec.particlenet(opts) return {kind = "particlenet", opts = opts or {}} end
function X.spec.lundnet(features, opts)
  local o = {features = features}
  for k, v in pairs(opts or {}) do o[k] = v end
  return {kind = "lundnet", opts = o}
end

--- X.build(spec[, device]) → a fresh model for a spec.
function X.build(spec, device)
  local m
  if spec.kind == "fcnn" then
    m = models.fcnn{inputs = spec.inputs, hidden = spec.hidden}
  elseif spec.kind == "particlenet" then
    m = models.particlenet(spec.opts)
  elseif spec.kind == "lundnet" then
    m = models.lundnet(spec.opts)
  else
    error("unknown model kind " .. tostring(spec.kind))
  end
  if device and device ~= "cpu" then m:to(device) end
  return m
end

-- ---------------------------------------------------------- Lund graphs

-- Reads the jets of `rows` (i64, 1-based file rows) into memory, in that order.
local function read_rows(path, rows, constituents)
  local f <close> = assert(jl.io.open_jets(path, {max_constituents = constituents}))
  local want = rows:tolist()
  local pos = {}
  for i, r in ipairs(want) do pos[r] = i end
  local parts, order = {}, {}
  local n, chunk = f:count(), 8192
  for s = 1, n, chunk do
    local len = math.min(chunk, n - s + 1)
    local sel = {}
    for r = s, s + len - 1 do
      local p = pos[r]
      if p then
        sel[#sel + 1] = r - s + 1
        order[#order + 1] = p
      end
    end
    if #sel > 0 then
      local b = assert(f:read(s, len))
      local idx = jl.tensor(sel, {dtype = "i64"})
      local part = {}
      for _, k in ipairs({"pt", "eta", "phi", "E", "labels", "weights"}) do part[k] = b[k]:index_select(1, idx) end
      parts[#parts + 1] = part
    end
  end
  local jets = {}
  -- back to the rows' order: position order[j] holds the j-th jet read
  local inv = {}
  for j, p in ipairs(order) do inv[p] = j end
  local back = jl.tensor(inv, {dtype = "i64"})
  for _, k in ipairs({"pt", "eta", "phi", "E", "labels", "weights"}) do
    local list = {}
    for i, p in ipairs(parts) do list[i] = p[k] end
    jets[k] = jl.cat(list, 1):index_select(1, back)
  end
  jets.n = #want
  return jets
end

local LundSource = {can_shard = true} -- batches{shard =}: train.fit under MPI
LundSource.__index = LundSource

local function to_dev(t, device)
  if device and device ~= "cpu" then return t:to(device) end
  return t
end

--- X.lund_source(view, {features = 5, batch_size = 256, shuffle = false, device =,
--- constituents = 100}) → a train.fit data source of Lund-graph batches.
local jets_read = setmetatable({}, {__mode = "k"}) -- view → {constituents → jets}: read once per view

function X.lund_source(view, o)
  local c = o.constituents or 100
  jets_read[view] = jets_read[view] or {}
  local jets = jets_read[view][c] or read_rows(view.path, view:jets(), c)
  jets_read[view][c] = jets
  return setmetatable({features = o.features or 5, batch_size = o.batch_size or 256, shuffle = o.shuffle or false,
    device = o.device, jets = jets, constituents = c}, LundSource)
end

--- source:inputs() → what its batches give the model (jetlab.predict's spec.inputs; train.fit records it).
function LundSource:inputs() return {kind = "lund", features = self.features, max_constituents = self.constituents} end

function LundSource:num_batches() return (self.jets.n + self.batch_size - 1) // self.batch_size end
function LundSource:size() return self.jets.n end

-- The graphs of all the source's jets, built on the first batch and kept
-- with the jets (shared by their sources) when the prepared-input budget
-- (jetlab.data_cache, --cache-mb) has room for them; nil: built per batch.
local function all_graphs(self)
  local j = self.jets
  j.graphs = j.graphs or {}
  local g = j.graphs[self.features]
  if g == nil and data_cache.enabled() then
    -- at most one node per real constituent and two edges per node
    j.nodes_most = j.nodes_most or j.pt:gt(0):to("f32"):sum():item() + j.n
    if data_cache.claim(j, j.nodes_most * (self.features * 4 + 48) + j.n * 16) then
      g = jl.lund.graphs(j, {features = self.features})
      j.graphs[self.features] = g
    end
  end
  return g
end

--- source:batch(idx (n) i64 1-based) → the batch of those jets: their Lund graphs
--- gathered from graphs built once (models.lundnet_select: the same floats and
--- layout as building them for the batch), or built now when they are not kept.
function LundSource:batch(idx)
  local j = self.jets
  local function build()
    local sub = {}
    for _, k in ipairs({"pt", "eta", "phi", "E"}) do sub[k] = j[k]:index_select(1, idx) end
    return jl.lund.graphs(sub, {features = self.features})
  end
  local all = all_graphs(self)
  local g = all and models.lundnet_select(all, idx) or build()
  local d = self.device
  return {
    x = {x = to_dev(g.x, d), offsets = to_dev(g.offsets, d), src = to_dev(g.src, d), dst = to_dev(g.dst, d),
         edge_offsets = to_dev(g.edge_offsets, d)},
    y = to_dev(j.labels:index_select(1, idx) + 1, d),
    w = to_dev(j.weights:index_select(1, idx), d),
    n = idx:numel(),
  }
end

--- source:batches([{shard = {rank =, size =}}]) → an iterator of batches; with shard
--- (train.fit under MPI) only the rank's jets of each batch, their graphs alone
--- gathered or built (jetlab.dist_shard).
function LundSource:batches(opts)
  local n = self.jets.n
  local perm = self.shuffle and jl.randperm(n) or jl.arange(1, n + 1, {dtype = "i64"})
  local s = 1
  return function()
    if s > n then return nil end
    local len = math.min(self.batch_size, n - s + 1)
    local all = perm:narrow(1, s, len)
    s = s + len
    local idx, shard = dist_shard.pick(all, opts and opts.shard)
    local b = self:batch(idx)
    if shard then
      shard.w = to_dev(self.jets.weights:index_select(1, all), self.device)
      b.shard = shard
    end
    return b
  end
end

--- X.cached(source) → an array of its batches (one pass; for validation and test sets).
function X.cached(source)
  local list = {}
  for b in train.batches(source) do list[#list + 1] = b end
  return list
end

-- ----------------------------------------------------------- families

local Family = {}
Family.__index = Family

--- X.family(kind, cfg, train_view[, {degrade =, features = 5 (lundnet), stats =, constituents =,
--- batch_size =}]) → a family: the inputs of one
--- model kind with standardisation statistics from train_view (with degrade).
--- fam:source(view, {shuffle =, batch_size =, degrade =, teacher = family}) → a
--- train.fit source; teacher adds the full-resolution view x_teacher with the
--- teacher family's statistics. fam.stats, fam.constituents.
function X.family(kind, cfg, train_view, o)
  o = o or {}
  local self = setmetatable({kind = kind, cfg = cfg, constituents = o.constituents or cfg.constituents,
    degrade = o.degrade, batch_size = o.batch_size or cfg.batch, features = o.features or 5}, Family)
  if kind == "fcnn" or kind == "particlenet" then
    self.stats = o.stats or train_view:stats{features = {max_constituents = self.constituents}, degrade = o.degrade,
      max_jets = 20000}
  end
  return self
end

function Family:source(view, o)
  o = o or {}
  local cfg = self.cfg
  if self.kind == "lundnet" then
    local src = X.lund_source(view, {features = o.features or self.features,
      batch_size = o.batch_size or self.batch_size, shuffle = o.shuffle, device = cfg.device,
      constituents = self.constituents})
    return o.shuffle and src or X.cached(src)
  end
  local teacher = o.teacher
  return view:with{
    format = self.kind == "fcnn" and "flat" or "ragged", batch_size = o.batch_size or self.batch_size,
    shuffle = o.shuffle or false, device = cfg.device ~= "cpu" and cfg.device or nil,
    features = {max_constituents = self.constituents, standardize = self.stats},
    degrade = o.degrade or self.degrade,
    teacher_view = teacher ~= nil,
    teacher_features = teacher and {max_constituents = teacher.constituents, standardize = teacher.stats} or nil,
  }
end

--- X.mix(a, b) → a source alternating the batches of sources a and b (every
--- batch of both, once per epoch): the "mixed" teacher's training data; its
--- state_dict is theirs (for train.fit's resume).
function X.mix(a, b)
  local function state(s) return type(s.state_dict) == "function" and s:state_dict() or false end
  local function load(s, sd) if sd then s:load_state_dict(sd) end end
  return {
    num_batches = function() return a:num_batches() + b:num_batches() end,
    state_dict = function() return {state(a), state(b)} end,
    load_state_dict = function(_, sd) load(a, sd[1]); load(b, sd[2]) end,
    batches = function()
      local ia, ib = train.batches(a), train.batches(b)
      local turn = 0
      return function()
        turn = turn + 1
        local first, second = ia, ib
        if turn % 2 == 0 then first, second = ib, ia end
        local x = first and first()
        if x == nil then
          if first == ia then ia = nil else ib = nil end
          x = second and second()
          if x == nil then ia, ib = nil, nil end
        end
        return x
      end
    end,
  }
end

-- ------------------------------------------------------------- timing

local function median(list)
  table.sort(list)
  local n = #list
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end
X.median = median

--- X.infer_time(model, singles, batches[, repeats = 3[, threads = 1]]) → µs per
--- jet at batch 1 (median over the single-jet batches and repeats) and batched
--- (median of the per-jet time of each batch over repeats); eval mode,
--- no_grad, after one warm-up pass, on `threads` threads (then restored): one
--- by default, the same for every model, since on a shared machine a
--- multi-threaded forward waits for every pool thread to be scheduled.
function X.infer_time(model, singles, batches, repeats, threads)
  repeats = repeats or 3
  local was, saved_threads = model.training, jl.get_num_threads()
  jl.set_num_threads(threads or 1)
  model:eval()
  local t1, tb = {}, {}
  jl.no_grad(function()
    for _, b in ipairs(singles) do model(b.x):sum():item() end
    for _ = 1, repeats do
      for _, b in ipairs(singles) do
        local t0 = jl.clock()
        model(b.x):sum():item()
        t1[#t1 + 1] = (jl.clock() - t0) / b.n
      end
      for _, b in ipairs(batches) do
        local t0 = jl.clock()
        model(b.x):sum():item()
        tb[#tb + 1] = (jl.clock() - t0) / b.n
      end
    end
  end)
  if was then model:train() end
  jl.set_num_threads(saved_threads)
  return median(t1) * 1e6, median(tb) * 1e6
end

--- X.timing_sets(fam, view[, {singles = 32, batched = 512, batch = 256, repeats = 3, threads = 1}])
--- → {singles, batches, repeats =, threads =} for X.infer_time: the first `singles` jets of
--- view one at a time, and its first `batched` jets in batches of `batch`.
function X.timing_sets(fam, view, o)
  o = o or {}
  local n1, nb = o.singles or 32, o.batched or 512
  local s1 = fam:source(view:subset(math.min(1, n1 / view:size())), {batch_size = 1})
  local sb = fam:source(view:subset(math.min(1, nb / view:size())), {batch_size = o.batch or 256})
  return {X.cached(s1), X.cached(sb), repeats = o.repeats, threads = o.threads}
end

-- ------------------------------------------------------------ training

local function mean(list, key)
  local s, n = 0, 0
  for _, r in ipairs(list) do
    if r[key] then s, n = s + r[key], n + 1 end
  end
  return n > 0 and s / n or 0 / 0
end

--- X.optimizer(kind, params, lr) → Adam (fcnn, lundnet) or AdamW (particlenet), as the papers.
function X.optimizer(kind, params, lr)
  if kind == "particlenet" then return optim.AdamW(params, {lr = lr}) end
  return optim.Adam(params, {lr = lr})
end

-- Trains one model in run:path(key) from seed, reloads its best epoch, evaluates and times it:
-- {model=, history=, metrics=, roc=, ckpt=} (nothing recorded). prev: what --resume found recorded.
local function fit_one(run, o, key, seed, model, opt, train_src, prev)
  local cfg = run.config
  local sched = o.milestones and #o.milestones > 0 and schedule.MultiStep(opt, {milestones = o.milestones}) or nil
  print(string.format("\n-- %s · %s: %d parameters (%d trainable), %d epochs%s", o.label, o.variant,
    model:num_parameters(), model:num_parameters({trainable = true}), o.epochs,
    key ~= o.key and ", seed " .. seed or ""))
  local batch_size = type(train_src) == "table" and train_src.batch_size or nil
  if type(batch_size) == "function" then batch_size = batch_size(train_src) end
  local extra = {spec = o.spec, constituents = cfg.constituents, generator = cfg.generator, batch_size = batch_size,
    distilled = o.teacher ~= nil or nil}
  for k, v in pairs(o.extra or {}) do extra[k] = v end
  local t0 = jl.clock()
  local history, state = E.fit(run, key, {model = model, optimizer = opt, train = train_src, val = o.val,
    epochs = o.epochs, schedule = sched, teacher = o.teacher, loss = o.loss, config = cfg, extra = extra,
    seed = seed})
  local seconds = jl.clock() - t0
  if state.resumed then -- this process trained only part of it (or nothing): the epochs' own times
    seconds = 0
    for _, r in ipairs(history) do seconds = seconds + (r.seconds or r.train_seconds) end -- the last saved lacks seconds
  end
  assert(ckpt.load_into(history.best_path, model))
  local m, roc = E.evaluate(model, o.test)
  prev = state.finished and prev
  if prev then -- finished before --resume: what was measured then (timings included)
    if prev.auc ~= m.auc then
      io.stderr:write(string.format("note: %s · %s: AUC %.6g now, %.6g when it was trained\n", o.label, o.variant,
        m.auc, prev.auc))
    end
    m = {}
    for k, v in pairs(prev) do m[k] = v end
  else
    m.train_ms_per_sample = mean(history, "ms_per_sample")
    m.train_seconds = seconds
    m.params = model:num_parameters()
    m.best_epoch = history.best_epoch
    if o.timing then
      m.infer_us_per_jet, m.infer_us_per_jet_batched = X.infer_time(model, o.timing[1], o.timing[2],
        o.timing.repeats, o.timing.threads)
    end
  end
  print(string.format("   %s · %s: AUC %.4f ± %.4f, 1/eB@0.5 %s, %.3f ms/sample/epoch, %.0f s", o.label, o.variant,
    m.auc, m.auc_err or 0 / 0, results.format_value(m.rej50), m.train_ms_per_sample, seconds))
  return {model = model, history = history, metrics = m, roc = roc, ckpt = history.best_path}
end

--- X.fit(run, o) trains, reloads the best epoch, evaluates on o.test, times
--- inference (o.timing = {singles, batches}) and records everything in run:
--- o: key (checkpoint folder and file names), label, variant, model or spec,
--- train, val, test, epochs, lr, optimizer (else X.optimizer), milestones,
--- teacher, loss, extra (stored in the checkpoint), seed, timing, metrics (more
--- fields to record), setup. o.timing = X.timing_sets(...). Returns {model=, history=, metrics=, roc=,
--- ckpt=}. Training goes through E.fit, so under --resume a model finished before is
--- not retrained (its checkpoint is reloaded and the metrics recorded then are
--- reused) and an interrupted one continues from its checkpoint.
--- With --seeds N > 1 the model is trained N times, seed i = (o.seed or cfg.seed) + i - 1 set
--- before the model is made (jl.manual_seed) and for its training, in <key>_seed<i>: a spec is
--- built afresh per seed, a caller that makes its own model passes o.setup(seed) → model,
--- optimizer[, train source] instead of o.model (an error otherwise); the record holds the
--- seeds' mean, <k>_std, <k>_per_seed, n_seeds (jetlab.uncertainty.aggregate). The returned
--- model, history, roc and ckpt are the first seed's (the teacher a later model distils from), its
--- metrics the aggregate, and seeds the list of every seed's result.
function X.fit(run, o)
  local cfg = run.config
  local n, seed0 = cfg.seeds or 1, o.seed or cfg.seed
  local function make(seed)
    if o.setup then return o.setup(seed) end
    local model = X.build(o.spec, cfg.device)
    return model, X.optimizer(o.spec.kind, model:parameters({trainable = true}), o.lr)
  end
  local list = {}
  if n == 1 then
    local model, opt, train_src = o.model, o.optimizer, o.train
    if not model then model, opt, train_src = make(seed0) end
    opt = opt or X.optimizer(o.spec and o.spec.kind or "fcnn", model:parameters({trainable = true}), o.lr)
    list[1] = fit_one(run, o, o.key, seed0, model, opt, train_src or o.train, E.previous(run, o.label, o.variant))
  else
    assert(o.setup or not o.model, "X.fit: --seeds needs o.setup(seed) where the caller makes the model (" ..
      o.key .. ")")
    for i = 1, n do
      local seed = seed0 + i - 1
      jl.manual_seed(seed)
      local model, opt, train_src = make(seed)
      list[i] = fit_one(run, o, o.key .. "_seed" .. i, seed, model, opt, train_src or o.train, nil)
    end
  end
  local ms = {}
  for i, r in ipairs(list) do ms[i] = r.metrics end
  local m = U.aggregate(ms)
  for k, v in pairs(o.metrics or {}) do m[k] = v end
  local first = list[1]
  run:record(o.label, o.variant, m)
  run:write_roc(o.key, first.roc)
  run:write_history(o.key, first.history)
  return {model = first.model, history = first.history, metrics = m, roc = first.roc, ckpt = first.ckpt, seeds = list}
end

--- X.score(run, label, variant, model, test, key[, more]) evaluates a trained model on
--- another test source and records it (no training).
function X.score(run, label, variant, model, test, key, more)
  local m, roc = E.evaluate(model, test)
  for k, v in pairs(more or {}) do m[k] = v end
  run:record(label, variant, m)
  if key then run:write_roc(key, roc) end
  return m, roc
end

-- ------------------------------------------------------------ transfer

--- X.transfer_setup(spec, mode, pretrained, lr, div[, device[, upto = "pooled"]]) → model,
--- optimizer for mode "scratch" (fresh, lr), "finetune" (every weight from the
--- checkpoint, lr / div) or "frozen" (seed 2's: the backbone from the checkpoint and
--- frozen up to the pooled representation, BatchNorm statistics included
--- (jetlab.nn.backbone), the head re-initialised and trained at lr; upto = "blocks":
--- bn_input and the EdgeConv blocks frozen, the fusion block re-initialised and trained
--- with the head, jetlab's earlier choice).
function X.transfer_setup(spec, mode, pretrained, lr, div, device, upto)
  local model = X.build(spec, device)
  if mode == "scratch" then return model, X.optimizer(spec.kind, model:parameters(), lr) end
  assert(ckpt.load_into(pretrained, model))
  if mode == "finetune" then return model, X.optimizer(spec.kind, model:parameters(), lr / div) end
  assert(mode == "frozen", "transfer mode must be scratch, finetune or frozen")
  backbone.freeze(model, {upto = upto or "pooled"})
  model:reset_parameters("head")
  if upto == "blocks" and model.fusion then model:reset_parameters("fusion") end
  return model, X.optimizer(spec.kind, model:parameters({trainable = true}), lr)
end

--- X.transfer_source(model, mode, fam, view, cfg[, train_src]) → the training source of a
--- transfer variant: for mode "frozen" up to the pooled representation (cfg.frozen_upto,
--- default "pooled") with cfg.frozen_cache (default on), the pooled representations of view's
--- jets, computed once per run (jetlab.pooled_source: the frozen backbone is deterministic);
--- else train_src (default fam:source(view, {shuffle = true})).
function X.transfer_source(model, mode, fam, view, cfg, train_src)
  if mode == "frozen" and (cfg.frozen_upto or "pooled") == "pooled" and cfg.frozen_cache ~= false then
    return pooled_source(model, fam:source(view, {shuffle = true}), {batch_size = cfg.batch, shuffle = true})
  end
  return train_src or fam:source(view, {shuffle = true})
end

--- X.imported_checkpoint(run, path, spec, key) → path of a checkpoint in the run
--- (<key>/best.h5) with the weights of a LundNet someone else trained: a published
--- .pt or .safetensors file (ckpt.import, layout lundnet), or a jetlab checkpoint
--- (.h5, returned as it is). The weights must fit a model of spec (the names, shapes
--- and dtypes are checked by ckpt.load_into), so a transfer can start from them
--- (seed 2's W source is the authors' published W tagger).
function X.imported_checkpoint(run, path, spec, key)
  if not exists(path) then error(string.format("%s: no such model file", path), 0) end
  if path:match("%.h5$") then return path end
  if spec.kind ~= "lundnet" then error(string.format("%s: only LundNet models are imported for a transfer", path), 0) end
  local model, report = ckpt.import(path, {model = "lundnet" .. spec.opts.features, layout = "lundnet"})
  if not model then error(report, 0) end
  local out = run:path(key .. "/best.h5")
  assert(ckpt.save(out, {model = model, extra = {spec = spec, imported_from = path, format = report.format}}))
  local ok, err = ckpt.load_into(out, X.build(spec))
  if not ok then error(string.format("%s does not fit the experiment's %s: %s", path, spec.kind, err), 0) end
  return out
end

--- X.find_checkpoint(cfg, experiment, key, spec) → the best.h5 of <out>/<experiment>/latest/<key>/
--- when it exists and was saved for the same model spec and trained on jets of cfg.generator
--- (a checkpoint that names none: builtin), else nil.
function X.find_checkpoint(cfg, experiment, key, spec)
  local path = string.format("%s/%s/latest/%s/best.h5", cfg.out, experiment, key)
  if not exists(path) then return nil end
  local c = ckpt.load(path)
  if not (c and type(c.extra) == "table" and c.extra.spec) then return nil end
  if (c.extra.generator or "builtin") ~= (cfg.generator or "builtin") then return nil end
  if spec and literal.encode(c.extra.spec) ~= literal.encode(spec) then return nil end
  return path, c.extra
end

--- X.load_tagger(path[, device]) → model, extra (spec, stats, constituents, ...) or nil, message.
function X.load_tagger(path, device)
  local c, err = ckpt.load(path)
  if not c then return nil, err end
  local extra = c.extra
  if type(extra) ~= "table" or type(extra.spec) ~= "table" then return nil, path .. ": no model spec in its extra" end
  local model = X.build(extra.spec, device)
  local ok, lerr = ckpt.load_into(path, model)
  if not ok then return nil, lerr end
  model:eval()
  return model, extra
end

--- X.roc_curve(label, roc) → a plot.roc curve.
--- The bootstrap band of roc (E.evaluate's roc.band) goes with it.
function X.curve(label, roc) return {label = label, eff_s = roc.eff_s, eff_b = roc.eff_b, band = roc.band} end

--- X.val_acc(label, history) → a plot.curves series: validation accuracy per epoch.
function X.val_acc(label, history)
  local x, y = {}, {}
  for i, r in ipairs(history) do x[i], y[i] = r.epoch, r.val_acc end
  return {label = label, x = x, y = y}
end

--- X.fmt(v) → a table cell (results.format_value).
X.fmt = results.format_value

return X
