"""Deliberately broken policies: each file breaks one rule of `fineco check`, named in its first line."""
