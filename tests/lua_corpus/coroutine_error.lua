-- errors inside coroutines, coroutine.close, wrap propagating errors
local co = coroutine.create(function() error("inside") end)
local ok, err = coroutine.resume(co)
local st = coroutine.status(co)
local co2 = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(co2)
local closed = coroutine.close(co2)
local w = coroutine.wrap(function() error({ code = 7 }) end)
local ok3, e3 = pcall(w)
return ok, err, st, closed, coroutine.status(co2), ok3, e3.code
