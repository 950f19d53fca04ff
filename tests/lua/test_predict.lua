-- test_predict.lua — jetlab.predict (behind `jetlab predict`) and the inputs
-- train.fit records: the published LundNet5 (zip) and LundNet3 (legacy) imported
-- and scored on generated jets (CSV columns, labels, scores = an in-memory forward);
-- export → import gives the same bytes; the .h5 output holds the CSV's columns;
-- a train.fit checkpoint (flat, standardised, degraded; ragged) scores as
-- train.predict does in memory, with metrics.auc's AUC; resident memory flat over
-- chunks; bad inputs leave no file.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"
local metrics = require "jetlab.metrics"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local predict = require "jetlab.predict"
local train = require "jetlab.train"

local dir = fs.tmpdir()
local function path(name) return dir .. "/" .. name end
local FIXTURES = "tests/fixtures/lundnet/"
local N = 400

local jets = path("jets.h5")
assert(jl.gen.write{signal = "top", pt = {500, 600}, n = N, seed = 1, path = jets})

-- The CSV's header and its columns as Lua arrays.
local function read_csv(file)
  local text = assert(fs.read(file))
  local header = text:match("^[^\n]*")
  local index, label, score = {}, {}, {}
  for line in text:gmatch("\n([^\n]+)") do
    local i, l, s = line:match("^(%d+),(%-?%d+),([^,]+)$")
    T.ok(i, "a CSV row index,label,score: " .. line)
    index[#index + 1], label[#label + 1], score[#score + 1] = tonumber(i), tonumber(l), tonumber(s)
  end
  return header, index, label, score
end

local function all_jets(max_constituents)
  local f <close> = assert(jl.io.open_jets(jets, {max_constituents = max_constituents or (1 << 30)}))
  return assert(f:read(1, f:count()))
end

local function import_saved(file, model_name, out)
  local model, report = assert(ckpt.import(file, {model = model_name, layout = "lundnet"}))
  assert(ckpt.save(out, {model = model, spec = report.spec}))
  return model, report
end

for _, fx in ipairs({{"Top_QCD_500GeV_LundNet5.pt", "lundnet5", 5}, {"Top_QCD_500GeV_LundNet3.pt", "lundnet3", 3}}) do
  local file, name, features = FIXTURES .. fx[1], fx[2], fx[3]
  T.case(name .. ": imported, predicted in chunks: columns, labels, scores = one in-memory forward", function()
    local model, report = import_saved(file, name, path(name .. ".h5"))
    T.eq(report.spec.inputs, {kind = "lund", features = features})
    local out = path(name .. ".csv")
    local s = assert(predict.file(path(name .. ".h5"), jets, out, {batch = 64, progress = false}))
    local header, index, label, score = read_csv(out)
    T.eq(header, "index,label,score")
    T.eq(#score, N)
    T.eq(s.jets, N)
    local rows = all_jets()
    for i = 1, N do T.eq(index[i], i - 1, "index is the 0-based row") end
    T.eq(label, rows.labels:tolist(), "labels as stored")
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(score) do lo, hi = math.min(lo, v), math.max(hi, v) end
    T.ok(lo >= 0 and hi <= 1 and hi - lo > 0.5, string.format("scores in [0, 1] and spread: %g .. %g", lo, hi))
    local g = jl.lund.graphs(rows, {features = features})
    local expected = jl.no_grad(function()
      return model({x = g.x, offsets = g.offsets, src = g.src, dst = g.dst, edge_offsets = g.edge_offsets})
        :softmax(2):select(2, 2):contiguous()
    end)
    T.near(score, expected:tolist(), 1e-5, "CSV scores = the forward of all jets at once")
    T.near(s.auc, metrics.auc(expected, rows.labels + 1), 1e-9, "the printed AUC is metrics.auc's")
    local roc = metrics.roc(expected, rows.labels + 1)
    T.near(s.rej50, (metrics.rejection(roc, 0.5)), 1e-9)
  end)
end

T.case("export → import gives byte-identical scores; -o .h5 holds the CSV's columns", function()
  import_saved(FIXTURES .. "Top_QCD_500GeV_LundNet5.pt", "lundnet5", path("a.h5"))
  assert(ckpt.export(path("a.h5"), path("a.safetensors"), {layout = "lundnet"}))
  import_saved(path("a.safetensors"), "lundnet5", path("b.h5"))
  assert(predict.file(path("a.h5"), jets, path("a.csv"), {progress = false}))
  assert(predict.file(path("b.h5"), jets, path("b.csv"), {progress = false}))
  T.eq(fs.read(path("b.csv")), fs.read(path("a.csv")), "the round trip changes no score")

  local s = assert(predict.file(path("a.h5"), jets, path("a_scores.h5"), {progress = false}))
  T.eq(s.format, "h5")
  local f = assert(jl.h5tensors.load(path("a_scores.h5")))
  local got, attrs = {}, {}
  for _, d in ipairs(f.datasets) do got[d[1]] = d[2] end
  for _, a in ipairs(f.attrs) do attrs[a[2]] = a[3] end
  T.eq(attrs.format, "jetlab-scores")
  T.eq({got["/index"].dtype, got["/label"].dtype, got["/score"].dtype}, {"i64", "i64", "f32"})
  local _, index, label, score = read_csv(path("a.csv"))
  T.eq(got["/index"]:tolist(), index)
  T.eq(got["/label"]:tolist(), label)
  T.near(got["/score"]:tolist(), score, 1e-8, "the same scores (the CSV's to 9 digits)")
end)

-- Trains model for one epoch on half the jets through train.fit (checkpoints in
-- dir/name); returns the checkpoint and the model.
local function fit_one_epoch(name, model, source)
  local d = path(name)
  train.fit{model = model, optimizer = optim.Adam(model:parameters(), {lr = 1e-3}), train = source, epochs = 1,
    checkpoint_dir = d, log = false, seed = 1}
  return d .. "/last.h5"
end

T.case("train.fit records its view's inputs; predict = train.predict in memory (flat, standardised, degraded)", function()
  local ds = assert(data.open(jets))
  local tr = ds:split{0.5, 0.5, seed = 1}
  local degrade = {data.smear{E = 0.2, pt = 0.2}, data.undersample{keep = 8}, seed = 3}
  local stats = tr:stats{features = {max_constituents = 20}, degrade = degrade}
  local view = {format = "flat", batch_size = 50, features = {max_constituents = 20, standardize = stats}, degrade = degrade}
  local model = nn.models.fcnn_student(20 * 7)
  local file = fit_one_epoch("flat", model, tr:with(view))
  local c = assert(ckpt.load(file))
  T.eq(c.spec.model, model.spec)
  T.eq({c.spec.inputs.kind, c.spec.inputs.max_constituents}, {"flat", 20})
  T.near(c.spec.inputs.standardize.mean, stats.mean, 1e-12)
  T.eq({c.spec.inputs.degrade[1].kind, c.spec.inputs.degrade[2].keep, c.spec.inputs.degrade.seed}, {"smear", 8, 3})

  local s = assert(predict.file(file, jets, path("flat.csv"), {batch = 77, progress = false}))
  local _, index, _, score = read_csv(path("flat.csv"))
  view.batch_size = 128
  local mem, labels = train.predict(model, ds:with(view))
  T.eq(#score, mem:numel())
  T.eq(index[1], 0)
  T.near(score, mem:tolist(), 1e-6, "predict's scores = train.predict's")
  T.near(s.auc, metrics.auc(mem, labels), 1e-9, "predict's AUC = metrics.auc's")

  local clean = assert(predict.file(file, jets, path("clean.csv"), {degrade = false, progress = false}))
  T.ok(not jl.allclose(clean.scores, s.scores), "the recorded degradation is applied (and --no-degrade drops it)")
end)

T.case("ragged inputs: a small ParticleNet trained by train.fit scores as train.predict does", function()
  local ds = assert(data.open(jets))
  local view = {format = "ragged", batch_size = 64, features = {max_constituents = 30}}
  local model = nn.models.particlenet{k = 4, blocks = {{8, 8}, {8, 8}}, fc = 8}
  local file = fit_one_epoch("ragged", model, ds:with(view))
  T.eq(assert(ckpt.load(file)).spec.inputs.kind, "ragged")
  local s = assert(predict.file(file, jets, path("ragged.csv"), {batch = 100, progress = false}))
  local mem = train.predict(model, ds:with(view))
  T.near(s.scores:tolist(), mem:tolist(), 1e-5)
end)

T.case("resident memory stays flat over the chunks of a 20k-jet file", function()
  local big = path("big.h5")
  local rows = all_jets()
  local w = assert(jl.io.jets_writer(big))
  for _ = 1, 50 do assert(w:write(rows)) end
  assert(w:close())
  local m = nn.models.fcnn_teacher(80 * 7)
  assert(ckpt.save(path("fcnn.h5"), {model = m, spec = {model = m.spec, inputs = {kind = "flat", max_constituents = 80}}}))
  local rss = {}
  local function vm_rss()
    collectgarbage()
    return tonumber(assert(fs.read("/proc/self/status")):match("VmRSS:%s*(%d+) kB")) / 1024
  end
  local s = assert(predict.file(path("fcnn.h5"), big, path("big.csv"), {batch = 200, progress = false,
    on_chunk = function(done) rss[#rss + 1] = done >= 4000 and vm_rss() or nil end}))
  T.eq(s.jets, 50 * N)
  local growth = rss[#rss] - rss[1]
  T.ok(growth < 16, string.format("RSS grew %.1f MiB from jet 4000 to jet 20000 (a chunk of features is ~1 MiB)", growth))
end)

T.case("bad inputs: a clear message naming the file, and no output left behind", function()
  local m = nn.models.fcnn_student(35)
  assert(ckpt.save(path("nospec.h5"), {model = m}))
  assert(ckpt.save(path("narrow.h5"), {model = m, spec = {model = m.spec, inputs = {kind = "flat", max_constituents = 9}}}))
  local function refused(ckpt_path, jet_path, out, pattern)
    local s, err = predict.file(ckpt_path, jet_path, out, {progress = false})
    T.eq(s, nil, out)
    T.ok(tostring(err):find(pattern), string.format("message %q should match %q", tostring(err), pattern))
    T.ok(not fs.exists(out) and not fs.exists(out .. ".tmp"), "nothing written at " .. out)
  end
  refused(path("nospec.h5"), jets, path("x1.csv"), "nospec%.h5 records no inputs %(spec%.inputs%)")
  refused(path("missing.h5"), jets, path("x2.csv"), "cannot read .*missing%.h5")
  refused(path("narrow.h5"), path("nojets.h5"), path("x3.csv"), "nojets%.h5")
  refused(path("narrow.h5"), jets, path("x4.csv"), "narrow%.h5 on .*jets%.h5: ")
  refused(path("narrow.h5"), jets, path("x5.h5"), "narrow%.h5 on .*jets%.h5: ")
  refused(path("narrow.h5"), jets, path("no/such/dir/x6.csv"), "cannot write .*x6%.csv")
  refused(path("narrow.h5"), jets, path("x7.txt"), "must end in %.csv or %.h5")
  local before = fs.read(jets)
  local s, err = predict.file(path("narrow.h5"), jets, jets, {progress = false})
  T.ok(s == nil and err:find("would replace the jet file"), tostring(err))
  T.ok(fs.read(jets) == before, "the jet file is untouched")
end)

T.case("train.predict takes a checkpoint and a jet file too", function()
  import_saved(FIXTURES .. "Top_QCD_500GeV_LundNet3.pt", "lundnet3", path("l3.h5"))
  local s = assert(train.predict(path("l3.h5"), jets, {out = path("l3.csv"), batch = 100, progress = false}))
  T.eq(s.jets, N)
  T.eq((read_csv(path("l3.csv"))), "index,label,score")
  T.raises(function() train.predict(path("l3.h5"), jets, {}) end, "a jet file needs {out = ")
end)

local results = T.run()
fs.remove_tree(dir)
return results
