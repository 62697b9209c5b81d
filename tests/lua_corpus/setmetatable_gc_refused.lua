-- Lunatik refuses __gc metamethods in setmetatable (kernel/lua/README.md 18); the model does the same
local function try(...) local ok, e = pcall(setmetatable, ...) return tostring(ok) .. ":" .. tostring(e) end
local plain = setmetatable({}, { __index = { x = 1 } })
local ok1, e1 = pcall(function() local t = setmetatable({}, { __gc = function() end }) return t end)
local mt = { __gc = false }
local prot = setmetatable({}, { __metatable = "locked" })
return plain.x, ok1, e1, try({}, mt), try(prot, { __gc = 1 }), try(1, {}), try({}, "x"), try({}),
  select("#", setmetatable({}, nil))
