-- jetlab.realism — how close one sample of jets is to another (generated vs Pythia):
-- jet mass, constituent multiplicity, the distributions of the Lund-plane features
-- of all declusterings and the shape of the primary Lund-plane density, for
-- signal (label 1) and background (label 0) separately.
--
--   local realism = require "jetlab.realism"
--   local gen = realism.describe(jl.io.open_jets("gen.h5"):read(1, 4000))
--   local ref = realism.describe(jl.io.open_jets("pythia.h5"):read(1, 4000))
--   realism.print(gen, ref, {"generated", "pythia"})
--
-- The features are those LundNet reads (jl.lund.graphs, features = 5): ln z,
-- ln Δ, ψ, ln m, ln kt of every declustering. The primary plane: the root's
-- declustering, then the node right after it when that node is its child,
-- and so on (depth-first, harder branch first). Where the harder branch is a
-- single particle and the softer one is not, the walk takes the softer one:
-- rare, and only at the soft end of the chain. Its density is a histogram
-- in ln(1/Δ) (0..6) × ln kt (-4..6), bins of 0.5, normalised to one; two
-- densities are compared by their total-variation distance ½ Σ |p - q|
-- (0: the same shape, 1: disjoint). The underlying event: constituents in the
-- annulus 0.8 <= ΔR < 1.0 around the jet axis (R = 1.0 jets), per jet and per
-- unit η–φ area, their number and pT sum; in W jets, whose decay products
-- radiate inside, that is mostly underlying event and initial-state radiation.
local realism = {}

realism.FEATURES = {"ln_z", "ln_delta", "psi", "ln_m", "ln_kt"}
realism.CLASSES = {{label = 1, name = "signal"}, {label = 0, name = "background"}}

local PLANE = {x_lo = 0, x_hi = 6, y_lo = -4, y_hi = 6, bin = 0.5}
local NX = math.floor((PLANE.x_hi - PLANE.x_lo) / PLANE.bin)
local NY = math.floor((PLANE.y_hi - PLANE.y_lo) / PLANE.bin)

--- realism.stats(values) → {n, mean, std, q10, q50, q90} of a Lua array (sorts it).
function realism.stats(v)
  local n = #v
  if n == 0 then return {n = 0, mean = 0 / 0, std = 0 / 0, q10 = 0 / 0, q50 = 0 / 0, q90 = 0 / 0} end
  local sum = 0
  for i = 1, n do sum = sum + v[i] end
  local mean, ss = sum / n, 0
  for i = 1, n do ss = ss + (v[i] - mean) ^ 2 end
  table.sort(v)
  local function q(p) return v[math.max(1, math.min(n, math.floor(p * (n - 1) + 1.5)))] end
  return {n = n, mean = mean, std = math.sqrt(ss / n), q10 = q(0.1), q50 = q(0.5), q90 = q(0.9)}
end

local ANNULUS = {lo = 0.8, hi = 1.0}
local ANNULUS_AREA = math.pi * (ANNULUS.hi ^ 2 - ANNULUS.lo ^ 2)

-- Constituents of jet b in the annulus: count, pT sum.
local function annulus(pt, eta, phi, jet_eta, jet_phi)
  local n, sum = 0, 0
  for k = 1, #pt do
    if pt[k] > 0 then
      local dphi = math.abs(phi[k] - jet_phi)
      if dphi > math.pi then dphi = 2 * math.pi - dphi end
      local dr = math.sqrt((eta[k] - jet_eta) ^ 2 + dphi ^ 2)
      if dr >= ANNULUS.lo and dr < ANNULUS.hi then n, sum = n + 1, sum + pt[k] end
    end
  end
  return n, sum
end

local function plane_bin(ln_delta, ln_kt)
  local ix = math.floor((-ln_delta - PLANE.x_lo) / PLANE.bin)
  local iy = math.floor((ln_kt - PLANE.y_lo) / PLANE.bin)
  if ix < 0 or ix >= NX or iy < 0 or iy >= NY then return nil end
  return iy * NX + ix + 1
end

