-- the global environment: _ENV, _G, rawget/rawset, the libraries the state has
local libs = {}
for _, name in ipairs({ "string", "table", "utf8", "coroutine", "math", "io", "os", "debug", "package", "require" }) do
  libs[#libs + 1] = name .. "=" .. type(_G[name])
end
local env = { x = 5 }
local f = load("return x", "chunk", "t", env)
local g = load("y = 1 return y", "chunk2", "t", {})
counter_global = 3
return table.concat(libs, " "), f(), g(), rawget(_G, "counter_global"), _ENV == _G, _VERSION
