-- string.rep, sub, len, upper, lower, reverse
local s = string.rep("ab", 5, "-")
return s, #s, s:sub(2, 5), s:sub(-3), s:sub(0), s:sub(100), ("Hello"):upper(), ("Hello"):lower(), ("abc"):reverse(), string.rep("x", 0), string.rep("x", -1)
