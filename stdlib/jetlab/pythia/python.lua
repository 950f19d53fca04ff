-- jetlab.pythia.python — the Python interpreter that has Pythia 8 (PyPI's
-- pythia8mc): $JETLAB_PYTHIA_PYTHON, else .venv-pythia/bin/python at the root of
-- the jetlab tree (made by scripts/install-pythia.sh).
--
--   local python = require "jetlab.pythia.python"
--   local py, err = python.find()     -- nil, "Pythia 8 is not installed: run bash .../install-pythia.sh ..."

local fs = require "jetlab.fs"
local paths = require "jetlab.paths"

local python = {}

local ROOT = paths.stdlib:match("^(.*)/[^/]+$") or "."

--- python.INSTALL: the command that installs Pythia 8 for jetlab.
python.INSTALL = "bash " .. ROOT .. "/scripts/install-pythia.sh"

--- python.find() → the interpreter's path, or nil and a message naming the install command.
function python.find()
  local py = os.getenv("JETLAB_PYTHIA_PYTHON") or ROOT .. "/.venv-pythia/bin/python"
  if os.execute(fs.quote(py) .. " -c 'import pythia8mc' >/dev/null 2>&1") then return py end
  return nil, string.format("Pythia 8 is not installed (%s cannot import pythia8mc): run `%s`", py, python.INSTALL)
end

return python
