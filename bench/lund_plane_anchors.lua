-- lund_plane_anchors.lua — the shape of the primary Lund-plane density of some
-- jet samples against a histogram of the Pythia 8.223 runs that made the
-- LundNet authors' data (../shared/anchors/jetsgame-runs/*_hist.dat, block
-- "2d_histlund-lnpt": rows xlo xmid xhi ylo ymid yhi density, x = ln(1/Δ) in
-- [0, 9] by 0.2, y = ln(kt/GeV) in [-5, 8] by 13/33, in cross-section units:
-- shapes only). The jets of class LABEL (1 signal, 0 QCD) of each file are
-- declustered (jetlab.realism: the primary declusterings, harder branch
-- followed), binned on the histogram's grid and both are normalised to one
-- over it. Printed per file: the mean ln(1/Δ) and ln kt of both, and the
-- total-variation distances ½ Σ |p - q| of the ln(1/Δ) marginal, the ln kt
-- marginal and the 2-D density (0: the same shape, 1: disjoint). The anchors'
-- jets have pT above the threshold (500 GeV or 2 TeV, falling spectrum), the
-- samples their window: a small shift in ln kt is expected from that alone.
--
--   jetlab bench/lund_plane_anchors.lua ../shared/anchors/jetsgame-runs/test_QCD_500GeV_hist.dat 0 \
--       py_top500.h5 gen_top500.h5 [jets per file (4000)]
local realism = require "jetlab.realism"

local usage = "usage: jetlab bench/lund_plane_anchors.lua HIST.dat LABEL FILE.h5 [FILE.h5 ...] [jets]"
local dat_path, label = assert(arg[1], usage), math.tointeger(tonumber(arg[2]))
assert(label == 0 or label == 1, usage)
local files, n = {}, 4000
for i = 3, #arg do
  if tonumber(arg[i]) then n = math.tointeger(tonumber(arg[i])) else files[#files + 1] = arg[i] end
end
assert(#files > 0, usage)

-- The lnpt block of a .dat: {xs = sorted bin lower edges, ys =, dx, dy, x0, y0, nx, ny, p = {[ix][iy] = weight}}.
local function read_hist(path)
  local f = assert(io.open(path))
  local inside, cells, xs, ys = false, {}, {}, {}
  for line in f:lines() do
    if line:match("^#") then
      if inside then break end
      inside = line:match("^# 2d_histlund%-lnpt") ~= nil
    elseif inside and line:match("%S") then
      local v = {}
      for w in line:gmatch("%S+") do v[#v + 1] = tonumber(w) end
      assert(#v == 7, path .. ": a histogram row without 7 numbers: " .. line)
      cells[#cells + 1] = v
      xs[v[1]], ys[v[4]] = true, true
    end
  end
  f:close()
  assert(#cells > 0, path .. ": no 2d_histlund-lnpt block")
  local h = {cells = cells, x0 = math.huge, y0 = math.huge, dx = cells[1][3] - cells[1][1], dy = cells[1][6] - cells[1][4]}
  local nx, ny = 0, 0
  for x in pairs(xs) do nx, h.x0 = nx + 1, math.min(h.x0, x) end
  for y in pairs(ys) do ny, h.y0 = ny + 1, math.min(h.y0, y) end
  h.nx, h.ny = nx, ny
  return h
end

local function grid_index(h, x, y)
  local ix, iy = math.floor((x - h.x0) / h.dx + 1e-9), math.floor((y - h.y0) / h.dy + 1e-9)
  if ix < 0 or ix >= h.nx or iy < 0 or iy >= h.ny then return nil end
  return iy * h.nx + ix + 1
end

local function normalised(p)
  local s = 0
  for k = 1, #p do s = s + p[k] end
  for k = 1, #p do p[k] = p[k] / s end
  return p
end

local function zeros(k)
  local z = {}
  for i = 1, k do z[i] = 0 end
  return z
end

local function anchor_density(h)
  local p = zeros(h.nx * h.ny)
  for _, c in ipairs(h.cells) do
    local k = grid_index(h, c[2], c[5])
    p[k] = p[k] + c[7]
  end
  return normalised(p)
end

local function sample_density(h, d)
  local p = zeros(h.nx * h.ny)
  for i = 1, #d.primary_x do
    local k = grid_index(h, d.primary_x[i], d.primary_y[i])
    if k then p[k] = p[k] + 1 end
  end
  return normalised(p)
end

-- Marginals (ln(1/Δ), ln kt) of a density on the grid.
local function marginals(h, p)
  local mx, my = zeros(h.nx), zeros(h.ny)
  for k = 1, #p do
    local ix, iy = (k - 1) % h.nx + 1, (k - 1) // h.nx + 1
    mx[ix], my[iy] = mx[ix] + p[k], my[iy] + p[k]
  end
  return mx, my
end

local function mean(m, lo, width)
  local s = 0
  for i = 1, #m do s = s + m[i] * (lo + (i - 0.5) * width) end
  return s
end

local h = read_hist(dat_path)
local ref = anchor_density(h)
local rx, ry = marginals(h, ref)
print(string.format("lund_plane_anchors: %s (%d x %d bins), class %d", dat_path, h.nx, h.ny, label))
print(string.format("%-40s %7s %11s %9s %9s %9s %9s", "sample", "jets", "primaries", "<ln1/D>", "<ln kt>",
                    "TV ln1/D", "TV ln kt"))
print(string.format("%-40s %7s %11s %9.3f %9.3f", dat_path:match("[^/]+$"), "", "", mean(rx, h.x0, h.dx),
                    mean(ry, h.y0, h.dy)))
for _, path in ipairs(files) do
  local f = assert(jl.io.open_jets(path))
  local rows = assert(f:read(1, math.min(n, f:count())))
  f:close()
  local d = assert(realism.describe(rows)[label], path .. ": no jets of class " .. label)
  local p = sample_density(h, d)
  local px, py = marginals(h, p)
  print(string.format("%-40s %7d %11.2f %9.3f %9.3f %9.3f %9.3f   2-D TV %.3f", path:match("[^/]+$"), d.jets,
                      d.primaries, mean(px, h.x0, h.dx), mean(py, h.y0, h.dy), realism.plane_distance(px, rx),
                      realism.plane_distance(py, ry), realism.plane_distance(p, ref)))
end
