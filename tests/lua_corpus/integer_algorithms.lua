-- integer algorithms: gcd, primes sieve, integer sqrt, powers by squaring, base conversion
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return a end
local sieve, primes = {}, {}
for i = 2, 200 do
  if not sieve[i] then primes[#primes + 1] = i for j = i * i, 200, i do sieve[j] = true end end
end
local function isqrt(n) local x = n local y = (x + 1) // 2 while y < x do x = y y = (x + n // x) // 2 end return x end
local function pow(b, e) local r = 1 while e > 0 do if e & 1 == 1 then r = r * b end b = b * b e = e >> 1 end return r end
local function tobase(n, base)
  local digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", {}
  repeat local d = n % base out[#out + 1] = digits:sub(d + 1, d + 1) n = n // base until n == 0
  return string.reverse(table.concat(out))
end
return gcd(1071, 462), #primes, primes[#primes], isqrt(1000000007), pow(3, 39), pow(2, 64), tobase(255, 2), tobase(123456789, 36)
