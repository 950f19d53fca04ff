-- test_data.lua — jetlab.data: features through the loader against the
-- PyTorch peer's recipe (tests/fixtures/features_expected.lua, written by
-- make_features_fixture.py), invalid jets skipped or fatal, labels/weights,
-- standardisation statistics, splits, shuffling (complete, deterministic,
-- keyed by seed and epoch), chunking and prefetch giving the same jets, the
-- teacher view with degradation, jl.data.degrade against the loader, errors
-- naming file and dataset, and the train.fit source contract.
local T = require "jetlab.test"
local data = require "jetlab.data"

local FIXTURE = "tests/fixtures/features.h5"
local expected = dofile("tests/fixtures/features_expected.lua")
local C = 24

-- Rows of a tensor as Lua tables.
local function rows(t) return t:tolist() end

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local random_file = require "jets_file" -- (n, c, seed): a random jets file in the ATLAS layout

-- Every batch of a pass, concatenated: {jets = {...}, y = {...}, n = total}.
local function collect(view, opts)
  local out = {jets = {}, y = {}, w = {}, batches = 0}
  for b in view:batches(opts) do
    out.batches = out.batches + 1
    for i, j in ipairs(b.jets:tolist()) do
      out.jets[#out.jets + 1] = j
      out.y[#out.y + 1] = b.y:tolist()[i]
      out.w[#out.w + 1] = b.w:tolist()[i]
    end
  end
  return out
end

local function sorted(list)
  local c = {}
  for i, v in ipairs(list) do c[i] = v end
  table.sort(c)
  return c
end

-- open and errors -------------------------------------------------------------

T.case("open reads the file's metadata", function()
  local ds = assert(data.open(FIXTURE))
  T.eq(ds:size(), 16)
  T.eq(ds.columns, C)
  T.eq(ds.format, "atlas")
  T.eq(ds.weights, "training_weights")
  T.eq(ds:jets():tolist()[16], 16)
  T.ok(tostring(ds):find("16 of 16 jets"))
end)

T.case("opening errors name the file and the dataset", function()
  local ds, msg = data.open("tests/fixtures/no_such_file.h5")
  T.eq(ds, nil)
  T.ok(msg:find("no_such_file.h5", 1, true), msg)
  for file, needle in pairs({atlas_missing = "fjet_clus_phi", atlas_rank = "rank",
                             atlas_lengths = "inconsistent lengths", not_hdf5 = "not an HDF5 file"}) do
    local d, m = data.open("tests/fixtures/" .. file .. ".h5")
    T.eq(d, nil, file)
    T.ok(m:find(file .. ".h5", 1, true) and m:find(needle, 1, true), m)
  end
  local l, m = jl.data.loader("tests/fixtures/atlas_missing.h5", {})
  T.eq(l, nil)
  T.ok(m:find("missing dataset fjet_clus_phi", 1, true), m)
end)

T.case("bad options are errors", function()
  local ds = assert(data.open(FIXTURE))
  T.raises(function() ds:batches{batch_sise = 3} end, "unknown option 'batch_sise'")
  T.raises(function() ds:batches{format = "dense"} end, "format must be")
  T.raises(function() ds:batches{features = {max_constituent = 3}} end, "unknown option 'max_constituent'")
  T.raises(function() ds:batches{degrade = {data.undersample{keep = 0}}} end, "keep must be >= 1")
  T.raises(function() ds:batches{degrade = {data.smear{pt = -1}}} end, "sigmas must be finite and >= 0")
  T.raises(function() data.smear{sigma = 1} end, "unknown option 'sigma'")
  T.raises(function() ds:split{0.8, 0.3} end, "sum to")
  T.raises(function() ds:batches{features = {standardize = {mean = {1, 2}, std = {1}}}} end, "must hold 7 numbers")
end)

-- features -------------------------------------------------------------------

T.case("ragged features match the peer's atlas_features", function()
  local ds = assert(data.open(FIXTURE))
  local got, offsets, jets = {}, {0}, {}
  for b in ds:batches{batch_size = 5, format = "ragged"} do
    T.eq(b.x.n, b.n)
    local off = b.x.offsets:tolist()
    for i = 1, b.n do offsets[#offsets + 1] = offsets[#offsets] + off[i + 1] - off[i] end
    for _, r in ipairs(rows(b.x.x)) do got[#got + 1] = r end
    for _, j in ipairs(b.jets:tolist()) do jets[#jets + 1] = j end
    local coords, x = b.x.coords:tolist(), b.x.x:tolist()
    for i = 1, #coords do T.eq(coords[i], {x[i][1], x[i][2]}) end
  end
  T.eq(jets, expected.valid, "jets 14 (NaN) and 15 (empty) are skipped")
  for i, c in ipairs(expected.counts) do T.eq(offsets[i + 1] - offsets[i], c, "jet " .. jets[i]) end
  T.eq(#got, #expected.rows)
  T.near(got, expected.rows, 1e-5)
  T.eq(ds.skipped, {invalid = 1, empty = 1})
end)

T.case("flat and padded batches: zero padding, max_constituents", function()
  local ds = assert(data.open(FIXTURE))
  local b = ds:batches{batch_size = 20, format = "padded", features = {max_constituents = 30}}()
  T.eq(b.x.shape, {14, 30, 7}, "padded to the requested 30 columns")
  local f = ds:batches{batch_size = 20}()
  T.eq(f.x.shape, {14, C * 7})
  local x = b.x:tolist()
  local r = 0
  for i, c in ipairs(expected.counts) do
    for q = 1, 30 do
      if q <= c then
        r = r + 1
        T.near(x[i][q], expected.rows[r], 1e-5)
      else
        T.eq(x[i][q], {0, 0, 0, 0, 0, 0, 0})
      end
    end
  end
  T.ok(jl.equal(f.x, b.x:narrow(2, 1, C):reshape(14, C * 7)))
  local five = ds:batches{batch_size = 20, format = "padded", features = {max_constituents = 5}}()
  T.eq(five.x.shape, {14, 5, 7})
end)

T.case("labels, weights and jets", function()
  local ds = assert(data.open(FIXTURE))
  local all = collect(ds, {batch_size = 3})
  T.eq(all.jets, expected.valid)
  for i, j in ipairs(all.jets) do
    T.eq(all.y[i], (j - 1) % 2 + 1, "label 0/1 on disk is class 1/2")
    T.near(all.w[i], 0.5 + 0.125 * (j - 1), 1e-7)
  end
  T.eq(all.batches, 5)
  T.eq(ds:num_batches{batch_size = 3}, 6, "an upper bound: 16 jets before skipping")
  T.eq(collect(ds, {batch_size = 3, drop_last = true}).batches, 4)
end)

T.case("strict mode makes an invalid jet an error naming it", function()
  local ds = assert(data.open(FIXTURE, {strict = true}))
  T.raises(function() for _ in ds:batches{batch_size = 4} do end end, "row 13")
  local ok = assert(data.open(FIXTURE))
  T.raises(function() for _ in ok:batches{batch_size = 4, strict = true} do end end, "features.h5: jet at row 13")
end)

T.case("stats: mean and sample std over real constituents", function()
  local ds = assert(data.open(FIXTURE))
  local s = ds:stats()
  T.near(s.mean, expected.mean, 1e-5)
  T.near(s.std, expected.std, 1e-5)
  T.eq(s.count, #expected.rows)
  local b = ds:batches{batch_size = 20, format = "padded", features = {standardize = s}}()
  local x = b.x:tolist()
  local r = 0
  for i, c in ipairs(expected.counts) do
    for q = 1, C do
      if q <= c then
        r = r + 1
        local want = {}
        for k = 1, 7 do want[k] = (expected.rows[r][k] - expected.mean[k]) / expected.std[k] end
        T.near(x[i][q], want, 1e-4)
      else
        T.eq(x[i][q], {0, 0, 0, 0, 0, 0, 0}, "padding stays 0 after standardisation")
      end
    end
  end
  -- the statistics are a plain table: they survive a round trip through text
  local lit = require "jetlab.literal"
  T.eq(lit.decode(lit.encode(s)), s)
end)

T.case("jl.data.features agrees with the loader", function()
  local f = assert(jl.io.open_jets(FIXTURE, {max_constituents = C}))
  local raw = f:read(1, 13)
  f:close()
  local x = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E)
  local xr, offsets, coords = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E, {format = "ragged"})
  T.eq(x.shape, {13, C, 7})
  T.eq(offsets:numel(), 14)
  T.eq(coords.shape, {xr.shape[1], 2})
  local want = {}
  for r = 1, xr.shape[1] do want[r] = expected.rows[r] end
  T.near(xr:tolist(), want, 1e-5)
end)

-- splits -----------------------------------------------------------------------

T.case("split: disjoint, complete, deterministic, nested fractions", function()
  local ds = assert(data.open(FIXTURE))
  local tr, va, te = ds:split{0.5, 0.25, 0.25, seed = 7}
  T.eq({tr:size(), va:size(), te:size()}, {8, 4, 4})
  local all = {}
  for _, v in ipairs({tr, va, te}) do
    for _, j in ipairs(v:jets():tolist()) do all[#all + 1] = j end
  end
  T.eq(sorted(all), ds:jets():tolist())
  local tr2 = ds:split{0.5, 0.25, 0.25, seed = 7}
  T.eq(tr2:jets():tolist(), tr:jets():tolist())
  local tr3 = ds:split{0.5, 0.25, 0.25, seed = 8}
  T.ok(not jl.equal(tr3:jets(), tr:jets()), "another seed, another split")
  local small = ds:split{0.5, 0.25, 0.25, seed = 7, fraction = 0.5}
  T.eq(small:size(), 4)
  T.eq(small:jets():tolist(), tr:jets():narrow(1, 1, 4):tolist(), "a fraction is a prefix: nested")
  T.eq(tr:subset(0.25):jets():tolist(), tr:jets():narrow(1, 1, 2):tolist())
  -- a split view streams exactly its valid jets
  local got = collect(tr, {batch_size = 3})
  local want = {}
  for _, j in ipairs(sorted(tr:jets():tolist())) do
    if j ~= 14 and j ~= 15 then want[#want + 1] = j end
  end
  T.eq(got.jets, want, "without shuffle: file order")
  -- splitting a view splits its jets
  local a, b = tr:split{0.5, 0.5, seed = 1}
  T.eq(sorted(a:jets():tolist()), sorted(a:jets():tolist()))
  local both = a:jets():tolist()
  for _, j in ipairs(b:jets():tolist()) do both[#both + 1] = j end
  T.eq(sorted(both), sorted(tr:jets():tolist()))
end)

-- streaming ----------------------------------------------------------------------

T.case("shuffled passes: every jet once, keyed by seed and epoch, any chunking or prefetch", function()
  local path = random_file(3000, 40, 5)
  local ds = assert(data.open(path))
  local tr = ds:split{0.7, 0.3, seed = 2}
  local base = {batch_size = 64, shuffle = true, seed = 9, epoch = 0, chunk_size = 512, block_size = 64}
  local a = collect(tr, base)
  T.eq(#a.jets, tr:size())
  T.eq(sorted(a.jets), sorted(tr:jets():tolist()), "each jet exactly once")
  T.ok(not jl.equal(jl.tensor(a.jets), jl.tensor(sorted(a.jets))), "shuffled")
  local again = collect(tr, base)
  T.eq(again.jets, a.jets, "same seed and epoch: same order")
  local sync = {}
  for k, v in pairs(base) do sync[k] = v end
  sync.prefetch = 0
  T.eq(collect(tr, sync).jets, a.jets, "with or without the prefetch thread")
  local e1 = {}
  for k, v in pairs(base) do e1[k] = v end
  e1.epoch = 1
  local b = collect(tr, e1)
  T.ok(not jl.equal(jl.tensor(b.jets), jl.tensor(a.jets)), "another epoch, another order")
  T.eq(sorted(b.jets), sorted(a.jets))
  -- unshuffled: file order whatever the chunking
  local plain = collect(tr, {batch_size = 100})
  T.eq(collect(tr, {batch_size = 7, chunk_size = 96, block_size = 32}).jets, plain.jets)
  T.eq(plain.jets, sorted(tr:jets():tolist()))
  -- the same features whatever the chunking (jet by jet)
  local function by_jet(opts)
    local out = {}
    for bt in tr:batches(opts) do
      local x, jets = bt.x:tolist(), bt.jets:tolist()
      for i, j in ipairs(jets) do out[j] = x[i] end
    end
    return out
  end
  T.eq(by_jet{batch_size = 50, shuffle = true, seed = 3, chunk_size = 256, block_size = 16},
       by_jet{batch_size = 100})
  -- epochs count up by themselves without epoch=
  local v = tr:with{batch_size = 128, shuffle = true, seed = 4, chunk_size = 512, block_size = 64}
  local first, second = collect(v), collect(v)
  T.ok(not jl.equal(jl.tensor(first.jets), jl.tensor(second.jets)))
  -- without seed, the order comes from jl's generator: manual_seed repeats it
  local g = tr:with{batch_size = 128, shuffle = true, chunk_size = 512, block_size = 64}
  jl.manual_seed(11)
  local g1, g2 = collect(g), collect(g)
  jl.manual_seed(11)
  T.eq(collect(g).jets, g1.jets)
  T.ok(not jl.equal(jl.tensor(g1.jets), jl.tensor(g2.jets)))
  os.remove(path)
end)

T.case("breaking out of a pass stops the loader", function()
  local path = random_file(2000, 20, 6)
  local ds = assert(data.open(path))
  for _ = 1, 20 do
    -- luacheck: ignore 512 (leaving the loop after one batch is what this case tests)
    for b in ds:batches{batch_size = 16, shuffle = true, seed = 1, chunk_size = 256, block_size = 32} do
      T.eq(b.n, 16)
      break
    end
  end
  collectgarbage()
  os.remove(path)
end)

T.case("teacher view with degradation: the full jets beside the degraded ones", function()
  local ds = assert(data.open(FIXTURE))
  local degrade = {data.smear{E = 0.2, pt = 0.2}, data.undersample{keep = 5, mode = "random"}, seed = 3}
  local b = ds:batches{batch_size = 20, format = "ragged", teacher_view = true, degrade = degrade}()
  local full = ds:batches{batch_size = 20, format = "ragged"}()
  T.ok(jl.equal(b.x_teacher.x, full.x.x), "the teacher sees the undegraded features")
  T.ok(jl.equal(b.x_teacher.offsets, full.x.offsets))
  local off = b.x.offsets:tolist()
  for i, c in ipairs(expected.counts) do T.eq(off[i + 1] - off[i], math.min(c, 5), "jet " .. i) end
  -- the same degradation from jl.data.degrade on the raw jets (keyed by file row)
  local f = assert(jl.io.open_jets(FIXTURE, {max_constituents = C}))
  local raw = f:read(1, 13)
  f:close()
  local pt, eta, phi, E = jl.data.degrade(raw.pt, raw.eta, raw.phi, raw.E, jl.arange(1, 14, {dtype = "i64"}), degrade)
  T.ok(pt:ge(0):to("i64"):sum():item() == 13 * C)
  local xr = jl.data.features(pt, eta, phi, E, {format = "ragged"})
  T.ok(jl.equal(xr, b.x.x:narrow(1, 1, xr.shape[1])), "loader and jl.data.degrade agree")
  -- reproducible; another seed differs
  local again = ds:batches{batch_size = 20, format = "ragged", degrade = degrade}()
  T.ok(jl.equal(again.x.x, b.x.x))
  local other = ds:batches{batch_size = 20, format = "ragged",
                           degrade = {data.smear{E = 0.2, pt = 0.2}, data.undersample{keep = 5, mode = "random"}, seed = 4}}()
  T.ok(not jl.equal(other.x.x, b.x.x))
  -- flat student, flat teacher with its own width
  local fl = ds:batches{batch_size = 20, teacher_view = true, degrade = data.undersample{keep = 5},
                        features = {max_constituents = 5}, teacher_features = {max_constituents = C}}()
  T.eq(fl.x.shape, {14, 35})
  T.eq(fl.x_teacher.shape, {14, C * 7})
end)

T.case("a view with batch options is a train.fit data source", function()
  local ds = assert(data.open(FIXTURE))
  local src = ds:with{batch_size = 4, format = "flat"}
  T.eq(src:num_batches(), 4)
  local n = 0
  for b in src:batches() do
    n = n + 1
    T.eq(b.x.shape[2], C * 7)
    T.eq(b.y.dtype, "i64")
    T.eq(b.w.dtype, "f32")
  end
  T.eq(n, 4)
  local train = require "jetlab.train"
  local m = 0
  for b in train.batches(src) do m = m + b.n end
  T.eq(m, 14)
end)

T.run()
