-- error() with a string at level 1 from the main chunk
error("top-level failure: " .. 6 * 7)
