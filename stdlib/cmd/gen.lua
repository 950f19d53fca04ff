-- jetlab gen — the built-in jet generator: boosted top / W / QCD jets written
-- in the ATLAS Top Tagging layout (core/jl_gen.h has the physics).
--
--   jetlab gen --signal top --pt 500:600 -n 100000 --seed 1 -o top500.h5 --report
--   jetlab gen --signal w --pt 500:600 -n 20000 -o w500.h5 --threads 4
--   jetlab gen --signal none --pt 900:1500 -n 2000 -o qcd.h5 --no-detector

local cli = require "jetlab.cli"

local spec = {
  name = "jetlab gen",
  usage = "jetlab gen --signal top|w|none --pt MIN:MAX -n N --seed S -o FILE.h5 [--r R] [--threads N] [--report]",
  about = "Generates N jets — half signal (label 1: boosted top or W), half QCD (label 0), shuffled;\n" ..
          "all QCD with --signal none — and writes them to FILE.h5 in the ATLAS Top Tagging layout\n" ..
          "(fjet_clus_pt/eta/phi/E (N, 200) in MeV sorted by decreasing pT, fjet_pt/eta/phi/m, labels,\n" ..
          "training_weights = 1). A jet is the leading anti-kt jet of radius R with pT in [MIN, MAX) GeV\n" ..
          "and |eta| < ETA, its constituents calorimeter clusters (or particles with --no-detector);\n" ..
          "signal jets contain their decay products within 0.75 R. Same seed, same file, whatever\n" ..
          "the thread count.",
  options = {
    {"engine", "string", "builtin", help = "generator (pythia: Pythia 8, see --engine pythia --help)",
     choices = {"builtin", "pythia"}},
    {"signal", "string", "top", help = "signal process", choices = {"top", "w", "none"}},
    {"pt", "string", "500:600", help = "jet pT window MIN:MAX in GeV"},
    {"n", "integer", help = "number of jets (also -n)", required = true},
    {"seed", "integer", 1, help = "random seed"},
    {"output", "string", help = "output file (also -o)", required = true},
    {"r", "number", 1.0, help = "anti-kt radius R"},
    {"eta", "number", 2.0, help = "|eta| of the jets below ETA"},
    {"threads", "integer", help = "worker threads [default: all cores or JETLAB_NUM_THREADS]"},
    {"batch", "integer", 4096, help = "jets generated and written per batch"},
    {"detector", "boolean", true, help = "calorimeter clusters as constituents (--no-detector: particles)"},
    {"report", "boolean", false, help = "print a summary: masses, multiplicities, speed, realism checks"},
    {"reference", "string",
     help = "with --report: FILE.h5 to compare with (see below), or events for the QCD check [fastjet-examples']"},
  },
  notes = "The report's checks: the signal's mass peak (top 160-190 GeV, W 70-90 GeV); for top\n" ..
          "within 450-700 GeV, the best mass-window AUC in 0.75-0.92; for windows inside 800-1600\n" ..
          "GeV, the QCD median multiplicity and mass within 25% of the reference jets' (clustered\n" ..
          "the same way; compared at particle level on 2000 extra QCD jets, since the reference\n" ..
          "holds particles, not calorimeter clusters).\n" ..
          "With --reference FILE.h5 (e.g. jetlab gen --engine pythia ... -o FILE.h5 in the same settings)\n" ..
          "the report compares the written jets with the reference's, signal and background apart: jet\n" ..
          "mass, constituents, ln z, ln Δ, ψ, ln m, ln kt of all Lund declusterings (mean, std, 10/50/90%\n" ..
          "quantiles) and the primary Lund-plane density (jetlab.realism); up to 20,000 jets of each.",
}

-- Jets of each file compared by the --reference FILE.h5 report.
local REALISM_JETS = 20000

-- -n and -o are the short forms of --n and --output.
local args = {}
for i = 1, #arg do
  local a = arg[i]
  args[i] = a == "-n" and "--n" or a == "-o" and "--output" or a
end

-- --engine pythia: Pythia 8 samples, with options of their own (jetlab gen --engine pythia --help).
for i, a in ipairs(args) do
  if a == "--engine=pythia" or a == "--engine" and args[i + 1] == "pythia" then
    return require("jetlab.pythia.gen").run(args)
  end
end

local function usage_error(msg)
  io.stderr:write("jetlab gen: " .. msg .. " (see --help)\n")
  os.exit(2)
end

local opts = cli.parse_or_exit(args, spec)
if #opts > 0 then usage_error("unexpected argument '" .. opts[1] .. "'") end
local lo, hi = opts.pt:match("^%s*([%d.eE+]+)%s*:%s*([%d.eE+]+)%s*$")
lo, hi = tonumber(lo), tonumber(hi)
if not (lo and hi and lo > 0 and hi > lo) then usage_error("--pt must be MIN:MAX with 0 < MIN < MAX, got '" .. opts.pt .. "'") end
if opts.n < 1 then usage_error("-n must be >= 1") end
if opts.threads then
  if opts.threads < 1 then usage_error("--threads must be >= 1") end
  jl.set_num_threads(opts.threads)
