-- test_reproduction.lua — REPRODUCTION.md's claims table, reproduction/claims.json and the
-- metrics.json files committed under reproduction/ agree: the same ids in the same order,
-- the issue's first ids there, every cell as claims.json has it, a verdict from the list
-- ("not yet run" exactly when jetlab is null), and each measured figure and its uncertainty
-- (jetlab.uncertainty.sigma) equal to its source record. The checker is also run on altered
-- copies, which it must reject.
local T = require "jetlab.test"
local json = require "jetlab.json"
local results = require "jetlab.results"
local fs = require "jetlab.fs"
package.path = "reproduction/?.lua;" .. package.path
local claim_source = require "claim_source"

local FIELDS = {"id", "paper", "jetlab", "uncertainty", "n_train", "command", "verdict"}
local FIRST_IDS = {"s2-ln5-fromW-ft-1e5", "s2-ln5-fromW-fr-1e5", "s2-ln5-scratch-1e5", "s2-ln5-time-ratio-frozen",
  "s2-ln5-fromW-ft-2.5e4", "s2-ln3-scratch-1e5"}
local VERDICTS = {["not yet run"] = true, ["reproduced"] = true, ["not reproduced"] = true,
  ["not measurable here"] = true}

local function value(v) if v == json.null then return nil end return v end
local function cell(v) v = value(v) return v == nil and "—" or results.format_value(v) end

