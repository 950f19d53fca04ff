-- jetlab.repl.help — what the REPL's `?name`, `?` and help(obj) print: the
-- usage line and doc comment of a Lua function (its `---` lines), of a C
-- function (the table scripts/gen_c_docs.py generates from bindings/*.c,
-- loaded as jetlab.c_docs), the header and members of a module, the tree and
-- parameter count of a model; `?` alone lists the modules.
--
--   local help = require "jetlab.repl.help"
--   print(help.text(jl.randn))     -- "jl.randn(3, 4[, opts]): standard normal." ...
--   print(help.modules())

local names = require "jetlab.repl.names"
local doc = require "jetlab.repl.doc_comments"

local help = {}

local function c_docs()
  local ok, docs = pcall(require, "jetlab.c_docs")
  return ok and docs or {}
end

-- The C doc entry of the function at path: by its full name, else the one
-- entry with the same last name ("jl.sum" finds "t:sum").
local function c_doc_for(path)
  local docs = c_docs()
  if docs[path] then return docs[path] end
  local last = path:match("[%w_]+$")
  local found
  for name, entry in pairs(docs) do
    if name:match("[.:]([%w_]+)$") == last then
      if found then return nil end
      found = entry
    end
  end
  return found
end

local function module_name(v)
  for name, mod in pairs(package.loaded) do
    if mod == v and type(name) == "string" then return name end
  end
  return nil
end

-- The members of a table on lines of at most 78 characters.
local function member_lines(v)
  local out, line = {}, "members:"
  for _, k in ipairs(names.members(v)) do
    if #line + #k + 1 > 78 then
      out[#out + 1] = line
      line = "  "
    end
    line = line .. " " .. k
  end
  out[#out + 1] = line
  return out
end

local function function_text(f, path)
  local lines = doc.of_function(f)
  if lines then
    local file, line = doc.file_of(f)
    lines[#lines + 1] = string.format("  (%s:%d)", file:match("stdlib/.*$") or file, line)
    return table.concat(lines, "\n")
  end
  local entry = path and c_doc_for(path)
  if entry then return entry.doc .. "\n  (C: bindings/" .. entry.file .. ")" end
  return (path or "function") .. ": a C function without a doc comment"
end

-- The header of the file of a table: its module's, else the file defining
-- one of its Lua functions (a class).
local function table_header(v)
  local modname = module_name(v)
  local path = modname and package.searchpath(modname, package.path)
  if not path then
    for _, k in ipairs(names.members(v)) do
      local f = rawget(v, k)
      if type(f) == "function" then
        path = doc.file_of(f)
        if path then break end
      end
    end
  end
  return doc.header(path)
end

local function is_module_instance(v)
  local ok, nn = pcall(require, "jetlab.nn")
  return ok and nn.Module and nn.Module.is_module(v)
end

--- help.text(v[, path]) → the help of value v (path: how it was named).
function help.text(v, path)
  path = path or names.path_of(v)
  local jl = rawget(_G, "jl")
  if type(v) == "function" then return function_text(v, path) end
  if jl and jl.is_tensor(v) then
    return string.format("tensor %s %s on %s: its methods are listed by t:<Tab>; ?t:sum for one",
      jl.shape_str(v), v.dtype, v.device)
  end
  if type(v) == "table" and is_module_instance(v) then
    return string.format("%s\nparameters: %d (trainable %d)", tostring(v), v:num_parameters(),
      v:num_parameters({trainable = true}))
  end
  if type(v) == "table" then
    local lines = table_header(v) or {(path or "table") .. ": a table"}
    for _, line in ipairs(member_lines(v)) do lines[#lines + 1] = line end
    local docs = c_docs()
    for _, k in ipairs(path and names.members(v) or {}) do
      local entry = docs[path .. "." .. k]
      if entry then lines[#lines + 1] = "  " .. entry.usage end
    end
    return table.concat(lines, "\n")
  end
  return string.format("%s: a %s (%s)", path or "value", type(v), tostring(v))
end

--- help.lookup(path) → the help of what "a.b.c" or "x:m" names (globals, then
--- the stdlib modules: ?train.fit), or a line saying nothing is there.
function help.lookup(path)
  local v = names.resolve(path)
  if v == nil then return "?" .. path .. ": nothing by that name" end
  return help.text(v, path:gsub("^[%a_][%w_]*:", "t:"))
end

-- "<description>" of a module file's first line "-- jetlab.x — <description>".
local function summary(path)
  local lines = doc.header(path)
  return lines and lines[1]:match("—%s*(.*)$") or ""
end

--- help.modules() → the stdlib modules and the C submodules of jl, one a line with their summary.
function help.modules()
  local fs = require "jetlab.fs"
  local stdlib = package.loaded["jetlab.paths"] and package.loaded["jetlab.paths"].stdlib
  local lines = {"modules (require \"jetlab.<name>\", or ?<name> for one; jl.<name> for the C ones):"}
  if stdlib then
    for _, entry in ipairs(fs.list(stdlib .. "/jetlab")) do
      local name = entry:match("^([%w_]+)%.lua$") or entry
      local path = package.searchpath("jetlab." .. name, package.path)
      if path and name ~= "init" then lines[#lines + 1] = string.format("  %-12s %s", name, summary(path)) end
    end
  end
  local jl = rawget(_G, "jl")
  local c_modules = {}
  for k, v in pairs(jl and jl.core or {}) do
    if type(v) == "table" and k ~= "Tensor" then c_modules[#c_modules + 1] = "jl." .. k end
  end
  table.sort(c_modules)
  lines[#lines + 1] = "  C: " .. table.concat(c_modules, " ")
  return table.concat(lines, "\n")
end

return help
