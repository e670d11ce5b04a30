"""Math grading: `math_equiv` (equiv.py) and its parts: normalisation (normalize.py), in-process numeric
checks (numeric.py), size guards (guard.py), and the sympy comparison (compare.py) that runs in worker
processes (pool.py drives worker.py). Nothing here imports sympy in the parent process."""
