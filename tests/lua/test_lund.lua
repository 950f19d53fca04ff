-- test_lund.lua — jl.lund from Lua: graph layout invariants on real-layout jets
-- (n - 1 nodes per jet without a cut, edges both ways grouped by destination,
-- valid 1-based parents, finite features, LundNet3 = columns 1, 2, 5 of
-- LundNet5), the ln kt cut, ragged four-vector input, jl.lund.jet and
-- jl.lund.events (1-based conventions, nil + message on I/O failures), errors.
-- Run from the repository root (ctest does), so fixture paths are relative.
local T = require "jetlab.test"

local FIX = "tests/fixtures/"

local function nn_lundnet5() return require("jetlab.nn").models.lundnet5{dropout = 0} end

local function massless(pt, y, phi)
  return {pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(y), pt * math.cosh(y)}
end

local function write_temp(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function batch(n)
  local f = assert(jl.io.open_jets(FIX .. "atlas2022.h5"))
  local b = assert(f:read(1, n or f:count()))
  f:close()
  return b
end

-- Checks every invariant of graph table g; returns the per-jet node counts.
local function check_layout(g, F)
  local x, off, eo = g.x:tolist(), g.offsets:tolist(), g.edge_offsets:tolist()
  local src, dst, parent = g.src:tolist(), g.dst:tolist(), g.parent:tolist()
  local N, B = #x, #off - 1
  T.eq(g.x.shape, {N, F})
  T.eq(g.x.dtype, "f32")
  for _, k in ipairs({"offsets", "edge_offsets", "src", "dst", "parent", "n_constituents"}) do
    T.eq(g[k].dtype, "i64", k)
  end
  T.eq(off[1], 0)
  T.eq(off[B + 1], N)
  T.eq(#eo, N + 1)
  T.eq(eo[1], 0)
  T.eq(eo[N + 1], #src)
  T.eq(#dst, #src)
  for _, row in ipairs(x) do
    for _, v in ipairs(row) do T.ok(v == v and v > -math.huge and v < math.huge, "finite feature") end
  end
  local jet_of, counts, roots = {}, {}, 0
  for b = 1, B do
    counts[b] = off[b + 1] - off[b]
    for k = off[b] + 1, off[b + 1] do jet_of[k] = b end
  end
  local pairs_seen = {}
  for k = 1, N do
    local p = parent[k]
    if p == 0 then
      roots = roots + 1
      T.eq(k, off[jet_of[k]] + 1, "the root is the jet's first node")
    else
      T.ok(p >= 1 and p < k and jet_of[p] == jet_of[k], "parent before the node, in its jet")
    end
    -- the edges into k: from its parent first, then its children in order
    local e, want = eo[k] + 1, {}
    if p > 0 then want[#want + 1] = p end
    for c = k + 1, off[jet_of[k] + 1] do
      if parent[c] == k then want[#want + 1] = c end
    end
    T.eq(eo[k + 1] - eo[k], #want, "in-degree of node " .. k)
    for i, s in ipairs(want) do
      T.eq(src[e + i - 1], s)
      T.eq(dst[e + i - 1], k)
      pairs_seen[s .. ">" .. k] = true
    end
  end
  for i = 1, #src do T.ok(pairs_seen[dst[i] .. ">" .. src[i]], "every edge has its reverse") end
  T.eq(#src, 2 * (N - roots), "one edge each way per tree edge")
  return counts
end

T.case("graphs: ATLAS batch without a cut, n - 1 nodes per jet", function()
  local b = batch()
  local g = jl.lund.graphs(b)
  local counts = check_layout(g, 5)
  local nc = g.n_constituents:tolist()
  local pt = b.pt:tolist()
  for j, n in ipairs(nc) do
    local real = 0
    for _, v in ipairs(pt[j]) do if v > 0 then real = real + 1 end end
    T.eq(n, real, "constituents counted where pt > 0")
    T.eq(counts[j], math.max(n - 1, 0), "jet " .. j)
  end
end)

T.case("graphs: LundNet3 rows are columns 1, 2, 5 of LundNet5", function()
  local b = batch()
  local g5, g3 = jl.lund.graphs(b, {features = 5}), jl.lund.graphs(b, {features = 3})
  check_layout(g3, 3)
  T.eq(g3.offsets:tolist(), g5.offsets:tolist())
  T.eq(g3.src:tolist(), g5.src:tolist())
  local x5, x3 = g5.x:tolist(), g3.x:tolist()
  for k = 1, #x5 do T.eq(x3[k], {x5[k][1], x5[k][2], x5[k][5]}) end
  -- psi in [-pi/2, pi/2], z <= 1/2
  for k = 1, #x5 do
    T.ok(math.abs(x5[k][3]) <= math.pi / 2 + 1e-6 and x5[k][1] <= math.log(0.5) + 1e-6)
  end
end)

T.case("graphs: ln_kt_min prunes and keeps ln kt >= the cut", function()
  local b = batch()
  local all = jl.lund.graphs(b)
  local kts = {}
  for _, row in ipairs(all.x:tolist()) do kts[#kts + 1] = row[5] end
  table.sort(kts)
  local cut = kts[#kts // 2] -- the median: about half the nodes go
  local g = jl.lund.graphs(b, {ln_kt_min = cut})
  check_layout(g, 5)
  T.ok(g.x.shape[1] < all.x.shape[1] and g.x.shape[1] > 0, "fewer nodes, not none")
  for _, row in ipairs(g.x:tolist()) do T.ok(row[5] >= cut - 1e-6, "ln kt above the cut") end
  -- every node cut: each jet is one node of zeros (the LundNet authors' graphs), no edges
  local none = jl.lund.graphs(b, {ln_kt_min = 100})
  T.eq(none.x.shape, {10, 5})
  T.eq(none.x:abs():max():item(), 0)
  T.eq(none.offsets:tolist(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
  T.eq(none.src.shape, {0})
  T.eq(none.edge_offsets:tolist(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
end)

T.case("graphs: ragged four-vectors, empty and one-particle jets", function()
  local a, bb, c = massless(100, 0, 0), massless(25, 0, 0.1), massless(2, 0.3, 0)
  local p4 = jl.from({a, bb, c, massless(7, 1, 1), a, bb}, {dtype = "f32"})
  local g = jl.lund.graphs(p4, jl.from({0, 3, 3, 4, 6}, {dtype = "i64"}))
  check_layout(g, 5)
  -- the empty and the one-particle jet: one node of zeros each, no edges
  T.eq(g.offsets:tolist(), {0, 2, 3, 4, 5})
  T.eq(g.n_constituents:tolist(), {3, 0, 1, 2})
  T.eq(g.parent:tolist(), {0, 1, 0, 0, 0})
  T.eq(g.src:tolist(), {2, 1})
  T.eq(g.dst:tolist(), {1, 2})
  T.eq(g.x:narrow(1, 3, 2):abs():max():item(), 0)
  -- the same nodes as jl.lund.jet, rounded to f32
  local nodes = jl.lund.jet(jl.from({a, bb, c}, {dtype = "f32"}))
  local x = g.x:tolist()
  for i, nd in ipairs(nodes) do
    T.near(x[i], {nd.ln_z, nd.ln_delta, nd.psi, nd.ln_m, nd.ln_kt}, 1e-6)
  end
  -- i32 offsets work too
  local g32 = jl.lund.graphs(p4, jl.from({0, 3, 3, 4, 6}, {dtype = "i32"}), {features = 3})
  T.eq(g32.x.shape, {5, 3})
end)

T.case("jet: node list by hand, parents 1-based (0 for the root)", function()
  local nodes = jl.lund.jet(jl.from({massless(100, 0, 0), massless(25, 0, 0.1), massless(2, 0.3, 0)},
                                    {dtype = "f32"}))
  T.eq(#nodes, 2)
  T.eq(nodes[1].parent, 0)
  T.eq(nodes[2].parent, 1)
  -- (A, B): z = 25/125, Delta = 0.1, same rapidity so psi = 0, kt = 2.5 (f32 input: 1e-6)
  T.near(nodes[2].ln_z, math.log(0.2), 1e-6)
  T.near(nodes[2].ln_delta, math.log(0.1), 1e-6)
  T.near(nodes[2].psi, 0, 1e-6)
  T.near(nodes[2].ln_kt, math.log(2.5), 1e-6)
  T.near(nodes[2].ln_m, 0.5 * math.log(2 * 100 * 25 * (1 - math.cos(0.1))), 1e-5)
  T.ok(nodes[1].psi < 0, "C above in y, below in phi")
  local cut = jl.lund.jet(jl.from({massless(100, 0, 0), massless(25, 0, 0.1), massless(2, 0.3, 0)},
                                  {dtype = "f32"}), {ln_kt_min = 0})
  T.eq(#cut, 1)
  T.eq(cut[1].parent, 0)
  T.near(cut[1].ln_kt, math.log(2.5), 1e-6)
  T.eq(#jl.lund.jet(jl.zeros(0, 4)), 0)
  T.eq(#jl.lund.jet(jl.from({massless(3, 0, 0)})), 0)
end)

T.case("events: anti-kt jets of a file, declustered; I/O failures are nil, message", function()
  local rows = {}
  local parts = {massless(100, 0, 0), massless(25, 0, 0.1), massless(2, 0.3, 0), massless(50, 0, 3)}
  for _, p in ipairs(parts) do rows[#rows + 1] = string.format("%.17g %.17g %.17g %.17g", p[1], p[2], p[3], p[4]) end
  local path = write_temp(table.concat(rows, "\n") .. "\n#END\n" .. rows[4] .. "\n")
  local jets = assert(jl.lund.events(path, {r = 1.0, ptmin = 10}))
  T.eq(#jets, 3)
  T.eq({jets[1].event, jets[1].n, #jets[1].nodes}, {1, 3, 2})
  T.eq({jets[2].event, jets[2].n, #jets[2].nodes}, {1, 1, 0})
  T.eq({jets[3].event, jets[3].n, #jets[3].nodes}, {2, 1, 0})
  T.near(jets[1].pt, math.sqrt((100 + 25 * math.cos(0.1) + 2) ^ 2 + (25 * math.sin(0.1)) ^ 2), 1e-12)
  T.near(jets[1].nodes[2].ln_kt, math.log(2.5), 1e-12)
  local cut = assert(jl.lund.events(path, {ptmin = 10, ln_kt_min = 0}))
  T.eq(#cut[1].nodes, 1)
  os.remove(path)
  local none, msg = jl.lund.events("/nonexistent/events.dat")
  T.eq(none, nil)
  T.ok(msg:find("cannot open", 1, true), msg)
end)

T.case("nn.models.lundnet_select: a batch of some jets equals declustering those jets alone", function()
  local select = require("jetlab.nn").models.lundnet_select
  local b = batch()
  local g = jl.lund.graphs(b)
  local B = g.offsets.shape[1] - 1
  local picks = {{B, 1, 3}, {2, 2}, {}, {1}}
  for _, jets in ipairs(picks) do
    local sel = select(g, jets)
    -- the reference: the same jets' constituents declustered on their own
    local sub = {}
    for _, k in ipairs({"pt", "eta", "phi", "E"}) do
      local rows = {}
      for i, j in ipairs(jets) do rows[i] = b[k][j] end
      sub[k] = #jets > 0 and jl.stack(rows) or jl.zeros(0, b[k].shape[2])
    end
    local want = jl.lund.graphs(sub)
    for _, k in ipairs({"offsets", "src", "dst", "edge_offsets"}) do T.eq(sel[k]:tolist(), want[k]:tolist(), k) end
    T.eq(sel.x.shape, want.x.shape)
    T.near(sel.x, want.x, 0)
  end
  -- an i64 tensor of jets works as a list does
  T.eq(select(g, jl.tensor({2, 1}, {dtype = "i64"})).src:tolist(), select(g, {2, 1}).src:tolist())
  -- and LundNet takes the batch
  local net = nn_lundnet5()
  net:eval()
  T.eq(net(select(g, {1, 2})).shape, {2, 2})
  T.raises(function() select(g, {1, B + 1}) end,
    "graph_select: jet " .. (B + 1) .. " %(position 2 of the selection%) is not one of the " .. B .. " graphs")
  T.raises(function() select(g, {0}) end, "jet 0 %(position 1")
  T.raises(function() select({x = g.x}, {1}) end, "expected a graph table")
end)

T.case("jl.graph_select: by hand, and every range it reads is checked", function()
  local i64 = function(t) return jl.tensor(t, {dtype = "i64"}) end
  -- jet 1: nodes 1, 2 with edges 2 -> 1 and 1 -> 2; jet 2: node 3 alone
  local off, eoff, src = i64({0, 2, 3}), i64({0, 1, 2, 2}), i64({2, 1})
  local rows, o, s, d, eo = jl.graph_select(off, eoff, src, i64({2, 1}))
  T.eq(rows:tolist(), {3, 1, 2})
  T.eq(o:tolist(), {0, 1, 3})
  T.eq(s:tolist(), {3, 2})
  T.eq(d:tolist(), {2, 3})
  T.eq(eo:tolist(), {0, 0, 1, 2})
  T.eq(jl.graph_select(off, eoff, src, i64({})):numel(), 0)
  T.raises(function() jl.graph_select(off, eoff, src, jl.tensor({1})) end,
    "graph_select: jets must be a 1%-D i64 tensor, got f32")
  T.raises(function() jl.graph_select(i64({0, 5, 3}), eoff, src, i64({1})) end,
    "graph_select: offsets give jet 1 the nodes 1..5, outside 1..3")
  T.raises(function() jl.graph_select(off, i64({0, 1, 9, 2}), src, i64({1})) end,
    "graph_select: edge_offsets give node 2 the edges 2..9, outside 1..2")
  T.raises(function() jl.graph_select(off, eoff, i64({3, 1}), i64({1})) end,
    "graph_select: edge 1 of jet 1 comes from node 3, outside the jet's nodes 1..2")
  -- a broken jet that is not selected is not read
  T.eq(jl.graph_select(i64({0, 2, 9}), eoff, src, i64({1})):tolist(), {1, 2})
end)

T.case("errors name the problem", function()
  local p4 = jl.from({massless(1, 0, 0), massless(2, 0, 0.1)})
  local off = jl.from({0, 2}, {dtype = "i64"})
  T.raises(function() jl.lund.graphs(p4, off, {features = 4}) end, "option 'features' must be 5 or 3")
  T.raises(function() jl.lund.graphs(p4, off, {bogus = 1}) end, "unknown option 'bogus'")
  T.raises(function() jl.lund.graphs(p4, off, {ln_kt_min = "x"}) end, "option 'ln_kt_min' must be a number")
  T.raises(function() jl.lund.graphs(p4, jl.from({0, 3}, {dtype = "i64"})) end, "offsets end at 3")
  T.raises(function() jl.lund.graphs(p4, jl.from({0, 2})) end, "offsets must be")
  T.raises(function() jl.lund.graphs(jl.zeros(3, 3), off) end, "particles must be %(n, 4%)")
  T.raises(function() jl.lund.graphs({pt = jl.zeros(2, 3)}) end, "batch.eta must be a tensor")
  T.raises(function() jl.lund.events("x.dat", {features = 3}) end, "unknown option 'features'")
  T.raises(function() jl.lund.events("x.dat", {r = -1}) end, "option 'r'")
  local bad = jl.from({massless(1, 0, 0), {0 / 0, 0, 0, 1}})
  T.raises(function() jl.lund.jet(bad) end, "constituent 2 has a non%-finite component")
  T.raises(function() jl.lund.graphs(bad, off) end, "jet 1: lund: constituent 2 ")
  local b = batch(2)
  b.pt[1][2] = -5
  T.raises(function() jl.lund.graphs(b) end, "jet 1, constituent 2: pt must be 0 %(padding%) or > 0")
end)

T.run()
