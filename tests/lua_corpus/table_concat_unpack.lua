-- table.concat with separators and ranges, table.unpack, table.pack, select
local t = { 1, 2, "three", 4 }
local p = table.pack(10, nil, 30)
return table.concat(t), table.concat(t, ", "), table.concat(t, "-", 2, 3), table.concat({}, "x"),
  table.unpack(t, 2, 3), p.n, select("#", table.unpack(p, 1, p.n)), select(2, "a", "b", "c"), select(-1, "a", "b")
