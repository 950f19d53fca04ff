-- jetlab.repl.doc_comments — the doc comments of Lua code, read from its
-- source file: the `---` lines right above a function's definition (the
-- stdlib's "--- f(args) → result" usage lines) and the `--` header of a file.
--
--   local doc = require "jetlab.repl.doc_comments"
--   doc.of_function(require("jetlab.train").fit)  -- {"train.fit{...} → history (see the header)."}
--   doc.header(package.searchpath("jetlab.fs", package.path))

local doc_comments = {}

local files = {}

local function lines_of(path)
  if files[path] == nil then
    local lines = false
    local f = io.open(path, "r")
    if f then
      lines = {}
      for line in f:lines() do lines[#lines + 1] = line end
      f:close()
    end
    files[path] = lines
  end
  return files[path] or nil
end

--- doc_comments.file_of(f) → the source file of a Lua function and the line
--- of its definition, or nil (C functions, chunks typed at the REPL).
function doc_comments.file_of(f)
  local info = debug.getinfo(f, "S")
  if info.what == "C" or info.source:sub(1, 1) ~= "@" then return nil end
  return info.source:sub(2), info.linedefined
end

--- doc_comments.of_function(f) → the `---` lines above f's definition without
--- their dashes, else {its definition line}; nil when its source is not a file.
function doc_comments.of_function(f)
  local path, line = doc_comments.file_of(f)
  local lines = path and lines_of(path)
  if not lines or not lines[line] then return nil end
  local out = {}
  local i = line - 1
  while i >= 1 and lines[i]:match("^%s*%-%-%-") do i = i - 1 end
  for k = i + 1, line - 1 do out[#out + 1] = lines[k]:match("^%s*%-%-%-%s?(.*)$") end
  if #out == 0 then out[1] = lines[line]:match("^%s*(.-)%s*$") end
  return out
end

--- doc_comments.header(path) → the comment lines at the top of a Lua file
--- without their dashes (nil when it has none or cannot be read).
function doc_comments.header(path)
  local lines = path and lines_of(path)
  if not lines then return nil end
  local out = {}
  for _, line in ipairs(lines) do
    local text = line:match("^%-%-+%s?(.*)$")
    if not text then break end
    out[#out + 1] = text
  end
  if #out == 0 then return nil end
  return out
end

return doc_comments
