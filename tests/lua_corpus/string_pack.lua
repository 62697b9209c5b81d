-- string.pack / unpack with integer formats
local p = string.pack("<i4 >i2 B z", -2, 258, 255, "hi")
local a, b, c, d, nxt = string.unpack("<i4 >i2 B z", p)
return #p, a, b, c, d, nxt, string.packsize("i4 i8 B"), string.unpack("<I2", "\1\2")
