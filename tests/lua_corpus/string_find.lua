-- string.find plain and with patterns, captures and positions
local s = "hello world from lua"
return s:find("world"), s:find("o", 6), s:find("l+"), s:find("(%w+) (%w+)"), s:find(".", 1, true), s:find("xyz"), s:find("")
