-- jets_file.lua — random jets files in the ATLAS layout that the data suites
-- share (test_data.lua, test_data_cache.lua, test_dist_shard_source.lua; a
-- helper, not a suite: ctest runs only test_*.lua). Load it with
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local jets_file = require "jets_file"
--   local path = jets_file(n, c, seed[, {empty = true}])

--- jets_file(n, c, seed[, {empty = true}]) → the path of a new file of n jets with
--- c constituent columns (1..c real ones each; with empty, about 1 jet in c+2 has
--- none), labels 0/1 and weights in [0, 1), written with jl.io; seeds jl first.
return function(n, c, seed, opts)
  jl.manual_seed(seed)
  local counts = (opts and opts.empty) and jl.randint(-1, c + 1, n, 1):clamp(0, c) or jl.randint(1, c + 1, n, 1)
  local mask = jl.arange(c, {dtype = "i64"}):view(1, c):lt(counts):to("f32")
  local pt = (jl.rand(n, c) * 200 + 0.5) * mask
  local eta = (jl.randn(n, c) * 0.4 + jl.randn(n, 1)) * mask
  local phi = ((jl.rand(n, c) * 2 - 1) * 3.1) * mask
  local E = pt * ((eta:exp() + (-eta):exp()) * 0.5)
  local path = os.tmpname() .. ".h5"
  assert(jl.io.write_jets(path, {
    pt = pt, eta = eta, phi = phi, E = E, jet_pt = pt:sum(2), jet_eta = jl.zeros(n), jet_phi = jl.zeros(n),
    jet_m = jl.zeros(n), labels = jl.randint(0, 2, n), weights = jl.rand(n),
  }))
  return path
end
