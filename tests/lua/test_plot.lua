-- Tests of jetlab.plot: PNGs when gnuplot is there, a warning and false when it is not.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local plot = require "jetlab.plot"

local HAVE_GNUPLOT = os.execute("command -v gnuplot >/dev/null 2>&1") == true
local PNG = "\137PNG\r\n\26\n"

-- A PNG made by f(path) when gnuplot is installed; f returns false otherwise.
local function check_png(path, ok, err)
  if not HAVE_GNUPLOT then
    T.eq(ok, false)
    return
  end
  T.eq(ok, true, err)
  local data = fs.read(path)
  T.ok(data and #data > 1000, "a non-empty PNG")
  T.eq(data:sub(1, 8), PNG, "the PNG signature")
  local gp = fs.read((path:gsub("%.png$", ".gp")))
  T.ok(gp and gp:find("set output '" .. path:match("[^/]+$") .. "'", 1, true), "the script is kept next to it")
end

-- ROC curves eff_b = eff_s^k: the larger k, the better the tagger.
local function roc(k, n)
  local es, eb = {}, {}
  for i = 0, n do es[#es + 1], eb[#eb + 1] = i / n, (i / n) ^ k end
  return es, eb
end

T.case("roc: rejection with a ratio panel, from arrays and from tensors", function()
  fs.with_tmpdir(function(dir)
    local es1, eb1 = roc(3, 500)
    local es2, eb2 = roc(4, 50)
    local curves = {{label = "scratch", eff_s = es1, eff_b = eb1},
                    {label = "it's fine-tuned", eff_s = jl.tensor(es2), eff_b = jl.tensor(eb2)}}
    check_png(dir .. "/roc.png", plot.roc(dir .. "/roc.png", {curves = curves, title = "Top, 500 GeV"}))
    check_png(dir .. "/roc_plain.png", plot.roc(dir .. "/roc_plain.png", {curves = curves, ratio_to = false}))
    if HAVE_GNUPLOT then
      local gp = fs.read(dir .. "/roc.gp")
      T.ok(gp:find("set multiplot", 1, true) and gp:find("'ratio to scratch'", 1, true), "ratio panel")
      T.ok(gp:find("'it''s fine-tuned'", 1, true), "labels quoted for gnuplot")
      -- at eff_s = 0.5 the grid holds 1/0.5^3 = 8 and 1/0.5^4 = 16 (interpolated linearly in eff_b)
      local row = gp:match("\n(0%.5 [^\n]*)")
      T.ok(row, "a grid row at eff_s = 0.5")
      local a, b = row:match("^0%.5 (%S+) (%S+)$")
      T.near(tonumber(a), 8, 1e-6)
      T.near(tonumber(b), 16, 1e-2)
    end
    T.raises(function() plot.roc(dir .. "/x.png", {curves = {}}) end, "non%-empty")
    T.raises(function() plot.roc(dir .. "/x.png", {curves = curves, ratio_to = 3}) end, "ratio_to")
  end)
end)

T.case("roc: a bootstrap band around a curve and its ratio", function()
  fs.with_tmpdir(function(dir)
    local es1, eb1 = roc(3, 500)
    local es2, eb2 = roc(4, 500)
    local band = {eff_s = {0.1, 1}, rej_err = {2, 2}}
    local curves = {{label = "scratch", eff_s = es1, eff_b = eb1, band = band},
                    {label = "fine-tune", eff_s = es2, eff_b = eb2}}
    check_png(dir .. "/roc.png", plot.roc(dir .. "/roc.png", {curves = curves}))
    if HAVE_GNUPLOT then
      local gp = fs.read(dir .. "/roc.gp")
      local _, fills = gp:gsub("filledcurves", "")
      T.eq(fills, 2, "one band above, one in the ratio panel")
      -- at eff_s = 0.5: 8 ± 2 for the banded curve, no band (NaN) for the other
      local a, b, lo, hi, lo2 = gp:match("\n0%.5 (%S+) (%S+) (%S+) (%S+) (%S+) %S+\n")
      T.near(tonumber(a), 8, 1e-6)
      T.near(tonumber(b), 16, 1e-6)
      T.near(tonumber(lo), 6, 1e-6)
      T.near(tonumber(hi), 10, 1e-6)
      T.eq(lo2, "NaN")
    end
  end)
end)

T.case("curves and histograms", function()
  fs.with_tmpdir(function(dir)
    check_png(dir .. "/acc.png", plot.curves(dir .. "/acc.png", {
      title = "Validation accuracy", xlabel = "epoch", ylabel = "accuracy",
      series = {{label = "LundNet5", x = {1, 2, 3}, y = {0.8, 0.85, 0.87}}, {label = "PN", x = {1, 2}, y = {0.7, 0.9}}}}))
    check_png(dir .. "/size.png", plot.curves(dir .. "/size.png", {
      xlabel = "training jets", ylabel = "AUC", logx = true,
      series = {{label = "scratch", x = {1000, 10000, 100000}, y = {0.9, 0.93, 0.95}}}}))
    local qcd, top = {}, {}
    for i = 1, 2000 do qcd[i], top[i] = (i / 2000) ^ 3, 1 - (i / 2000) ^ 3 end
    check_png(dir .. "/scores.png", plot.histograms(dir .. "/scores.png", {
      xlabel = "P(top)", range = {0, 1}, bins = 20,
      series = {{label = "QCD", values = qcd}, {label = "top", values = jl.tensor(top)}},
      marks = {{x = 0.93, label = "Pythia boosted top"}}}))
    if HAVE_GNUPLOT then
      -- density: each histogram integrates to 1 (20 bins of width 0.05)
      local gp = fs.read(dir .. "/scores.gp")
      local block = gp:match("%$h1 << EOD\n(.-)\nEOD")
      local sum = 0
      for _, d in block:gmatch("(%S+) (%S+)") do sum = sum + tonumber(d) * 0.05 end
      T.near(sum, 1, 1e-6)
    end
    T.raises(function() plot.curves(dir .. "/x.png", {series = {{x = {1, 2}, y = {1}}}}) end, "differ in length")
  end)
end)

T.case("a gnuplot that fails: false and a message, no error", function()
  fs.with_tmpdir(function(dir)
    local saved = plot.gnuplot
    plot.gnuplot = "false" -- exists, exits 1, writes nothing
    local ok, err = plot.curves(dir .. "/x.png", {series = {{x = {1}, y = {1}}}})
    plot.gnuplot = saved
    T.eq(ok, false)
    T.ok(err:find("gnuplot failed on .*/x%.gp"), err)
  end)
end)

T.case("without gnuplot: false and one warning line per process", function()
  fs.with_tmpdir(function(dir)
    local script = dir .. "/s.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
local plot = require "jetlab.plot"
plot.gnuplot = "jetlab-no-such-gnuplot"
local a, msg = plot.roc(arg[1] .. "/r.png", {curves = {{eff_s = {0, 1}, eff_b = {0, 1}}}})
local b = plot.curves(arg[1] .. "/c.png", {series = {{x = {1}, y = {1}}}})
print(a, b, msg)
]])
    f:close()
    local exe = require("jetlab.paths").exe
    local p = io.popen(string.format("%s %s %s 2>%s", fs.quote(exe), fs.quote(script),
      fs.quote(dir), fs.quote(dir .. "/err.txt")))
    local out = p:read("a")
    T.ok(p:close(), "the script does not fail")
    T.eq(out, "false\tfalse\tjetlab-no-such-gnuplot not found\n")
    T.eq(fs.read(dir .. "/err.txt"), "plot: jetlab-no-such-gnuplot not found; skipping plots (install gnuplot-nox)\n")
    T.eq(fs.read(dir .. "/r.png"), nil)
  end)
end)

T.run()