end

local gen = {signal = opts.signal, pt = {lo, hi}, n = opts.n, seed = opts.seed, r = opts.r,
             eta = opts.eta, detector = opts.detector, batch = opts.batch, path = opts.output}
local ok, summary, err = pcall(jl.gen.write, gen)
if not (ok and summary) then
  io.stderr:write("jetlab gen: " .. tostring(ok and err or summary) .. "\n")
  os.exit(1)
end

local total = summary.qcd.n + summary.signal.n
print(string.format("jetlab gen: wrote %d jets to %s in %.1f s (%.0f jets/s generating on %d threads)",
                    total, opts.output, summary.seconds + summary.write_seconds,
                    summary.jets_per_second, jl.get_num_threads()))
if not opts.report then return end

local function num(x, fmt)
  if x ~= x then return "-" end
  return string.format(fmt or "%.1f", x)
end

print(string.format("\nsettings: signal %s, pT %g:%g GeV, |eta| < %g, R = %g, seed %d, %s constituents",
                    opts.signal, lo, hi, opts.eta, opts.r, opts.seed,
                    opts.detector and "calorimeter-cluster" or "particle-level"))
print(string.format("%-8s %8s %12s %10s %14s %13s", "class", "jets", "mass median", "mass peak",
                    "constituents", "attempts/jet"))
local names = {signal = opts.signal == "none" and "-" or opts.signal, qcd = "qcd"}
for _, key in ipairs({"signal", "qcd"}) do
  local c = summary[key]
  if c.n > 0 then
    print(string.format("%-8s %8d %12s %10s %14s %13s", names[key], c.n, num(c.mass_median),
                        num(c.mass_peak), num(c.mult_median, "%.0f"), num(c.attempts, "%.2f")))
  end
end
print(string.format("(masses in GeV: median, and the centre of the fullest 5 GeV bin; constituents: median)"))
print(string.format("speed: %.0f jets/s generating (%d threads, %.1f s), %.1f s writing",
                    summary.jets_per_second, jl.get_num_threads(), summary.seconds, summary.write_seconds))
if summary.auc == summary.auc then
  print(string.format("best jet-mass-window AUC, %s vs QCD: %.3f (window centred at %g GeV)",
                      opts.signal, summary.auc, summary.window))
end

-- The realism comparison with a reference sample in the ATLAS layout.
if opts.reference and opts.reference:match("%.h5$") then
  local realism = require "jetlab.realism"
  local function rows_of(path)
    local f = assert(jl.io.open_jets(path))
    local rows = assert(f:read(1, math.min(REALISM_JETS, f:count())))
    f:close()
    return rows
  end
  local ok_ref, ref_rows = pcall(rows_of, opts.reference)
  if not ok_ref then
    io.stderr:write("jetlab gen: --reference: " .. tostring(ref_rows) .. "\n")
    os.exit(1)
  end
  print(string.format("\nrealism: generated (%s) vs reference (%s)", opts.output, opts.reference))
  realism.print(realism.describe(rows_of(opts.output)), realism.describe(ref_rows), {"gen", "ref"})
end

-- The reference comparison, at particle level, when the window suits the reference events.
local qcd, ref
if lo >= 800 and hi <= 1600 and not (opts.reference and opts.reference:match("%.h5$")) then
  local r, rerr = jl.gen.reference{path = opts.reference, pt = {lo, hi}, r = opts.r, eta = opts.eta}
  if not r then
    print("reference: skipped (" .. rerr .. ")")
  elseif r.n < 5 then
    print(string.format("reference: skipped (%d jets of %s in the window)", r.n, r.path))
  else
    ref = r
    local _, s = jl.gen.jets{signal = "none", pt = {lo, hi}, n = 2000, seed = opts.seed, r = opts.r,
                             eta = opts.eta, detector = false}
    qcd = s.qcd
    print(string.format("reference: %d jets of %s: median mass %.1f GeV, median constituents %.1f (particles)",
                        r.n, r.path, r.mass_median, r.mult_median))
    print(string.format("generated QCD at particle level (2000 jets): median mass %.1f GeV, median constituents %.1f",
                        qcd.mass_median, qcd.mult_median))
  end
end

local checks = jl.gen.checks(gen, summary, qcd, ref)
print("\nchecks:")
if #checks == 0 then print("  (none apply to these settings)") end
for _, c in ipairs(checks) do
  print(string.format("  %s  %-40s %8.3f in [%g, %g]", c.pass and "PASS" or "FAIL", c.name, c.value, c.lo, c.hi))
end
