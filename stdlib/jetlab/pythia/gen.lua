-- jetlab.pythia.gen — `jetlab gen --engine pythia`: Pythia 8 jets in the ATLAS
-- layout. Pythia runs in worker processes (jetlab.pythia.workers); jetlab
-- clusters their particles (jl.physics.cluster) and writes the jets.
--
--   jetlab gen --engine pythia --signal top --pt 500 -n 20000 --seed 1 -o top500.h5
--   jetlab gen --engine pythia --signal none --pt 2000 -n 5000 -o qcd2000.h5 --workers 8 --resume

local cli = require "jetlab.cli"
local events = require "jetlab.events"
local blocks = require "jetlab.pythia.blocks"
local literal = require "jetlab.literal"
local python = require "jetlab.pythia.python"
local select = require "jetlab.pythia.select"
local settings = require "jetlab.pythia.settings"
local workers = require "jetlab.pythia.workers"

local gen = {}

local CONSTITUENTS = 200
local FIELDS = {"pt", "eta", "phi", "E", "jet_pt", "jet_eta", "jet_phi", "jet_m", "labels", "weights"}

local spec = {
  name = "jetlab gen",
  usage = "jetlab gen --engine pythia --signal top|w|none --pt MIN[:MAX] -n N --seed S -o FILE.h5 [options]",
  about = "Generates N jets with Pythia 8 — half signal (label 1: jets of tt̄ → hadrons or WW → quarks\n" ..
          "events), half QCD dijets (label 0), shuffled; all QCD with --signal none — and writes them to\n" ..
          "FILE.h5 in the ATLAS Top Tagging layout (constituents: visible final-state particles, at most\n" ..
          "200, hardest first). Per event, the two hardest anti-kt jets of radius R with |y| < ETA are\n" ..
          "taken when their pT is in [MIN, MAX) GeV. Signal jets are not truth-matched, as in the\n" ..
          "anchors' runs, unless --match. Defaults are those runs' settings: tune 4C, pp at 14 TeV, π0 and B hadrons\n" ..
          "stable, MPI on. Pythia runs in --workers processes on blocks of --block events; block b is\n" ..
          "seeded from (S, b), so the same seed gives the same file whatever the worker count. Finished\n" ..
          "blocks are kept in FILE.h5.partial/ until the file is written; --resume continues from them.",
  options = {
    {"engine", "string", "pythia", help = "generator", choices = {"builtin", "pythia"}},
    {"signal", "string", "top", help = "signal process", choices = {"top", "w", "none"}},
    {"pt", "string", "500", help = "jet pT window MIN[:MAX] in GeV (no MAX: no upper bound)"},
    {"n", "integer", help = "number of jets (also -n)", required = true},
    {"seed", "integer", 1, help = "random seed"},
    {"output", "string", help = "output file (also -o)", required = true},
    {"r", "number", 1.0, help = "anti-kt radius R"},
    {"eta", "number", 2.5, help = "|y| of the jets below ETA"},
    {"pthatmin", "number", help = "PhaseSpace:pTHatMin in GeV [default: MIN - max(100, MIN/10): 400 for 500, 1800 for 2000]"},
    {"tune", "integer", 5, help = "Tune:pp (5: 4C, 14: Monash)"},
    {"ecm", "number", 14, help = "pp centre-of-mass energy in TeV"},
    {"pi0-decays", "boolean", false, help = "let π0 decay (default: stable)"},
    {"b-decays", "boolean", false, help = "let B hadrons decay (default: stable)"},
    {"match", "boolean", false, help = string.format("keep only signal jets that contain every decay quark of " ..
                                       "one top (b, q, q') or W (q, q') within ΔR < %g R of their axis (ATLAS labels)",
                                       jl.gen.containment)},
    {"workers", "integer", help = "Pythia worker processes [default: all cores or JETLAB_NUM_THREADS]"},
    {"block", "integer", 100, help = "events per block (part of the seeding: changes the sample)"},
    {"resume", "boolean", false, help = "continue an interrupted run from FILE.h5.partial/"},
  },
  notes = "Pythia 8 is PyPI's pythia8mc in .venv-pythia: " .. python.INSTALL .. " installs it.",
}

