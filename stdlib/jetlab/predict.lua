-- jetlab.predict — the per-jet signal probability of a model on an ATLAS-layout
-- jet file, streamed chunk by chunk and written as CSV or HDF5. Behind
-- `jetlab predict` and train.predict(checkpoint, "jets.h5", {out =}).
--
--   local predict = require "jetlab.predict"
--   local s = assert(predict.file("run/best.h5", "test.h5", "scores.csv", {batch = 256}))
--   print(s.jets, s.auc, s.rej30, s.rej50, s.jets_per_second)
--   local s2 = assert(predict.file(model, "test.h5", "scores.h5", {inputs = {kind = "lund", features = 5}}))
--
-- The model is a checkpoint path (ckpt.model rebuilds it from its spec; the
-- preprocessing is its spec.inputs) or a model with opts.inputs. spec.inputs:
--   {kind = "flat" | "padded" | "ragged", max_constituents =, standardize = {mean = {7}, std = {7}},
--    degrade = {seed =, step, ...}}  the 7 ATLAS features through jetlab.data's
--        streaming loader, exactly as view:batches{format = kind, features =
--        {max_constituents =, standardize =}, degrade =} gives them in training
--        (max_constituents absent: every column of the file; jets with NaN/Inf
--        or E <= 0, or without constituents, are skipped and counted, as in training)
--   {kind = "lund", features = 5 | 3, max_constituents =, ln_kt_min =, degrade =}
--        Lund-plane graphs (jl.lund.graphs) of the jets' first max_constituents
--        constituents (absent: all), degraded first when degrade is given
-- (train.fit records these from its training source: data views and
-- experiments/common.lua's Lund source describe themselves with :inputs()).
--
-- opts: batch (jets per chunk read and per forward, default 256), inputs
-- (replaces the checkpoint's), degrade (default true: apply spec.inputs.degrade;
-- false: score the file as it is), progress (default: stdout is a terminal),
-- on_chunk(done, total) after every chunk.
-- The output's columns: index (the jet's 0-based row in the file), label (as
-- stored: 0 background, 1 signal), score (softmax probability of class 2 =
-- signal). out ending in .csv: header `index,label,score`, score printed with
-- %.9g; .h5/.hdf5: datasets /index (i64), /label (i64), /score (f32) and root
-- attributes format = "jetlab-scores", checkpoint, jets (h5py: f["score"][:]).
-- The output is written to out .. ".tmp" and renamed over out at the end: an
-- error leaves no file. Memory: one chunk of jets, plus 12 bytes per jet (20
-- for .h5) kept for the metrics and the HDF5 columns.
--
-- Returns a summary {jets =, skipped =, seconds =, jets_per_second =, out =,
-- format = "csv" | "h5", inputs =, scores = f32 (n), labels = i64 (n) as stored,
-- auc =, rej30 =, rej50 = (1/εB at εS = 0.3 and 0.5, unweighted, when every
-- label is 0 or 1 and both occur), no_metrics = why not (otherwise)} or nil,
-- message (a missing or foreign file, a checkpoint without spec.inputs, an
-- output that cannot be written, a model that fails on the inputs).

local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"
local fs = require "jetlab.fs"
local metrics = require "jetlab.metrics"
local options = require "jetlab.options"
local progress = require "jetlab.progress"
local train = require "jetlab.train"

local P = {}

P.KINDS = {"flat", "padded", "ragged", "lund"}

--- predict.describe(inputs) → one line saying what the model reads.
function P.describe(inputs)
  local cap = inputs.max_constituents and string.format("the first %d constituents", inputs.max_constituents)
    or "every constituent"
  local text
  if inputs.kind == "lund" then
    text = string.format("Lund-plane graphs (%d features) of %s", inputs.features or 5, cap)
  else
    text = string.format("%s ATLAS features of %s", inputs.kind, cap)
    if inputs.standardize then text = text .. ", standardised" end
  end
  if inputs.degrade then text = text .. ", degraded (" .. #inputs.degrade .. " step(s), seed " .. (inputs.degrade.seed or 0) .. ")" end
  return text
end

-- The inputs checked: a known kind and the fields of that kind.
local function check_inputs(inputs, where)
  if type(inputs) ~= "table" then return nil, where .. ": inputs must be a table {kind = ...}" end
  for _, k in ipairs(P.KINDS) do
    if inputs.kind == k then return inputs end
  end
  return nil, string.format("%s: unknown inputs kind '%s' (one of %s)", where, tostring(inputs.kind),
    table.concat(P.KINDS, ", "))
