-- test_io.lua — jl.io from Lua: reading both ATLAS releases and the PyTables
-- layout (values from the formulas in tests/fixtures/make_h5_fixtures.py),
-- 1-based ranges, nil + message on I/O failures, Lua errors on bad arguments,
-- write → read round trips through write_jets and jets_writer.
-- Run from the repository root (ctest does), so fixture paths are relative.
local T = require "jetlab.test"
local fs = require "jetlab.fs"

local FIX = "tests/fixtures/"

local function tmp_h5(name)
  local base = os.tmpname()
  os.remove(base)
  return base .. "_" .. name .. ".h5"
end

local exists = fs.exists

-- reading -------------------------------------------------------------------

T.case("ATLAS 2022: float64 on disk, MeV to GeV, `weights`", function()
  local f = assert(jl.io.open_jets(FIX .. "atlas2022.h5"))
  T.eq(f:count(), 10)
  T.eq(f:columns(), 200)
  T.eq(f:format(), "atlas")
  T.eq(f:weights_name(), "weights")
  local b = assert(f:read(1, 10))
  T.eq(b.pt.shape, {10, 200})
  T.eq(b.pt.dtype, "f32")
  T.eq(b.jet_pt.shape, {10})
  T.eq(b.labels.dtype, "i64")
  T.eq(b.weights.dtype, "f32")
  T.eq(b.weights_name, "weights")
  T.near(b.pt[1][1], 100, 1e-6)            -- (100 + i) / (j + 1), i = j = 0
  T.near(b.pt[3][4], 102 / 4, 1e-6)
  T.near(b.eta[3][4], 0.03 - 0.2, 1e-6)
  T.near(b.phi[3][4], 0.06 - 1, 1e-6)
  T.near(b.E[3][4], 102 / 4 * math.cosh(0.03 - 0.2), 1e-6)
  T.eq(b.pt[1][6], 0)                      -- jet 1 has 5 real constituents
  T.near(b.jet_pt:tolist(), {500, 510, 520, 530, 540, 550, 560, 570, 580, 590}, 1e-6)
  T.near(b.jet_m[10], 95, 1e-6)
  T.eq(b.labels:tolist(), {0, 1, 0, 1, 0, 1, 0, 1, 0, 1})
  T.near(b.weights[3], 1.0, 1e-6)
  f:close()
  f:close()
end)

T.case("ATLAS 2024: `training_weights`, 80 columns, sorted on read", function()
  local f <close> = assert(jl.io.open_jets(FIX .. "atlas2024.h5", {max_constituents = 200}))
  T.eq(f:columns(), 80)
  T.eq(f:weights_name(), "training_weights")
  local b = assert(f:read())               -- everything
  T.eq(b.pt.shape, {12, 80})
  T.eq(b.weights_name, "training_weights")
  local row = b.pt[4]:tolist()             -- jet 4 is stored in reverse order
  for k = 1, 24 do T.near(row[k], 103 / k, 1e-6) end
  T.eq(row[25], 0)
  T.eq(b.labels[4], 1)
end)

T.case("ranges and max_constituents read a hyperslab", function()
  local f <close> = assert(jl.io.open_jets(FIX .. "atlas2022.h5", {max_constituents = 7}))
  T.eq(f:columns(), 7)
  local b = assert(f:read(4, 4))
  T.eq(b.pt.shape, {4, 7})
  T.near(b.pt[1][1], 103, 1e-6)
  T.near(b.pt[4][7], 106 / 7, 1e-6)
  T.eq(b.labels:tolist(), {1, 0, 1, 0})
  local rest = assert(f:read(9))
  T.eq(rest.pt.shape, {2, 7})
  T.eq(assert(f:read(11, 0)).pt.shape, {0, 7})
end)

T.case("file without weights reads weight 1 and no weights_name", function()
  local f <close> = assert(jl.io.open_jets(FIX .. "atlas_noweights.h5"))
  T.eq(f:weights_name(), nil)
  local b = assert(f:read())
  T.eq(b.weights:tolist(), {1, 1, 1})
  T.eq(b.weights_name, nil)
end)

