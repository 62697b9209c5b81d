-- integers wrap around (two's complement), no overflow error
local max = 0x7fffffffffffffff
local min = -max - 1
return max + 1 == min, min - 1 == max, max * 2, min * -1, -min, max + max, min // -1, min % -1
