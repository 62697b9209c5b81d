-- coroutine.wrap generators
local function range(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i) end
  end)
end
local out = {}
for i in range(5) do out[#out + 1] = i * i end
local fib = coroutine.wrap(function()
  local a, b = 0, 1
  while true do coroutine.yield(a) a, b = b, a + b end
end)
local f = {}
for _ = 1, 15 do f[#f + 1] = fib() end
return table.concat(out, ","), table.concat(f, ",")
