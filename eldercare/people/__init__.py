"""The registry of elderly people shared by every feature."""
