"""Specs written from models that exist elsewhere: ``archcalc import``.

Today one source: a Hugging Face ``config.json`` (:mod:`archcalc.importers.hf_config`), read as data.
"""
