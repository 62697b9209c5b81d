-- closures sharing upvalues, counters, closures in loops
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
inc() inc() inc()
local fs = {}
for i = 1, 5 do fs[i] = function() return i * 10 end end
local acc = {}
for i = 1, 5 do acc[i] = fs[i]() end
local function compose(f, g) return function(...) return f(g(...)) end end
local add1 = function(x) return x + 1 end
local dbl = function(x) return x * 2 end
return get(), table.concat(acc, ","), compose(add1, dbl)(20), compose(dbl, add1)(20)
