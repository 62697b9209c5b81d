-- integer for loops at the edges of the integer range do not overflow
local max = 0x7fffffffffffffff
local min = -max - 1
local c1 = 0
for i = max - 2, max do c1 = c1 + 1 end
local c2 = 0
for i = min + 2, min, -1 do c2 = c2 + 1 end
local c3 = 0
for i = 1, 0 do c3 = c3 + 1 end
local ok, err = pcall(function() for i = 1, 10, 0 do end end)
return c1, c2, c3, ok, err
