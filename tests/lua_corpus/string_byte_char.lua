-- string.byte and string.char round trip
local s = "Lunatik"
local bytes = { s:byte(1, -1) }
return table.concat(bytes, ","), string.char(table.unpack(bytes)), s:byte(), s:byte(-1), string.char(), #string.char(0, 1, 2)
