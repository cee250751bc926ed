"""The training corpus: synthetic emotional talking faces, descriptions and crossing pairs."""
