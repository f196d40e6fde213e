"""Makes ``tests/`` importable, for helpers shared by several test folders
(``cuda_pickles``)."""
