-- varargs: select, table.pack, multiple returns adjusted, nil holes
local function count(...) return select("#", ...) end
local function pass(...) return ... end
local function firsts(...) local a, b = ... return a, b end
local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + (select(i, ...) or 0) end
  return s
end
return count(), count(nil), count(nil, nil), count(pass(1, 2, 3)), firsts(9), sum(1, nil, 3, nil, 5), (pass(7, 8)), pass()
