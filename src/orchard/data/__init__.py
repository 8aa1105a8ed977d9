"""Reading data assets: MLTable folders and plain tabular files, and profiling the result."""