-- The rows of the table whose first cell is a `claim id`: id → {cells}, and the ids in order.
local function table_rows(md)
  local rows, order = {}, {}
  for line in md:gmatch("[^\n]+") do
    local id = line:match("^| `([^`]+)` |")
    if id then
      local cells = {}
      for c in (line:sub(2) .. "|"):gsub("\\|", "\0"):gmatch("%s*(.-)%s*|") do cells[#cells + 1] = c:gsub("%z", "|") end
      rows[id], order[#order + 1] = cells, id
    end
  end
  return rows, order
end

-- check(md, claims, read) → nil, or the list of disagreements; read(path) → a file's text or nil.
local function check(md, claims, read)
  local bad = {}
  local function say(fmt, ...) bad[#bad + 1] = string.format(fmt, ...) end
  local rows, order = table_rows(md)
  local ids = {}
  for i, c in ipairs(claims) do
    for _, f in ipairs(FIELDS) do if c[f] == nil then say("%s: no field %s", tostring(c.id), f) end end
    if ids[c.id] then say("%s: twice in claims.json", c.id) end
    ids[c.id] = true
    if order[i] ~= c.id then say("claim %d: %s in claims.json, %s in REPRODUCTION.md", i, c.id, tostring(order[i])) end
    local jet, paper = value(c.jetlab), value(c.paper)
    if not VERDICTS[c.verdict] then say("%s: verdict '%s'", c.id, tostring(c.verdict)) end
    if (jet == nil) ~= (c.verdict == "not yet run") then say("%s: jetlab %s with verdict '%s'", c.id, cell(jet), c.verdict) end
    local r = rows[c.id]
    if r then
      local delta = (jet and paper) and jet - paper or nil
      local want = {"`" .. c.id .. "`", cell(paper), cell(jet), cell(c.uncertainty), cell(delta), cell(c.n_train),
        c.verdict, "`" .. c.command .. "`"}
      for j, w in ipairs(want) do
        if r[j] ~= w then say("%s: column %d is '%s' in REPRODUCTION.md, '%s' from claims.json", c.id, j, r[j], w) end
      end
    end
    local src = value(c.source)
    if src then
      local text = read(src.metrics)
      local m = text and json.decode(text)
      local figure, sigma = claim_source.figure(m and m.results, src)
      if not figure then
        say("%s: %s in %s", c.id, sigma, tostring(src.metrics))
      else
        if figure ~= jet then say("%s: jetlab %s, %s in %s", c.id, cell(jet), cell(figure), src.metrics) end
        if sigma ~= value(c.uncertainty) then say("%s: uncertainty %s, σ %s from the record", c.id, cell(c.uncertainty),
          cell(sigma)) end
      end
    elseif jet ~= nil then
      say("%s: a jetlab figure without a source metrics.json", c.id)
    end
  end
  for _, id in ipairs(order) do if not ids[id] then say("%s: in REPRODUCTION.md only", id) end end
  for _, id in ipairs(FIRST_IDS) do if not ids[id] then say("%s: missing", id) end end
  return #bad > 0 and bad or nil
end

local md = assert(fs.read("REPRODUCTION.md"))
local claims = assert(json.decode(assert(fs.read("reproduction/claims.json"))))

T.case("REPRODUCTION.md, claims.json and the committed metrics.json agree", function()
  local bad = check(md, claims, fs.read)
  T.ok(bad == nil, bad and table.concat(bad, "\n") or "")
end)

T.case("every metrics.json under reproduction/ is the source of a claim or of a table REPRODUCTION.md names it for", function()
  local used = {}
  for _, c in ipairs(claims) do
    local src = value(c.source)
    if src then used[src.metrics] = true end
  end
  local p = io.popen("find reproduction -name metrics.json 2>/dev/null")
  for path in p:lines() do
    T.ok(used[path] or md:find("`" .. path .. "`", 1, true), path .. " is no claim's source and REPRODUCTION.md does not name it")
  end
  p:close()
end)

T.case("differences and ratios of two records: figure and σ from both", function()
  local rs = {FCNN = {["Student + KD"] = {auc = 0.90, auc_err = 0.003, infer_us_per_jet = 12, infer_us_per_jet_std = 1.2,
                                         n_seeds = 3},
                      Student = {auc = 0.88, auc_err = 0.004, infer_us_per_jet = 3, infer_us_per_jet_std = 0.3, n_seeds = 3}}}
  local v, sigma = claim_source.figure(rs, {model = "FCNN", variant = "Student + KD", key = "auc", minus = "Student"})
  T.near(v, 0.02, 1e-12)
  T.near(sigma, 0.005, 1e-12)
  v, sigma = claim_source.figure(rs, {model = "FCNN", variant = "Student + KD", key = "infer_us_per_jet", over = "Student"})
  T.near(v, 4, 1e-12)
  T.near(sigma, 4 * math.sqrt(2 * (0.1 / math.sqrt(3)) ^ 2), 1e-12)
  local none, why = claim_source.figure(rs, {model = "FCNN", variant = "Student + KD", key = "auc", minus = "Teacher"})
  T.eq(none, nil)
  T.ok(why:find("no record FCNN · Teacher", 1, true), why)
end)

T.case("the checker rejects a drifted table, a wrong figure and a missing claim", function()
  local drifted = md:gsub("| `s2%-ln5%-scratch%-1e5` | 0%.9826 |", "| `s2-ln5-scratch-1e5` | 0.9827 |", 1)
  T.ok(drifted ~= md, "the row was altered")
  T.ok(check(drifted, claims, fs.read) ~= nil, "a paper figure that differs")
  local measured = json.decode(json.encode(claims))
  measured[3].jetlab, measured[3].uncertainty, measured[3].verdict = 0.98, 0.002, "reproduced"
  local fake = "reproduction/test-only/metrics.json" -- the other claims' sources are read from the files
  measured[3].source = {metrics = fake, model = "LundNet5 · 100%", variant = "scratch", key = "auc"}
  local record = json.encode({results = {["LundNet5 · 100%"] = {scratch = {auc = 0.98, auc_err = 0.002}}}})
  local function read(path) if path == fake then return record end return fs.read(path) end
  local bad = check(md, measured, read)
  T.ok(bad ~= nil and table.concat(bad, "\n"):find("column 3", 1, true), "the table still says —")
  local row = "| `s2-ln5-scratch-1e5` | 0.9826 | 0.98 | 0.002 | -0.0026 | 10000 | reproduced | `" .. claims[3].command .. "` |"
  local updated = md:gsub("| `s2%-ln5%-scratch%-1e5` |[^\n]*", function() return row end, 1)
  T.eq(check(updated, measured, read), nil, "table, claims and record agree")
  measured[3].jetlab = 0.981
  T.ok(check(updated, measured, read) ~= nil, "a figure that is not its record's")
  local fewer = json.decode(json.encode(claims))
  table.remove(fewer, 1)
  T.ok(check(md, fewer, fs.read) ~= nil, "a claim missing from claims.json")
end)

T.run()
