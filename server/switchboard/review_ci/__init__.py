"""Review in CI: a patch read from git, the files worth sending, many files at once."""
