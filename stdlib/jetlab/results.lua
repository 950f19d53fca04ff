-- jetlab.results — the results folder of one experiment run (DESIGN rule 7).
--
--   local results = require "jetlab.results"
--   local run = results.run("transfer", cfg)            -- results/transfer/20250101-120000-3fa2/
--   run:write_config()                                  -- config.lua: return {...}
--   run:record("ParticleNet", "fine-tune", {auc = 0.98, rej30 = 412, params = 366000})
--   run:write_roc("pnet_finetune", roc)                 -- roc_pnet_finetune.csv
--   local history = train.fit{..., checkpoint_dir = run:path("pnet_finetune")}   -- best.h5, last.h5
--   run:write_history("pnet_finetune", history)         -- history_pnet_finetune.csv
--   run:table("Training time", {"model", "ms/sample"}, {{"ParticleNet", 0.41}})
--   plot.roc(run:path("roc.png"), ...)                  -- any file of the run
--   run:finish()                                        -- summary.md + terminal summary
--
-- results.run(experiment, config[, {root = "results", run_id =, log = true, tags =}])
-- creates <root>/<experiment>/<run-id>/ (run-id: local time plus a random
-- suffix, unless given; a given one may exist already) and points
-- <root>/<experiment>/latest at it. Every file is written atomically (a .tmp
-- file renamed over the target), and metrics.json and summary.md are rewritten
-- after every record, table and note, so an interrupted run keeps what it had.
--
-- metrics.json: {experiment, run_id, started, finished, resumed (set by the
-- caller when it reopened the run), seconds, results =
-- {[model] = {[variant] = {auc =, accuracy =, rej30 =, rej50 =,
-- train_ms_per_sample =, infer_us_per_jet =, params =, ...}}}}; an infinite
-- rejection (no background passes) is null there and "inf" in the tables.
-- summary.md: the metrics table (models and variants in the order recorded),
-- then the tables and notes in the order added, then the run's PNG plots.
-- log: true prints the terminal summary at finish, false is silent, a
-- function receives each line instead of print. tags ({name = text}, e.g.
-- {generator = "pythia"}): more top-level fields of metrics.json, also named
-- in the first line of summary.md.
--
-- The helpers the other result writers share are public too (the file
-- helpers are jetlab.fs): results.csv_line(values), results.format_value(v),
-- results.text_table(columns, rows), results.markdown_table(columns, rows),
-- results.order_keys(keys), results.values(v).

local dist = require "jetlab.dist"
local fs = require "jetlab.fs"
local json = require "jetlab.json"
local literal = require "jetlab.literal"
local options = require "jetlab.options"

local results = {}

local function csv_text(v)
  if type(v) == "number" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    return json.number(v)
  end
  if v == nil then return "" end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- results.csv_line(values[, n]) → one CSV line of values[1..n] (with "\n"): exact numbers, inf/nan
--- as such, nil as an empty field, text quoted when it holds , " or newlines.
function results.csv_line(values, n)
  local fields = {}
  for i = 1, n or #values do fields[i] = csv_text(values[i]) end
  return table.concat(fields, ",") .. "\n"
end

--- results.format_value(v) → short text for tables: integers as they are,
--- floats with 4 significant digits (no exponent below 1e6), inf as "inf".
function results.format_value(v)
  if v == nil or v == json.null then return "" end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge or v == -math.huge then return v > 0 and "inf" or "-inf" end
  if v ~= 0 and math.abs(v) >= 1e4 and math.abs(v) < 1e6 then return string.format("%.0f", v) end
  return string.format("%.4g", v)
end

-- The cells of a table as text: rows are arrays or tables keyed by column name.
local function cells(columns, rows)
  local out = {}
  for i, row in ipairs(rows) do
    out[i] = {}
    for j, c in ipairs(columns) do
      local v = row[j]
      if v == nil then v = row[c] end
      out[i][j] = results.format_value(v)
    end
  end
  return out
end

local function width(s)
  return utf8.len(s) or #s
end

