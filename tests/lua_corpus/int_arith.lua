-- integer arithmetic: + - * // % and unary minus, precedence
local a, b = 1234567, -89
return a + b, a - b, a * b, a // b, a % b, -a, 2 + 3 * 4 - 5, (2 + 3) * (4 - 5)
