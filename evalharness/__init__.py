"""evalharness: measure how good and how fast Phi-4-Mini is on your endpoint.

Data flows one way: suite (YAML) -> items -> requests -> responses (cached) -> grades -> records -> report.
Each arrow is a function in the module named after its noun. Importing this package is cheap on purpose:
heavy libraries (datasets, sympy, matplotlib, scipy) are imported only inside the functions that need them.
"""

__version__ = "0.1.0"
