-- error/pcall/xpcall with messages, levels, non-string error values, assert
local function lvl1() error("level one") end
local function lvl0() error("no position", 0) end
local function lvl2() error("caller's fault", 2) end
local ok1, e1 = pcall(lvl1)
local ok2, e2 = pcall(lvl0)
local ok3, e3 = pcall(function() lvl2() end)
local ok4, e4 = pcall(error, { code = 42 })
local ok5, e5 = pcall(assert, false, "assertion text")
local ok6, e6 = pcall(assert, nil)
local ok7, e7 = xpcall(function() error("x") end, function(m) return "handled: " .. m end)
local ok8, e8 = pcall(function() local t = nil return t.field end)
local ok9, e9 = pcall(function() return 1 + {} end)
local ok10, e10 = pcall(function() return #5 end)
return ok1, e1, ok2, e2, ok3, e3, ok4, e4.code, ok5, e5, ok6, e6, ok7, e7, ok8, e8, ok9, e9, ok10, e10
