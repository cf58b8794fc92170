"""The benchmark suite: fineco-rules timed against hand-written references and peer engines (see README.md)."""