end

--- predict.load(checkpoint_path) → model (eval mode), inputs | nil, message.
function P.load(path)
  local model, state = ckpt.model(path)
  if not model then return nil, state end
  local inputs = state.spec.inputs
  if inputs == nil then
    return nil, string.format("%s records no inputs (spec.inputs): predict cannot know how the model's data "
      .. "were prepared; train.fit records them from its training data, ckpt.import from the model, or save "
      .. "with ckpt.save(path, {model = m, spec = {model = m.spec, inputs = {kind = \"flat\", ...}}})", path)
  end
  local ok, why = check_inputs(inputs, path)
  if not ok then return nil, why end
  return model, inputs
end

-- A chunk reader over the loader of jetlab.data: {total =, next = function → chunk | nil, skipped = function}.
local function loader_chunks(path, inputs, o)
  local ds, err = data.open(path)
  if not ds then return nil, err end
  local batches = ds:batches{format = inputs.kind, batch_size = o.batch,
    features = {max_constituents = inputs.max_constituents or ds.columns, standardize = inputs.standardize},
    degrade = o.degrade and inputs.degrade or nil}
  return {
    total = ds:size(),
    next = function()
      local b = batches()
      if not b then return nil end
      return {x = b.x, index = b.jets - 1, label = b.y - 1, n = b.n}
    end,
    skipped = function() return ds.skipped and ds.skipped.invalid + ds.skipped.empty or 0 end,
  }
end

-- A chunk reader of Lund-plane graphs, max_constituents columns of o.batch jets at a time.
local function lund_chunks(path, inputs, o)
  local f, err = jl.io.open_jets(path, {max_constituents = inputs.max_constituents or (1 << 30)})
  if not f then return nil, err end
  local n, first = f:count(), 1
  local lund_opts = {features = inputs.features or 5, ln_kt_min = inputs.ln_kt_min}
  local degrade = o.degrade and inputs.degrade or nil
  return {
    total = n,
    next = function()
      if first > n then
        f:close()
        return nil
      end
      local len = math.min(o.batch, n - first + 1)
      local rows = jl.arange(first, first + len, {dtype = "i64"})
      local r, rerr = f:read(first, len)
      if not r then error(rerr, 0) end
      if degrade then r.pt, r.eta, r.phi, r.E = jl.data.degrade(r.pt, r.eta, r.phi, r.E, rows, degrade) end
      local g = jl.lund.graphs(r, lund_opts)
      first = first + len
      return {x = {x = g.x, offsets = g.offsets, src = g.src, dst = g.dst, edge_offsets = g.edge_offsets},
              index = rows - 1, label = r.labels, n = len}
    end,
    skipped = function() return 0 end,
  }
end

--- predict.chunks(jets_path, inputs[, {batch = 256, degrade = true}]) → a chunk
--- reader {total =, next() → {x =, index = i64 0-based rows, label = i64 as stored, n =} | nil,
--- skipped() → jets left out} | nil, message.
function P.chunks(path, inputs, opts)
  local o = options.check("predict.chunks", opts, {batch = 256, degrade = true})
  local ok, why = check_inputs(inputs, "predict.chunks")
  if not ok then return nil, why end
  if inputs.kind == "lund" then return lund_chunks(path, inputs, o) end
  return loader_chunks(path, inputs, o)
end

-- The output format from out's extension.
local function out_format(out)
  local ext = out:lower():match("%.(%w+)$")
  if ext == "csv" then return "csv" end
  if ext == "h5" or ext == "hdf5" then return "h5" end
  return nil, string.format("-o %s: the output must end in .csv or .h5", out)
end

local function csv_rows(index, label, score)
  local i, l, s = index:tolist(), label:tolist(), score:tolist()
  local lines = {}
  for k = 1, #s do lines[k] = string.format("%d,%d,%.9g\n", i[k], l[k], s[k]) end
  return table.concat(lines)
end

-- unweighted AUC and rejections when every label is 0 or 1 and both occur; else nil, why.
local function file_metrics(scores, labels)
  local n = labels:numel()
  local signal = labels:eq(1):sum():item()
  local background = labels:eq(0):sum():item()
  if signal + background ~= n then return nil, "labels other than 0 and 1 in the file" end
  if signal == 0 or background == 0 then
    return nil, string.format("only %s jets in the file", signal == 0 and "background (0)" or "signal (1)")
  end
  local roc = metrics.roc(scores, labels + 1)
  return {auc = roc.auc, rej30 = (metrics.rejection(roc, 0.3)), rej50 = (metrics.rejection(roc, 0.5))}
