-- an uncaught runtime error at top level: the error message with position
local t = {}
local x = t.missing.field
return x
