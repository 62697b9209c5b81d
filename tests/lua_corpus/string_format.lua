-- string.format with integer and string directives
return string.format("%d|%5d|%-5d|%05d|%x|%X|%o|%s|%10s|%-10s|%%|%c%c",
  42, 42, 42, 42, 255, 255, 8, "str", "right", "left", 72, 105),
  string.format("%q", "a\nb\"c\\\0d"), string.format("%q", 12345), string.format("%i", -7)
