-- utf8 library: char, codepoint, len, offset, codes, charpattern
local s = utf8.char(72, 228, 8364, 128512)
local cps = {}
for p, c in utf8.codes(s) do cps[#cps + 1] = p .. ":" .. c end
return s, #s, utf8.len(s), utf8.codepoint(s, 1, -1), table.concat(cps, " "), utf8.offset(s, 3), utf8.len("\xff"), utf8.charpattern