local function usage_error(msg)
  io.stderr:write("jetlab gen: " .. msg .. " (see --help)\n")
  os.exit(2)
end

local function fail(msg)
  io.stderr:write("jetlab gen: " .. msg .. "\n")
  os.exit(1)
end

-- The options, checked: o.lo, o.hi (GeV), o.pthatmin filled in; usage errors exit.
local function checked(args)
  local o = cli.parse_or_exit(args, spec)
  if #o > 0 then usage_error("unexpected argument '" .. o[1] .. "'") end
  local lo, hi = o.pt:match("^%s*([%d.eE+]+)%s*$"), nil
  if not lo then lo, hi = o.pt:match("^%s*([%d.eE+]+)%s*:%s*([%d.eE+]+)%s*$") end
  o.lo, o.hi = tonumber(lo), hi and tonumber(hi) or math.huge
  if not (o.lo and o.hi and o.lo > 0 and o.hi > o.lo) then
    usage_error("--pt must be MIN or MIN:MAX with 0 < MIN < MAX, got '" .. o.pt .. "'")
  end
  if o.n < 1 then usage_error("-n must be >= 1, got " .. o.n) end
  o.pthatmin = o.pthatmin or settings.pthatmin_for(o.lo)
  if not (o.pthatmin > 0) then usage_error("--pthatmin must be > 0") end
  if o.lo < o.pthatmin then
    usage_error(string.format("the pT window starts at %g GeV, below --pthatmin %g GeV: jets there are missing " ..
                              "their share from softer hard processes; raise MIN or lower --pthatmin", o.lo, o.pthatmin))
  end
  if not (o.r > 0) then usage_error("--r must be > 0") end
  if not (o.eta > 0) then usage_error("--eta must be > 0") end
  if not (o.ecm > 0) then usage_error("--ecm must be > 0 (TeV)") end
  o.workers = o.workers or jl.get_num_threads()
  if o.workers < 1 then usage_error("--workers must be >= 1") end
  if o.block < 1 then usage_error("--block must be >= 1") end
  return o
end

-- The classes to make, in order: {name, label, process, jets}.
local function classes(o)
  if o.signal == "none" then return {{name = "qcd", label = 0, process = "qcd", jets = o.n}} end
  local signal = o.n // 2
  return {{name = "signal", label = 1, process = o.signal, jets = signal},
          {name = "qcd", label = 0, process = "qcd", jets = o.n - signal}}
end

local function pythia_lines(o, process)
  return settings.lines(process, {tune = o.tune, ecm = o.ecm, pthatmin = o.pthatmin,
                                  pi0_decays = o["pi0-decays"], b_decays = o["b-decays"]})
end

-- What a block's jets depend on: a resumed run must match it.
local function settings_text(o)
  local t = {seed = o.seed, block = o.block, r = o.r, eta = o.eta, lo = o.lo, hi = o.hi, signal = o.signal,
             match = o.match or nil,
             constituents = CONSTITUENTS, pythia = {}}
  for _, c in ipairs(classes(o)) do t.pythia[c.name] = pythia_lines(o, c.process) end
  return literal.encode(t) .. "\n"
end

local function progress(o, done, made, seconds)
  if not jl.isatty(1) then return end
  local width, frac = 30, math.min(done / o.n, 1)
  local rate = made / math.max(seconds, 1e-9)
  local eta = made > 0 and string.format("ETA %.0f s", (o.n - done) / rate) or "ETA -"
  io.stdout:write(string.format("\r%d/%d jets [%s%s] %.0f jets/s  %s\27[K", done, o.n,
                                string.rep("=", math.floor(frac * width)),
                                string.rep(" ", width - math.floor(frac * width)), rate, eta))
  io.stdout:flush()
end

