"""Command-line entry points (flask --app app …) that are not the jobs worker: staff tasks from a shell."""