--- realism.describe(rows) → per class label (0, 1): {jets, mass = stats, mult = stats,
--- features = {ln_z = stats, ...}, plane = density (NX·NY array), primaries per jet,
--- ue_n, ue_pt: annulus constituents and pT (GeV) per jet and unit area, primary_x, primary_y:
--- ln(1/Δ) and ln kt of every primary declustering}.
--- rows: a batch of jl.io (pt, eta, phi, E, jet_m, labels).
function realism.describe(rows)
  local g = jl.lund.graphs(rows, {features = 5})
  local x, offsets, parent = g.x:tolist(), g.offsets:tolist(), g.parent:tolist()
  local labels, masses, mult = rows.labels:tolist(), rows.jet_m:tolist(), g.n_constituents:tolist()
  local pt, eta, phi = rows.pt:tolist(), rows.eta:tolist(), rows.phi:tolist()
  local jet_eta, jet_phi = rows.jet_eta:tolist(), rows.jet_phi:tolist()
  local acc = {}
  for _, c in ipairs(realism.CLASSES) do
    local a = {jets = 0, mass = {}, mult = {}, features = {}, plane = {}, in_plane = 0, primaries = 0, ue_n = 0,
               ue_pt = 0, primary_x = {}, primary_y = {}}
    for _, f in ipairs(realism.FEATURES) do a.features[f] = {} end
    for k = 1, NX * NY do a.plane[k] = 0 end
    acc[c.label] = a
  end
  for b = 1, #labels do
    local a = acc[labels[b]]
    a.jets = a.jets + 1
    a.mass[#a.mass + 1] = masses[b]
    a.mult[#a.mult + 1] = mult[b]
    local un, upt = annulus(pt[b], eta[b], phi[b], jet_eta[b], jet_phi[b])
    a.ue_n, a.ue_pt = a.ue_n + un, a.ue_pt + upt
    local primary = false
    for i = offsets[b] + 1, offsets[b + 1] do
      local row = x[i]
      for k, f in ipairs(realism.FEATURES) do
        local list = a.features[f]
        list[#list + 1] = row[k]
      end
      primary = parent[i] == 0 or (primary and parent[i] == i - 1)
      if primary then
        a.primaries = a.primaries + 1
        a.primary_x[a.primaries], a.primary_y[a.primaries] = -row[2], row[5]
        local k = plane_bin(row[2], row[5])
        if k then
          a.plane[k] = a.plane[k] + 1
          a.in_plane = a.in_plane + 1
        end
      end
    end
  end
  local out = {}
  for label, a in pairs(acc) do
    local d = {jets = a.jets, mass = realism.stats(a.mass), mult = realism.stats(a.mult), features = {},
               plane = a.plane, primaries = a.jets > 0 and a.primaries / a.jets or 0 / 0,
               ue_n = a.ue_n / (a.jets * ANNULUS_AREA), ue_pt = a.ue_pt / (a.jets * ANNULUS_AREA),
               primary_x = a.primary_x, primary_y = a.primary_y}
    for _, f in ipairs(realism.FEATURES) do d.features[f] = realism.stats(a.features[f]) end
    for k = 1, NX * NY do d.plane[k] = a.in_plane > 0 and a.plane[k] / a.in_plane or 0 end
    out[label] = d
  end
  return out
end

--- realism.plane_distance(p, q) → ½ Σ |p - q| of two primary-plane densities.
function realism.plane_distance(p, q)
  local d = 0
  for k = 1, #p do d = d + math.abs(p[k] - q[k]) end
  return d / 2
end

--- realism.plane_means(p) → mean ln(1/Δ), mean ln kt of a primary-plane density.
function realism.plane_means(p)
  local mx, my = 0, 0
  for k = 1, #p do
    local ix, iy = (k - 1) % NX, (k - 1) // NX
    mx = mx + p[k] * (PLANE.x_lo + (ix + 0.5) * PLANE.bin)
    my = my + p[k] * (PLANE.y_lo + (iy + 0.5) * PLANE.bin)
  end
  return mx, my
end

local function stats_line(name, s)
  return string.format("  %-22s %9.3f %8.3f %8.3f %8.3f %8.3f", name, s.mean, s.std, s.q10, s.q50, s.q90)
end

--- realism.lines(a, b, names) → the comparison of two describe() results as text
--- lines, class by class: each quantity for names[1] (a) then names[2] (b).
function realism.lines(a, b, names)
  local out = {}
  local function add(s) out[#out + 1] = s end
  for _, c in ipairs(realism.CLASSES) do
    local x, y = a[c.label], b[c.label]
    if x and y and x.jets > 0 and y.jets > 0 then
      add(string.format("%s: %d %s jets, %d %s jets", c.name, x.jets, names[1], y.jets, names[2]))
      add(string.format("  %-22s %9s %8s %8s %8s %8s", "", "mean", "std", "q10", "q50", "q90"))
      local rows = {{"jet mass (GeV)", x.mass, y.mass}, {"constituents", x.mult, y.mult}}
      for _, f in ipairs(realism.FEATURES) do rows[#rows + 1] = {f, x.features[f], y.features[f]} end
      for _, r in ipairs(rows) do
        add(stats_line(r[1] .. " " .. names[1], r[2]))
        add(stats_line(r[1] .. " " .. names[2], r[3]))
      end
      local gx, gy = realism.plane_means(x.plane)
      local rx, ry = realism.plane_means(y.plane)
      add(string.format("  primary Lund plane: %.2f / %.2f declusterings per jet; mean ln(1/Δ) %.2f / %.2f, " ..
                        "mean ln kt %.2f / %.2f; shape distance %.3f", x.primaries, y.primaries, gx, rx, gy, ry,
                        realism.plane_distance(x.plane, y.plane)))
      add(string.format("  annulus 0.8 <= dR < 1.0 per unit area: %.2f / %.2f constituents, %.2f / %.2f GeV",
                        x.ue_n, y.ue_n, x.ue_pt, y.ue_pt))
    end
  end
  return out
end

--- realism.print(a, b, names): prints realism.lines.
function realism.print(a, b, names)
  for _, l in ipairs(realism.lines(a, b, names)) do print(l) end
end

return realism
