-- jetlab.plot — PNG plots through gnuplot: ROC with ratio panel, curves, histograms.
--
--   local plot = require "jetlab.plot"
--   plot.roc(run:path("roc.png"), {curves = {{label = "scratch", eff_s = roc1.eff_s, eff_b = roc1.eff_b},
--                                            {label = "fine-tune", eff_s = roc2.eff_s, eff_b = roc2.eff_b}},
--                                  ratio_to = 1})
--   plot.curves(run:path("val_acc.png"), {title = "Validation accuracy", xlabel = "epoch", ylabel = "accuracy",
--                                         series = {{label = "ParticleNet", x = {1, 2, 3}, y = {0.81, 0.86, 0.88}}}})
--   plot.histograms(run:path("scores.png"), {xlabel = "P(top)", series = {{label = "QCD", values = s_bkg}},
--                                            marks = {{x = 0.93, label = "Pythia top"}}})
--
-- Each function writes NAME.gp next to NAME.png — the data inline as gnuplot
-- datablocks, so `cd DIR && gnuplot NAME.gp` redraws the plot — runs gnuplot
-- and returns true when a non-empty PNG came out. Plots never fail an
-- experiment: without gnuplot (Debian gnuplot-nox) they print one warning line
-- per process and return false, message; a gnuplot error returns false,
-- message too. Arrays may be Lua arrays or 1-D tensors (read with :tolist()).
-- plot.gnuplot names the program (tests point it at a missing one).
--
-- roc: background rejection 1/ε_B (log y) against signal efficiency ε_S for
-- each curve (any ROC: metrics.roc's tables or {eff_s=, eff_b=} arrays), and
-- below it the ratio of each rejection to curve ratio_to's (default 1; false:
-- no ratio panel), on a common grid of ε_S from xmin (default 0.1) to 1 in
-- steps of about 0.005, interpolated as metrics.rejection does. Options:
-- title, xmin.
-- curves: lines with points, one per series {label, x, y}; options title,
-- xlabel, ylabel, logx, logy, key (gnuplot's key position, "bottom right").
-- histograms: one step histogram per series {label, values, weights};
-- options title, xlabel, ylabel, bins (40), range ({lo, hi}; the data's),
-- density (true: each series integrates to 1), logy, key ("top center"),
-- marks (vertical lines {x, label}).

local dist = require "jetlab.dist"
local fs = require "jetlab.fs"
local metrics = require "jetlab.metrics"
local results = require "jetlab.results"

local plot = {gnuplot = "gnuplot"}

local checked = {} -- program → true | false
local warned = {}

local function available()
  local prog = plot.gnuplot
  if checked[prog] == nil then
    checked[prog] = os.execute("command -v " .. fs.quote(prog) .. " >/dev/null 2>&1") == true
  end
  if not checked[prog] and not warned[prog] then
    warned[prog] = true
    io.stderr:write("plot: " .. prog .. " not found; skipping plots (install gnuplot-nox)\n")
  end
  return checked[prog]
end

local function list(v, what)
  v = results.values(v)
  if type(v) ~= "table" then error("plot: " .. what .. " must be an array or a 1-D tensor", 3) end
  return v
end

local function str(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

local function num(v)
  if v == nil or v ~= v or v == math.huge or v == -math.huge then return "NaN" end
  return string.format("%.9g", v)
end

local function datablock(name, rows)
  local lines = {"$" .. name .. " << EOD"}
  for _, r in ipairs(rows) do
    local cols = {}
    for j = 1, #r do cols[j] = num(r[j]) end
    lines[#lines + 1] = table.concat(cols, " ")
  end
  lines[#lines + 1] = "EOD"
  return table.concat(lines, "\n")
end

-- Writes the script next to png, runs gnuplot in that folder, checks the PNG.
local function render(png, body, size)
  if not dist.writer() then return true end -- under MPI rank 0 draws (jetlab.dist)
  if not available() then return false, plot.gnuplot .. " not found" end
  local dir, name = png:match("^(.*)/([^/]+)$")
  dir, name = dir or ".", name or png
  assert(name:match("%.png$"), "plot: the output file must end in .png")
  local gp = name:gsub("%.png$", ".gp")
  local script = table.concat({
    "# made by jetlab.plot; redraw with: gnuplot " .. gp,
    string.format("set terminal pngcairo noenhanced size %s font 'sans,10'", size or "800,600"),
    "set output " .. str(name),
    body,
    "unset output",
  }, "\n") .. "\n"
  local f, err = io.open(dir .. "/" .. gp, "w")
  if not f then return false, "plot: cannot write the script: " .. tostring(err) end
  f:write(script)
  f:close()
  os.remove(png)
  local p = io.popen("cd " .. fs.quote(dir) .. " && " .. fs.quote(plot.gnuplot) .. " "
    .. fs.quote(gp) .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  local f2 = io.open(png, "rb")
  local size_ok = f2 and f2:seek("end") > 0
  if f2 then f2:close() end
  if ok and size_ok then return true end
  local msg = "plot: gnuplot failed on " .. dir .. "/" .. gp .. ": " .. (out:match("line %d+: [^\n]*") or out:match("[^\n]*%S[^\n]*") or "no PNG written")
  io.stderr:write(msg .. "\n")
  return false, msg
end

local function series_style(i)
  return string.format("lt %d lw 2", i)
end

--- plot.roc(png, {curves = {{label=, eff_s=, eff_b=[, band =]}, ...}, ratio_to = 1, title=, xmin = 0.1})
--- band = {eff_s = {...}, rej_err = {...}} (metrics.bootstrap's): a shaded band of 1/ε_B ± rej_err
--- (interpolated linearly between its points) around the curve, and around its ratio.
function plot.roc(png, opts)
  local curves = opts.curves
  assert(type(curves) == "table" and #curves > 0, "plot.roc: curves must be a non-empty list")
  local ratio_to = opts.ratio_to == nil and 1 or opts.ratio_to
  assert(ratio_to == false or curves[ratio_to], "plot.roc: ratio_to must be a curve index or false")
  local xmin = opts.xmin or 0.1
  local n = math.max(2, math.floor((1 - xmin) / 0.005 + 0.5) + 1) -- steps of about 0.005
  local grid = {}
  for i = 1, n do grid[i] = xmin + (1 - xmin) * (i - 1) / (n - 1) end
  local rows = {}
  for i, s in ipairs(grid) do rows[i] = {s} end
  for c, curve in ipairs(curves) do
    local es, eb = list(curve.eff_s, "eff_s"), list(curve.eff_b, "eff_b")
    assert(#es == #eb and #es > 0, "plot.roc: eff_s and eff_b must have the same non-zero length")
    for i, b in ipairs(metrics.eff_b_at(es, eb, grid)) do rows[i][c + 1] = b > 0 and 1 / b or 0 / 0 end
  end
  local top, bottom = {}, {}
  local nc, banded = #curves, false
  for _, curve in ipairs(curves) do banded = banded or curve.band ~= nil end
  for c, curve in ipairs(curves) do
    local line = string.format("$roc using 1:%d with lines %s title %s", c + 1, series_style(c), str(curve.label or c))
    local ratio = string.format("$roc using 1:($%d/$%d) with lines %s notitle", c + 1, (ratio_to or 1) + 1,
      series_style(c))
    local band = curve.band
    local lo, hi = nc + 2 + 2 * (c - 1), nc + 3 + 2 * (c - 1)
    local err = band and metrics.eff_b_at(list(band.eff_s, "band.eff_s"), list(band.rej_err, "band.rej_err"), grid)
    for i, row in ipairs(rows) do
      local v, e = row[c + 1], err and err[i] or 0 / 0
      if banded then row[lo], row[hi] = math.max(v - e, 1), v + e end
    end
    if band then
      local fill = string.format("with filledcurves fs transparent solid 0.2 noborder lt %d notitle", c)
      top[#top + 1] = string.format("$roc using 1:%d:%d %s", lo, hi, fill)
      if ratio_to then
        bottom[#bottom + 1] = string.format("$roc using 1:($%d/$%d):($%d/$%d) %s", lo, ratio_to + 1, hi, ratio_to + 1,
          fill)
      end
    end
    top[#top + 1] = line
    if ratio_to then bottom[#bottom + 1] = ratio end
  end
  local body = {
    datablock("roc", rows),
    "set grid",
    "set xrange [" .. num(xmin) .. ":1]",
    "set logscale y",
    "set key top right",
    "set ylabel 'Background rejection 1/εB'",
  }
  if opts.title then body[#body + 1] = "set title " .. str(opts.title) end
  if ratio_to then
    body[#body + 1] = table.concat({
      "set multiplot",
      "set lmargin at screen 0.12", "set rmargin at screen 0.96",
      "set tmargin at screen 0.93", "set bmargin at screen 0.36",
      "set format x ''",
      "plot " .. table.concat(top, ", "),
      "unset title", "unset logscale y", "set format x '%g'",
      "set tmargin at screen 0.33", "set bmargin at screen 0.09",
      "set xlabel 'Signal efficiency εS'",
      "set ylabel " .. str("ratio to " .. (curves[ratio_to].label or ratio_to)),
      "plot " .. table.concat(bottom, ", "),
      "unset multiplot",
    }, "\n")
  else
    body[#body + 1] = "set xlabel 'Signal efficiency εS'\nplot " .. table.concat(top, ", ")
  end
  return render(png, table.concat(body, "\n"), ratio_to and "800,800" or "800,600")
end

local function axes(opts, key)
  local lines = {"set grid", "set key " .. (opts.key or key)}
  for _, k in ipairs({"title", "xlabel", "ylabel"}) do
    if opts[k] then lines[#lines + 1] = "set " .. k .. " " .. str(opts[k]) end
  end
  if opts.logx then lines[#lines + 1] = "set logscale x" end
  if opts.logy then lines[#lines + 1] = "set logscale y" end
  return table.concat(lines, "\n")
end

--- plot.curves(png, {series = {{label=, x=, y=}, ...}, title=, xlabel=, ylabel=, logx=, logy=})
function plot.curves(png, opts)
  local series = opts.series
  assert(type(series) == "table" and #series > 0, "plot.curves: series must be a non-empty list")
  local body, plots = {}, {}
  for i, s in ipairs(series) do
    local x, y = list(s.x, "x"), list(s.y, "y")
    assert(#x == #y, "plot.curves: x and y of series " .. i .. " differ in length")
    local rows = {}
    for j = 1, #x do rows[j] = {x[j], y[j]} end
    body[#body + 1] = datablock("s" .. i, rows)
    plots[i] = string.format("$s%d using 1:2 with linespoints %s pt 7 ps 0.6 title %s", i, series_style(i), str(s.label or i))
  end
  body[#body + 1] = axes(opts, "bottom right")
  body[#body + 1] = "plot " .. table.concat(plots, ", ")
  return render(png, table.concat(body, "\n"))
end

--- plot.histograms(png, {series = {{label=, values=, weights=}, ...}, bins = 40, range=,
--- density = true, title=, xlabel=, ylabel=, logy=, marks = {{x=, label=}}})
function plot.histograms(png, opts)
  local series = opts.series
  assert(type(series) == "table" and #series > 0, "plot.histograms: series must be a non-empty list")
  local bins, data = opts.bins or 40, {}
  local lo, hi = math.huge, -math.huge
  for i, s in ipairs(series) do
    data[i] = {values = list(s.values, "values"), weights = s.weights and list(s.weights, "weights")}
    for _, v in ipairs(data[i].values) do
      if v == v then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
  end
  if opts.range then lo, hi = opts.range[1], opts.range[2] end
  if not (lo < hi) then lo, hi = (lo < math.huge and lo or 0) - 0.5, (hi > -math.huge and hi or 0) + 0.5 end
  local bw = (hi - lo) / bins
  local body, plots = {}, {}
  for i, d in ipairs(data) do
    local counts, total = {}, 0
    for b = 1, bins do counts[b] = 0 end
    for j, v in ipairs(d.values) do
      local w = d.weights and d.weights[j] or 1
      local b = math.floor((v - lo) / bw) + 1
      if v == hi then b = bins end
      if b >= 1 and b <= bins then counts[b], total = counts[b] + w, total + w end
    end
    local scale = (opts.density ~= false and total > 0) and 1 / (total * bw) or 1
    local rows = {}
    for b = 1, bins do rows[b] = {lo + (b - 0.5) * bw, counts[b] * scale} end
    body[#body + 1] = datablock("h" .. i, rows)
    plots[i] = string.format("$h%d using 1:2 with histeps %s title %s", i, series_style(i), str(series[i].label or i))
  end
  body[#body + 1] = axes({title = opts.title, xlabel = opts.xlabel, logy = opts.logy, key = opts.key,
                          ylabel = opts.ylabel or (opts.density ~= false and "density" or "entries")}, "top center")
  body[#body + 1] = "set xrange [" .. num(lo) .. ":" .. num(hi) .. "]"
  for i, m in ipairs(opts.marks or {}) do
    body[#body + 1] = string.format("set arrow %d from %s, graph 0 to %s, graph 1 nohead dt 2 lw 2 lc 'black'",
      i, num(m.x), num(m.x))
    if m.label then
      body[#body + 1] = string.format("set label %d %s at %s, graph 0.95 rotate by 90 right offset -1.5, 0",
        i, str(m.label), num(m.x))
    end
  end
  body[#body + 1] = "plot " .. table.concat(plots, ", ")
  return render(png, table.concat(body, "\n"))
end

return plot
