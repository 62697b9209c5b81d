-- integer division and modulo by zero are errors with a message
local ok1, e1 = pcall(function() local z = 0 return 1 // z end)
local ok2, e2 = pcall(function() local z = 0 return 1 % z end)
return ok1, e1, ok2, e2
