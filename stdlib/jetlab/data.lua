-- jetlab.data — jet datasets streamed from HDF5: splits, per-constituent
-- features, degradation, standardisation and batches for jetlab.train.
--
--   local data = require "jetlab.data"
--   local ds = assert(data.open("top500.h5"))                  -- nil, message on I/O failure
--   local tr, va, te = ds:split{0.7, 0.15, 0.15, seed = 1}     -- add fraction = 0.1 for 10% of tr
--   local stats = tr:stats{features = {max_constituents = 80}}  -- {mean = {7}, std = {7}, count =}
--   for b in tr:batches{batch_size = 250, shuffle = true, format = "flat",
--                       features = {max_constituents = 80, standardize = stats}} do
--     -- b.x (250, 560), b.y (250) i64 1..2, b.w (250) f32, b.n, b.jets
--   end
--   -- knowledge distillation: a degraded student view and the teacher's full view
--   local kd = tr:with{batch_size = 384, shuffle = true, format = "ragged", teacher_view = true,
--                      degrade = {data.smear{E = 0.1, pt = 0.1}, data.undersample{keep = 5}}}
--   train.fit{train = kd, ...}            -- a view with batch options is a train.fit source
--
-- BATCHES follow jetlab.train's contract: {x=, y=, w=, n=, x_teacher=, jets=}
--   y  i64 (n) class index, 1 = background (label 0 on disk), 2 = signal (1)
--   w  f32 (n) the file's training weights (1 when it has none)
--   x  format "flat":   f32 (n, C*7), each jet's C constituent rows one after another
--      format "padded": f32 (n, C, 7)
--      format "ragged": a table {x = (N_total, 7), offsets = (n+1) i64 cumulative
--                       counts (jet b owns rows offsets[b]+1 .. offsets[b+1]),
--                       coords = (N_total, 2) raw (eta', phi'), ParticleNet's
--                       coordinates, n = n} — real constituents only
--   x_teacher (teacher_view = true) the same jets at full resolution (no
--      degradation; teacher_features, default features), in the same format
--   jets i64 (n) the jets' 1-based rows in the file
-- Features are the ATLAS 7 [eta', phi', log pT, log E, log pT/sum pT,
-- log E/sum E, dR] of core/jl_features.h (the PyTorch peer's convention);
-- padded entries are exactly 0, also after standardisation.
--
-- batches options (all optional; a view made by :with carries defaults):
--   batch_size 256 · shuffle false · drop_last false · device (move tensors)
--   format "flat" | "padded" | "ragged" (default "flat")
--   features {max_constituents = C (default: the columns read), standardize = stats}
--   teacher_view false · teacher_x true (false: the teacher's view is prepared
--      and cached but batches leave x_teacher out: train.fit's cached teacher
--      logits, jetlab.teacher_cache) · teacher_features (default: features; fields given
--      replace features'). With degradation the teacher usually needs its own
--      statistics: teacher_features = {standardize = stats of the full view}
--   degrade a step (data.smear{...}, data.undersample{...}) or a list of them,
--      applied in order; the list may hold seed = (default 0). The random
--      numbers are keyed by (seed, jet row): a jet is degraded the same way
--      in every epoch and run — a fixed degraded data set.
--   seed, epoch: the shuffle's keys. Without seed, each call draws one from
--      jl's generator (so jl.manual_seed, e.g. train.fit's seed, repeats the
--      orders); with seed, epoch defaults to a counter of the calls on this view.
--   strict (default: data.open's): an invalid jet raises instead of being skipped
--   chunk_size 16384, block_size 1024, prefetch 1 (0: no thread) — see
--      core/jl_loader.h for the chunked shuffle and its memory bound.
--   cache (default: on when jetlab.data_cache.configure set a budget, as
--      every experiment does with --cache-mb) true | false: keep the view's
--      prepared jets after the first pass and copy them in later passes
--      (bit-identical batches; memory budget and spill file: jetlab.data_cache)
--   shard {rank =, size =} (train.fit under MPI, jetlab.dist_shard): each
--      global batch of batch_size jets is formed as without it, but only the
--      rank's jets of it are assembled (x, y, w, jets); the batch's n is their
--      count and shard = {rank =, size =, n = global count, w = global
--      weights}. A pass over a complete cache touches no other jet's rows; a
--      pass that fills the cache still reads and prepares every jet (a
--      batch's jets are only known once invalid ones are skipped)
-- Jets with a NaN/Inf value, a real constituent with E <= 0, or no
-- constituent at all are skipped and counted (view.skipped = {invalid=,
-- empty=} after a pass), with one warning per view on stderr.

local core = require "jetlab.core"
local data_cache = require "jetlab.data_cache"
local dist_shard = require "jetlab.dist_shard"
local jl = require "jetlab"
local options = require "jetlab.options"

local data = core.data

local DEFAULTS = {
  batch_size = 256, shuffle = false, drop_last = false, format = "flat",
  chunk_size = 16384, block_size = 1024, prefetch = 1,
}
local BATCH_KEYS = {
  batch_size = true, shuffle = true, drop_last = true, device = true, format = true,
  features = true, teacher_view = true, teacher_x = true, teacher_features = true, degrade = true,
  seed = true, epoch = true, strict = true, chunk_size = true, block_size = true, prefetch = true, cache = true,
  shard = true,
}
local FEATURE_KEYS = {max_constituents = true, standardize = true}

local function check_keys(what, t, allowed)
  if t == nil then return {} end
  if type(t) ~= "table" then error(string.format("%s: options must be a table, got %s", what, type(t)), 3) end
  for k in pairs(t) do
    if not allowed[k] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      table.sort(names)
      error(string.format("%s: unknown option '%s' (expected %s)", what, tostring(k), table.concat(names, ", ")), 3)
    end
  end
  return t
end

--- data.smear{E = sigma, pt = sigma, relative = true} → a degradation step:
--- Gaussian smearing of each constituent's E and pT (relative: x (1 + sigma z),
--- else x + sigma z in GeV), redrawn when not positive, E kept >= pT cosh eta.
function data.smear(o)
  o = check_keys("smear", o, {E = true, pt = true, relative = true})
  return {kind = "smear", E = o.E or 0, pt = o.pt or 0, relative = o.relative ~= false}
end

--- data.undersample{keep = 5, mode = "hardest" | "random"} → a degradation step
--- keeping `keep` real constituents (the hardest, or a random subset), pT-sorted.
function data.undersample(o)
  o = check_keys("undersample", o, {keep = true, mode = true})
  return {kind = "undersample", keep = o.keep or 5, mode = o.mode or "hardest"}
end

-- The degradation as jl.data.loader takes it: {seed =, step, step, ...}.
local function degrade_spec(d)
  if d == nil then return nil end
  if type(d) ~= "table" then error("data: degrade must be a step or a list of steps", 3) end
  if d.kind then return {d, seed = 0} end
  local spec = {seed = d.seed or 0}
  for i, step in ipairs(d) do spec[i] = step end
  return spec
end

-- A new table with a's fields, then b's.
local function merged(a, b)
  local o = {}
  for k, v in pairs(a or {}) do o[k] = v end
  for k, v in pairs(b or {}) do o[k] = v end
  return o
end

-- ------------------------------------------------------------------ views

local View = {can_shard = true} -- batches{shard = {rank =, size =}}: train.fit under MPI
View.__index = View

local function new_view(parent, jets, batch)
  return setmetatable({
    path = parent.path, format = parent.format, weights = parent.weights,
    n_file = parent.n_file, columns = parent.columns, strict = parent.strict,
    jets_ = jets, batch_ = batch or {}, epoch_ = 0, skipped = nil, warned_ = false,
  }, View)
end

--- data.open(path[, {max_constituents =, strict = false}]) → dataset (a view of
--- every jet) | nil, message. max_constituents caps the columns read (default:
--- all on disk); the file is checked now (datasets, ranks, lengths).
function data.open(path, opts)
  local o = check_keys("data.open", opts, {max_constituents = true, strict = true})
  local r, msg = jl.io.open_jets(path, {max_constituents = o.max_constituents or (1 << 30)})
  if not r then return nil, msg end
  local root = {
    path = path, format = r:format(), weights = r:weights_name(), n_file = r:count(),
    columns = r:columns(), strict = o.strict or false,
  }
  r:close()
  return new_view(root, nil, {features = {max_constituents = root.columns}})
end

--- view:size() → jets in the view (before skipping invalid ones).
function View:size()
  return self.jets_ and self.jets_:numel() or self.n_file
end

--- view:jets() → i64 (n) the view's 1-based file rows, in the view's order.
function View:jets()
  if self.jets_ then return self.jets_:clone() end
  return jl.arange(1, self.n_file + 1, {dtype = "i64"})
end

function View:__tostring()
  return string.format("DataView(%s, %d of %d jets)", self.path, self:size(), self.n_file)
end

--- view:split{f1, f2, ..., seed = 0, fraction = nil} → one view per fraction:
--- a Philox permutation of the view's jets (seeded, deterministic) cut at the
--- cumulative fractions. fraction keeps that share of the first part only
--- (a random subset; fraction 0.1 ⊂ 0.2 ⊂ ... for one seed).
function View:split(o)
  if type(o) ~= "table" or #o == 0 then error("split: expected {f1, f2, ..., seed =}", 2) end
  for k in pairs(o) do
    if not (math.type(k) == "integer" or k == "seed" or k == "fraction") then
      error(string.format("split: unknown option '%s' (expected fractions, seed, fraction)", tostring(k)), 2)
    end
  end
  local fractions = {}
  for i = 1, #o do fractions[i] = o[i] end
  local parts = data.split(self:size(), fractions, o.seed or 0)
  local views = {}
  for i, p in ipairs(parts) do
    local jets = self.jets_ and self.jets_:index_select(1, p) or p
    views[i] = new_view(self, jets, self.batch_)
  end
  if o.fraction then views[1] = views[1]:subset(o.fraction) end
  return table.unpack(views)
end

--- view:subset(f[, seed]) → a view of round(f * size) of its jets: the first
--- ones of a split's view (which are in random order), or a seeded random
--- subset of the whole file.
function View:subset(f, seed)
  if type(f) ~= "number" or f < 0 or f > 1 then error("subset: fraction must be in [0, 1]", 2) end
  if not self.jets_ then return (self:split{f, seed = seed or 0}) end
  local n = math.floor(f * self:size() + 0.5)
  return new_view(self, self.jets_:narrow(1, 1, n):clone(), self.batch_)
end

--- view:with(batch_options) → the same jets with default batch options, for
--- sources whose :batches() is called without arguments (train.fit).
function View:with(o)
  check_keys("with", o, BATCH_KEYS)
  local batch = merged(self.batch_, o)
  batch.features = merged(self.batch_.features, o and o.features)
  return new_view(self, self.jets_, batch)
end

-- Batch options: DEFAULTS, then the view's, then the call's.
function View:options_(opts)
  check_keys("batches", opts, BATCH_KEYS)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(self.batch_) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.format ~= "flat" and o.format ~= "padded" and o.format ~= "ragged" then
    error(string.format("batches: format must be \"flat\", \"padded\" or \"ragged\", got %s", tostring(o.format)), 3)
  end
  if type(o.batch_size) ~= "number" or o.batch_size < 1 then error("batches: batch_size must be >= 1", 3) end
  local sh = o.shard
  if sh ~= nil and (type(sh) ~= "table" or math.type(sh.size) ~= "integer" or math.type(sh.rank) ~= "integer"
      or sh.size < 1 or sh.rank < 0 or sh.rank >= sh.size) then
    error("batches: shard must be {rank = r, size = k} with integers 0 <= r < k", 3)
  end
  o.features = merged(self.batch_.features, check_keys("features", opts and opts.features, FEATURE_KEYS))
  check_keys("features", o.features, FEATURE_KEYS)
  o.teacher_features = merged(o.features, check_keys("teacher_features", o.teacher_features, FEATURE_KEYS))
  return o
end

--- view:state_dict() → {epoch = n}: the counter that keys the next pass's
--- shuffle (when no epoch option is given); view:load_state_dict(sd) puts it
--- back. train.fit saves and restores it to resume a run in the same order.
function View:state_dict() return {epoch = self.epoch_} end

function View:load_state_dict(sd)
  if type(sd) ~= "table" or math.type(sd.epoch) ~= "integer" then
    error("view:load_state_dict: {epoch = <integer>} expected", 2)
  end
  self.epoch_ = sd.epoch
end

--- view:inputs([opts]) → what view:batches(opts) gives a model, as a plain table
--- (jetlab.predict's spec.inputs; train.fit stores it in its checkpoints):
--- {kind = format, max_constituents =, standardize = stats or nil, degrade =
--- {seed =, step, ...} or nil}. The teacher view is not part of it.
function View:inputs(opts)
  local o = self:options_(opts)
  return {kind = o.format, max_constituents = o.features.max_constituents, standardize = o.features.standardize,
    degrade = degrade_spec(o.degrade)}
end

--- view:batch_size([opts]) → the jets per batch of view:batches(opts).
function View:batch_size(opts) return self:options_(opts).batch_size end

--- view:num_batches([opts]) → batches per pass (an upper bound when jets are skipped).
function View:num_batches(opts)
  local o = self:options_(opts)
  local n = self:size()
  return o.drop_last and n // o.batch_size or (n + o.batch_size - 1) // o.batch_size
end

--- view:teacher_pass() → for train.fit's distillation (jetlab.teacher_cache):
--- when the view's cache is on (option cache, default
--- jetlab.data_cache.enabled()), a function returning an iterator over the
--- view's batches in file order (unshuffled, no jet dropped): a jet's x and
--- x_teacher are the same in every pass (degradations are keyed by seed and
--- jet), so the teacher's logits from it serve every epoch; and, with a
--- teacher view, a source of the view's batches without x_teacher (teacher_x =
--- false; its state is the view's). Else nil.
function View:teacher_pass()
  local on = self.batch_.cache
  if on == nil then on = data_cache.enabled() end
  if not on then return nil end
  local fixed = self:with{shuffle = false, drop_last = false}
  if not self.batch_.teacher_view then return function() return fixed:batches() end end
  local view = self
  local student = setmetatable({
    batches = function(_, opts)
      local o = {teacher_x = false}
      for k, v in pairs(opts or {}) do o[k] = v end
      return view:batches(o)
    end,
    state_dict = function() return view:state_dict() end,
    load_state_dict = function(_, sd) return view:load_state_dict(sd) end,
    num_batches = function(_, opts) return view:num_batches(opts) end,
    inputs = function(_, opts) return view:inputs(opts) end,
  }, {__index = view})
  return function() return fixed:batches() end, student
end

-- The row cache for passes with options o, or nil when o.cache (default:
-- data_cache.enabled()) is off. One per jet list and loader configuration.
function View:cache_(o)
  local on = o.cache
  if on == nil then on = data_cache.enabled() end
  if not on then return nil end
  local teacher = o.teacher_view or false
  local function rows(c) return math.min(c or self.columns, self.columns) end
  return data_cache.for_view(self.jets_ or self.path, {
    jets = self:size(), teacher = teacher,
    max_rows = rows(o.features.max_constituents) + (teacher and rows(o.teacher_features.max_constituents) or 0),
    key = {path = self.path, features = o.features, teacher = teacher,
           teacher_features = teacher and o.teacher_features or nil, degrade = degrade_spec(o.degrade),
           strict = o.strict == nil and self.strict or o.strict},
  })
end

-- Opens a C loader over the view with options o (features, degradation,
-- shuffle keys already decided). Raises on failure (the file was checked by
-- data.open, so a failure now means it changed).
function View:loader_(o, format, shuffle, seed, epoch)
  local l, msg = data.loader(self.path, {
    cache = self:cache_(o),
    jets = self.jets_, max_constituents = o.features.max_constituents,
    teacher_max_constituents = o.teacher_view and o.teacher_features.max_constituents or nil,
    standardize = o.features.standardize,
    teacher_standardize = o.teacher_view and o.teacher_features.standardize or nil,
    teacher = o.teacher_view or false, teacher_x = o.teacher_x ~= false, degrade = degrade_spec(o.degrade),
    shuffle = shuffle, seed = seed, epoch = epoch, format = format,
    strict = o.strict == nil and self.strict or o.strict, drop_last = o.drop_last or false,
    chunk_size = o.chunk_size, block_size = o.block_size, prefetch = o.prefetch,
  })
  if not l then error(msg, 3) end
  return l
end

-- After a pass: remembers and (once per view) reports the skipped jets.
function View:finish_(loader)
  local c = loader:counts()
  self.skipped = {invalid = c.invalid, empty = c.empty}
  if c.invalid + c.empty > 0 and not self.warned_ then
    self.warned_ = true
    io.stderr:write(string.format(
      "jetlab.data: warning: %s: skipped %d jets (%d with NaN/Inf or E <= 0, %d without constituents)\n",
      self.path, c.invalid + c.empty, c.invalid, c.empty))
  end
end

local function to_device(t, device)
  if t == nil or device == nil or device == "cpu" then return t end
  return t:to(device)
end

-- The contract's x from the loader's tensors.
local function shape_x(x, offsets, coords, n, o)
  if o.format == "ragged" then
    return {x = to_device(x, o.device), offsets = to_device(offsets, o.device),
            coords = to_device(coords, o.device), n = n}
  end
  if o.format == "flat" then x = x:view(n, -1) end
  return to_device(x, o.device)
end

--- view:batches([opts]) → an iterator of batches for `for b in view:batches{...}`
--- (one pass; breaking out of the loop stops the prefetch thread at once).
function View:batches(opts)
  local o = self:options_(opts)
  local seed, epoch = o.seed, o.epoch
  if o.shuffle and seed == nil then
    seed, epoch = jl.randint(0, 1 << 31, {}):item(), epoch or 0
  elseif epoch == nil then
    epoch = self.epoch_
    self.epoch_ = self.epoch_ + 1
  end
  local format = o.format == "ragged" and "ragged" or "padded"
  local loader = self:loader_(o, format, o.shuffle, seed or 0, epoch)
  local shard = o.shard and o.shard.size > 1 and o.shard or nil
  local done = false
  local function next_batch()
    if done then return nil end
    local b
    if shard then b = loader:next(o.batch_size, shard.rank, shard.size) else b = loader:next(o.batch_size) end
    if not b then
      done = true
      self:finish_(loader)
      loader:close()
      return nil
    end
    if shard then dist_shard.check_size(b.n_global, shard.size) end
    local batch = {
      n = b.n, y = to_device(b.y, o.device), w = to_device(b.w, o.device), jets = b.jets,
      x = shape_x(b.x, b.offsets, b.coords, b.n, o),
      shard = shard and {rank = shard.rank, size = shard.size, n = b.n_global, w = to_device(b.w_global, o.device)},
    }
    if o.teacher_view and o.teacher_x ~= false then
      batch.x_teacher = shape_x(b.x_teacher, b.offsets_teacher, b.coords_teacher, b.n, o)
    end
    return batch
  end
  return next_batch, nil, nil, loader
end
options.declare(View.batches, BATCH_KEYS)

--- view:stats{features = {max_constituents =}, degrade =, max_jets =} →
--- {mean = {7}, std = {7}, count =}: per-feature mean and sample std over
--- the real constituents of the view's valid jets (of its first max_jets
--- jets), with the given degradation; use it on the training split only and
--- store it with the model (a plain table of numbers).
function View:stats(opts)
  local s = check_keys("stats", opts, {features = true, degrade = true, max_jets = true, batch_size = true})
  local view = self
  if s.max_jets and s.max_jets < self:size() then view = self:subset(s.max_jets / self:size()) end
  local features = merged(self.batch_.features, check_keys("features", s.features, FEATURE_KEYS))
  local o = {features = {max_constituents = features.max_constituents}, degrade = s.degrade, cache = false,
             chunk_size = DEFAULTS.chunk_size, block_size = DEFAULTS.block_size, prefetch = DEFAULTS.prefetch}
  local loader <close> = view:loader_(o, "ragged", false, 0, 0)
  local acc
  while true do
    local b = loader:next(s.batch_size or 4096)
    if not b then break end
    acc = data.moments(b.x, acc)
  end
  view:finish_(loader)
  if not acc then error("stats: the view has no valid jet", 2) end
  return data.standardize_from(acc)
end

return data
