-- metatables: __index, __newindex, __call, __tostring, __len, __eq, __lt, __le, __concat, __unm, arithmetic
local V = {}
V.__index = V
local function vec(x, y) return setmetatable({ x = x, y = y }, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
V.__mul = function(a, k) return vec(a.x * k, a.y * k) end
V.__idiv = function(a, k) return vec(a.x // k, a.y // k) end
V.__mod = function(a, k) return vec(a.x % k, a.y % k) end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return a.x < b.x end
V.__le = function(a, b) return a.x <= b.x end
V.__len = function(a) return a.x * a.x + a.y * a.y end
V.__tostring = function(a) return "(" .. a.x .. "," .. a.y .. ")" end
V.__concat = function(a, b) return tostring(a) .. tostring(b) end
V.__call = function(a, k) return a.x * k + a.y end
V.__band = function(a, b) return vec(a.x & b.x, a.y & b.y) end
V.__shl = function(a, k) return vec(a.x << k, a.y << k) end
function V:dot(o) return self.x * o.x + self.y * o.y end
local a, b = vec(3, 4), vec(1, 2)
local log = {}
local proxy = setmetatable({}, { __newindex = function(t, k, v) log[#log + 1] = k rawset(t, k, v) end })
proxy.first = 1 proxy.first = 2 proxy.second = 3
return tostring(a + b), tostring(a - b), tostring(a * 3), tostring(a // 2), tostring(a % 2), tostring(-a),
  a == vec(3, 4), a < b, b <= a, #a, a .. b, a(10), a:dot(b), tostring(a & b), tostring(b << 2), table.concat(log, ","),
  getmetatable(a) == V, rawequal(a, vec(3, 4)), rawlen({ 1, 2 })
