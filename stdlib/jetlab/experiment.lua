-- jetlab.experiment — the harness of experiments/*.lua: flags → config, a results run, scoring.
--
--   local E = require "jetlab.experiment"
--   local cfg = E.config{
--     about = "Transfer learning between taggers (seed 2).",
--     epochs = 30, batch = 256, lr = 1e-3, n_train = 100000, channels = {32, 64},
--     quick = {epochs = 2, n_train = 2000},      -- the default preset
--     full = {n_train = 1200000},                -- --full
--     quick_pythia = {n_train = 1000},           -- --quick --generator pythia, over quick
--   }
--   local run = E.run("transfer", cfg)           -- results/transfer/<run-id>/ with config.lua
--   local m, roc = E.evaluate(model, test)       -- {auc=, accuracy=, rej30=, rej50=, n=}, the ROC
--   run:record("ParticleNet", "scratch", m)
--   run:write_roc("pnet_scratch", roc)
--   run:finish()
--
-- E.config(spec[, args = arg]) → cfg. Every key of spec except about and the
-- presets (quick, full, paper, and each with _pythia) is a default, overridable by `--key value` with the default's type
-- (integer, number, string, boolean as --key / --no-key; a table default
-- takes a Lua literal: --channels '{16, 32}'). Always there: --quick (the
-- default) and --full pick a preset, --device cpu|cuda, --data FILE.h5 (a
-- user's ATLAS-format file instead of generated jets), --generator builtin|pythia
-- (what makes the generated jets: jetlab's built-in generator, the default, or
-- Pythia 8, an error naming the install command when it is not installed),
-- --seed (1), --matmul_precision f32|bf16 (the CPU GEMMs: jl.set_matmul_precision),
-- --out (results), --profile (each model's first training epoch op by op, printed and in its folder's profile.txt; not part of cfg), --cache-mb
-- (the budget of jetlab.data_cache, which E.run turns on for every data view:
-- jets prepared once per run, spilled under the run folder beyond it; 0: off;
-- default a quarter of MemAvailable; not part of cfg, as training is the same). A flag
-- beats the preset, the preset beats the default; <preset>_<generator>
-- (quick_pythia: smaller samples, as Pythia makes 30-60 jets/s on 2 cores) beats its preset
-- under that generator; a preset key that is no default is an error.
-- --paper picks the paper preset (an error where the experiment has none): sized to about an hour
-- on this 2-core machine with --generator pythia (paper_pythia), its sizes and wall times in
-- REPRODUCTION.md. --seeds N (default 1): see SEEDS below.
-- cfg holds every resolved value plus cfg.preset ("quick", "full" or "paper"). --help prints the options with their
-- defaults and presets; a bad flag prints a usage error and exits 2.
-- spec.flags: more flags (jetlab.cli options, e.g. jetlab.sweep's FLAGS) that say how to run, not what: their
-- values are in E.flags(cfg) (given ones only), not in cfg.
--
-- E.run(name, cfg) → results.run(name, cfg, {root = cfg.out, tags = {generator =
-- cfg.generator}}) with config.lua written and jl.manual_seed(cfg.seed) done.
--
-- RESUME. Every experiment also takes --resume [RUN_DIR] (default RUN_DIR:
-- <out>/<experiment>/latest): E.run reopens that run folder instead of making
-- a new one (its config.lua must equal this command's resolved config, out
-- aside: the same command with --resume added), and E.fit then reuses what is
-- there, so that re-running the script from the top skips the work done:
--
--   local history, state = E.fit(run, "fcnn_teacher", {model =, optimizer =, ...})   -- train.fit options
--
-- trains in run:path(key) (checkpoint_dir) and, in a resumed run, goes on
-- from that folder's interrupted.h5 or last.h5 (the later position): a model
-- finished before is not retrained (state.finished = true; train.fit returns
-- its saved history and leaves the last epoch's weights and jl's generator as
-- the uninterrupted run had them), an interrupted one continues from its
-- checkpoint (state.resumed = the path), bit-identical on the CPU. When a
-- signal stops training, the message names the command that resumes the
-- whole experiment. run.previous holds the records of the reopened run's
-- metrics.json ([model][variant] = metrics), for scripts to reuse what they
-- measured before (E.previous(run, model, variant)); run.resuming is true.
--
-- E.evaluate(model, data) → metrics, roc: train.predict on data, then
-- metrics.roc (with the data's weights), AUC, accuracy, 1/ε_B at ε_S = 0.3
-- and 0.5 — the fields run:record expects — with their bootstrap errors over
-- the test jets (<k>_err, metrics.bootstrap) and roc.band for plot.roc.
--
-- SEEDS. --seeds N (default 1) makes X.fit (experiments/common.lua) train each model N times,
-- with seeds cfg.seed .. cfg.seed + N - 1 for the initialisation and the shuffling (the data and
-- its splits fixed by cfg.seed), each in its own folder <key>_seed<i> (so --resume goes on at the
-- seed and epoch where it stopped), and record the mean, <k>_std, <k>_per_seed and n_seeds
-- (jetlab.uncertainty.aggregate).

local cli = require "jetlab.cli"
local ckpt = require "jetlab.ckpt"
local data_cache = require "jetlab.data_cache"
local dist = require "jetlab.dist"
local fs = require "jetlab.fs"
local json = require "jetlab.json"
local literal = require "jetlab.literal"
local results = require "jetlab.results"
local train = require "jetlab.train"

local E = {}

local COMMON = {
  {"quick", "boolean", help = "the quick preset (the default)"},
  {"full", "boolean", help = "the full preset: the papers' sizes"},
  {"paper", "boolean", help = "the paper preset: sized to about an hour per experiment on a 2-core machine " ..
    "on --generator pythia jets (REPRODUCTION.md)"},
  {"seeds", "integer", help = "train every model with this many seeds (initialisation and shuffling; the data " ..
    "fixed) and report mean ± standard deviation"},
  {"device", "string", choices = {"cpu", "cuda"}, help = "where tensors live"},
  {"data", "string", help = "an ATLAS-format HDF5 file instead of generated jets"},
  {"generator", "string", choices = {"builtin", "pythia"}, help = "what makes the generated jets: jetlab's " ..
    "built-in generator or Pythia 8 (jetlab gen --engine pythia; its samples are cached apart)"},
  {"seed", "integer", help = "random seed"},
  {"matmul_precision", "string", choices = {"f32", "bf16"}, help = "the CPU matrix products: f32, or bf16 " ..
    "operands with f32 sums (AVX512-BF16; weights, activations and every other op stay f32)"},
  {"out", "string", help = "results root folder"},
  {"resume", "string", help = "go on with an interrupted run (the value is optional: default " ..
    "<out>/<experiment>/latest): finished models are reused, the interrupted one continues from its checkpoint"},
  {"profile", "boolean", help = "where each model's first training epoch spends its time, op by op (jl.profile): " ..
    "printed and written to the model's folder as profile.txt"},
  {"cache-mb", "number", help = "memory for the jets prepared on the first pass and reused in every later one " ..
    "(jetlab.data_cache; beyond it they spill to a file in the run folder; 0: prepared every epoch) " ..
    "[default: a quarter of MemAvailable]"},
}
local COMMON_DEFAULTS = {device = "cpu", seed = 1, seeds = 1, out = "results", generator = "builtin",
                         matmul_precision = "f32"}
local PRESETS = {"quick", "full", "paper", "quick_pythia", "full_pythia", "paper_pythia"}
local RESERVED = {about = true, resume = true, profile = true, ["cache-mb"] = true, flags = true}
for _, p in ipairs(PRESETS) do RESERVED[p] = true end

-- What E.config learnt that is no parameter (so not in cfg nor config.lua):
-- cfg → {resume = true | RUN_DIR | nil, profile = true | nil, words = the command line
-- without --resume}.
local invocation = setmetatable({}, {__mode = "k"})

-- Takes --resume [RUN_DIR] / --resume=RUN_DIR out of args (its value is
-- optional, which jetlab.cli does not do); returns the other args and the value.
local function take_resume(args)
  local rest, resume, i = {}, nil, 1
  while i <= #args do
    local a = args[i]
    local value = a:match("^%-%-resume=(.*)$")
    if a == "--resume" then
      local nxt = args[i + 1]
      if nxt ~= nil and nxt:sub(1, 1) ~= "-" then
        resume, i = nxt, i + 1
      else
        resume = true
      end
    elseif value then
      resume = value ~= "" and value or true
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return rest, resume
end

-- A word for the shell: as it is when it is plain, else quoted.
local function shell_word(w)
  if w:match("^[%w%-_./=,:+@%%]+$") then return w end
  return fs.quote(w)
end

local function kind(v)
  local t = type(v)
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  if t == "table" then return "string" end -- a literal, decoded below
  assert(t == "string" or t == "boolean", "E.config: a default must be a number, string, boolean or table")
  return t
end

local function show(v)
  return type(v) == "table" and literal.encode(v) or tostring(v)
end

--- E.config(spec[, args]) → cfg (see the header).
function E.config(spec, args)
  args = args or arg or {}
  local defaults, names = {}, {}
  for k, v in pairs(COMMON_DEFAULTS) do defaults[k] = v end
  for k, v in pairs(spec) do
    if not RESERVED[k] then
      assert(type(k) == "string" and k:match("^[%a_][%w_]*$"), "E.config: option names must be identifiers")
      defaults[k] = v
      if COMMON_DEFAULTS[k] == nil then names[#names + 1] = k end
    end
  end
  table.sort(names)
  local presets = {}
  for _, pname in ipairs(PRESETS) do presets[pname] = spec[pname] or {} end
  for pname, preset in pairs(presets) do
    for k in pairs(preset) do
      if defaults[k] == nil then error(string.format("E.config: %s preset sets '%s', which has no default", pname, k), 2) end
    end
  end
  local function help(k, text)
    if defaults[k] == nil then return text end
    local h = "[default: " .. show(defaults[k])
    for _, pname in ipairs(PRESETS) do
      if presets[pname][k] ~= nil then h = h .. "; " .. pname:gsub("_", " + ") .. ": " .. show(presets[pname][k]) end
    end
    return (text and text .. " " or "") .. h .. "]"
  end
  local options = {}
  for _, k in ipairs(names) do options[#options + 1] = {k, kind(defaults[k]), help = help(k)} end
  for _, o in ipairs(COMMON) do
    options[#options + 1] = {o[1], o[2], choices = o.choices, help = help(o[1], o.help)}
  end
  for _, o in ipairs(spec.flags or {}) do options[#options + 1] = o end
  local script = arg and arg[0] or "experiment.lua"
  local cli_spec = {name = script, usage = "jetlab " .. script .. " [--quick | --full | --paper] [options]",
                    about = spec.about, options = options}
  local function usage_error(msg)
    io.stderr:write(string.format("%s: %s (see --help)\n", script, msg))
    os.exit(2)
  end
  local resume
  args, resume = take_resume(args)
  local opts = cli.parse_or_exit(args, cli_spec)
  if opts[1] then usage_error("unexpected argument '" .. opts[1] .. "'") end
  if (opts.quick and 1 or 0) + (opts.full and 1 or 0) + (opts.paper and 1 or 0) > 1 then
    usage_error("--quick, --full and --paper exclude each other")
  end
  if opts.seeds and opts.seeds < 1 then usage_error("--seeds must be >= 1") end
  if opts.paper and not spec.paper then usage_error("this experiment has no --paper preset") end
  local cfg = {preset = opts.full and "full" or opts.paper and "paper" or "quick"}
  local overlay = presets[cfg.preset .. "_" .. (opts.generator or defaults.generator)] or {}
  for _, o in ipairs(options) do
    local k, v = o[1], defaults[o[1]]
    local given = opts[k]
    if given ~= nil and type(v) == "table" then
      local t = literal.decode(given)
      if type(t) ~= "table" then usage_error(string.format("--%s expects a Lua table like %s, got '%s'", k, show(v), given)) end
      given = t
    end
    if given == nil then given = overlay[k] end
    if given == nil then given = presets[cfg.preset][k] end
    if given == nil then given = v end
    if not RESERVED[k] then cfg[k] = given end
  end
  if cfg.device == "cuda" and not require("jetlab").cuda_available() then
    usage_error("--device cuda: no CUDA device in this jetlab")
  end
  if cfg.generator == "pythia" then
    local found, err = require("jetlab.pythia.python").find()
    if not found then
      io.stderr:write(string.format("%s: --generator pythia: %s\n", script, err))
      os.exit(2)
    end
  end
  local words = {arg and arg[-1] or "jetlab", script}
  for _, a in ipairs(args) do words[#words + 1] = a end
  if opts["cache-mb"] and opts["cache-mb"] < 0 then usage_error("--cache-mb must be >= 0") end
  local flags = {}
  for _, o in ipairs(spec.flags or {}) do flags[o[1]] = opts[o[1]] end
  invocation[cfg] = {resume = resume, profile = opts.profile, cache_mb = opts["cache-mb"], words = words, flags = flags}
  return cfg
end

--- E.flags(cfg) → {name = value} of the spec.flags given on the command line (see E.config).
function E.flags(cfg)
  return (invocation[cfg] or {}).flags or {}
end

-- The folder a --resume names: RUN_DIR (symbolic links resolved) or
-- <out>/<name>/latest; raises a usage error when it is no run of name.
local function resume_dir(name, cfg, resume)
  local given = resume == true and (cfg.out .. "/" .. name .. "/latest") or resume
  local p = io.popen("readlink -f " .. fs.quote(given) .. " 2>/dev/null")
  local dir = p and p:read("l")
  if p then p:close() end
  local function bad(msg)
    io.stderr:write(string.format("%s: --resume %s: %s\n", arg and arg[0] or name, given, msg))
    os.exit(2)
  end
  local text = dir and fs.read(dir .. "/metrics.json")
  if not text then
    bad(resume == true and "no run of " .. name .. " to resume (run it once without --resume)"
      or "not a run folder (no metrics.json there)")
  end
  local m = json.decode(text)
  if type(m) ~= "table" or m.experiment ~= name then
    bad(string.format("a run of %s, not of %s", type(m) == "table" and tostring(m.experiment) or "nothing", name))
  end
  local ok, saved = pcall(dofile, dir .. "/config.lua")
  if not ok or type(saved) ~= "table" then bad("no readable config.lua there") end
  local keys, diff = {}, {}
  for k in pairs(cfg) do keys[#keys + 1] = k end
  for k in pairs(saved) do if cfg[k] == nil then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    -- a common flag newer than the run reads as its default there
    local was = saved[k] == nil and COMMON_DEFAULTS[k] or saved[k]
    if k ~= "out" and literal.encode(cfg[k]) ~= literal.encode(was) then
      diff[#diff + 1] = string.format("%s = %s there, %s here", k, show(was), show(cfg[k]))
    end
  end
  if #diff > 0 then
    bad("that run was made with other settings (" .. table.concat(diff, "; ") ..
      "); resume with the command that started it, --resume added")
  end
  return dir, m
end

--- E.run(name, cfg) → a results run (config.lua written, jl seeded; metrics.json and summary.md name
--- cfg.generator); with --resume, the reopened run (see RESUME in the header).
function E.run(name, cfg)
  dist.quiet_others() -- under MPI rank 0 prints and writes the run (jetlab.dist)
  local inv = invocation[cfg] or {}
  local tags = {generator = cfg.generator}
  local run
  if inv.resume then
    local dir, m = resume_dir(name, cfg, inv.resume)
    local parent, id = dir:match("^(.*)/([^/]+)$")
    local root = parent:match("^(.*)/[^/]+$")
    run = results.run(name, cfg, {root = root, run_id = id, tags = tags})
    run.resuming, run.previous = true, type(m.results) == "table" and m.results or {}
    local y, mo, d, h, mi, sec = tostring(m.started):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)$")
    if y then run.started = os.time{year = y, month = mo, day = d, hour = h, min = mi, sec = sec} end
    run.resumed = os.time()
    print(string.format("resuming %s: finished models are reused, an interrupted one goes on from its checkpoint",
      run.dir))
  else
    run = results.run(name, cfg, {root = cfg.out, tags = tags})
  end
  run.resume_command = E.command(cfg) .. " --resume " .. shell_word(run.dir)
  data_cache.configure{mb = inv.cache_mb or data_cache.default_mb(), dir = run.dir}
  run:write_config()
  local jl = require("jetlab")
  jl.manual_seed(cfg.seed)
  jl.set_matmul_precision(cfg.matmul_precision or "f32")
  return run
end

-- The train_state position {epoch, batch} of a checkpoint, finished or not; nil when it has none.
local function position(path, epochs)
  local f = io.open(path, "rb")
  if not f then return nil end
  f:close()
  local c = ckpt.load(path)
  local ts = c and c.train_state
  if type(ts) ~= "table" or type(ts.epoch) ~= "number" then return nil end
  return {path = path, epoch = ts.epoch, batch = ts.batch or 0,
          finished = ts.stopped_early == true or (ts.epoch > epochs and (ts.batch or 0) == 0)}
end

--- E.resume_point(dir, epochs) → {path =, epoch =, batch =, finished =} for the
--- later of dir/interrupted.h5 and dir/last.h5 (train.fit's resumable
--- checkpoints), or nil when neither is there; finished: all `epochs` done.
function E.resume_point(dir, epochs)
  local a, b = position(dir .. "/interrupted.h5", epochs), position(dir .. "/last.h5", epochs)
  if a and b then
    if b.epoch > a.epoch or (b.epoch == a.epoch and b.batch > a.batch) then return b end
    return a
  end
  return a or b
end

--- E.fit(run, key, fit_opts) → history, state: train.fit(fit_opts) with
--- checkpoint_dir = run:path(key); in a resumed run from the key's
--- checkpoint (state.resumed = its path, state.finished = nothing was left to
--- train). A signal's message names run.resume_command.
function E.fit(run, key, o)
  o.checkpoint_dir = run:path(key)
  o.resume_command = o.resume_command or run.resume_command
  if o.profile == nil then o.profile = (invocation[run.config] or {}).profile end
  local state = {}
  if run.resuming and o.resume == nil then
    local point = E.resume_point(o.checkpoint_dir, o.epochs)
    if point then
      o.resume, state.resumed, state.finished = point.path, point.path, point.finished
    end
  end
  local history = train.fit(o)
  if history.profile then fs.write(o.checkpoint_dir .. "/profile.txt", tostring(history.profile) .. "\n") end
  return history, state
end

--- E.command(cfg) → the command line that made cfg (shell-quoted, --resume left out).
function E.command(cfg)
  local words = {}
  for i, w in ipairs(invocation[cfg] and invocation[cfg].words or {"jetlab", arg and arg[0] or "?"}) do
    words[i] = shell_word(w)
  end
  return table.concat(words, " ")
end

--- E.resume_requested(cfg) → what --resume asked for (true: the latest run;
--- or a RUN_DIR), nil without --resume (for scripts that run others: all.lua).
function E.resume_requested(cfg)
  local inv = invocation[cfg]
  return inv and inv.resume or nil
end

--- E.previous(run, model, variant) → the metrics recorded for (model, variant)
--- in the run that --resume reopened, or nil.
function E.previous(run, model, variant)
  local p = run.previous and run.previous[model]
  return p and p[variant] or nil
end

--- E.evaluate(model, data) → {auc=, accuracy=, rej30=, rej50=, n=, auc_err=, rej30_err=, rej50_err=}, roc:
--- the errors are metrics.bootstrap's over the test jets (fixed seed, 200 resamples), and
--- roc.band its 1/ε_B error band for plot.roc.
function E.evaluate(model, data)
  local metrics = require "jetlab.metrics"
  local scores, labels, weights = require("jetlab.train").predict(model, data)
  local roc = metrics.roc(scores, labels, {weights = weights})
  local b = metrics.bootstrap(scores, labels, {weights = weights})
  roc.band = b.band
  return {
    auc = roc.auc,
    accuracy = metrics.accuracy(scores, labels, {weights = weights}),
    rej30 = (metrics.rejection(roc, 0.3)),
    rej50 = (metrics.rejection(roc, 0.5)),
    n = scores.shape[1],
    auc_err = b.auc_err, rej30_err = b.rej30_err, rej50_err = b.rej50_err,
  }, roc
end

return E