end

-- Streams every chunk of reader through model into the open CSV file (csv) or
-- the index list (h5); returns scores, labels, index lists.
local function score_all(model, reader, o, csv)
  local scores, labels, index, done = {}, {}, {}, 0
  local bar = o.progress and progress.bar{total = reader.total, unit = "jets", force = true}
  while true do
    local c = reader.next()
    if not c then break end
    local s = train.predict(model, {{x = c.x, y = c.label + 1, n = c.n}})
    scores[#scores + 1], labels[#labels + 1] = s, c.label
    if csv then
      local ok, err = csv:write(csv_rows(c.index, c.label, s))
      if not ok then error(err, 0) end
    else
      index[#index + 1] = c.index
    end
    done = done + c.n
    if bar then bar:update(done) end
    if o.on_chunk then o.on_chunk(done, reader.total) end
  end
  if bar then bar:clear() end
  if #scores == 0 then error("no jet to score", 0) end
  return scores, labels, index
end

local FILE_OPTIONS = {batch = 256, inputs = options.OPTIONAL, degrade = true, progress = options.OPTIONAL,
  on_chunk = options.OPTIONAL}

--- predict.file(checkpoint_path | model, jets_path, out_path[, opts]) → summary | nil, message (see the header).
function P.file(model, jets, out, opts)
  local o = options.check("predict.file", opts, FILE_OPTIONS)
  assert(type(jets) == "string" and type(out) == "string", "predict.file: jets and out paths (strings) expected")
  if math.type(o.batch) ~= "integer" or o.batch < 1 then error("predict.file: batch must be an integer >= 1", 2) end
  if o.progress == nil then o.progress = progress.enabled() end
  local format, ferr = out_format(out)
  if not format then return nil, ferr end
  local source = type(model) == "string" and model or nil
  if out == jets or out == source then
    return nil, string.format("-o %s would replace the %s it reads", out, out == jets and "jet file" or "checkpoint")
  end
  local inputs = o.inputs
  if source then
    local m, why = P.load(source)
    if not m then return nil, why end
    model, inputs = m, inputs or why
  elseif not inputs then
    error("predict.file: a model object needs opts.inputs (a checkpoint path brings its own)", 2)
  end
  local checked, ierr = check_inputs(inputs, source or "predict.file")
  if not checked then return nil, ierr end
  local reader, rerr = P.chunks(jets, inputs, {batch = o.batch, degrade = o.degrade})
  if not reader then return nil, rerr end

  local summary = {out = out, format = format, inputs = inputs}
  local t0 = jl.clock()
  local ok, err = pcall(fs.atomic_write, out, function(tmp)
    local f, oerr = io.open(tmp, "wb")
    if not f then error(string.format("cannot write %s (%s)", out, oerr), 0) end
    local csv = format == "csv" and f or nil
    if csv then
      f:write("index,label,score\n")
    else
      f:close()
    end
    local run_ok, scores, labels, index = pcall(score_all, model, reader, o, csv)
    if csv then f:close() end
    if not run_ok then error(scores, 0) end
    summary.scores, summary.labels = jl.cat(scores, 1), jl.cat(labels, 1)
    if format == "h5" then
      local saved, serr = jl.h5tensors.save(tmp, {{"/index", jl.cat(index, 1)}, {"/label", summary.labels},
        {"/score", summary.scores}}, {{"/", "format", "jetlab-scores"}, {"/", "checkpoint", source or "(a model)"},
        {"/", "jets", jets}})
      if not saved then error(serr, 0) end
    end
  end)
  if not ok then return nil, string.format("%s on %s: %s", source or "predict", jets, tostring(err)) end
  summary.seconds = jl.clock() - t0
  summary.jets = summary.scores:numel()
  summary.skipped = reader.skipped()
  summary.jets_per_second = summary.jets / math.max(summary.seconds, 1e-9)
  local m, why = file_metrics(summary.scores, summary.labels)
  if m then
    summary.auc, summary.rej30, summary.rej50 = m.auc, m.rej30, m.rej50
  else
    summary.no_metrics = why
  end
  return summary
end

return P