T.case("PyTables layout, plain and blosc", function()
  for _, name in ipairs({"pytables_plain.h5", "pytables_blosc.h5"}) do
    local f <close> = assert(jl.io.open_jets(FIX .. name))
    T.eq(f:format(), "pytables")
    T.eq(f:columns(), 200)
    local b = assert(f:read())
    T.eq(b.pt.shape, {f:count(), 200})
    T.near(b.pt[1][1], 50, 1e-6)
    T.near(b.pt[3][2], 52 / 2, 1e-6)       -- row 3 is stored reversed
    T.near(b.eta[3][2], 0.05 - 0.2, 1e-5)
    T.eq(b.pt[1][4], 0)                    -- row 1 has 3 constituents
    T.eq(b.labels[1], 1)
    T.eq(b.labels[2], 0)
    T.eq(b.weights[1], 1)
    T.eq(b.weights_name, nil)
  end
  T.eq(jl.io.sniff(FIX .. "pytables_blosc.h5"), "pytables")
  T.eq(jl.io.sniff(FIX .. "atlas2024.h5"), "atlas")
end)

-- failures -------------------------------------------------------------------

T.case("I/O failures return nil, message", function()
  local f, msg = jl.io.open_jets(FIX .. "no_such_file.h5")
  T.eq(f, nil)
  T.ok(msg:find("no_such_file.h5: No such file", 1, true), msg)
  f, msg = jl.io.open_jets(FIX .. "atlas_missing.h5")
  T.eq(f, nil)
  T.ok(msg:find("atlas_missing.h5: missing dataset fjet_clus_phi", 1, true), msg)
  f, msg = jl.io.open_jets(FIX .. "atlas_lengths.h5")
  T.eq(f, nil)
  T.ok(msg:find("fjet_m has 2", 1, true), msg)
  f, msg = jl.io.open_jets(FIX .. "not_hdf5.h5")
  T.eq(f, nil)
  T.ok(msg:find("not an HDF5 file", 1, true), msg)
  local s, why = jl.io.sniff(FIX .. "pytables_nofield.h5")
  T.eq(s, nil)
  T.ok(why:find("values_block_1", 1, true), why)
  local ok, err = jl.io.write_jets("/nonexistent-dir/x.h5", assert(jl.io.open_jets(FIX .. "atlas_noweights.h5")):read())
  T.eq(ok, nil)
  T.ok(err:find("/nonexistent-dir/x.h5", 1, true), err)
  T.eq(jl.io.jets_writer("/nonexistent-dir/y.h5"), nil)
end)

T.case("bad arguments are Lua errors", function()
  local f <close> = assert(jl.io.open_jets(FIX .. "atlas2022.h5"))
  T.raises(function() f:read(0, 1) end, "start 0 outside 1..11")
  T.raises(function() f:read(9, 3) end, "jets 9..11 outside the file's 10 jets")
  T.raises(function() f:read(1, -1) end, "outside")
  T.raises(function() jl.io.open_jets(FIX .. "atlas2022.h5", {max_constituents = 0}) end, "max_constituents")
  T.raises(function() jl.io.open_jets(FIX .. "atlas2022.h5", {max_constituent = 5}) end, "unknown option 'max_constituent'")
  T.raises(function() jl.io.open_jets() end, "string expected")
  local g = assert(jl.io.open_jets(FIX .. "atlas2022.h5"))
  g:close()
  T.raises(function() g:count() end, "closed jets reader")
  T.eq(tostring(g), "JetsReader(closed)")
  T.ok(tostring(f):find("JetsReader%(tests/fixtures/atlas2022.h5, atlas, 10 jets, 200 constituents%)"), tostring(f))
end)

-- writing --------------------------------------------------------------------

