-- experiments/samples.lua — the jet samples of the experiments, made once and
-- cached in <out>/data/ (a helper of experiments/common.lua, which exports
-- S.DATASETS and S.dataset as X.DATASETS and X.dataset).
--
--   local S = require "samples"
--   local path = S.dataset(cfg, "top500")          -- cfg.generator: "builtin" or "pythia"
--
-- Every sample is half signal (label 1), half QCD (label 0), shuffled, in the
-- ATLAS layout. cfg.generator picks what makes it:
--   builtin  jetlab's built-in generator (jl.gen.write), in seconds:
--            <out>/data/<name>-builtin-<seed>-<n>.h5
--   pythia   Pythia 8 through `jetlab gen --engine pythia` (its defaults: the
--            LundNet papers' settings, hadron level), 30-60 jets/s on 2 cores:
--            <out>/data/<name>-pythia-<settings>-<seed>-<n>.h5, where
--            <settings> names the text of every Pythia setting the jets depend
--            on (jetlab.pythia.gen.settings), so a sample made with other
--            settings is never reused. An interrupted sample goes on from
--            <file>.partial/ the next time it is asked for.

local jl = require "jetlab"
local dist = require "jetlab.dist"
local fs = require "jetlab.fs"

local S = {}

-- match: signal jets truth-contained (`jetlab gen --match`; the built-in
-- generator's top and W jets always are, so its sample of such a dataset is
-- that of `builtin`); target: what `--data FILE.h5` replaces.
S.DATASETS = {
  top500 = {signal = "top", pt = {500, 600}, target = true, about = "top vs QCD, jet pT 500-600 GeV"},
  top500_matched = {signal = "top", pt = {500, 600}, match = true, target = true, builtin = "top500",
                    about = "top vs QCD, jet pT 500-600 GeV, tops truth-contained (the ATLAS Top Tagging labels)"},
  top2000 = {signal = "top", pt = {2000, 2400}, about = "top vs QCD, jet pT 2000-2400 GeV"},
  w500 = {signal = "w", pt = {500, 600}, about = "W vs QCD, jet pT 500-600 GeV"},
  top1000p = {signal = "top", pt = {800, 1500}, detector = false,
              about = "top vs QCD, jet pT 800-1500 GeV, particle level (the Pythia events' window)"},
}

--- S.GENERATORS[name] → what the generator is, in words (for summaries).
S.GENERATORS = {
  builtin = "jetlab's built-in generator",
  pythia = "Pythia 8 (jetlab gen --engine pythia, hadron level)",
}

-- FNV-1a (32 bits) of text, in hex: a short name for a settings text.
local function fnv1a(text)
  local h = 0x811c9dc5
  for i = 1, #text do h = ((h ~ text:byte(i)) * 0x01000193) & 0xffffffff end
  return string.format("%08x", h)
end

-- Each generator: (d, name, n, seed, dir) → the sample's path, and make(path) that writes it.
local MAKERS = {}

function MAKERS.builtin(d, name, n, seed, dir)
  local path = string.format("%s/%s-builtin-%d-%d.h5", dir, d.builtin or name, seed, n)
  return path, function()
    local s
    fs.atomic_write(path, function(tmp)
      local err
      s, err = jl.gen.write{signal = d.signal, pt = d.pt, n = n, seed = seed, path = tmp,
        detector = d.detector ~= false}
      if not s then error("generator: " .. tostring(err), 0) end
    end, string.format("%s.%d.tmp", path, math.random(1, 1 << 30)))
    print(string.format("%.1f s", s.seconds + s.write_seconds))
  end
end

function MAKERS.pythia(d, name, n, seed, dir)
  local args = {"--signal", d.signal, "--pt", string.format("%g:%g", d.pt[1], d.pt[2]), "--n", tostring(n),
                "--seed", tostring(seed)}
  if d.match then args[#args + 1] = "--match" end
  local keyed = table.move(args, 1, #args, 1, {})
  keyed[#keyed + 1], keyed[#keyed + 2] = "--output", "sample.h5"
  local settings = fnv1a(require("jetlab.pythia.gen").settings(keyed))
  local path = string.format("%s/%s-pythia-%s-%d-%d.h5", dir, name, settings, seed, n)
  return path, function()
    io.write("\n")
    io.flush()
    local exe = require("jetlab.paths").exe
    local words = {exe ~= "" and exe or arg[-1], "gen", "--engine", "pythia"}
    table.move(args, 1, #args, #words + 1, words)
    for _, w in ipairs({"--output", path, "--resume"}) do words[#words + 1] = w end
    local command = fs.command(words)
    if not os.execute(command) then
      error(string.format("generator: `%s` failed (finished blocks are kept in %s.partial/ and reused next time)",
        command, path), 0)
    end
  end
end

--- S.dataset(cfg, name[, n]) → path of an ATLAS-layout file: cfg.data for
--- a target dataset (top500, top500_matched) when given, else the sample of
--- cfg.generator (default builtin) with n (default cfg.n_jets) jets and
--- cfg.seed, made now when it is not cached.
function S.dataset(cfg, name, n)
  local d = assert(S.DATASETS[name], "unknown dataset " .. tostring(name))
  if d.target and cfg.data and cfg.data ~= "" then
    if not fs.exists(cfg.data) then error("--data: no such file: " .. cfg.data, 0) end
    return cfg.data
  end
  local generator = cfg.generator or "builtin"
  local maker = MAKERS[generator]
  if not maker then error("unknown generator '" .. tostring(generator) .. "' (builtin, pythia)", 0) end
  n = n or cfg.n_jets
  local dir = cfg.out .. "/data"
  local path, make = maker(d, name, n, cfg.seed, dir)
  -- under MPI rank 0 makes the sample and the other ranks read it (jetlab.dist)
  dist.after_rank0(function()
    if fs.exists(path) then return end
    fs.mkdir(dir)
    io.write(string.format("generating %d jets (%s) with %s into %s ... ", n, d.about, S.GENERATORS[generator], path))
    io.flush()
    make(path)
  end)
  return path
end

return S
