"""Math grading: `math_equiv` (equiv.py) and its parts: finding the final answer (answer.py, on extract.py),
normalisation (normalize.py), labelled answers (labels.py), the rounding rule (rounding.py), in-process
numeric checks (numeric.py), size guards (guard.py), and the sympy comparison (compare.py, with
expressions.py and structures.py) that runs in worker processes (pool.py drives worker.py). Nothing here
imports sympy in the parent process."""
