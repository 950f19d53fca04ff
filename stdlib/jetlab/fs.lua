-- jetlab.fs — the file-system helpers the rest of the stdlib, the experiments
-- and the tests share: shell quoting, folders, atomic writes, temporary folders.
--
--   local fs = require "jetlab.fs"
--   os.execute("ls " .. fs.quote("it's here"))   -- ls 'it'\''s here'
--   fs.mkdir("results/a/b")                      -- mkdir -p; raises when it cannot
--   fs.write("results/a/b/x.txt", "text")        -- x.txt.tmp, then renamed over x.txt
--   fs.with_tmpdir(function(dir) ... end)        -- a fresh folder, removed afterwards
--
-- Errors are raised as plain messages ("fs: cannot ..."), without a position.

local fs = {}

--- fs.quote(s) → s (tostring'd) quoted for the POSIX shell.
function fs.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- fs.command(words) → the words quoted (fs.quote) and joined by spaces: a shell command line.
function fs.command(words)
  local out = {}
  for i, w in ipairs(words) do out[i] = fs.quote(w) end
  return table.concat(out, " ")
end

--- fs.exists(path) → true when path can be opened for reading.
function fs.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- fs.read(path) → the whole file as a string, or nil and io.open's message.
function fs.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

--- fs.mkdir(dir) creates dir and its parents; raises when it cannot.
function fs.mkdir(dir)
  if not os.execute("mkdir -p " .. fs.quote(dir)) then
    error("fs: cannot create the folder " .. dir, 0)
  end
end

--- fs.atomic_write(path, fill[, tmp]) calls fill(tmp) (tmp defaults to
--- path .. ".tmp"), then renames tmp over path. When fill raises, tmp is
--- removed and the error raised again: path is either the old file or the new.
function fs.atomic_write(path, fill, tmp)
  tmp = tmp or path .. ".tmp"
  local ok, err = pcall(fill, tmp)
  if not ok then
    os.remove(tmp)
    error(err, 0)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    error("fs: cannot rename " .. tmp .. ": " .. tostring(rerr), 0)
  end
end

--- fs.write(path, text) writes text to path atomically (see fs.atomic_write).
--- Under MPI (`mpirun -n K`) only rank 0 writes: every rank runs the same
--- script and rank 0's files are the results (jetlab.dist); elsewhere it does nothing.
function fs.write(path, text)
  if not require("jetlab.dist").writer() then return end
  fs.atomic_write(path, function(tmp)
    local f, err = io.open(tmp, "wb")
    if not f then error("fs: cannot write " .. tostring(err), 0) end
    local ok, werr = f:write(text)
    f:close()
    if not ok then error("fs: cannot write " .. tmp .. ": " .. tostring(werr), 0) end
  end)
end

--- fs.list(dir) → the names in dir (hidden ones too, not . and ..), sorted;
--- an empty list when dir cannot be read.
function fs.list(dir)
  local names = {}
  local p = io.popen("ls -1A " .. fs.quote(dir) .. " 2>/dev/null")
  if p then
    for line in p:lines() do names[#names + 1] = line end
    p:close()
  end
  table.sort(names)
  return names
end

--- fs.tmpdir() → the path of a new empty folder under $TMPDIR (or /tmp).
function fs.tmpdir()
  local p = io.popen("mktemp -d 2>/dev/null")
  local dir = p and p:read("l")
  if p then p:close() end
  if not dir or dir == "" then error("fs: cannot create a temporary folder", 0) end
  return dir
end

--- fs.remove_tree(path) removes path and everything below it; raises when it cannot.
function fs.remove_tree(path)
  assert(type(path) == "string" and path ~= "" and path ~= "/", "fs.remove_tree: refusing to remove " .. tostring(path))
  if not os.execute("rm -rf " .. fs.quote(path)) then error("fs: cannot remove " .. path, 0) end
end

--- fs.with_tmpdir(fn) → fn(dir)'s results, dir a fresh folder removed
--- afterwards, also when fn raises (the error is raised again).
function fs.with_tmpdir(fn)
  local dir = fs.tmpdir()
  local out = table.pack(pcall(fn, dir))
  fs.remove_tree(dir)
  if not out[1] then error(out[2], 0) end
  return table.unpack(out, 2, out.n)
end

return fs
