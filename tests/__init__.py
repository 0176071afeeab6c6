"""The test suite (a package, so folders named like modules never collide)."""
