-- load of text chunks inside Lua, syntax errors from load, string.dump refused by mode "t"
local f = load("local a, b = ... return a * b")
local bad, err = load("return +", "=bad")
local parts = { "return ", "1 ", "+ 41" }
local i = 0
local g = load(function() i = i + 1 return parts[i] end)
local bin = string.dump(function() return 1 end)
local nob, berr = load(bin, "bin", "t")
return f(6, 7), bad, err, g(), nob, berr