--- results.text_table(columns, rows) → aligned plain text (numbers right-aligned).
function results.text_table(columns, rows)
  local body, widths, numeric = cells(columns, rows), {}, {}
  for j, c in ipairs(columns) do
    widths[j], numeric[j] = width(c), true
    for _, r in ipairs(body) do
      widths[j] = math.max(widths[j], width(r[j]))
      if r[j] ~= "" and not tonumber(r[j]) and r[j] ~= "inf" then numeric[j] = false end
    end
  end
  local function line(values, rule)
    local parts = {}
    for j, v in ipairs(values) do
      local pad = string.rep(rule or " ", widths[j] - width(v))
      parts[j] = numeric[j] and pad .. v or v .. pad
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local lines = {line(columns)}
  local rules = {}
  for j in ipairs(columns) do rules[j] = "" end
  lines[2] = line(rules, "-")
  for _, r in ipairs(body) do lines[#lines + 1] = line(r) end
  return table.concat(lines, "\n")
end

--- results.markdown_table(columns, rows) → a Markdown table.
function results.markdown_table(columns, rows)
  local function line(values)
    local escaped = {}
    for j, v in ipairs(values) do escaped[j] = v:gsub("|", "\\|") end
    return "| " .. table.concat(escaped, " | ") .. " |"
  end
  local rules = {}
  for j in ipairs(columns) do rules[j] = "---" end
  local lines = {line(columns), line(rules)}
  for _, r in ipairs(cells(columns, rows)) do lines[#lines + 1] = line(r) end
  return table.concat(lines, "\n")
end

-- Metric keys in the order the tables show them, with their column labels.
local KNOWN = {
  {"auc", "AUC"}, {"accuracy", "acc"}, {"rej30", "1/εB@εS=0.3"}, {"rej50", "1/εB@εS=0.5"},
  {"train_ms_per_sample", "train ms/sample"}, {"train_seconds", "train s"},
  {"infer_us_per_jet", "µs/jet (batch 1)"}, {"infer_us_per_jet_batched", "µs/jet (batched)"},
  {"params", "params"},
}
local RANK = {}
for i, k in ipairs(KNOWN) do RANK[k[1]] = i end

--- results.order_keys(keys) sorts metric names in place: the known ones in
--- table order, then the others alphabetically; returns keys and their labels.
function results.order_keys(keys)
  table.sort(keys, function(a, b)
    local ra, rb = RANK[a] or math.huge, RANK[b] or math.huge
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local labels = {}
  for i, k in ipairs(keys) do labels[i] = RANK[k] and KNOWN[RANK[k]][2] or k end
  return keys, labels
end

local Run = {}
Run.__index = Run

local function random_id()
  return os.date("%Y%m%d-%H%M%S") .. string.format("-%04x", math.random(0, 0xffff))
end

local function logger(log)
  if log == true then return print end
  if log == false then return function() end end
  return log
end

--- results.run(experiment, config[, opts]) → a run object (see the header).
function results.run(experiment, config, opts)
  assert(type(experiment) == "string" and experiment:match("^[%w_.-]+$"),
    "results.run: the experiment name must be a plain file name")
  assert(type(config) == "table", "results.run: config must be a table")
  local o = options.check("results.run", opts, {root = "results", run_id = options.OPTIONAL, log = true,
    tags = options.OPTIONAL})
  local parent = o.root .. "/" .. experiment
  -- under MPI rank 0 makes the run folder and every rank takes its name (jetlab.dist)
  local id = dist.broadcast_string(dist.after_rank0(function()
    fs.mkdir(parent)
    local made = o.run_id
    if made then
      fs.mkdir(parent .. "/" .. made)
    else
      for _ = 1, 20 do
        made = random_id()
        if os.execute("mkdir " .. fs.quote(parent .. "/" .. made) .. " 2>/dev/null") then break end
        made = nil
      end
      if not made then error("results: cannot create a run folder under " .. parent, 0) end
    end
    os.execute("ln -sfn " .. fs.quote(made) .. " " .. fs.quote(parent .. "/latest"))
    return made
  end) or "")
  return setmetatable({
    experiment = experiment, id = id, dir = parent .. "/" .. id, config = config,
    started = os.time(), log = logger(o.log), tags = o.tags or {},
    records = {}, order = {}, sections = {},
  }, Run)
end

--- run:path(name) → <run dir>/<name>, creating the folders name goes through.
function Run:path(name)
  local p = self.dir .. "/" .. name
  local sub = name:match("^(.*)/[^/]*$")
  if sub then fs.mkdir(self.dir .. "/" .. sub) end
  return p
end

--- run:write_config() writes config.lua (`return {...}`, the resolved config);
--- dofile(run:path("config.lua")) gives an equal table.
function Run:write_config()
  local keys, plain = {}, true
  for k in pairs(self.config) do
    keys[#keys + 1] = k
    plain = plain and type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
  end
  local text
  if plain then -- one key per line
    table.sort(keys)
    local lines = {}
    for i, k in ipairs(keys) do lines[i] = "  " .. k .. " = " .. literal.encode(self.config[k]) .. "," end
    text = "return {\n" .. table.concat(lines, "\n") .. "\n}\n"
  else
    text = "return " .. literal.encode(self.config) .. "\n"
  end
  fs.write(self:path("config.lua"), text)
  return self:path("config.lua")
end

--- run:record(model, variant, metrics) merges metrics (a table of numbers,
--- strings, booleans; <k>_per_seed: a list of numbers) into results[model][variant] and rewrites
--- metrics.json.
function Run:record(model, variant, metrics)
  assert(type(model) == "string" and type(variant) == "string", "run:record: model and variant must be strings")
  assert(type(metrics) == "table", "run:record: metrics must be a table")
  self.records[model] = self.records[model] or {}
  local r = self.records[model][variant]
  if not r then
    r = {}
    self.records[model][variant] = r
    self.order[#self.order + 1] = {model, variant}
  end
  for k, v in pairs(metrics) do
    local t = type(v)
    assert(type(k) == "string" and (t == "number" or t == "string" or t == "boolean" or
      (t == "table" and k:match("_per_seed$"))),
      "run:record: metric '" .. tostring(k) .. "' must be a number, string or boolean (a list: <k>_per_seed)")
    r[k] = v
  end
  self:save()
end

--- results.values(v) → v as a Lua array: a tensor through :tolist(), anything else as it is.
function results.values(v)
  if type(v) == "userdata" then return v:tolist() end
  return v
end

--- run:write_roc(name, roc[, max_points]) writes roc_<name>.csv: eff_s,eff_b,rejection (1/eff_b),
--- one line per point of a metrics.roc curve (tensors) or of {eff_s=, eff_b=}
--- arrays; curves longer than max_points (default 20000) keep evenly spaced
--- points, first and last included. Returns the path.
function Run:write_roc(name, roc, max_points)
  local es, eb = results.values(roc.eff_s), results.values(roc.eff_b)
  assert(type(es) == "table" and type(eb) == "table" and #es == #eb and #es > 0,
    "run:write_roc: roc needs eff_s and eff_b of the same non-zero length")
  local n, keep = #es, max_points or 20000
  local lines = {"eff_s,eff_b,rejection\n"}
  local step = n > keep and (n - 1) / (keep - 1) or 1
  local last
  for i = 0, math.min(n, keep) - 1 do
    local k = math.floor(i * step + 0.5) + 1
    if k ~= last then
      local b = eb[k]
      lines[#lines + 1] = string.format("%.9g,%.9g,%s\n", es[k], b, b > 0 and string.format("%.9g", 1 / b) or "inf")
      last = k
    end
  end
  local path = self:path("roc_" .. name .. ".csv")
  fs.write(path, table.concat(lines))
  return path
end

local HISTORY_FIRST = {epoch = 1, train_loss = 2, val_loss = 3, val_acc = 4, val_auc = 5, lr = 6,
                       ms_per_sample = 7, seconds = 8, train_seconds = 9, samples = 10}

--- run:write_history(name, history) writes history_<name>.csv: one line per
--- epoch record of train.fit's history (or any array of flat records), with
--- the union of their scalar fields as columns. Returns the path.
function Run:write_history(name, history)
  local seen, columns = {}, {}
  for _, rec in ipairs(history) do
    for k, v in pairs(rec) do
      if type(k) == "string" and type(v) ~= "table" and not seen[k] then
        seen[k] = true
        columns[#columns + 1] = k
      end
    end
  end
  table.sort(columns, function(a, b)
    local ra, rb = HISTORY_FIRST[a] or math.huge, HISTORY_FIRST[b] or math.huge
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local lines = {results.csv_line(columns)}
  for _, rec in ipairs(history) do
    local row = {}
    for j, c in ipairs(columns) do row[j] = rec[c] end
    lines[#lines + 1] = results.csv_line(row, #columns)
  end
  local path = self:path("history_" .. name .. ".csv")
  fs.write(path, table.concat(lines))
  return path
end

--- run:table(title, columns, rows) adds a table to summary.md and to the
--- terminal summary; rows are arrays in column order or tables keyed by column.
function Run:table(title, columns, rows)
  self.sections[#self.sections + 1] = {title = title, columns = columns, rows = rows}
  self:save()
end

--- run:note(markdown) adds a paragraph to summary.md.
function Run:note(text)
  self.sections[#self.sections + 1] = {text = text}
  self:save()
end

-- The table of every recorded metric: one row per (model, variant); <k>_err and <k>_std go
-- into <k>'s cell (jetlab.uncertainty.cell), <k>_per_seed only into metrics.json.
function Run:metrics_table()
  local U = require "jetlab.uncertainty"
  local seen, keys = {}, {}
  for _, mv in ipairs(self.order) do
    local r = self.records[mv[1]][mv[2]]
    for k in pairs(r) do
      local base = k:match("^(.*)_err$") or k:match("^(.*)_std$")
      local folded = k:match("_per_seed$") or (base and r[base] ~= nil)
      if not seen[k] and not folded then seen[k], keys[#keys + 1] = true, k end
    end
  end
  local _, labels = results.order_keys(keys)
  local columns, rows = {"model", "variant"}, {}
  for _, l in ipairs(labels) do columns[#columns + 1] = l end
  for i, mv in ipairs(self.order) do
    rows[i] = {mv[1], mv[2]}
    for j, k in ipairs(keys) do rows[i][j + 2] = U.cell(self.records[mv[1]][mv[2]], k) end
  end
  return {title = "Metrics", columns = columns, rows = rows}
end

local function all_tables(self)
  local list = {}
  if #self.order > 0 then list[1] = self:metrics_table() end
  for _, s in ipairs(self.sections) do list[#list + 1] = s end
  return list
end

local function plots(dir)
  local names = {}
  for _, name in ipairs(fs.list(dir)) do
    if name:match("^[^.].*%.png$") then names[#names + 1] = name end
  end
  return names
end

--- run:save() rewrites metrics.json and summary.md (record, table, note and finish call it).
function Run:save()
  local stamp = function(t) return os.date("%Y-%m-%dT%H:%M:%S", t) end
  local doc = {
    experiment = self.experiment, run_id = self.id, started = stamp(self.started),
    finished = self.finished and stamp(self.finished) or nil, resumed = self.resumed and stamp(self.resumed) or nil,
    seconds = self.finished and os.difftime(self.finished, self.started) or nil,
    results = self.records,
  }
  local names, tagged = {}, {}
  for k in pairs(self.tags) do names[#names + 1] = k end
  table.sort(names)
  for i, k in ipairs(names) do
    assert(doc[k] == nil, "results.run: tag " .. k .. " is a field of metrics.json")
    doc[k], tagged[i] = self.tags[k], string.format("%s: %s. ", k, tostring(self.tags[k]))
  end
  fs.write(self:path("metrics.json"), json.encode(doc, {indent = 2}) .. "\n")
  local md = {string.format("# %s — run %s\n\nStarted %s%s. %sConfiguration: `config.lua`; all numbers: `metrics.json`.\n",
    self.experiment, self.id, stamp(self.started),
    self.finished and string.format(", finished after %.0f s", os.difftime(self.finished, self.started)) or " (running)",
    table.concat(tagged))}
  for _, s in ipairs(all_tables(self)) do
    if s.text then
      md[#md + 1] = s.text .. "\n"
    else
      md[#md + 1] = "## " .. s.title .. "\n\n" .. results.markdown_table(s.columns, s.rows) .. "\n"
    end
  end
  local pngs = plots(self.dir)
  if #pngs > 0 then
    md[#md + 1] = "## Plots\n"
    for _, name in ipairs(pngs) do md[#md + 1] = string.format("![%s](%s)\n", name:gsub("%.png$", ""), name) end
  end
  fs.write(self:path("summary.md"), table.concat(md, "\n"))
end

--- run:finish() → the run folder: writes metrics.json and summary.md for the
--- last time and prints the terminal summary (every table, aligned).
function Run:finish()
  self.finished = os.time()
  self:save()
  local log = self.log
  log("")
  log(string.format("== %s: run %s", self.experiment, self.id))
  for _, s in ipairs(all_tables(self)) do
    if s.title then
      log("")
      log(s.title)
      log(results.text_table(s.columns, s.rows))
    end
  end
  log("")
  log("results: " .. self.dir)
  return self.dir
end

return results
