-- test_physics.lua — jl.physics from Lua: reading event files, clustering a
-- tensor and a file, result fields, I/O failures as nil + message, bad options
-- as errors naming the option; and the jetlab.cli flag parser.
local T = require "jetlab.test"
local cli = require "jetlab.cli"

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

local function row(p) return string.format("%.17g %.17g %.17g %.17g", p[1], p[2], p[3], p[4]) end

T.case("read_events: one (n, 4) f32 tensor per event", function()
  local path = write_temp("# comment\n1 2 3 10\n4 5 6 20 211\n#END\n#END\n7 8 9 30\n")
  local ev = assert(jl.physics.read_events(path))
  os.remove(path)
  T.eq(#ev, 3)
  T.eq(ev[1].shape, {2, 4})
  T.eq(ev[1].dtype, "f32")
  T.eq(ev[1]:tolist(), {{1, 2, 3, 10}, {4, 5, 6, 20}})
  T.eq(ev[2].shape, {0, 4})
  T.eq(ev[3]:tolist(), {{7, 8, 9, 30}})
end)

T.case("read_events: I/O and format failures are nil, message", function()
  local ev, msg = jl.physics.read_events("/nonexistent/events.dat")
  T.eq(ev, nil)
  T.ok(msg:find("/nonexistent/events.dat: cannot open", 1, true), msg)
  local path = write_temp("1 2 3 4\n1 2 3\n")
  ev, msg = jl.physics.read_events(path)
  T.eq(ev, nil)
  T.ok(msg:find(path .. ":2: expected 4 numbers (px py pz E), got 3", 1, true), msg)
  os.remove(path)
  path = write_temp("")
  ev, msg = jl.physics.cluster_file(path)
  os.remove(path)
  T.eq(ev, nil)
  T.ok(msg:find("no particles", 1, true), msg)
end)

T.case("cluster: near particles merge, far ones do not, E-scheme sum", function()
  local a, b, c = massless(100, 0.1, 1.0), massless(50, 0.25, 1.1), massless(30, -2, 4)
  local t = jl.from({a, b, c}, {dtype = "f32"})
  local jets = jl.physics.cluster(t, {algo = "antikt", r = 0.4})
  T.eq(#jets, 2)
  local j = jets[1]
  T.eq(j.n, 2)
  T.eq(j.constituents, {1, 2})
  T.eq(jets[2].constituents, {3})
  local tl = t:tolist()
  T.near(j.E, tl[1][4] + tl[2][4], 1e-12)
  T.near(j.px, tl[1][1] + tl[2][1], 1e-12)
  T.near(j.pt, math.sqrt(j.px ^ 2 + j.py ^ 2), 1e-12)
  T.near(j.m, math.sqrt(j.E ^ 2 - j.px ^ 2 - j.py ^ 2 - j.pz ^ 2), 1e-9)
  T.ok(j.phi >= 0 and j.phi < 2 * math.pi)
  T.near(jets[2].phi, 4, 1e-6)
  T.near(jets[2].y, -2, 1e-6)
  T.near(jets[2].eta, -2, 1e-6)
  T.ok(jets[1].pt > jets[2].pt, "sorted by decreasing pt")
  T.eq(#jl.physics.cluster(t, {r = 0.1}), 3, "dR = 0.18 > R")
  T.eq(#jl.physics.cluster(t, {r = 0.4, ptmin = 100}), 1, "ptmin")
  T.eq(#jl.physics.cluster(jl.zeros(0, 4)), 0)
end)

T.case("cluster_file: every event, exact doubles, 1-based event numbers", function()
  local p = {massless(100, 0, 0), massless(90, 0.2, 0.1), massless(80, 2, 3)}
  local path = write_temp(row(p[1]) .. "\n" .. row(p[2]) .. "\n#END\n" .. row(p[3]) .. "\n")
  local jets = assert(jl.physics.cluster_file(path, {algo = "kt", r = 0.4}))
  os.remove(path)
  T.eq(#jets, 2)
  T.eq(jets[1].event, 1)
  T.eq(jets[1].constituents, {1, 2})
  T.eq(jets[2].event, 2)
  T.eq(jets[2].constituents, {1})
  T.near(jets[2].pt, 80, 1e-12)
  local pair = write_temp(row(p[1]) .. "\n" .. row(p[2]) .. "\n")
  for _, algo in ipairs({"cambridge", "antikt"}) do
    T.eq(#assert(jl.physics.cluster_file(pair, {algo = algo, r = 0.4})), 1, algo)
  end
  os.remove(pair)
end)

T.case("generalised kt needs p; bad options name the option", function()
  local t = jl.from({massless(10, 0, 0), massless(20, 0.1, 0)})
  T.eq(#jl.physics.cluster(t, {algo = "genkt", p = 0.5, r = 0.4}), 1)
  T.raises(function() jl.physics.cluster(t, {algo = "genkt"}) end, "option 'p' is required")
  T.raises(function() jl.physics.cluster(t, {algo = "kt", p = 1}) end, "option 'p' is only for")
  T.raises(function() jl.physics.cluster(t, {algo = "siscone"}) end, "option 'algo'")
  T.raises(function() jl.physics.cluster(t, {r = 0}) end, "option 'r'")
  T.raises(function() jl.physics.cluster(t, {r = "big"}) end, "option 'r' must be a number")
  T.raises(function() jl.physics.cluster(t, {ptmin = -1}) end, "option 'ptmin'")
  T.raises(function() jl.physics.cluster(t, {R = 0.4}) end, "unknown option 'R'")
  T.raises(function() jl.physics.cluster(jl.zeros(3, 3)) end, "%(n, 4%)")
  T.raises(function() jl.physics.cluster(jl.from({{1, 0, 0, 0 / 0}})) end, "non%-finite")
  T.raises(function() jl.physics.cluster_file("x.dat", {algo = 1}) end, "option 'algo'")
end)

-- --- jetlab.cli -------------------------------------------------------------

local spec = {
  name = "jetlab demo",
  usage = "jetlab demo [options] FILE",
  options = {
    {"events", "string", help = "event file", required = true},
    {"algo", "string", "antikt", help = "algorithm", choices = {"antikt", "kt"}},
    {"r", "number", 1.0, help = "radius"},
    {"n", "integer", 3, help = "count"},
    {"verbose", "boolean", false, help = "more output"},
  },
}

T.case("cli.parse: values, defaults, booleans, positionals", function()
  local o = assert(cli.parse({"--events", "a.dat", "--r=0.4", "pos", "--verbose", "--n", "-2"}, spec))
  T.eq(o.events, "a.dat")
  T.eq(o.r, 0.4)
  T.eq(o.n, -2)
  T.eq(math.type(o.n), "integer")
  T.eq(o.algo, "antikt")
  T.eq(o.verbose, true)
  T.eq(o[1], "pos")
  o = assert(cli.parse({"--events", "b", "--no-verbose", "--", "--r"}, spec))
  T.eq(o.verbose, false)
  T.eq(o.r, 1.0)
  T.eq(o[1], "--r")
  T.eq(cli.parse({"--help"}, spec).help, true)
  T.eq(cli.parse({"-h", "--bogus"}, spec).help, true)
end)

T.case("cli.parse: bad usage is nil, message", function()
  local function err(args) return select(2, cli.parse(args, spec)) end
  T.eq(err({}), "missing --events")
  T.eq(err({"--events", "a", "--bogus"}), "unknown option --bogus")
  T.eq(err({"--events", "a", "--r", "x"}), "--r expects a number, got 'x'")
  T.eq(err({"--events", "a", "--n", "1.5"}), "--n expects an integer, got '1.5'")
  T.eq(err({"--events", "a", "--algo", "cone"}), "--algo must be one of antikt, kt, got 'cone'")
  T.eq(err({"--events"}), "--events needs a value")
  T.eq(err({"--events", "a", "--verbose=1"}), "--verbose takes no value")
  T.eq(err({"--events", "a", "--no-r"}), "unknown option --no-r")
end)

T.case("cli.help lists every option with its default", function()
  local h = cli.help(spec)
  T.ok(h:find("^usage: jetlab demo %[options%] FILE"), h)
  T.ok(h:find("--events TEXT%s+event file %[required%]"), h)
  T.ok(h:find("--algo TEXT%s+algorithm %(antikt|kt%) %[default: antikt%]"), h)
  T.ok(h:find("--n INTEGER%s+count %[default: 3%]"), h)
  T.ok(h:find("--verbose%s+more output"), h)
  T.ok(h:find("--help"), h)
end)

T.run()
