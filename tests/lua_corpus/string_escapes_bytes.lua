-- arbitrary bytes survive into the results: NUL, high bytes
return "a\0b", "\xff\xfe", "\200", #"\0\0\0"
