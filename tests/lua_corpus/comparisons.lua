-- comparisons between integers and between strings
return 1 < 2, 2 <= 2, 3 > 4, -1 >= -1, 1 == 1, 1 ~= 2, "a" < "b", "abc" < "abd", "Z" < "a", "" < "a", 10 == "10"
