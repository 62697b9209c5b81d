-- arbitrary-precision addition and multiplication on decimal strings
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and a:byte(i) - 48 or 0) + (j > 0 and b:byte(j) - 48 or 0)
    out[#out + 1] = d % 10
    carry = d // 10
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end
local function mul_small(a, k)
  local r = "0"
  for _ = 1, k do r = add(r, a) end
  return r
end
local f = "1"
for k = 2, 30 do f = mul_small(f, k) end
local fib_a, fib_b = "0", "1"
for _ = 1, 150 do fib_a, fib_b = fib_b, add(fib_a, fib_b) end
return f, fib_a, #fib_a