T.case("write_jets round trip: padded to 200, sorted, MeV on disk", function()
  local b
  do
    local f <close> = assert(jl.io.open_jets(FIX .. "atlas2024.h5"))
    b = assert(f:read())
  end
  -- scramble the first constituents of jet 2 (101/4 is overwritten by the
  -- padding of column 80): the writer sorts them again
  local perm = jl.tensor({80, 3, 1, 2}, {dtype = "i64"})
  local jet2 = b.pt[2]:index_select(1, perm)
  T.near(jet2:tolist(), {0, 101 / 3, 101, 101 / 2}, 1e-6)
  b.pt[2]:narrow(1, 1, 4):copy_(jet2)
  b.eta[2]:narrow(1, 1, 4):copy_(b.eta[2]:index_select(1, perm))
  local path = tmp_h5("round")
  T.eq(jl.io.write_jets(path, b), true)
  local f <close> = assert(jl.io.open_jets(path))
  T.eq(f:count(), 12)
  T.eq(f:columns(), 200)
  T.eq(f:weights_name(), "training_weights")
  local r = assert(f:read())
  T.eq(r.pt.shape, {12, 200})
  T.near(r.pt[2]:narrow(1, 1, 4):tolist(), {101, 101 / 2, 101 / 3, 101 / 5}, 1e-6)
  T.near(r.eta[2]:narrow(1, 1, 3):tolist(), {-0.1, -0.09, -0.08}, 1e-6)
  T.near(r.pt:narrow(1, 3, 10):narrow(2, 1, 80), b.pt:narrow(1, 3, 10), 1e-6)
  T.near(r.E:narrow(1, 3, 10):narrow(2, 1, 80), b.E:narrow(1, 3, 10), 1e-6)
  T.eq(r.pt:narrow(2, 81, 120):abs():sum():item(), 0)
  T.near(r.jet_m, b.jet_m, 1e-6)
  T.eq(r.labels:tolist(), b.labels:tolist())
  T.near(r.weights, b.weights, 1e-6)
  os.remove(path)
end)

T.case("jets_writer: batches, count, close, <close> and discard", function()
  local src
  do
    local f <close> = assert(jl.io.open_jets(FIX .. "atlas_noweights.h5"))
    src = assert(f:read())
  end
  src.weights = nil
  local path = tmp_h5("writer")
  local w = assert(jl.io.jets_writer(path))
  T.eq(w:write(src), true)
  T.eq(w:write(src), true)
  T.eq(w:count(), 6)
  T.eq(tostring(w), "JetsWriter(6 jets)")
  T.ok(not exists(path), "nothing at the path before close")
  T.eq(w:close(), true)
  T.eq(w:close(), true)
  T.raises(function() w:write(src) end, "closed jets writer")
  local f <close> = assert(jl.io.open_jets(path))
  T.eq(f:count(), 6)
  local r = assert(f:read())
  T.eq(r.weights:tolist(), {1, 1, 1, 1, 1, 1})
  T.near(r.jet_pt:narrow(1, 4, 3), src.jet_pt, 1e-6)
  os.remove(path)

  -- leaving a block by an error discards; a normal exit commits
  local failing = tmp_h5("failing")
  local okay = pcall(function()
    local w2 <close> = assert(jl.io.jets_writer(failing))
    w2:write(src)
    error("boom")
  end)
  T.eq(okay, false)
  T.ok(not exists(failing), "an error inside the block leaves no file")
  local good = tmp_h5("good")
  do
    local w3 <close> = assert(jl.io.jets_writer(good))
    w3:write(src)
  end
  T.ok(exists(good))
  os.remove(good)

  local dropped = tmp_h5("dropped")
  local w4 = assert(jl.io.jets_writer(dropped))
  w4:write(src)
  w4:discard()
  T.ok(not exists(dropped))
end)

T.case("malformed batches are Lua errors", function()
  local src
  do
    local f <close> = assert(jl.io.open_jets(FIX .. "atlas_noweights.h5"))
    src = assert(f:read())
  end
  local w <close> = assert(jl.io.jets_writer(tmp_h5("bad")))
  local broken = {}
  for k, v in pairs(src) do broken[k] = v end
  broken.jet_m = nil
  T.raises(function() w:write(broken) end, "field 'jet_m' must be a tensor, got nil")
  broken.jet_m = jl.zeros(2)
  T.raises(function() w:write(broken) end, "jet_m must be %(3%), got %(2%)")
  broken.jet_m = src.jet_m
  broken.pt = jl.zeros(3, 201)
  T.raises(function() w:write(broken) end, "c <= 200")
  T.raises(function() w:write(42) end, "table expected")
  w:discard()
end)

T.run()
