-- table.sort default and with a comparator; table.move
local t = { 5, 3, 9, -1, 0, 42, 7, 3 }
table.sort(t)
local s = { "pear", "apple", "fig", "banana" }
table.sort(s, function(a, b) return #a < #b or (#a == #b and a < b) end)
local r = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }
table.sort(r, function(a, b) return a > b end)
local m = table.move({ 1, 2, 3 }, 1, 3, 2, { 9 })
return table.concat(t, ","), table.concat(s, ","), table.concat(r, ","), table.concat(m, ",")