-- Makes the blocks of class c still missing; run = {done=, made=, t0=} counts jets for the progress line.
local function make_class(o, store, c, py, run)
  local b = store:done(c.name)
  local have = 0
  for i = 0, b - 1 do have = have + store:count(c.name, i) end
  run.done = run.done + math.min(have, c.jets)
  if have >= c.jets then return end
  local pool <close> = workers.start{python = py, seed = o.seed, first = b, count = o.workers, events = o.block,
                                     settings = pythia_lines(o, c.process), log = store.dir .. "/workers.log",
                                     truth = o.match and c.label == 1 and c.process or nil}
  while have < c.jets do
    local got, evs = pool:read()
    if jl.interrupted() then
      error(string.format("interrupted: the finished blocks are in %s; rerun the command with --resume to continue",
                          store.dir), 0)
    end
    if not got then error(evs, 0) end
    local rows = events.rows(CONSTITUENTS)
    for _, particles in ipairs(evs) do select.jets(rows, particles, o, c.label) end
    store:save(c.name, got, rows:batch())
    local n = math.min(rows:count(), c.jets - have)
    have, run.done, run.made = have + rows:count(), run.done + n, run.made + rows:count()
    progress(o, run.done, run.made, jl.clock() - run.t0)
  end
end

-- The first c.jets jets of class c's blocks, in block order, as one batch.
local function gather(store, c)
  local parts, have, b = {}, 0, 0
  while have < c.jets do
    if store:count(c.name, b) > 0 then
      parts[#parts + 1] = store:load(c.name, b)
      have = have + parts[#parts].labels.shape[1]
    end
    b = b + 1
  end
  parts.jets = c.jets
  return parts
end

-- All classes' jets shuffled with the seed (Lua's xoshiro256**: same seed, same order).
local function shuffled(o, store)
  local parts = {}
  for _, c in ipairs(classes(o)) do
    local g = gather(store, c)
    local batch = {}
    for _, k in ipairs(FIELDS) do
      local ts = {}
      for i, p in ipairs(g) do ts[i] = p[k] end
      batch[k] = jl.cat(ts, 1):narrow(1, 1, c.jets)
    end
    parts[#parts + 1] = batch
  end
  math.randomseed(o.seed)
  local perm = {}
  for i = 1, o.n do perm[i] = i end
  for i = o.n, 2, -1 do
    local j = math.random(i)
    perm[i], perm[j] = perm[j], perm[i]
  end
  local idx = jl.from(perm, {dtype = "i64"})
  local out = {}
  for _, k in ipairs(FIELDS) do
    local ts = {}
    for i, p in ipairs(parts) do ts[i] = p[k] end
    out[k] = jl.cat(ts, 1):index_select(1, idx)
  end
  return out
end

local function write(path, batch)
  local w <close> = assert(jl.io.jets_writer(path))
  assert(w:write(batch))
  assert(w:close())
end

--- gen.settings(args) → the text of every setting the jets of `jetlab gen --engine pythia args` depend
--- on (the seed included; -n, the output and the worker count not): what --resume compares, and a cache
--- key for samples made by the command (experiments/samples.lua). Bad args exit as the command does.
function gen.settings(args) return settings_text(checked(args)) end

--- gen.run(args): the command (args as in `arg`, -n and -o already long).
function gen.run(args)
  local o = checked(args)
  local py, perr = python.find()
  if not py then fail(perr) end
  local probe, werr = jl.io.jets_writer(o.output)
  if not probe then fail("cannot write the output: " .. werr) end
  probe:discard()

  local was = jl.defer_interrupts(true)
  local run = {done = 0, made = 0, t0 = jl.clock()}
  local ok, err = pcall(function()
    local store = blocks.open(o.output .. ".partial", settings_text(o), o.resume)
    for _, c in ipairs(classes(o)) do make_class(o, store, c, py, run) end
    write(o.output, shuffled(o, store))
    store:remove()
  end)
  jl.defer_interrupts(was)
  if jl.isatty(1) then io.stdout:write("\r\27[K") end
  if not ok then fail(tostring(err)) end
  local seconds = jl.clock() - run.t0
  print(string.format("jetlab gen: wrote %d jets to %s in %.1f s (%.1f jets/s made by Pythia on %d workers%s)",
                      o.n, o.output, seconds, run.made / seconds, o.workers,
                      run.made < o.n and ", the rest resumed" or ""))
end

return gen
