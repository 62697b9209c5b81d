-- length operator, ipairs, nested tables and counting keys in a stable way
local t = { 1, 2, 3, x = 1, y = 2 }
local n = 0
for _ in pairs(t) do n = n + 1 end
local keys = {}
for k in pairs({ b = 1, a = 2, c = 3 }) do keys[#keys + 1] = k end
table.sort(keys)
local nested = { { 1, 2 }, { 3, { 4, 5 } } }
local sum = 0
for _, v in ipairs(t) do sum = sum + v end
return #t, n, table.concat(keys), nested[2][2][2], sum, #"", #{ n = 1 }
