"""Each role's home page and the language switch."""
