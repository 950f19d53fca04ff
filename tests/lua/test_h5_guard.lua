-- test_h5_guard.lua — files that crash HDF5 itself (tests/fuzz/hdf5_crashes)
-- through the Lua API: jl.io.open_jets, data.open and ckpt.load return an
-- error naming the file and saying it is corrupt, and the process goes on
-- (a tensor made before is intact, a good file reads). The C side, every
-- file and both isolation levels: tests/c/test_h5_guard.c.
local T = require "jetlab.test"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"

local CRASHES = "tests/fuzz/hdf5_crashes/"
local FATAL = {"h5lexists_accum_read_segv.h5", "h5dget_type_fpe.h5", "conv_struct_use_after_free.h5"}

T.case("jets files that crash HDF5 are errors naming the file", function()
  local keep = jl.from({1, 2, 3})
  for _, name in ipairs(FATAL) do
    local path = CRASHES .. name
    local r, err = jl.io.open_jets(path)
    T.ok(r == nil, name .. " opened")
    T.ok(err:find(path, 1, true) and err:find("the file is corrupt", 1, true), err)
    local ds, derr = data.open(path)
    T.ok(ds == nil and derr:find(path, 1, true) and derr:find("the file is corrupt", 1, true), tostring(derr))
    local good = assert(jl.io.open_jets("tests/fixtures/atlas2024.h5"))
    T.eq(good:read(1, 2).pt:size(1), 2)
  end
  T.eq(keep:tolist(), {1, 2, 3})
end)

T.case("checkpoints that crash HDF5 are errors naming the file", function()
  for _, name in ipairs{"h5lexists_accum_read_segv.h5", "h5dget_type_fpe.h5"} do
    local path = CRASHES .. name
    local c, err = ckpt.load(path)
    T.ok(c == nil, name .. " loaded")
    T.ok(err:find(path, 1, true) and err:find("HDF5 crashed", 1, true), err)
  end
end)

T.run()
