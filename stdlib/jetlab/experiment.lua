-- jetlab.experiment — the harness of experiments/*.lua: flags → config, a results run, scoring.
--
--   local E = require "jetlab.experiment"
--   local cfg = E.config{
--     about = "Transfer learning between taggers (seed 2).",
--     epochs = 30, batch = 256, lr = 1e-3, n_train = 100000, channels = {32, 64},
--     quick = {epochs = 2, n_train = 2000},      -- the default preset
--     full = {n_train = 1200000},                -- --full
--   }
--   local run = E.run("transfer", cfg)           -- results/transfer/<run-id>/ with config.lua
--   local m, roc = E.evaluate(model, test)       -- {auc=, accuracy=, rej30=, rej50=, n=}, the ROC
--   run:record("ParticleNet", "scratch", m)
--   run:write_roc("pnet_scratch", roc)
--   run:finish()
--
-- E.config(spec[, args = arg]) → cfg. Every key of spec except about, quick
-- and full is a default, overridable by `--key value` with the default's type
-- (integer, number, string, boolean as --key / --no-key; a table default
-- takes a Lua literal: --channels '{16, 32}'). Always there: --quick (the
-- default) and --full pick a preset, --device cpu|cuda, --data FILE.h5 (a
-- user's ATLAS-format file instead of generated jets), --seed (1), --out
-- (results). A flag beats the preset, the preset beats the default; a preset
-- key that is no default is an error. cfg holds every resolved value plus
-- cfg.preset ("quick" or "full"). --help prints the options with their
-- defaults and presets; a bad flag prints a usage error and exits 2.
--
-- E.run(name, cfg) → results.run(name, cfg, {root = cfg.out}) with config.lua
-- written and jl.manual_seed(cfg.seed) done.
--
-- E.evaluate(model, data) → metrics, roc: train.predict on data, then
-- metrics.roc (with the data's weights), AUC, accuracy, 1/ε_B at ε_S = 0.3
-- and 0.5 — the fields run:record expects.

local cli = require "jetlab.cli"
local literal = require "jetlab.literal"
local results = require "jetlab.results"

local E = {}

local COMMON = {
  {"quick", "boolean", help = "the quick preset (the default)"},
  {"full", "boolean", help = "the full preset: the papers' sizes"},
  {"device", "string", choices = {"cpu", "cuda"}, help = "where tensors live"},
  {"data", "string", help = "an ATLAS-format HDF5 file instead of generated jets"},
  {"seed", "integer", help = "random seed"},
  {"out", "string", help = "results root folder"},
}
local COMMON_DEFAULTS = {device = "cpu", seed = 1, out = "results"}
local RESERVED = {about = true, quick = true, full = true}

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
  local presets = {quick = spec.quick or {}, full = spec.full or {}}
  for pname, preset in pairs(presets) do
    for k in pairs(preset) do
      if defaults[k] == nil then error(string.format("E.config: %s preset sets '%s', which has no default", pname, k), 2) end
    end
  end
  local function help(k, text)
    if defaults[k] == nil then return text end
    local h = "[default: " .. show(defaults[k])
    for _, pname in ipairs({"quick", "full"}) do
      if presets[pname][k] ~= nil then h = h .. "; " .. pname .. ": " .. show(presets[pname][k]) end
    end
    return (text and text .. " " or "") .. h .. "]"
  end
  local options = {}
  for _, k in ipairs(names) do options[#options + 1] = {k, kind(defaults[k]), help = help(k)} end
  for _, o in ipairs(COMMON) do
    options[#options + 1] = {o[1], o[2], choices = o.choices, help = help(o[1], o.help)}
  end
  local script = arg and arg[0] or "experiment.lua"
  local cli_spec = {name = script, usage = "jetlab " .. script .. " [--quick | --full] [options]",
                    about = spec.about, options = options}
  local function usage_error(msg)
    io.stderr:write(string.format("%s: %s (see --help)\n", script, msg))
    os.exit(2)
  end
  local opts = cli.parse_or_exit(args, cli_spec)
  if opts[1] then usage_error("unexpected argument '" .. opts[1] .. "'") end
  if opts.quick and opts.full then usage_error("--quick and --full exclude each other") end
  local cfg = {preset = opts.full and "full" or "quick"}
  for _, o in ipairs(options) do
    local k, v = o[1], defaults[o[1]]
    local given = opts[k]
    if given ~= nil and type(v) == "table" then
      local t = literal.decode(given)
      if type(t) ~= "table" then usage_error(string.format("--%s expects a Lua table like %s, got '%s'", k, show(v), given)) end
      given = t
    end
    if given == nil then given = presets[cfg.preset][k] end
    if given == nil then given = v end
    if not RESERVED[k] then cfg[k] = given end
  end
  if cfg.device == "cuda" and not require("jetlab").cuda_available() then
    usage_error("--device cuda: no CUDA device in this jetlab")
  end
  return cfg
end

--- E.run(name, cfg) → a results run (config.lua written, jl seeded).
function E.run(name, cfg)
  local run = results.run(name, cfg, {root = cfg.out})
  run:write_config()
  require("jetlab").manual_seed(cfg.seed)
  return run
end

--- E.evaluate(model, data) → {auc=, accuracy=, rej30=, rej50=, n=}, roc.
function E.evaluate(model, data)
  local metrics = require "jetlab.metrics"
  local scores, labels, weights = require("jetlab.train").predict(model, data)
  local roc = metrics.roc(scores, labels, {weights = weights})
  return {
    auc = roc.auc,
    accuracy = metrics.accuracy(scores, labels, {weights = weights}),
    rej30 = (metrics.rejection(roc, 0.3)),
    rej50 = (metrics.rejection(roc, 0.5)),
    n = scores.shape[1],
  }, roc
end

return E
