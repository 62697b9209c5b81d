-- string.gsub with strings, tables, functions and counts
local s = "the quick brown fox"
local a, na = s:gsub("o", "0")
local b, nb = s:gsub("(%w+)", "<%1>", 2)
local c = s:gsub("%w+", { quick = "slow", fox = "dog" })
local d = s:gsub("%w+", function(w) return #w end)
local e = ("abc"):gsub("", "-")
return a, na, b, nb, c, d, e
