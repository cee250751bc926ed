"""Lip sync on real speech: the ``evaluate-lipsync`` benchmark, its scores, a pocketsphinx forced
aligner, and the builders of its data folders (a development set of real human recordings that
ship inside registry packages, and espeak-ng speech in German, Spanish and French).

These recordings are for evaluation only: nothing here feeds the training corpus.
"""
