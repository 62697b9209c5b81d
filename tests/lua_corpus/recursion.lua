-- recursion: factorial, fibonacci with memo, ackermann (small), tail calls
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
local memo = {}
local function fib(n)
  if n < 2 then return n end
  if memo[n] then return memo[n] end
  local v = fib(n - 1) + fib(n - 2)
  memo[n] = v
  return v
end
local function ack(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, n - 1))
end
local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + n) end
return fact(20), fact(21), fib(90), ack(2, 3), loop(10000, 0)
