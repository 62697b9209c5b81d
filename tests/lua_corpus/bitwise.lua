-- bitwise operators on integers, shifts past the width give 0
local x, y = 0xF0F0, 0x0FF0
return x & y, x | y, x ~ y, ~x, x << 4, x >> 4, 1 << 63, 1 << 64, -1 >> 1, -1 >> 64, 3 << -1, 0xff >> -4
