-- coroutine.create/resume/status/isyieldable/running and passing values both ways
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b, coroutine.isyieldable())
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
local r = { coroutine.status(co) }
local ok1, s1, y1 = coroutine.resume(co, 1, 2)
r[#r + 1] = tostring(ok1) .. "," .. s1 .. "," .. tostring(y1) .. "," .. coroutine.status(co)
local ok2, s2 = coroutine.resume(co, 10)
r[#r + 1] = tostring(ok2) .. "," .. s2
local ok3, s3 = coroutine.resume(co, 3, 4)
r[#r + 1] = tostring(ok3) .. "," .. s3 .. "," .. coroutine.status(co)
local ok4, err = coroutine.resume(co)
local _, ismain = coroutine.running()
return table.concat(r, " "), ok4, err, ismain, coroutine.isyieldable()
