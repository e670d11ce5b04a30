"""Code grading: `code_exec` (exec.py) runs the model's code against the task's tests in the sandbox;
extract.py finds the code in a response, programs.py assembles the program that runs."""
