-- test_fs.lua — jetlab.fs: shell quoting that survives spaces and quotes,
-- nested mkdir, atomic writes that leave no partial file, temporary folders
-- removed also when the block fails.
local T = require "jetlab.test"
local fs = require "jetlab.fs"

-- What the shell prints for `printf %s <quoted s>`: s itself when the quoting is right.
local function echoed(s)
  local p = io.popen("printf %s " .. fs.quote(s))
  local out = p:read("a")
  p:close()
  return out
end

T.case("quote: the shell reads back spaces, quotes, $ and backslashes unchanged", function()
  for _, s in ipairs({"plain", "two words", "it's", "'", "''", [["double" and 'single']], "$HOME `id` \\n *", ""}) do
    T.eq(echoed(s), s)
  end
  T.eq(fs.quote("it's"), [['it'\''s']])
  T.eq(fs.quote(12), "'12'")
  T.eq(fs.command({"printf", "%s|", "a b", "c'd"}), [['printf' '%s|' 'a b' 'c'\''d']])
end)

T.case("command: the words reach the program one by one", function()
  local p = io.popen(fs.command({"printf", "<%s>", "a b", "it's", ""}))
  T.eq(p:read("a"), "<a b><it's><>")
  p:close()
end)

T.case("mkdir: nested folders, names with spaces and quotes; existing ones are fine", function()
  fs.with_tmpdir(function(dir)
    local deep = dir .. "/a b/it's/c"
    fs.mkdir(deep)
    fs.mkdir(deep)
    fs.write(deep .. "/x.txt", "x")
    T.eq(fs.read(deep .. "/x.txt"), "x")
    T.eq(fs.list(dir), {"a b"})
    fs.write(dir .. "/file", "")
    T.raises(function() fs.mkdir(dir .. "/file/sub") end, "fs: cannot create the folder .*/file/sub")
  end)
end)

T.case("write: the whole text, no .tmp left; a second write replaces the first", function()
  fs.with_tmpdir(function(dir)
    local path = dir .. "/out.txt"
    fs.write(path, "first\n")
    fs.write(path, "second\0binary\n")
    T.eq(fs.read(path), "second\0binary\n")
    T.eq(fs.list(dir), {"out.txt"})
    T.raises(function() fs.write(dir .. "/missing/x.txt", "x") end, "fs: cannot write .*missing/x.txt.tmp")
    T.eq(fs.list(dir), {"out.txt"})
  end)
end)

T.case("atomic_write: an error in the middle leaves the old file and no partial one", function()
  fs.with_tmpdir(function(dir)
    local path = dir .. "/data.txt"
    fs.write(path, "old")
    local seen
    T.raises(function()
      fs.atomic_write(path, function(tmp)
        seen = tmp
        local f = assert(io.open(tmp, "w"))
        f:write("half of the new")
        f:close()
        error("disk full")
      end)
    end, "disk full")
    T.eq(seen, path .. ".tmp")
    T.eq(fs.read(path), "old")
    T.ok(not fs.exists(seen), "the partial file is removed")
    T.eq(fs.list(dir), {"data.txt"})
    local fresh = dir .. "/fresh.txt"
    T.raises(function() fs.atomic_write(fresh, function() error("no") end) end, "no")
    T.ok(not fs.exists(fresh), "no file where there was none")
    fs.atomic_write(fresh, function(tmp) assert(io.open(tmp, "w")):close() end, dir .. "/own.tmp")
    T.eq(fs.list(dir), {"data.txt", "fresh.txt"})
  end)
end)

T.case("read and exists: nil and a message for a missing file", function()
  fs.with_tmpdir(function(dir)
    local text, err = fs.read(dir .. "/none")
    T.eq(text, nil)
    T.ok(err:find("none", 1, true), err)
    T.ok(not fs.exists(dir .. "/none"))
    T.ok(fs.exists(dir), "a folder exists")
    T.eq(fs.list(dir .. "/none"), {})
  end)
end)

T.case("list: sorted, hidden names included", function()
  fs.with_tmpdir(function(dir)
    for _, name in ipairs({"b", ".hidden", "a c", "A"}) do fs.write(dir .. "/" .. name, name) end
    T.eq(fs.list(dir), {".hidden", "A", "a c", "b"})
  end)
end)

T.case("with_tmpdir: a fresh empty folder, removed after the block, also after an error", function()
  local kept
  local a, b = fs.with_tmpdir(function(dir)
    kept = dir
    T.eq(fs.list(dir), {})
    fs.mkdir(dir .. "/x y/z")
    fs.write(dir .. "/x y/z/f", "f")
    return 1, 2
  end)
  T.eq({a, b}, {1, 2})
  T.ok(kept and not fs.exists(kept), "removed after the block")
  local other
  T.raises(function()
    fs.with_tmpdir(function(dir)
      other = dir
      T.ok(dir ~= kept, "a new folder each time")
      fs.write(dir .. "/f", "f")
      error("block failed")
    end)
  end, "block failed")
  T.ok(other and not fs.exists(other), "removed after an error too")
end)

T.case("remove_tree: refuses the root and the empty path", function()
  T.raises(function() fs.remove_tree("/") end, "refusing")
  T.raises(function() fs.remove_tree("") end, "refusing")
  local dir = fs.tmpdir()
  fs.write(dir .. "/it's", "x")
  fs.remove_tree(dir)
  T.ok(not fs.exists(dir))
end)

T.run()
