"""Function-calling graders: BFCL's AST rules (`ast_check`, pure functions) and the grader that reads the
calls a response made in the run's tool mode and applies them (`grader.ToolCallAST`, `tool_call_ast`)."""
