-- table.insert / table.remove at the end and at positions
local t = {}
for i = 1, 5 do table.insert(t, i * 10) end
table.insert(t, 1, 5)
table.insert(t, 3, 15)
local r1 = table.remove(t)
local r2 = table.remove(t, 1)
local r3 = table.remove({})
return table.concat(t, ","), r1, r2, r3, #t
