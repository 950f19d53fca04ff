-- jetlab.pythia.blocks — the side folder of a Pythia run, next to its output
-- (OUT.partial/): the jets of each finished block, so that an interrupted run
-- resumes where it stopped, and the settings they were made with.
--
--   local blocks = require "jetlab.pythia.blocks"
--   local store = blocks.open("top.h5.partial", settings_text, resume)   -- raises on a clash
--   local b = store:done("signal")            -- blocks 0 .. b-1 of the class are saved
--   store:save("signal", b, batch)            -- batch: events.rows(...):batch()
--   local batch = store:load("signal", 0)
--   store:remove()

local fs = require "jetlab.fs"

local blocks = {}

local Store = {}
Store.__index = Store

local SETTINGS = "settings.txt"

--- blocks.open(dir, settings, resume) → store. A folder left by an earlier run
--- is taken up with resume when it was made with the same settings text; any
--- other case is an error naming what to do.
function blocks.open(dir, settings, resume)
  local old = fs.read(dir .. "/" .. SETTINGS)
  if old and not resume then
    error(string.format("%s holds the blocks of an interrupted run: add --resume to continue it, or remove it", dir), 0)
  end
  if old and old ~= settings then
    error(string.format("--resume: %s was made with other settings (see its %s); remove it or rerun with those",
                        dir, SETTINGS), 0)
  end
  if not old then
    fs.mkdir(dir)
    fs.write(dir .. "/" .. SETTINGS, settings)
  end
  return setmetatable({dir = dir}, Store)
end

function Store:path(class, b)
  return string.format("%s/%s-%06d.h5", self.dir, class, b)
end

--- store:done(class) → how many blocks of class, from block 0 on, are saved.
function Store:done(class)
  local b = 0
  while fs.exists(self:path(class, b)) do b = b + 1 end
  return b
end

--- store:save(class, b, batch) writes block b's jets (the file appears whole or not at all).
function Store:save(class, b, batch)
  local path = self:path(class, b)
  fs.atomic_write(path, function(tmp) assert(jl.io.write_jets(tmp, batch)) end, path .. ".tmp")
end

--- store:load(class, b) → block b's jets as a batch.
function Store:load(class, b)
  local f <close> = assert(jl.io.open_jets(self:path(class, b)))
  return assert(f:read(1, f:count()))
end

--- store:count(class, b) → the number of jets in block b.
function Store:count(class, b)
  local f <close> = assert(jl.io.open_jets(self:path(class, b)))
  return f:count()
end

function Store:remove()
  fs.remove_tree(self.dir)
end

return blocks
